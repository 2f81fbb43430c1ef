// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapns/snapns/tests/sandbox"
)

// A case drives snapd and checks what the apps themselves print (the
// probe's key=value lines, testdata/probe), not only exit statuses. Cases
// of one install share its container but not their snaps, so that one
// failing leaves the others meaningful. The order matters only where said.
type kase struct {
	name string
	run  func(e *env)
}

var (
	strict    = snapSpec{dir: "suite-strict"}
	classic   = snapSpec{dir: "suite-classic", classic: true}
	layoutTop = snapSpec{dir: "suite-layout-root"}
	layoutUsr = snapSpec{dir: "suite-layout-usr"}
	content   = snapSpec{dir: "suite-content"}
	plugged   = snapSpec{dir: "suite-iface"}
	hooked    = snapSpec{dir: "suite-hook"}
	service   = snapSpec{dir: "suite-service"}
	refresh1  = snapSpec{dir: "suite-refresh-1"}
	refresh2  = snapSpec{dir: "suite-refresh-2"}
	parallel  = snapSpec{dir: "suite-parallel"}
	instance2 = snapSpec{dir: "suite-parallel", name: "suite-parallel_two"}
	core24App = snapSpec{dir: "suite-core24"}
	crowd     = snapSpec{dir: "suite-crowd"}
)

var (
	root = runOpts{}
	user = runOpts{user: true}
)

