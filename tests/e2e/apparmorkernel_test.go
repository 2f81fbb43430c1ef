// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	aaprofile "github.com/snapns/snapns/policy/apparmor"
)

// AppArmor enforced for real, in a kernel that has it: Debian's stock
// kernels, booted by `make test-kernels` with AppArmor enabled
// (KERNELS=6.1/v2+apparmor). The profiles are loaded with Debian's own
// apparmor_parser, the machine's (bookworm's 3.0 on the development
// machine and in the 6.1 guest, which sees the host's root); the kernel's
// AppArmor policy is global, so every profile a test loads is removed
// again when it ends.

// appArmorEnabled reports whether AppArmor is enabled in this kernel, as
// the launcher decides it (launcher/apparmor.go).
func appArmorEnabled() bool {
	if _, err := os.Stat("/sys/kernel/security/apparmor"); err != nil {
		return false
	}
	param, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.TrimSpace(string(param)) == "Y"
}

const appArmorSkip = "SKIPPING: AppArmor is not enabled in this kernel, so its enforcement cannot be tested here; `make test-kernels` runs this test in a QEMU guest booted from Debian's stock 6.1 kernel with AppArmor enabled (KERNELS=6.1/v2+apparmor)"

// parser returns Debian's apparmor_parser, or skips.
func parser(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("SKIPPING: apparmor_parser is not installed (Debian's apparmor package; tools/install-deps.sh installs it)")
	return ""
}

// appArmorWorld is world for a test that needs AppArmor enforced: it skips,
// loudly, where the kernel has none.
func appArmorWorld(t *testing.T) {
	t.Helper()
	if !appArmorEnabled() {
		t.Skip(appArmorSkip)
	}
	world(t)
	aaParser := parser(t)
	unload := func() {
		// Removing a profile leaves what it confined unconfined:
		// killable by the test, whatever signals the profile allows.
		for _, path := range loadedProfiles {
			exec.Command(aaParser, "-R", "-K", path).Run()
		}
	}
	beforeKill.Store(&unload)
	// A launch blocked by a denial need not be waited for long.
	launchTimeout = time.Minute
	t.Cleanup(func() {
		beforeKill.Store(nil)
		launchTimeout = 3 * time.Minute
	})
	// snapd's snap-confine profile includes this directory of snapd's
	// additions; the parser needs it to exist.
	if err := os.MkdirAll("/var/lib/snapd/apparmor/snap-confine", 0o755); err != nil {
		t.Fatal(err)
	}
}

// loadProfile loads (or replaces) AppArmor policy text and removes it when
// the test ends. Extra parser flags go first (-C: complain mode).
func loadProfile(t *testing.T, name, text string, flags ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"-r", "-K"}, flags...), path)
	if out, err := exec.Command(parser(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("apparmor_parser cannot load %s: %v\n%s", name, err, out)
	}
	loadedProfiles = append(loadedProfiles, path)
	t.Cleanup(func() {
		// -R needs the profile's text again; a profile replaced since
		// by one of the same name goes too.
		exec.Command(parser(t), "-R", "-K", path).Run()
		for i, p := range loadedProfiles {
			if p == path {
				loadedProfiles = append(loadedProfiles[:i], loadedProfiles[i+1:]...)
				break
			}
		}
	})
}

// loadedProfiles are the files of the profiles loaded now.
var loadedProfiles []string

// appProfile is an app's profile in the shape snapd writes them
// (/var/lib/snapd/apparmor/profiles/snap.<instance>.<app>: snapd's
// variables, then the profile named after the security tag, with the flags
// snapd sets and the base abstraction), with rules for what the probe
// does, not snapd's template.
func appProfile(instance, app string) string {
	return fmt.Sprintf(`#include <tunables/global>

@{SNAP_NAME}="%[1]s"
@{SNAP_INSTANCE_NAME}="%[1]s"
@{SNAP_COMMAND_NAME}="%[2]s"
@{SNAP_REVISION}="1"
@{INSTALL_DIR}="/{,var/lib/snapd/}snap"

profile "snap.%[1]s.%[2]s" flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>

  # The probe app: what it reads to write its report.
  / r,
  /snap/probe/1/probe mr,
  /usr/bin/busybox mr,
  @{PROC}/@{pid}/{status,mountinfo,cgroup} r,
  @{PROC}/@{pid}/attr/{,apparmor/}current r,
  @{PROC}/@{pid}/ns/ r,
  @{PROC}/@{pid}/ns/mnt r,
  @{PROC}/@{pid}/fd/ r,
  /sys/kernel/mm/transparent_hugepage/hpage_pmd_size r,
  /base-marker r,
  # What snap-update-ns says it did, in the snap's namespace.
  /mnt/snap-update-ns.log r,
  /var/tmp/user-mounts.log r,
  /tmp/ r,
  /tmp/** rw,
}
`, instance, app)
}

