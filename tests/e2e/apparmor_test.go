// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	aaprofile "github.com/snapns/snapns/policy/apparmor"
	"github.com/snapns/snapns/tests/sandbox"
)

// This kernel has no AppArmor: launches work and say so; the detection, the
// refusal and the exec transitions are verified by unit tests only.
func TestAppArmorIsNotAvailableHere(t *testing.T) {
	if appArmorEnabled() {
		t.Skip("AppArmor is enabled in this kernel: the tests of apparmorkernel_test.go enforce it")
	}
	world(t)
	res := launch{uid: userUID, debug: true}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	if !strings.Contains(res.stderr, "AppArmor: not enabled in this kernel") {
		t.Fatalf("the launcher did not report AppArmor as not available:\n%s", res.stderr)
	}
	t.Skip("SKIPPING: AppArmor is not in this kernel: detection, the refusal to run unconfined and the exec transitions of the app and of snap-update-ns to the labels the launcher derives are verified by unit tests over a fake procfs and sysfs only (launcher/apparmor_test.go)")
}

// ourProfile is the launcher's profile for the Debian layout, as installed
// (apparmor/usr.lib.snapd.snap-confine.real).
func ourProfile(t *testing.T) string {
	t.Helper()
	text, err := aaprofile.LauncherProfile("/usr/lib/snapd")
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func writeProfile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), aaprofile.ProfileFileName("/usr/lib/snapd"))
	if err := os.WriteFile(path, []byte(ourProfile(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The launcher's own profile is valid AppArmor policy (apparmor_parser
// compiles it without loading it: no kernel support needed), for both
// layouts.
func TestLauncherProfileParses(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		parser, err = "/usr/sbin/apparmor_parser", nil
		_, err = os.Stat(parser)
	}
	if err != nil {
		t.Skip("SKIPPING: apparmor_parser is not installed (Debian's apparmor package; make deps installs it)")
	}
	for _, dir := range aaprofile.ProfileLayouts {
		text, err := aaprofile.LauncherProfile(dir)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), aaprofile.ProfileFileName(dir))
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(parser, "-Q", "-K", path).CombinedOutput(); err != nil {
			t.Fatalf("apparmor_parser refuses the launcher's profile for %s: %v\n%s", dir, err, out)
		}
	}
}

// profileRule is one file rule of a profile.
type profileRule struct {
	re    *regexp.Regexp
	perms string
	deny  bool
	text  string
}

// aaVariables are the tunables the profiles use, as Debian's apparmor
// package defines them (tunables/home, tunables/multiarch, ...).
var aaVariables = map[string]string{
	"@{PROC}":      "/proc",
	"@{pid}":       "\x01",
	"@{tid}":       "\x01",
	"@{HOMEDIRS}":  "/home",
	"@{HOME}":      "{/home/*,/root}",
	"@{multiarch}": "*-linux-gnu*",
}

// fileRules turns the file rules of a profile's main block into regular
// expressions: AppArmor's globs (*, **, ?, [...], nested {a,b}), the
// variables it defines and aaVariables; owner and audit are ignored
// (the launcher acts on root's files as root), deny rules are kept as
// such. Rules of child profiles and hats are not the main profile's.
func fileRules(t *testing.T, profile string) []profileRule {
	t.Helper()
	vars := map[string]string{}
	for k, v := range aaVariables {
		vars[k] = v
	}
	defRe := regexp.MustCompile(`^\s*(@\{\w+\})\s*=\s*"?([^"]*)"?\s*$`)
	lineRe := regexp.MustCompile(`^\s*(?:audit\s+)?(deny\s+)?(?:owner\s+)?((?:/|@\{)\S*)\s+([rwkmixlaPpCcUu]+)(?:\s+->\s+\S+)?,\s*$`)
	var rules []profileRule
	depth := 0
	for _, line := range strings.Split(profile, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if m := defRe.FindStringSubmatch(line); m != nil && depth == 0 {
			vars[m[1]] = m[2]
			continue
		}
		if strings.HasSuffix(trimmed, "{") {
			depth++
			continue
		}
		if trimmed == "}" {
			depth--
			continue
		}
		m := lineRe.FindStringSubmatch(line)
		if m == nil || depth != 1 {
			continue
		}
		glob := m[2]
		for i := 0; i < 3; i++ {
			for k, v := range vars {
				glob = strings.ReplaceAll(glob, k, v)
			}
		}
		re, err := globRegexp(glob)
		if err != nil {
			t.Fatalf("cannot read the rule %q: %v", trimmed, err)
		}
		rules = append(rules, profileRule{re, m[3], m[1] != "", trimmed})
	}
	if len(rules) < 20 {
		t.Fatalf("only %d file rules found in the profile", len(rules))
	}
	return rules
}