var cases = []kase{
	{"strict-root", func(e *env) {
		e.need(strict)
		p := e.app(root, "snap", "run", "suite-strict.probe")
		p.want("instance", "suite-strict").want("base", "core22").want("uid", "0").want("revision", "x1").want("snap", "/snap/suite-strict/x1")
		p.want("mntns", e.preserved("suite-strict"))
	}},
	{"strict-user", func(e *env) {
		e.need(strict)
		p := e.app(user, "snap", "run", "suite-strict.probe")
		p.want("instance", "suite-strict").want("base", "core22").want("uid", fmt.Sprint(userUID)).want("revision", "x1")
		e.preserved("suite-strict")
	}},
	{"strict-snapbin", func(e *env) {
		// /snap/bin/<app> is a symlink to /usr/bin/snap, which reads
		// the app from its own name: by path as root, by PATH as the
		// user.
		e.need(strict)
		p := e.app(root, "/snap/bin/suite-strict.probe")
		p.want("instance", "suite-strict").want("base", "core22").want("uid", "0").want("mntns", e.preserved("suite-strict"))
		p = e.app(user, "suite-strict.probe")
		p.want("instance", "suite-strict").want("base", "core22").want("uid", fmt.Sprint(userUID))
	}},
	{"classic-root", func(e *env) {
		e.need(classic)
		p := e.app(root, "snap", "run", "suite-classic.probe")
		p.want("instance", "suite-classic").want("base", "host").want("uid", "0").want("snap", "/snap/suite-classic/x1")
	}},
	{"classic-user", func(e *env) {
		e.need(classic)
		p := e.app(user, "snap", "run", "suite-classic.probe")
		p.want("instance", "suite-classic").want("base", "host").want("uid", fmt.Sprint(userUID))
	}},
	{"classic-snapbin", func(e *env) {
		e.need(classic)
		e.app(root, "/snap/bin/suite-classic.probe").want("instance", "suite-classic").want("base", "host").want("uid", "0")
		e.app(user, "suite-classic.probe").want("instance", "suite-classic").want("base", "host").want("uid", fmt.Sprint(userUID))
	}},
	{"shell", func(e *env) {
		// snap run --shell: bash in the app's confinement, reading
		// its commands from standard input.
		e.need(strict)
		script := "echo shell-instance=$SNAP_INSTANCE_NAME\necho shell-base=$(cat /usr/share/snapd-suite/base)\necho shell-uid=$(id -u)\n"
		for _, o := range []runOpts{root, user} {
			o.stdin = script
			uid := "0"
			if o.user {
				uid = fmt.Sprint(userUID)
			}
			e.app(o, "snap", "run", "--shell", "suite-strict.probe").
				want("shell-instance", "suite-strict").want("shell-base", "core22").want("shell-uid", uid)
		}
	}},
	{"layout-root", func(e *env) {
		// /opt is not in the base: snap-update-ns makes a writable
		// mimic over / to create it.
		e.need(layoutTop)
		e.app(root, "snap", "run", "suite-layout-root.probe").
			want("cat:/opt/suite-laid/hello", "laid-root").want("base", "core22").want("mntns", e.preserved("suite-layout-root"))
		e.app(user, "snap", "run", "suite-layout-root.probe").
			want("cat:/opt/suite-laid/hello", "laid-root").want("base", "core22")
	}},
	{"layout-usr", func(e *env) {
		// A writable mimic over /usr/share: its other entries (the
		// base's marker) stay visible.
		e.need(layoutUsr)
		e.app(root, "snap", "run", "suite-layout-usr.probe").
			want("cat:/usr/share/suite-laid/hello", "laid-usr").want("base", "core22").want("mntns", e.preserved("suite-layout-usr"))
		e.app(user, "snap", "run", "suite-layout-usr.probe").
			want("cat:/usr/share/suite-laid/hello", "laid-usr").want("base", "core22")
	}},
	{"interface", func(e *env) {
		// The content interface connected, then disconnected, while the
		// plug's namespace is preserved: snapd has snap-update-ns change
		// that namespace in place.
		e.need(content, plugged)
		const file, plug, slot = "cat:/snap/suite-iface/current/import/hello", "suite-iface:shared", "suite-content:shared"
		if strings.Contains(e.admin("snap", "connections", "suite-iface"), slot) {
			e.admin("snap", "disconnect", plug, slot)
		}
		p := e.app(root, "snap", "run", "suite-iface.probe")
		p.wantNot(file, "from-content")
		ns := e.preserved("suite-iface")
		p.want("mntns", ns)
		e.admin("snap", "connect", plug, slot)
		e.app(root, "snap", "run", "suite-iface.probe").want(file, "from-content").want("mntns", ns)
		e.app(user, "snap", "run", "suite-iface.probe").want(file, "from-content")
		e.admin("snap", "disconnect", plug, slot)
		e.app(root, "snap", "run", "suite-iface.probe").wantNot(file, "from-content").want("mntns", ns)
	}},
	{"hook", func(e *env) {
		// snap set runs the configure hook through snap-confine (tag
		// snap.suite-hook.hook.configure).
		e.debugWith(root, "snap", "run", "--hook=configure", "suite-hook")
		e.need(hooked)
		greeting := "hello-" + e.inst.name
		e.admin("snap", "set", "suite-hook", "greeting="+greeting)
		if got := strings.TrimSpace(e.admin("cat", "/var/snap/suite-hook/current/greeting")); got != greeting {
			e.fail("the configure hook wrote greeting %q, want %q", got, greeting)
		}
		hook := parseProbe(e, "the configure hook", e.admin("cat", "/var/snap/suite-hook/current/hook.out"))
		hook.want("instance", "suite-hook").want("base", "core22").want("uid", "0").want("mntns", e.preserved("suite-hook"))
		e.app(root, "snap", "run", "suite-hook.probe").want("cat:/var/snap/suite-hook/current/greeting", greeting)
	}},
	{"service", func(e *env) {
		// A daemon: simple app, started by systemd through snap run
		// when snapd installs the snap.
		e.debugWith(root, "timeout", "5", "snap", "run", "suite-service.daemon")
		e.need(service)
		out := e.waitFor("/var/snap/suite-service/current/daemon.out", 30*time.Second)
		if state := strings.TrimSpace(e.adminAllowFail("systemctl", "is-active", "snap.suite-service.daemon.service")); state != "active" {
			e.fail("snap.suite-service.daemon.service is %q, want active; %s", state, oneLine(e.adminAllowFail("systemctl", "status", "--no-pager", "-n", "20", "snap.suite-service.daemon.service")))
		}
		parseProbe(e, "the daemon", out).want("instance", "suite-service").want("base", "core22").want("uid", "0").want("mntns", e.preserved("suite-service"))
	}},
	{"refresh", func(e *env) {
		// A new revision. snapd >= 2.74 discards the preserved
		// namespace with snap-discard-ns --snap-already-locked while
		// it holds the snap's lock, and the next run builds one from
		// the new revision; older snapd keeps the namespace and has
		// snap-update-ns bring it to the new revision. (A namespace's
		// inode number can be reused once it is gone, so "new" is
		// judged by the preserved file being gone after the refresh.)
		e.need(refresh1)
		e.app(root, "snap", "run", "suite-refresh.probe").want("version", "1").want("revision", "x1")
		e.preserved("suite-refresh")
		e.debugWith(root, "/usr/lib/snapd/snap-discard-ns", "--snap-already-locked", "suite-refresh")
		e.installRevision(refresh2)
		if ns := e.nsOf("suite-refresh"); ns != "" && !versionLess(e.snapd, "2.74") {
			e.fail("the namespace of revision x1 is still preserved after the refresh (%s): snapd %s discards it", ns, e.snapd)
		}
		e.app(root, "snap", "run", "suite-refresh.probe").want("version", "2").want("revision", "x2").want("mntns", e.preserved("suite-refresh"))
		e.app(user, "snap", "run", "suite-refresh.probe").want("version", "2").want("revision", "x2")
	}},
	{"revert", func(e *env) {
		// Needs the refresh case's revision x2 as current.
		if !strings.Contains(e.adminAllowFail("snap", "list", "suite-refresh"), " x2 ") {
			e.t.Skip("needs revision x2 of suite-refresh, which the refresh case did not leave")
		}
		e.debugWith(root, "/usr/lib/snapd/snap-discard-ns", "--snap-already-locked", "suite-refresh")
		e.admin("snap", "revert", "suite-refresh")
		e.app(root, "snap", "run", "suite-refresh.probe").want("version", "1").want("revision", "x1").want("mntns", e.preserved("suite-refresh"))
	}},
	{"remove", func(e *env) {
		// Whatever the cases before left: a preserved namespace of
		// suite-refresh, gone with the snap.
		if !e.installed["suite-refresh"] {
			e.need(refresh1)
		}
		e.app(root, "snap", "run", "suite-refresh.probe").want("instance", "suite-refresh")
		e.preserved("suite-refresh")
		e.debugWith(root, "/usr/lib/snapd/snap-discard-ns", "suite-refresh")
		e.admin("snap", "remove", "suite-refresh")
		e.installed["suite-refresh"] = false
		if left := e.adminAllowFail("sh", "-c", "ls /run/snapd/ns/ | grep -E '^(snap\\.)?suite-refresh\\.' ; grep -E ' /run/snapd/ns/(snap\\.)?suite-refresh\\.' /proc/self/mountinfo"); strings.TrimSpace(left) != "" {
			e.fail("the removed snap left in /run/snapd/ns: %s", oneLine(left))
		}
	}},
	{"core24", func(e *env) {
		e.need(core24App)
		e.app(root, "snap", "run", "suite-core24.probe").want("base", "core24").want("uid", "0").want("mntns", e.preserved("suite-core24"))
		e.app(user, "snap", "run", "suite-core24.probe").want("base", "core24").want("uid", fmt.Sprint(userUID))
	}},
	{"concurrent", func(e *env) {
		// 20 snap runs at once of a snap never run before, root and the
		// user alternating: one namespace is made and every run is in
		// it (root's) or on top of it (the user's).
		e.need(crowd)
		if ns := e.nsOf("suite-crowd"); ns != "" {
			e.fail("suite-crowd has a preserved namespace before its first run: %s", ns)
		}
		const n = 20
		probes := make([]*probe, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := root
				if i%2 == 1 {
					o = user
				}
				probes[i] = e.appNoFatal(o, fmt.Sprintf("concurrent run %d", i), "snap", "run", "suite-crowd.probe")
			}()
		}
		wg.Wait()
		ns := e.preserved("suite-crowd")
		for i, p := range probes {
			if p == nil {
				continue
			}
			p.want("instance", "suite-crowd").want("base", "core22")
			if i%2 == 0 {
				p.want("mntns", ns)
			}
		}
	}},
	{"parallel", func(e *env) {
		// The instance's $SNAP_DATA is named after the snap; in its
		// namespace it must be the instance's own. (Set-up turned
		// experimental.parallel-instances on.)
		e.need(parallel, instance2)
		for _, inst := range []string{"suite-parallel", "suite-parallel_two"} {
			e.app(root, "snap", "run", inst+".probe").
				want("instance", inst).want("snap", "/snap/suite-parallel/x1").want("data", "/var/snap/suite-parallel/x1").
				want("cat:/var/snap/suite-parallel/x1/who", inst).want("mntns", e.preserved(inst))
			if got := strings.TrimSpace(e.admin("cat", "/var/snap/"+inst+"/x1/who")); got != inst {
				e.fail("/var/snap/%s/x1/who holds %q, want %q: the app wrote into another instance's data", inst, got, inst)
			}
		}
		e.app(user, "snap", "run", "suite-parallel_two.probe").want("instance", "suite-parallel_two").want("cat:/var/snap/suite-parallel/x1/who", "suite-parallel_two")
		if e.preserved("suite-parallel") == e.preserved("suite-parallel_two") {
			e.fail("suite-parallel and suite-parallel_two share a namespace")
		}
		e.need(classic)
		e.app(user, "snap", "run", "suite-classic.probe").want("instance", "suite-classic").want("base", "host").want("uid", fmt.Sprint(userUID))
	}},
}