// updateNSProfile is snap-update-ns's per-snap profile, named as snapd
// names it, with rules for what the test's stand-in does
// (tests/fakeupdatens): a tmpfs on /mnt with its log, or on /var/tmp for
// the per-user mounts.
func updateNSProfile(instance string) string {
	return fmt.Sprintf(`#include <tunables/global>

profile snap-update-ns.%[1]s flags=(attach_disconnected) {
  #include <abstractions/base>

  capability sys_admin,
  capability dac_override,
  /usr/lib/snapd/snap-update-ns mr,
  /sys/kernel/mm/transparent_hugepage/hpage_pmd_size r,
  @{PROC}/@{pid}/{status,mountinfo,cgroup} r,
  @{PROC}/@{pid}/attr/{,apparmor/}current r,
  @{PROC}/@{pid}/fd/ r,
  /base-marker r,
  /run/snapd/ns/ r,
  /run/snapd/ns/snap.%[1]s.fstab r,
  /var/lib/snapd/mount/ r,
  /var/lib/snapd/mount/snap.%[1]s.fstab r,
  /var/lib/snapd/fake-update-ns-{fail,hang} r,
  mount fstype=tmpfs tmpfs -> /mnt/,
  mount fstype=tmpfs tmpfs -> /var/tmp/,
  /mnt/snap-update-ns.log w,
  /var/tmp/user-mounts.log w,
}
`, instance)
}

// launcherProfileName is the file name of the launcher's profile, as
// installed for /usr/lib/snapd/snap-confine (the sandbox's launcher).
var launcherProfileName = aaprofile.ProfileFileName("/usr/lib/snapd")

// loadSnapProfiles loads the launcher's profile (ourProfile: the one for
// /usr/lib/snapd/snap-confine) and the profiles snapd would have written
// for hello's app and its snap-update-ns.
func loadSnapProfiles(t *testing.T) {
	t.Helper()
	loadProfile(t, launcherProfileName, ourProfile(t))
	loadProfile(t, "snap.hello.app", appProfile("hello", "app"))
	loadProfile(t, "snap-update-ns.hello", updateNSProfile("hello"))
}

// kmsg reads the kernel's log records from /dev/kmsg, from sequence number
// after on, and returns their texts and the last sequence number read.
func kmsg(t *testing.T, after uint64) ([]string, uint64) {
	t.Helper()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("cannot read the kernel's log: %v", err)
	}
	defer unix.Close(fd)
	var lines []string
	last := after
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) {
			continue // records overwritten meanwhile
		}
		if err != nil || n <= 0 {
			break
		}
		// "prio,seq,time,flags;text\n" then continuation lines.
		head, text, ok := strings.Cut(string(buf[:n]), ";")
		if !ok {
			continue
		}
		fields := strings.Split(head, ",")
		if len(fields) < 2 {
			continue
		}
		seq, _ := strconv.ParseUint(fields[1], 10, 64)
		if seq <= after && after != 0 {
			continue
		}
		last = seq
		text, _, _ = strings.Cut(text, "\n")
		lines = append(lines, text)
	}
	return lines, last
}

// kmsgMark is where the kernel's log stands now.
func kmsgMark(t *testing.T) uint64 {
	_, last := kmsg(t, 0)
	return last
}

var (
	volatileAuditRe = regexp.MustCompile(` (pid|fsuid|ouid|requested_mask|class)=\S+`)
	procPidRe       = regexp.MustCompile(`/proc/[0-9]+`)
	taskTidRe       = regexp.MustCompile(`/task/[0-9]+`)
)