// globRegexp converts one AppArmor glob.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '\x01':
			b.WriteString(`[0-9]+`)
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(`.*`)
			i++
		case c == '*':
			b.WriteString(`[^/]*`)
		case c == '?':
			b.WriteString(`[^/]`)
		case c == '[':
			j := strings.IndexByte(glob[i:], ']')
			if j < 0 {
				return nil, errors.New("unclosed [")
			}
			class := glob[i+1 : i+j]
			if strings.HasPrefix(class, "^") {
				class = "^/" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case c == '{':
			depth++
			b.WriteString(`(?:`)
		case c == '}':
			depth--
			b.WriteString(`)`)
		case c == ',' && depth > 0:
			b.WriteString(`|`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// allowed: some rule with perm matches path and no deny rule does.
func allowed(rules []profileRule, path, perm string) bool {
	ok := false
	for _, r := range rules {
		if !r.re.MatchString(path) || (perm != "" && !strings.ContainsAny(r.perms, perm)) {
			continue
		}
		if r.deny {
			return false
		}
		ok = true
	}
	return ok
}

// snapdProfileFile is where the test's staging directory keeps snapd's
// usr.lib.snapd.snap-confine.real (or, with ".skip", why it has none).
const snapdProfileFile = "snapd-snap-confine.apparmor"

// stageSnapdProfile takes snapd's profile for snap-confine out of Debian
// sid's snapd package, downloaded into .cache/debs/sid (never committed: it
// is snapd's text), before the sandbox is entered.
func stageSnapdProfile(bin string) {
	skip := func(why string) {
		fmt.Fprintln(os.Stderr, "*** SKIPPING the comparison with snapd's AppArmor profile: "+why+" ***")
		os.WriteFile(filepath.Join(bin, snapdProfileFile+".skip"), []byte(why), 0o644)
	}
	dir, err := sandbox.SnapdTree(repoRoot, "sid")
	if err != nil {
		skip(err.Error())
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, "etc/apparmor.d/usr.lib.snapd.snap-confine.real"))
	if err != nil {
		skip(err.Error())
		return
	}
	version := sandbox.SnapdVersion(dir)
	os.WriteFile(filepath.Join(bin, snapdProfileFile), append([]byte("# snapd "+version+"\n"), data...), 0o644)
}

// snapdProfile returns what stageSnapdProfile staged: the profile and
// snapd's version, or why there is none.
func snapdProfile() (text, version, skip string) {
	if why, err := os.ReadFile(filepath.Join(profileDir, snapdProfileFile+".skip")); err == nil {
		return "", "", string(why)
	}
	data, err := os.ReadFile(filepath.Join(profileDir, snapdProfileFile))
	if err != nil {
		return "", "", err.Error()
	}
	first, rest, _ := strings.Cut(string(data), "\n")
	return rest, strings.TrimPrefix(first, "# snapd "), ""
}

// TestLauncherProfileAllowsEveryFileTheLauncherOpens traces the launcher
// (strace, one file per thread) down the create, per-user, join and discard
// paths, as root and as a user, installed setuid root and with file
// capabilities, and checks every file it opens,
// creates or removes against the profile's file rules, and every program it
// executes (snap-update-ns, the app: each through change_onexec) against
// its change_profile rules. Mount rules are checked by the parser only:
// their arguments are descriptors' magic links here.
//
// The same accesses are checked against snapd 2.77's own profile for
// snap-confine (Debian sid's usr.lib.snapd.snap-confine.real): what it
// lacks is logged. It does not fail the test: the launcher does not run
// under snapd's profile, the Debian package diverts it and installs
// apparmor/usr.lib.snapd.snap-confine.real in its place (debian/).
func TestLauncherProfileAllowsEveryFileTheLauncherOpens(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("SKIPPING: strace is not installed (.ci/run installs it)")
	}
	if _, err := os.Stat("/snap/core/1/usr/bin/busybox"); err != nil {
		t.Skip("SKIPPING: the test base has no busybox to run as a single-threaded app")
	}
	if appArmorEnabled() {
		t.Skip("SKIPPING: AppArmor is enabled in this kernel, where the launcher with file capabilities, which no profile attaches to, is refused; here the kernel itself checks the profile (the TestAppArmor tests of apparmorkernel_test.go)")
	}
	world(t)
	enablePerUser(t)
	installUpdateNS(t) // executed by the launcher on every create
	rules := fileRules(t, ourProfile(t))
	labels := changeProfileRules(t, ourProfile(t))
	out := t.TempDir()
	traced := 0
	var runIn func(user string, caps bool, base, cgroup string)
	run := func(user string) { runIn(user, false, "", "") }
	runIn = func(user string, caps bool, base, cgroup string) {
		prefix := filepath.Join(out, "trace")
		args := []string{"-ff", "-y", "-qq", "-o", prefix, "-e", "trace=openat,openat2,mkdirat,unlinkat,renameat,renameat2,execve"}
		if user != "" {
			args = append(args, "-u", user)
		}
		if caps {
			args = append(args, capsDir+"/snap-confine")
		} else {
			args = append(args, snapConfine)
		}
		if base != "" {
			args = append(args, "--base", base)
		}
		args = append(args, "snap.hello.app", "/usr/bin/busybox", "true")
		cmd := exec.Command(strace, args...)
		cmd.Env = []string{"SNAP_INSTANCE_NAME=hello"}
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		if cgroup != "" {
			fd, err := unix.Open(cgroup, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		}
		if err := runInCgroupNS(cmd, cgroup != ""); err != nil {
			t.Fatalf("traced launch failed: %v\n%s", err, b.String())
		}
		traced++
	}
	installProfile("snap.hello.app", "unrestricted.bin2")
	if err := writeDeviceSettings("hello", "self-managed=false\nnon-strict=false\n", false); err != nil {
		t.Fatal(err)
	}
	run("")       // root: create
	run("nobody") // a user: join, per-user layer
	run("nobody") // join both
	refresh(t, "core", "2")
	run("nobody") // discard and rebuild
	// With file capabilities: the default install and the Debian
	// package's.
	refresh(t, "core", "3")
	runIn("nobody", true, "", "") // discard and rebuild
	runIn("", true, "", "")       // root: join
	// The device cgroup of a core24 app in its snap cgroup: the map made,
	// then opened and reset.
	scope := deviceSetup(t)
	runIn("nobody", false, "core24", scope)
	runIn("nobody", false, "core24", scope)
	// And on the cgroup v1 devices controller: the group made, then reset.
	v1 := false
	switch leave, err := sandbox.EnterCgroupV1Devices(); {
	case errors.Is(err, sandbox.ErrNoV1Devices):
		t.Logf("no cgroup v1 devices hierarchy to lend, v1 not traced: %v", err)
	case err != nil:
		t.Fatalf("cannot give the sandbox a cgroup v1 devices hierarchy: %v", err)
	default:
		t.Cleanup(func() {
			if err := leave(); err != nil {
				t.Errorf("cannot leave the cgroup v1 devices hierarchy: %v", err)
			}
		})
		runIn("nobody", false, "core24", "")
		runIn("nobody", false, "core24", "")
		v1 = true
	}
	// The NVIDIA driver's files (nvidia_test.go): the host's, then those
	// snaps export; each a rebuild.
	gpuExportWorld(t)
	refresh(t, "core", "4")
	run("nobody")
	plantGPUExport(t)
	refresh(t, "core", "5")
	run("nobody")
	// Every trace file is one thread. The launcher's are those up to the
	// exec of the app (the app, busybox, is single-threaded and static).
	callRe := regexp.MustCompile(`^(openat2?|mkdirat|unlinkat|renameat2?)\((AT_FDCWD|\d+<([^>]*)>), "([^"]*)"(?:, (\S+))?`)
	files, _ := filepath.Glob(filepath.Join(out, "trace.*"))
	checked := map[string]bool{}
	var refused []string
	var execs []string // "label path" of each program the launcher executed
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fd)
		for sc.Scan() {
			line := sc.Text()
			if m := execRe.FindStringSubmatch(line); m != nil && strings.HasSuffix(line, "= 0") && !strings.Contains(m[1], "snap-confine") {
				// The app, or snap-update-ns (through a descriptor),
				// from here on: each executed under the label the
				// launcher set for its exec.
				path, label := m[1], "snap.hello.app"
				if m[2] == "snap-update-ns" {
					label = "snap-update-ns.hello"
				}
				key := label + " " + path
				if strings.HasPrefix(path, "/proc/") {
					key = label + " " + m[2]
				}
				if !checked[key] {
					checked[key] = true
					execs = append(execs, key)
					if !matchesAny(labels, label) {
						refused = append(refused, "change_profile -> "+label+" (exec of "+path+")")
					}
				}
				break
			}
			m := callRe.FindStringSubmatch(line)
			if m == nil || strings.Contains(line, "= -1 ENOENT") {
				continue
			}
			path := m[4]
			if !strings.HasPrefix(path, "/") {
				path = strings.TrimSuffix(m[3], "/") + "/" + path
			}
			path = normaliseProc(path)
			// The file-capability install traced here is in a
			// directory of its own; its profile is that of the same
			// files in /usr/lib/snapd.
			if rest, ok := strings.CutPrefix(path, capsDir); ok && (rest == "" || rest[0] == '/') {
				path = "/usr/lib/snapd" + rest
			}
			perm := "r"
			switch {
			case m[1] != "openat" && m[1] != "openat2":
				perm = "w"
			case strings.Contains(m[5], "O_PATH"):
				perm = ""
			case strings.Contains(m[5], "O_WRONLY") || strings.Contains(m[5], "O_RDWR") || strings.Contains(m[5], "O_CREAT"):
				perm = "w"
			}
			if strings.Contains(m[5], "O_DIRECTORY") || strings.Contains(m[5], "AT_REMOVEDIR") || m[1] == "mkdirat" {
				path = strings.TrimSuffix(path, "/") + "/"
			}
			key := perm + " " + path
			if checked[key] {
				continue
			}
			checked[key] = true
			if !allowed(rules, path, perm) && !allowed(rules, strings.TrimSuffix(path, "/"), perm) {
				refused = append(refused, key)
			}
		}
		fd.Close()
	}
	sort.Strings(refused)
	t.Logf("%d traced launches, %d distinct accesses checked; programs executed: %s", traced, len(checked), strings.Join(execs, "; "))
	if v1 && !checked["w "+v1Group+"/devices.allow"] {
		t.Errorf("the v1 launches wrote no %s/devices.allow: the trace missed them", v1Group)
	}
	if len(checked) < 30 {
		t.Fatalf("only %d accesses traced: the trace did not work", len(checked))
	}
	if len(execs) < 2 {
		t.Errorf("only %d programs executed by the launcher were traced: %v", len(execs), execs)
	}
	snapdText, snapdVersion, skip := snapdProfile()
	if skip != "" {
		t.Logf("SKIPPING the comparison with snapd's profile: %s", skip)
	} else {
		snapdRules, snapdLabels := fileRules(t, snapdText), changeProfileRules(t, snapdText)
		var lacks []string
		for key := range checked {
			kind, path, _ := strings.Cut(key, " ")
			switch kind {
			case "snap.hello.app", "snap-update-ns.hello":
				if !matchesAny(snapdLabels, kind) {
					lacks = append(lacks, "change_profile -> "+kind+" (exec of "+path+")")
				}
			default:
				if !allowed(snapdRules, path, kind) && !allowed(snapdRules, strings.TrimSuffix(path, "/"), kind) {
					if kind == "" {
						key = "(O_PATH: path only, which AppArmor does not mediate)" + key
					}
					lacks = append(lacks, key)
				}
			}
		}
		sort.Strings(lacks)
		t.Logf("snapd %s's usr.lib.snapd.snap-confine.real lacks %d of the %d accesses (the Debian package replaces it with the launcher's own):\n  %s", snapdVersion, len(lacks), len(checked), strings.Join(lacks, "\n  "))
		if len(lacks) == 0 {
			t.Errorf("snapd's profile allows everything the launcher does: the Debian package need not divert it any more")
		}
	}
	if len(refused) > 0 {
		t.Fatalf("the launcher's profile does not allow:\n  %s", strings.Join(refused, "\n  "))
	}
}