// runCase runs one case. Its errors are collected, then judged: none is a
// pass; errors that are all a known failure of this install (known_test.go)
// are an expected failure, reported with their text but not failing the
// run (unless SNAPD_SUITE_STRICT=1); any other error fails the case. Every
// failure, expected or not, prints the snapd journal's lines of the case and
// the launcher's debug log of the command that failed (run again with
// SNAPD_DEBUG=1).
func (e *env) runCase(t *testing.T, k kase, m *matrix) {
	e.t, e.debug, e.errs = t, nil, nil
	e.cursor = strings.TrimSpace(e.adminAllowFail("sh", "-c", "journalctl -n 0 --show-cursor --quiet | sed -n 's/^-- cursor: //p'"))
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abortCase); !ok {
				panic(r)
			}
		}
		o := outcome{status: "PASS", took: time.Since(start)}
		known := knownFailureOf(e.inst, k.name, e.snapd)
		switch {
		case t.Skipped():
			o.status = "SKIP"
		case len(e.errs) == 0 && known != nil:
			o.status = "XPASS"
			o.detail = "known failure no longer happens: " + known.why
			t.Logf("*** XPASS %s/%s: the known failure (%s) no longer happens: remove it from known_test.go ***", e.inst.name, k.name, known.why)
		case len(e.errs) == 0:
		case known != nil && known.explains(e.errs):
			o.status = "XFAIL"
			o.detail = oneLine(e.errs[0])
			t.Logf("*** XFAIL %s/%s, a known failure (%s):\n%s", e.inst.name, k.name, known.why, indent(strings.Join(e.errs, "\n")))
			e.diagnose()
			if os.Getenv("SNAPD_SUITE_STRICT") != "" {
				t.Errorf("known failure, failing as SNAPD_SUITE_STRICT is set")
			}
		default:
			o.status = "FAIL"
			o.detail = oneLine(e.errs[0])
			for _, err := range e.errs {
				t.Errorf("%s/%s: %s", e.inst.name, k.name, err)
			}
			e.diagnose()
		}
		m.record(e.inst.name, k.name, o)
	}()
	k.run(e)
}