// denials returns the AppArmor audit lines logged since mark for profile
// (all profiles when empty), shortened to the operation, the name and the
// mask, each once.
func denials(t *testing.T, mark uint64, profile string) []string {
	t.Helper()
	lines, _ := kmsg(t, mark)
	seen := map[string]bool{}
	var out []string
	for _, line := range lines {
		if !strings.Contains(line, `apparmor="DENIED"`) && !strings.Contains(line, `apparmor="ALLOWED"`) {
			continue
		}
		if profile != "" && !strings.Contains(line, `profile="`+profile+`"`) {
			continue
		}
		short := line
		if i := strings.Index(line, `apparmor="`); i >= 0 {
			short = line[i:]
		}
		// Leave out what differs from one launch to the next.
		short = volatileAuditRe.ReplaceAllString(short, "")
		short = procPidRe.ReplaceAllString(short, "/proc/@{pid}")
		short = taskTidRe.ReplaceAllString(short, "/task/@{tid}")
		if !seen[short] {
			seen[short] = true
			out = append(out, short)
		}
	}
	sort.Strings(out)
	return out
}

// probeLabel launches l and returns the label the probe runs under.
func probeLabel(t *testing.T, l launch) string {
	t.Helper()
	l.args = append(l.args, "read", "/proc/self/attr/current")
	r := l.mustRun(t)
	return strings.TrimRight(r.Read["/proc/self/attr/current"], "\n\x00")
}

