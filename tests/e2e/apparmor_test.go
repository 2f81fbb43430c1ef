// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/tests/sandbox"
)

// This kernel has no AppArmor: launches work and say so; the detection, the
// refusal and the exec transitions are verified by unit tests only.
func TestAppArmorIsNotAvailableHere(t *testing.T) {
	world(t)
	res := launch{uid: userUID, debug: true}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	if !strings.Contains(res.stderr, "AppArmor: not enabled in this kernel") {
		t.Fatalf("the launcher did not report AppArmor as not available:\n%s", res.stderr)
	}
	t.Skip("AppArmor is not in this kernel: a plan naming a label is refused end to end (TestForgedPlansHandedToTheLauncherAreRefused), but detection, the refusal to run unconfined and the exec transitions of the app and of snap-update-ns to the labels the launcher derives are verified by unit tests over a fake procfs and sysfs only (launcher/apparmor_test.go)")
}

func writeProfile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "usr.lib.snapd.snap-launch")
	if err := os.WriteFile(path, []byte(policy.LauncherProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The launcher's own profile is valid AppArmor policy (apparmor_parser
// compiles it without loading it: no kernel support needed).
func TestLauncherProfileParses(t *testing.T) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		parser, err = "/usr/sbin/apparmor_parser", nil
		_, err = os.Stat(parser)
	}
	if err != nil {
		t.Skip("SKIPPING: apparmor_parser is not installed (Debian's apparmor package; .ci/run installs it)")
	}
	if out, err := exec.Command(parser, "-Q", "-K", writeProfile(t)).CombinedOutput(); err != nil {
		t.Fatalf("apparmor_parser refuses the launcher's profile: %v\n%s", err, out)
	}
}

// profileRule is one file rule of the launcher's profile.
type profileRule struct {
	re    *regexp.Regexp
	perms string
	text  string
}

// fileRules turns the profile's file rules into regular expressions
// (AppArmor globs: *, **, {a,b}, [0-9], and the @{PROC}, @{pid}, @{tid}
// variables).
func fileRules(t *testing.T) []profileRule {
	t.Helper()
	lineRe := regexp.MustCompile(`^\s*((?:/|@\{PROC\})\S*)\s+([rwkmixl]+),\s*$`)
	var rules []profileRule
	for _, line := range strings.Split(policy.LauncherProfile, "\n") {
		m := lineRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		glob := strings.NewReplacer("@{PROC}", "/proc", "@{pid}", "\x01", "@{tid}", "\x01").Replace(m[1])
		var b strings.Builder
		b.WriteString("^")
		for i := 0; i < len(glob); i++ {
			switch c := glob[i]; {
			case c == '\x01':
				b.WriteString(`[0-9]+`)
			case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
				b.WriteString(`.*`)
				i++
			case c == '*':
				b.WriteString(`[^/]*`)
			case c == '[':
				// A character class: AppArmor's and the regular
				// expression's are alike.
				end := strings.IndexByte(glob[i:], ']')
				b.WriteString(glob[i : i+end+1])
				i += end
			case c == '{':
				b.WriteString(`(?:`)
			case c == '}':
				b.WriteString(`)`)
			case c == ',':
				b.WriteString(`|`)
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		b.WriteString("$")
		rules = append(rules, profileRule{regexp.MustCompile(b.String()), m[2], m[1]})
	}
	if len(rules) < 20 {
		t.Fatalf("only %d file rules found in the profile", len(rules))
	}
	return rules
}

func allowed(rules []profileRule, path, perm string) bool {
	for _, r := range rules {
		if r.re.MatchString(path) && (perm == "" || strings.Contains(r.perms, perm)) {
			return true
		}
	}
	return false
}

// TestLauncherProfileAllowsEveryFileTheLauncherOpens traces the launcher
// (strace, one file per thread) down the create, per-user, join and discard
// paths, as root and as a user, and checks every file it opens, creates or
// removes against the profile's file rules. Mount rules are checked by the
// parser only: their arguments are descriptors' magic links here.
func TestLauncherProfileAllowsEveryFileTheLauncherOpens(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("SKIPPING: strace is not installed (.ci/run installs it)")
	}
	if _, err := os.Stat("/snap/core/1/usr/bin/busybox"); err != nil {
		t.Skip("SKIPPING: the test base has no busybox to run as a single-threaded app")
	}
	world(t)
	enablePerUser(t)
	rules := fileRules(t)
	out := t.TempDir()
	traced := 0
	var runIn func(user, plan, cgroup string)
	run := func(user string) { runIn(user, validPlan(t), "") }
	runIn = func(user, plan, cgroup string) {
		prefix := filepath.Join(out, "trace")
		args := []string{"-ff", "-y", "-qq", "-o", prefix, "-e", "trace=openat,openat2,mkdirat,unlinkat,renameat,renameat2,execve"}
		if user != "" {
			args = append(args, "-u", user)
		}
		args = append(args, snapLaunch, plan, "/usr/bin/busybox", "true")
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
	// The device cgroup of a core24 app in its snap cgroup: the map made,
	// then opened and reset.
	scope := deviceSetup(t)
	core24 := strings.Replace(validPlan(t), "base=core\n", "base=core24\n", 1)
	runIn("nobody", core24, scope)
	runIn("nobody", core24, scope)
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
		runIn("nobody", core24, "")
		runIn("nobody", core24, "")
		v1 = true
	}
	// Every trace file is one thread. The launcher's are those up to the
	// exec of the app (the app, busybox, is single-threaded and static).
	callRe := regexp.MustCompile(`^(openat2?|mkdirat|unlinkat|renameat2?)\((AT_FDCWD|\d+<([^>]*)>), "([^"]*)"(?:, (\S+))?`)
	files, _ := filepath.Glob(filepath.Join(out, "trace.*"))
	checked := map[string]bool{}
	var refused []string
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fd)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "execve(") && !strings.Contains(line, "snap-launch") {
				break // the app from here on
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
	t.Logf("%d traced launches, %d distinct file accesses checked", traced, len(checked))
	if v1 && !checked["w "+v1Group+"/devices.allow"] {
		t.Errorf("the v1 launches wrote no %s/devices.allow: the trace missed them", v1Group)
	}
	if len(checked) < 30 {
		t.Fatalf("only %d accesses traced: the trace did not work", len(checked))
	}
	if len(refused) > 0 {
		t.Fatalf("the launcher's profile does not allow:\n  %s", strings.Join(refused, "\n  "))
	}
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