// abortCase ends a case early (fatal); runCase recovers it.
type abortCase struct{}

// fail records an error; the case goes on.
func (e *env) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, msg)
}

// fatal records an error the case cannot go on after, and ends it. Only
// from the case's own goroutine.
func (e *env) fatal(format string, args ...any) {
	e.fail(format, args...)
	panic(abortCase{})
}

// need installs the snaps (each once per boot).
func (e *env) need(specs ...snapSpec) {
	for _, s := range specs {
		if err := e.install(s); err != nil {
			e.fatal("%v", err)
		}
	}
}

// installRevision installs another revision of an installed snap (a refresh).
func (e *env) installRevision(s snapSpec) {
	e.installed[s.instance()] = false
	if err := e.install(s); err != nil {
		e.installed[s.instance()] = true
		e.fatal("%v", err)
	}
}

// admin runs a command as root in the container, failing the case on error.
func (e *env) admin(argv ...string) string {
	out, err := e.c.exec(e.ctx, argv...)
	if err != nil {
		e.fatal("%v", err)
	}
	return out
}

func (e *env) adminAllowFail(argv ...string) string {
	out, _ := e.c.exec(e.ctx, argv...)
	return out
}

// debugWith names the command a failure re-runs with SNAPD_DEBUG=1 for the
// launcher's debug log, when the failing step is snapd's own use of it.
func (e *env) debugWith(o runOpts, argv ...string) {
	e.debug = append(e.debug, debugRun{opts: o, argv: argv})
}

// app starts an app as a service of the container's systemd and parses its
// probe output; a failed start ends the case.
func (e *env) app(o runOpts, argv ...string) *probe {
	p := e.appNoFatal(o, strings.Join(argv, " "), argv...)
	if p == nil {
		panic(abortCase{})
	}
	return p
}

// appNoFatal is app for goroutines: a failed start is recorded and nil
// returned.
func (e *env) appNoFatal(o runOpts, what string, argv ...string) *probe {
	e.mu.Lock()
	e.debug = append(e.debug, debugRun{opts: o, argv: argv})
	e.mu.Unlock()
	r := e.c.run(e.ctx, o, argv...)
	who := "root"
	if o.user {
		who = userName
	}
	what += " (as " + who + ")"
	if r.err != nil {
		e.fail("%s: %v: %s", what, r.err, strings.TrimSpace(r.stderr))
		return nil
	}
	e.t.Logf("%s: %.2fs", what, r.took.Seconds())
	return parseProbe(e, what, r.stdout)
}