// execRe is a successful exec in a trace: the path and argv[0] (a failed
// execve of "" is something the Go runtime does, not a program run).
var execRe = regexp.MustCompile(`^execve\("([^"]+)", \["([^"]*)"`)

// changeProfileRules are the labels a profile's main block may change to
// (change_profile [safe|unsafe] [EXEC] -> LABEL), as regular expressions.
func changeProfileRules(t *testing.T, profile string) []*regexp.Regexp {
	t.Helper()
	ruleRe := regexp.MustCompile(`^\s*change_profile\s+(?:(?:safe|unsafe)\s+)?(?:\S+\s+)?->\s*(\S+?),\s*$`)
	var res []*regexp.Regexp
	depth := 0
	for _, line := range strings.Split(profile, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasSuffix(trimmed, "{"):
			depth++
			continue
		case trimmed == "}":
			depth--
			continue
		}
		if m := ruleRe.FindStringSubmatch(line); m != nil && depth == 1 {
			re, err := globRegexp(m[1])
			if err != nil {
				t.Fatalf("cannot read %q: %v", trimmed, err)
			}
			res = append(res, re)
		}
	}
	return res
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// normaliseProc writes /proc/self and /proc/thread-self as the pid and tid
// paths AppArmor sees them as.
func normaliseProc(path string) string {
	dir := strings.HasSuffix(path, "/") || strings.HasSuffix(path, "/.")
	path = filepath.Clean(path)
	if dir && path != "/" {
		path += "/"
	}
	path = strings.Replace(path, "/proc/thread-self/", "/proc/4242/task/4242/", 1)
	path = strings.Replace(path, "/proc/self/", "/proc/4242/", 1)
	return path
}