// The app runs under its snap's label, snap-update-ns under its own, and
// the launcher itself under its profile, for root and for a user, when the
// namespace is made and when it is joined.
func TestAppArmorConfinesTheLauncherTheAppAndSnapUpdateNS(t *testing.T) {
	appArmorWorld(t)
	enablePerUser(t)
	installUpdateNS(t)
	// A per-user mount profile, so that snap-update-ns --user-mounts
	// runs too.
	if err := os.MkdirAll("/var/lib/snapd/mount", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/mount/snap.hello.user-fstab", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	loadSnapProfiles(t)
	mark := kmsgMark(t)
	for _, tc := range []struct {
		name string
		uid  int
	}{{"root-creates", 0}, {"root-joins", 0}, {"user-creates-a-layer", userUID}, {"user-joins", userUID}} {
		ok := t.Run(tc.name, func(t *testing.T) {
			res := launch{uid: tc.uid, debug: true, args: []string{"read", "/proc/self/attr/current", "read", "/mnt/snap-update-ns.log", "read", "/var/tmp/user-mounts.log"}}.run()
			if res.err != nil {
				lines, _ := kmsg(t, mark)
				t.Fatalf("launch failed: %v\n%s\ndenials: %q\nkernel: %q", res.err, res.stderr, denials(t, mark, ""), lines)
			}
			r := res.report
			if got := strings.TrimRight(r.Read["/proc/self/attr/current"], "\n\x00"); got != "snap.hello.app (enforce)" {
				t.Errorf("the app runs as %q, want snap.hello.app (enforce); errors %v", got, r.Errors)
			}
			if !strings.Contains(res.stderr, `the launcher runs as "/usr/lib/snapd/snap-confine" (enforce)`) {
				t.Errorf("the launcher does not say it runs under its profile:\n%s", res.stderr)
			}
			if log := r.Read["/mnt/snap-update-ns.log"]; !strings.Contains(log, "label=snap-update-ns.hello (enforce)\n") {
				t.Errorf("snap-update-ns did not run under snap-update-ns.hello: %q (errors %v)", log, r.Errors)
			}
			if tc.uid != 0 {
				if log := r.Read["/var/tmp/user-mounts.log"]; !strings.Contains(log, "label=snap-update-ns.hello (enforce)\n") {
					t.Errorf("snap-update-ns --user-mounts did not run under snap-update-ns.hello: %q (errors %v)", log, r.Errors)
				}
			}
		})
		if !ok {
			break // the next launches would fail alike
		}
	}
	if d := denials(t, mark, ""); len(d) > 0 {
		t.Errorf("AppArmor denied, in the launches above:\n  %s", strings.Join(d, "\n  "))
	}
}

// Where AppArmor is enabled, a launcher with elevated privileges that no
// profile confines refuses to run (snap-confine's check): the launcher
// installed with file capabilities, and the setuid one at a path its
// profile does not attach to.
func TestAppArmorUnconfinedLauncherIsRefused(t *testing.T) {
	appArmorWorld(t)
	loadSnapProfiles(t)
	elsewhere := setuidElsewhere(t)
	for _, tc := range []struct {
		name string
		l    launch
	}{
		{"file-capabilities", launch{caps: true, uid: userUID}},
		{"setuid-elsewhere", launch{program: elsewhere, uid: userUID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.l.mustFail(t)
			if !strings.Contains(line, "not confined by AppArmor") {
				t.Errorf("refused for another reason: %q", line)
			}
			if exists("/run/snapd/ns/hello.mnt") {
				t.Error("the unconfined launcher preserved a namespace")
			}
		})
	}
	// Root gains nothing from a setuid launcher: snap-confine lets root
	// run it unconfined, and its app still gets its label.
	if got := probeLabel(t, launch{program: elsewhere}); got != "snap.hello.app (enforce)" {
		t.Errorf("root's app, through an unconfined launcher, runs as %q", got)
	}
}

// mustRunConfined fails the test at once unless the launcher runs under
// its own profile as it is: the tests that take a rule away, or look for
// another refusal, would otherwise only see that failure again.
func mustRunConfined(t *testing.T) {
	t.Helper()
	mark := kmsgMark(t)
	if res := (launch{}).run(); res.err != nil {
		t.Fatalf("the launcher does not run under its profile (TestAppArmorConfinesTheLauncherTheAppAndSnapUpdateNS): %v; the kernel denied:\n  %s", res.err, strings.Join(denials(t, mark, ""), "\n  "))
	}
}

// A launcher profile that denies something the launcher needs makes the
// launch fail at once with one "cannot ..." line naming the step, never
// hang, and the kernel logs the denial.
func TestAppArmorProfileDenyingTheLauncherFailsClearly(t *testing.T) {
	appArmorWorld(t)
	installUpdateNS(t)
	loadSnapProfiles(t)
	mustRunConfined(t)
	for _, tc := range []struct {
		name   string
		rule   string // the lines taken out of the launcher's profile
		uid    int
		denied string // in the kernel's audit line
	}{
		{"snap-lock", `/run/snapd/lock/\*\.lock `, 0, `name="/run/snapd/lock/`},
		{"info-file", `/run/snapd/ns/snap\.\*\.info`, 0, `name="/run/snapd/ns/snap.hello.info`},
		{"pivot-root", `pivot_root `, 0, `operation="pivotroot"`},
		{"app-transition", `change_profile -> snap\.\*,`, userUID, `operation="change_onexec"`},
		{"update-ns-transition", `change_profile -> snap-update-ns\.\*,`, 0, `operation="change_onexec"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			appArmorWorld(t)
			installUpdateNS(t)
			rule := regexp.MustCompile(`(?m)^[ \t]*` + tc.rule + `.*\n`)
			profile := ourProfile(t)
			if !rule.MatchString(profile) {
				t.Fatalf("the launcher's profile has no rule %s", tc.rule)
			}
			loadProfile(t, launcherProfileName, rule.ReplaceAllString(profile, ""))
			loadProfile(t, "snap.hello.app", appProfile("hello", "app"))
			loadProfile(t, "snap-update-ns.hello", updateNSProfile("hello"))
			mark := kmsgMark(t)
			cmd := launch{uid: tc.uid}.command()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			err := runBounded(cmd, false, 2*time.Minute)
			took := time.Since(start)
			if errors.Is(err, errHung) {
				t.Fatalf("%v under a profile without %s; the kernel denied:\n  %s\nstderr:\n%s", err, tc.rule, strings.Join(denials(t, mark, ""), "\n  "), stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("the launch did not fail without %s: %v\n%s", tc.rule, err, stderr.String())
			}
			lines := nonDebugLines(stderr.String())
			if len(lines) > 1 && strings.HasPrefix(lines[0], "fake snap-update-ns: ") {
				lines = lines[1:]
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "cannot ") {
				t.Errorf("expected one \"cannot ...\" line, got %q", lines)
			}
			if !strings.Contains(stderr.String(), "permission denied") {
				t.Errorf("the error does not say the permission was denied: %q", lines)
			}
			d := denials(t, mark, "")
			found := false
			for _, line := range d {
				found = found || strings.Contains(line, tc.denied)
			}
			if !found {
				t.Errorf("the kernel logged no denial with %s; it logged:\n  %s", tc.denied, strings.Join(d, "\n  "))
			}
			t.Logf("failed in %v: %s", took.Round(time.Millisecond), strings.Join(lines, " / "))
		})
	}
}

// snapd 2.77's own profile for snap-confine (Debian sid's snapd package),
// loaded for the launcher installed as /usr/lib/snapd/snap-confine. The
// launcher does not run under it (the Debian package diverts it and
// installs apparmor/usr.lib.snapd.snap-confine.real in its place: README,
// "Installing on a distribution"); this test says, from the kernel, what
// it lacks: in complain mode, every access it would deny in a snap's life
// (create, join, a user's layer made and joined), logged; enforced, the
// launch fails at the first of them with one "cannot ..." line, never a
// hang, or succeeds.
func TestAppArmorSnapdSnapConfineProfileFailsTheLauncherClearly(t *testing.T) {
	appArmorWorld(t)
	text, version, skip := snapdProfile()
	if skip != "" {
		t.Skip("SKIPPING: no snapd profile for snap-confine to load: " + skip)
	}
	from := "Debian sid's snapd " + version
	installUpdateNS(t)
	enablePerUser(t)
	loadProfile(t, "snap.hello.app", appProfile("hello", "app"))
	loadProfile(t, "snap-update-ns.hello", updateNSProfile("hello"))
	const label = "/usr/lib/snapd/snap-confine"
	launches := []launch{{}, {}, {uid: userUID}, {uid: userUID}}

	loadProfile(t, "usr.lib.snapd.snap-confine.real", text, "-C")
	mark := kmsgMark(t)
	for i, l := range launches {
		res := l.run()
		if res.err != nil {
			// Complain mode allows what it would deny, but not
			// what it cannot name: a file created with O_TMPFILE
			// and linked (snapd's profile has no mediate_deleted).
			t.Logf("in complain mode, launch %d (uid %d) fails: %v: %s", i+1, l.uid, res.err, strings.Join(nonDebugLines(res.stderr), " / "))
			break
		}
	}
	if d := denials(t, mark, label); len(d) > 0 {
		t.Logf("snapd's snap-confine profile (%s), in complain mode, would deny the launcher:\n  %s", from, strings.Join(d, "\n  "))
	} else {
		t.Logf("snapd's snap-confine profile (%s), in complain mode, would deny the launcher nothing", from)
	}

	appArmorWorld(t) // a fresh world
	installUpdateNS(t)
	enablePerUser(t)
	loadProfile(t, "usr.lib.snapd.snap-confine.real", text)
	mark = kmsgMark(t)
	for i, l := range launches {
		cmd := l.command()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		// A launch takes seconds here; one that stops is not waited
		// for long.
		err := runBounded(cmd, false, 30*time.Second)
		if err == nil {
			continue
		}
		if errors.Is(err, errHung) {
			d := denials(t, mark, label)
			if !slices.ContainsFunc(d, func(line string) bool { return strings.Contains(line, `operation="signal"`) }) {
				t.Fatalf("enforced, launch %d (uid %d) under snapd's profile %v; the kernel denied:\n  %s", i+1, l.uid, err, strings.Join(d, "\n  "))
			}
			// A Go program signals its own threads (the launcher's
			// profile allows it): snapd's profile, written for a C
			// program, does not.
			t.Logf("enforced, launch %d (uid %d) under snapd's profile (%s) %v: it denies the signals of the Go runtime between the launcher's own threads; the kernel denied:\n  %s", i+1, l.uid, from, err, strings.Join(d, "\n  "))
			return
		}
		lines := nonDebugLines(stderr.String())
		if len(lines) > 1 && strings.HasPrefix(lines[0], "fake snap-update-ns: ") {
			lines = lines[1:]
		}
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "cannot ") {
			t.Errorf("enforced, launch %d (uid %d) under snapd's profile fails without one \"cannot ...\" line: %v: %q", i+1, l.uid, err, lines)
		}
		t.Logf("enforced, launch %d (uid %d) under snapd's profile (%s) fails: %s; the kernel denied:\n  %s", i+1, l.uid, from, strings.Join(lines, " / "), strings.Join(denials(t, mark, label), "\n  "))
		return
	}
	t.Logf("enforced, the %d launches run under snapd's profile (%s)", len(launches), from)
}

// setuidElsewhere installs a copy of the setuid launcher at a path no
// profile attaches to, for the test, and returns its path.
func setuidElsewhere(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(snapConfine)
	if err != nil {
		t.Fatal(err)
	}
	const dir = "/usr/lib/snapd-unconfined"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := dir + "/snap-confine"
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// After the write: a write clears the setuid bit.
	if err := os.Chmod(path, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	return path
}