// probe is an app's key=value output (testdata/probe); want and wantNot
// check it, failing its case.
type probe struct {
	e    *env
	what string
	raw  string
	kv   map[string]string
}

func parseProbe(e *env, what, out string) *probe {
	p := &probe{e: e, what: what, raw: out, kv: map[string]string{}}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			p.kv[k] = v
		}
	}
	return p
}

func (p *probe) want(key, value string) *probe {
	if p == nil {
		return p
	}
	if got, ok := p.kv[key]; !ok || got != value {
		p.e.fail("%s printed %s=%q, want %q (output: %s)", p.what, key, got, value, oneLine(p.raw))
	}
	return p
}

func (p *probe) wantNot(key, value string) *probe {
	if p == nil {
		return p
	}
	if got := p.kv[key]; got == value {
		p.e.fail("%s printed %s=%q, want anything else (output: %s)", p.what, key, got, oneLine(p.raw))
	}
	return p
}

// nsOf returns the preserved namespace of instance as the app sees its own
// ("mnt:[<inode>]"), or "" when /run/snapd/ns/<instance>.mnt is not an
// nsfs mount.
func (e *env) nsOf(instance string) string {
	out, err := e.c.exec(e.ctx, "stat", "-L", "-c", "%i", "/run/snapd/ns/"+instance+".mnt")
	if err != nil {
		return ""
	}
	fs, _ := e.c.exec(e.ctx, "stat", "-f", "-L", "-c", "%T", "/run/snapd/ns/"+instance+".mnt")
	if strings.TrimSpace(fs) != "nsfs" {
		return ""
	}
	return "mnt:[" + strings.TrimSpace(out) + "]"
}

// preserved is nsOf that fails the case when there is none.
func (e *env) preserved(instance string) string {
	ns := e.nsOf(instance)
	if ns == "" {
		e.fail("no preserved namespace at /run/snapd/ns/%s.mnt", instance)
		return "(none)"
	}
	return ns
}

// waitFor returns the content of a file in the container once it exists.
func (e *env) waitFor(path string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		out, err := e.c.exec(e.ctx, "cat", path)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			e.fatal("%s did not appear in %s", path, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// relevant picks the journal lines a failure report shows.
var relevant = regexp.MustCompile(`(?i)snap-confine|snap-update-ns|snap-discard-ns|cannot|error|fail|denied|suite-`)

// diagnose prints the snapd journal's lines since the case started and the
// launcher's debug log of the commands the case ran last.
func (e *env) diagnose() {
	e.printJournal(e.cursor)
	for i := len(e.debug) - 1; i >= 0 && i >= len(e.debug)-2; i-- {
		d := e.debug[i]
		d.opts.env = append(append([]string{}, d.opts.env...), "SNAPD_DEBUG=1", "SNAP_CONFINE_DEBUG=1")
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		r := e.c.run(ctx, d.opts, d.argv...)
		cancel()
		who := "root"
		if d.opts.user {
			who = userName
		}
		e.t.Logf("--- %s/%s: debug log: SNAPD_DEBUG=1 %s (as %s), %v:\n%s%s--- end of debug log", e.inst.name, e.t.Name(), strings.Join(d.argv, " "), who, r.err, indent(r.stdout), indent(r.stderr))
	}
}

func (e *env) printJournal(cursor string) {
	args := []string{"journalctl", "--no-pager", "-o", "short-precise"}
	if cursor != "" {
		args = append(args, "--after-cursor="+cursor)
	} else {
		args = append(args, "-b")
	}
	out, _ := e.c.exec(e.ctx, args...)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if relevant.MatchString(l) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 150 {
		lines = append([]string{fmt.Sprintf("(%d earlier lines left out)", len(lines)-150)}, lines[len(lines)-150:]...)
	}
	e.t.Logf("--- %s: the journal's relevant lines (snap-confine, snap-update-ns, snap-discard-ns, errors, the suite's snaps):\n%s--- end of journal", e.t.Name(), indent(strings.Join(lines, "\n")+"\n"))
}

func indent(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// highestNamespaceCPU is the CPU that makes namespaces with the highest ids
// (tests/sandbox), or -1.
func highestNamespaceCPU() int {
	cpu, err := sandbox.HighestNamespaceCPU()
	if err != nil {
		return -1
	}
	return cpu
}
