// SPDX-License-Identifier: GPL-3.0-only

// Package e2e runs the built binaries for real in the sandbox world of
// tests/sandbox: real namespaces, real mounts, a real setuid-root launcher,
// apps run as an unprivileged uid. The test binary re-executes itself as pid 1
// of the sandbox and runs every test there; without root it skips loudly.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/kernelsim"
	"github.com/snapns/snapns/tests/probe/report"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/seccomp/compile"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/tests/sandbox"
)

const (
	snapConfine   = "/usr/lib/snapd/snap-confine" // the launcher, setuid root
	fakeUpdateNS  = "/usr/lib/snapd/fake-snap-update-ns"
	snapDiscardNS = "/usr/lib/snapd/snap-discard-ns"
	snapNS        = "/usr/lib/snapd/snap-ns"
	capsDir       = "/usr/lib/snapd-caps"      // the launcher as snap-confine, with file capabilities
	profileDir    = "/usr/lib/snapd-test"      // compiled test profiles
	hookDir       = "/usr/lib/snapd-hook"      // the hooked launcher as snap-confine, setuid
	hookCapsDir   = "/usr/lib/snapd-hook-caps" // the hooked launcher as snap-confine, file capabilities
	seccompDir    = "/var/lib/snapd/seccomp/bpf"
	probe         = "/snap/probe/1/probe"   // under /snap: visible on the host and in every snap's root
	startedApp    = "/snap/probe/1/started" // prints "started" with write(2) and exit_group(2) alone
	userUID       = 1000
)

// testProfiles are compiled before the sandbox is built, as a current
// snap-seccomp writes them (.bin2) and as snapd 2.63 and earlier did (.bin):
// every launch's security tag gets unrestricted.bin2 unless a test installs
// another.
var testProfiles = map[string]string{
	"unrestricted.bin2": "@unrestricted\n",
	"deny-uname.bin2":   "# everything but uname\n@complain\n~uname\n",
	// Only what snap-confine 2.77 itself needs once it has loaded the
	// app's profile: the launcher must start an app under it too.
	"after-load-only.bin2": "capset\nexecve\nexit_group\nwrite\nreadlink\nopenat\nnewfstatat\nfchdir\n",
	"unrestricted.bin":     "@unrestricted\n",
	"deny-uname.bin":       "# everything but uname\n@complain\n~uname\n",
	"deny-getpid.bin":      "@complain\n~getpid\n",
}

// installProfile puts a compiled test profile in place for tag (atomically:
// concurrent launches install the same one), under the name snapd gives a
// profile of its format: <tag>.bin2 or <tag>.bin.
func installProfile(tag, profile string) error {
	data, err := os.ReadFile(profileDir + "/" + profile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(seccompDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(seccompDir, ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	tmp.Chmod(0o644)
	tmp.Close()
	return os.Rename(tmp.Name(), seccompDir+"/"+tag+filepath.Ext(profile))
}

// writeDeviceSettings writes snapd's device settings file of an instance,
// as snapd's udev backend does for every snap (snap-confine waits for it);
// unless replace, an existing one is kept.
func writeDeviceSettings(instance, content string, replace bool) error {
	path := "/var/lib/snapd/cgroup/snap." + instance + ".device"
	if !replace && exists(path) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(content)
	tmp.Chmod(0o644)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// skipReason is set when the sandbox cannot be built here.
var skipReason string

// helperEnv names a helper mode of this binary (see runHelper).
const helperEnv = "SNAPNS_E2E_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	if sandbox.Inside() {
		// Keep the main thread for the main goroutine: /proc/1/ns/mnt
		// is this thread's namespace, and a test goroutine that joins a
		// snap's namespace on a locked thread must never be the main
		// thread (which cannot exit, so it would stay there).
		runtime.LockOSThread()
		if err := sandbox.Enter(sandboxFiles()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := sandbox.MakeBase(sandbox.Base{Name: "core", Revision: "1", Current: true}); err != nil {
			fmt.Fprintln(os.Stderr, "cannot make the core base snap:", err)
			os.Exit(1)
		}
		for _, path := range []string{capsDir + "/snap-confine", hookCapsDir + "/snap-confine"} {
			if out, err := exec.Command("setcap", policy.RequiredSetcap()+"=p", path).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "cannot set file capabilities: %v: %s\n", err, out)
				os.Exit(1)
			}
		}
		cleanup, err := sandbox.EnterCgroupV2()
		if err != nil {
			fmt.Fprintln(os.Stderr, "cannot give the sandbox a cgroup v2 hierarchy:", err)
			os.Exit(1)
		}
		if err := simulateWholeRun(); err != nil {
			fmt.Fprintln(os.Stderr, "cannot simulate an older kernel:", err)
			os.Exit(1)
		}
		status := m.Run()
		if err := cleanup(); err != nil {
			fmt.Fprintln(os.Stderr, "cannot remove the sandbox's cgroup:", err)
			status = 1
		}
		os.Exit(status)
	}
	if os.Geteuid() != 0 {
		skipReason = "SKIPPING the end-to-end tests: they need root to build the sandbox (namespaces, mounts, a setuid launcher); run them as root, as CI does"
		fmt.Fprintln(os.Stderr, "*** "+skipReason+" ***")
		os.Exit(m.Run())
	}
	if dir := os.Getenv(prepareEnv); dir != "" {
		if err := prepare(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	prepared := os.Getenv(preparedEnv)
	if prepared != "" {
		if err := usePrepared(prepared); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	} else {
		fetchSnapd()
		fetchSnapd277()
	}
	staging, err := os.MkdirTemp("", "snapns-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	status, err := buildAndRun(staging, prepared)
	os.RemoveAll(staging)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(status)
}

// The split for `make test-kernels` (tests/kernels): this test binary,
// started on the host with prepareEnv set to a directory, builds there
// everything the sandbox installs (the binaries, the compiled profiles,
// snapd's programs) and exits; started again in a QEMU guest with
// preparedEnv set to the same directory (the host's files, read-only over
// 9p), it builds nothing and downloads nothing: a guest has neither the
// network nor the time to run the Go toolchain under emulation.
const (
	prepareEnv  = "SNAPNS_E2E_PREPARE"
	preparedEnv = "SNAPNS_E2E_PREPARED"
	// snapdEnvFile in a prepared directory holds the verdicts of
	// fetchSnapd and fetchSnapd277.
	snapdEnvFile = "snapd.env"
)

// prepare builds into dir what buildAndRun would build into the staging
// directory, and records where Debian's snapd packages are, or why not.
func prepare(dir string) error {
	fetchSnapd()
	fetchSnapd277()
	if err := build(dir); err != nil {
		return err
	}
	var env strings.Builder
	for _, name := range []string{snapdTreeEnv, snapdSkipEnv, updateNS277TreeEnv, updateNS277SkipEnv} {
		fmt.Fprintf(&env, "%s=%s\n", name, os.Getenv(name))
	}
	return os.WriteFile(filepath.Join(dir, snapdEnvFile), []byte(env.String()), 0o644)
}

// usePrepared takes the verdicts of fetchSnapd and fetchSnapd277 from a
// prepared directory.
func usePrepared(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, snapdEnvFile))
	if err != nil {
		return fmt.Errorf("cannot use the prepared binaries: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && v != "" {
			os.Setenv(k, v)
		}
	}
	return nil
}

// binaries are built into the staging directory and installed in the sandbox.
var binaries = map[string]string{
	"snap-confine":    "github.com/snapns/snapns/launcher/cmd/snap-confine",
	"probe":           "github.com/snapns/snapns/tests/probe",
	"fakeupdatens":    "github.com/snapns/snapns/tests/fakeupdatens",
	"snap-discard-ns": "github.com/snapns/snapns/launcher/cmd/snap-discard-ns",
	"snap-ns":         "github.com/snapns/snapns/cmd/snap-ns",
}

// buildAndRun builds the binaries into the staging directory, or links
// the prepared ones there, and runs the tests in the sandbox.
func buildAndRun(staging, prepared string) (int, error) {
	bin := filepath.Join(staging, "bin")
	if prepared != "" {
		if err := os.Symlink(prepared, bin); err != nil {
			return -1, err
		}
	} else if err := build(bin); err != nil {
		return -1, err
	}
	return sandbox.Reexec(staging, os.Args[1:], os.Stdout, os.Stderr)
}

// build puts into bin everything the sandbox installs.
func build(bin string) error {
	args := []string{"build", "-o", bin + "/"}
	for _, pkg := range binaries {
		args = append(args, pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot build the binaries: %w", err)
	}
	// The launcher with the test-only capability hook (privop/hooks_snapnstest.go).
	hook := exec.Command("go", "build", "-tags", "snapnstest", "-o", filepath.Join(bin, "snap-confine-hook"), binaries["snap-confine"])
	hook.Env = cmd.Env
	hook.Stdout, hook.Stderr = os.Stderr, os.Stderr
	if err := hook.Run(); err != nil {
		return fmt.Errorf("cannot build the hooked launcher: %w", err)
	}
	// An app that needs nothing but write and exit_group.
	if err := os.WriteFile(filepath.Join(bin, "started"), startedELF(), 0o755); err != nil {
		return err
	}
	// snapd's own snap-device-helper, from Debian's package.
	stageDeviceHelper(bin)
	// snapd 2.77's AppArmor profile for snap-confine, from Debian sid's
	// package (make deps downloads it).
	stageSnapdProfile(bin)
	// What the Debian package installed (make deb-test).
	stageDebInstalled(bin)
	// snap-ns's bash completion.
	if data, err := os.ReadFile("../../completion/snap-ns.bash"); err == nil {
		os.WriteFile(filepath.Join(bin, "snap-ns.bash"), data, 0o644)
	}
	// Real seccomp profiles, compiled as snapd's snap-seccomp would.
	for name, src := range testProfiles {
		f, err := os.Create(filepath.Join(bin, name))
		if err != nil {
			return err
		}
		if filepath.Ext(name) == ".bin" {
			err = compile.CompileLegacy([]byte(src), f)
		} else {
			err = compile.Compile([]byte(src), f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("cannot compile the %s test profile: %w", name, err)
		}
	}
	return nil
}

func sandboxFiles() []sandbox.File {
	bin := filepath.Join(os.Getenv("SNAPNS_SANDBOX_STAGING"), "bin")
	files := []sandbox.File{
		{Src: filepath.Join(bin, "snap-confine"), Dst: snapConfine, Mode: 0o755 | os.ModeSetuid},
		// The strict-capability install: file capabilities instead of
		// setuid (set with setcap once inside the sandbox).
		{Src: filepath.Join(bin, "snap-confine"), Dst: capsDir + "/snap-confine", Mode: 0o755},
		{Src: filepath.Join(bin, "snap-confine-hook"), Dst: hookDir + "/snap-confine", Mode: 0o755 | os.ModeSetuid},
		{Src: filepath.Join(bin, "snap-confine-hook"), Dst: hookCapsDir + "/snap-confine", Mode: 0o755},
		{Src: filepath.Join(bin, "fakeupdatens"), Dst: fakeUpdateNS, Mode: 0o755},
		{Src: filepath.Join(bin, "snap-discard-ns"), Dst: snapDiscardNS, Mode: 0o755},
		{Src: filepath.Join(bin, "snap-ns"), Dst: snapNS, Mode: 0o755},
		{Src: filepath.Join(bin, "probe"), Dst: probe, Mode: 0o755},
		{Src: filepath.Join(bin, "started"), Dst: startedApp, Mode: 0o755},
	}
	for name := range testProfiles {
		files = append(files, sandbox.File{Src: filepath.Join(bin, name), Dst: profileDir + "/" + name, Mode: 0o644})
	}
	if helper := filepath.Join(bin, "snap-device-helper"); exists(helper) {
		files = append(files, sandbox.File{Src: helper, Dst: deviceHelper, Mode: 0o755})
	}
	// Why there is no helper, or which package it came from.
	for _, name := range []string{deviceHelperSkip, deviceHelperInfo, snapdProfileFile, snapdProfileFile + ".skip"} {
		if src := filepath.Join(bin, name); exists(src) {
			files = append(files, sandbox.File{Src: src, Dst: profileDir + "/" + name, Mode: 0o644})
		}
	}
	files = append(files, debInstalledFiles(bin)...)
	files = append(files, sandbox.File{Src: filepath.Join(bin, "snap-ns.bash"), Dst: profileDir + "/snap-ns.bash", Mode: 0o644})
	return append(append(files, snapdFiles()...), snapd277Files()...)
}

// launch describes one run of snap-confine.
type launch struct {
	instance  string   // SNAP_INSTANCE_NAME; "hello" by default
	tag       string   // security tag; snap.<instance>.app by default
	flags     []string // options before the tag (--classic, --base ...)
	args      []string // probe arguments
	uid       int      // caller's uid; root (0 or -1) by default: see command
	groups    []uint32 // caller's supplementary groups
	env       []string // extra environment
	dir       string   // working directory
	debug     bool
	files     []*os.File          // extra descriptors from 3 on
	argv      []string            // full argv, overriding everything above
	program   string              // program to run; snap-confine by default
	caps      bool                // use the file-capability install instead of setuid
	noProfile bool                // do not install a seccomp profile for the tag
	noDevice  bool                // do not write snapd's device settings file for the instance
	cgroup    string              // a cgroup v2 directory to start the launch in (clone3 CLONE_INTO_CGROUP)
	sim       []kernelsim.Feature // run on a kernel without these (oldkernel_test.go)
}

type result struct {
	report *report.Report
	stderr string
	err    error
}

func (l launch) command() *exec.Cmd {
	inst := l.instance
	if inst == "" {
		inst = "hello"
	}
	tag := l.tag
	if tag == "" {
		tag = "snap." + inst + ".app"
	}
	program := l.program
	if program == "" {
		program = snapConfine
		if l.caps {
			program = capsDir + "/snap-confine"
		}
	}
	argv := l.argv
	if argv == nil {
		argv = append(append(append([]string{}, l.flags...), tag, probe), l.args...)
	}
	if _, err := naming.ParseSecurityTag(tag); err == nil && !l.noProfile {
		if !exists(seccompDir+"/"+tag+".bin2") && !exists(seccompDir+"/"+tag+".bin") {
			if err := installProfile(tag, "unrestricted.bin2"); err != nil {
				panic(err)
			}
		}
	}
	if _, err := naming.ParseInstance(inst); err == nil && !l.noDevice {
		if err := writeDeviceSettings(inst, "self-managed=false\nnon-strict=false\n", false); err != nil {
			panic(err)
		}
	}
	cmd := exec.Command(program, argv...)
	cmd.Env = append([]string{"SNAP_INSTANCE_NAME=" + inst, "PATH=/usr/bin:/bin"}, l.env...)
	if l.debug {
		cmd.Env = append(cmd.Env, "SNAPD_DEBUG=1")
	}
	cmd.Dir = l.dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.ExtraFiles = l.files
	// The default caller is root, whose app runs in the snap's namespace
	// itself, so that tests about that namespace can compare it with the
	// app's; a non-root caller's app runs in a per-user layer on top of
	// it (per-user tests), and the drop to a user is tested with an
	// explicit uid.
	if uid := l.uid; uid > 0 {
		groups := l.groups
		if groups == nil {
			groups = []uint32{uint32(uid)}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: groups}}
	}
	if l.cgroup != "" {
		// Left open until the test binary exits: a few descriptors.
		fd, err := unix.Open(l.cgroup, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			panic(err)
		}
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if sim := l.sim; len(sim) > 0 || len(simulateLaunches) > 0 {
		if sim == nil {
			sim = simulateLaunches
		}
		return simulateKernel(cmd, sim)
	}
	return cmd
}

func (l launch) run() result {
	cmd := l.command()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := runBounded(cmd, l.cgroup != "", launchTimeout)
	pinPreserved()
	res := result{stderr: stderr.String(), err: err}
	if err == nil {
		var r report.Report
		if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
			res.err = fmt.Errorf("cannot decode the probe's report %q: %w", stdout.String(), jerr)
		} else {
			res.report = &r
		}
	}
	return res
}

// runInCgroupNS runs cmd; with inNS, from a thread in a cgroup namespace
// rooted at the sandbox's group, where the sandbox's cgroup2 mount is
// rooted too, so that /proc/self/cgroup and /sys/fs/cgroup agree as on a
// host. The thread dies with its goroutine (it stays locked).
func runInCgroupNS(cmd *exec.Cmd, inNS bool) error {
	if !inNS {
		return cmd.Run()
	}
	if err := sandbox.InNewCgroupNS(cmd.Start); err != nil {
		return err
	}
	return cmd.Wait()
}

// launchTimeout bounds a launch that run makes: one that blocks (a launcher
// a kernel or a profile stops half-way) fails its test with a line saying
// so, not the whole run at the test binary's deadline. Launches take
// seconds at most, even in an emulated guest.
var launchTimeout = 3 * time.Minute

// runBounded is runInCgroupNS, killing cmd when it runs longer than timeout.
func runBounded(cmd *exec.Cmd, inNS bool, timeout time.Duration) error {
	start := cmd.Start
	if inNS {
		start = func() error { return sandbox.InNewCgroupNS(cmd.Start) }
	}
	// A helper it started may hold its output open after it is killed.
	cmd.WaitDelay = 5 * time.Second
	if err := start(); err != nil {
		return err
	}
	timer := time.AfterFunc(timeout, func() {
		if hook := beforeKill.Load(); hook != nil {
			(*hook)()
		}
		cmd.Process.Kill()
	})
	err := cmd.Wait()
	if !timer.Stop() {
		return fmt.Errorf("%w: killed after %v (%v)", errHung, timeout, err)
	}
	return err
}

// errHung is the error of a launch runBounded had to kill.
var errHung = errors.New("the launch hung")

// beforeKill, when set, runs before runBounded kills a launch that hung:
// where the launcher is confined by AppArmor, even SIGKILL is mediated,
// and the test's hook unconfines it first (apparmorkernel_test.go).
var beforeKill atomic.Pointer[func()]

// startHeld starts l with the probe waiting, after its other actions, for
// the returned function to let it go; that function returns its report. A
// test holds an app running, and so its namespace alive, while it makes
// another: without namespace ids (before 6.8) a namespace is known by its
// inode, which the next namespace made may be given once it dies.
func (l launch) startHeld(t *testing.T) (release func() *report.Report) {
	t.Helper()
	gate := fmt.Sprintf("/run/snapns-e2e-gate-%d", gateSeq.Add(1))
	l.args = append(append([]string{}, l.args...), "await", gate)
	cmd := l.command()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Held once the probe runs: its argv replaces the launcher's.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		argv, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		// An exited launch (a zombie) has none: release says why.
		if len(argv) == 0 || bytes.HasPrefix(argv, []byte(probe+"\x00")) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the held launch did not start the app within a minute:\n%s", stderr.String())
		}
	}
	done := false
	t.Cleanup(func() {
		if !done {
			cmd.Process.Kill()
			cmd.Wait()
		}
		os.Remove(gate)
	})
	return func() *report.Report {
		t.Helper()
		done = true
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			cmd.Process.Kill()
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("the held launch failed: %v\nstderr:\n%s", err, stderr.String())
		}
		var r report.Report
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("cannot decode the held app's report %q: %v", stdout.String(), err)
		}
		return &r
	}
}

var gateSeq atomic.Int64

// mustRun runs l and fails the test unless the app ran.
func (l launch) mustRun(t *testing.T) *report.Report {
	t.Helper()
	res := l.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\nstderr:\n%s", res.err, res.stderr)
	}
	return res.report
}

// mustFail runs l, expects a failure with one "cannot ..." line on stderr,
// and returns that line.
func (l launch) mustFail(t *testing.T) string {
	t.Helper()
	res := l.run()
	if res.err == nil {
		t.Fatalf("launch succeeded, expected a failure; report: %+v", res.report)
	}
	var ee *exec.ExitError
	if !errors.As(res.err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("expected a non-zero exit, got %v", res.err)
	}
	lines := nonDebugLines(res.stderr)
	if len(lines) > 1 && strings.HasPrefix(lines[0], "fake snap-update-ns: ") {
		lines = lines[1:] // the helper's own words, on the caller's stderr
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "cannot ") {
		t.Fatalf("expected exactly one line starting with \"cannot \", got %q", lines)
	}
	return lines[0]
}

func nonDebugLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "DEBUG: ") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// world gives a test a fresh sandbox state: no preserved namespaces, no
// /run/snapd, an empty /tmp and /var/lib/snapd, no snap-update-ns.
func world(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	reset := func() {
		unpin()
		unmountBelow(t, "/run/snapd")
		for _, dir := range []string{"/run", "/tmp", "/var/lib/snapd", "/mnt"} {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					t.Fatalf("cannot reset the world: %v", err)
				}
			}
		}
		for _, dir := range launcherDirs() {
			os.Remove(dir + "/snap-update-ns")
		}
	}
	reset()
	t.Cleanup(reset)
}

// unmountBelow detaches every mount under prefix, deepest first.
func unmountBelow(t *testing.T, prefix string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == prefix || strings.HasPrefix(f[4], prefix+"/")) {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		if err := unix.Unmount(points[i], unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			t.Fatalf("cannot unmount %s: %v", points[i], err)
		}
	}
}

// installUpdateNS puts the fake snap-update-ns in place.
func installUpdateNS(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(fakeUpdateNS)
	if err != nil {
		t.Fatal(err)
	}
	installHelper(t, data)
}

// launcherDirs are the directories the sandbox has launchers in: each
// finds snap-update-ns next to itself, as snap-confine does.
func launcherDirs() []string {
	var dirs []string
	all, _ := filepath.Glob("/usr/lib/snapd*")
	for _, dir := range all {
		if exists(dir + "/snap-confine") {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}

// installHelper installs data as snap-update-ns next to every launcher.
func installHelper(t *testing.T, data []byte) {
	t.Helper()
	for _, dir := range launcherDirs() {
		if err := os.WriteFile(dir+"/snap-update-ns", data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// nsID returns the id of the mount namespace behind an nsfs file, or 0 when
// the file is not one: the kernel's id, or the file's inode on kernels
// before 6.8, as the probe reports it (report.MountNSID).
func nsID(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var sfs unix.Statfs_t
	if unix.Fstatfs(int(f.Fd()), &sfs) != nil || sfs.Type != unix.NSFS_MAGIC {
		return 0
	}
	id, err := report.MountNSID(int(f.Fd()))
	if err != nil {
		t.Fatalf("cannot get the namespace id of %s: %v", path, err)
	}
	return id
}

// haveMountNSIDs says whether this kernel has NS_GET_MNTNS_ID (6.8).
var haveMountNSIDs = sync.OnceValue(report.HaveMountNSIDs)

// pinnedNS are descriptors of namespaces the running test's launches
// preserved, held until the test ends, on kernels without namespace ids:
// there a namespace is known by its nsfs inode (report.MountNSID), which the
// kernel hands to the next namespace made once this one dies. A test that
// compares the namespace an app ran in with the one a later launch rebuilt
// would otherwise see the same number for both. Holding the old one alive
// keeps its number its own; with ids, nothing is pinned.
var pinnedNS []int

// pinPreserved pins every namespace preserved in /run/snapd/ns now.
func pinPreserved() {
	if haveMountNSIDs() {
		return
	}
	paths, _ := filepath.Glob("/run/snapd/ns/*.mnt")
	for _, path := range paths {
		// O_PATH: a FIFO a test planted there must not block, and a
		// path keeps an nsfs file's namespace alive as well as an
		// open file does.
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		var sfs unix.Statfs_t
		if unix.Fstatfs(fd, &sfs) != nil || sfs.Type != unix.NSFS_MAGIC {
			unix.Close(fd)
			continue
		}
		pinnedNS = append(pinnedNS, fd)
	}
}

// unpin lets the pinned namespaces go.
func unpin() {
	for _, fd := range pinnedNS {
		unix.Close(fd)
	}
	pinnedNS = nil
}

// listedID is the id snap-ns gives the namespace behind an nsfs file: the
// kernel's, or 0 (with the reason in id_problem) on kernels without
// NS_GET_MNTNS_ID (before 6.8).
func listedID(t *testing.T, path string) uint64 {
	t.Helper()
	if !haveMountNSIDs() {
		return 0
	}
	return nsID(t, path)
}

// exists reports whether path exists (without following a final symlink).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
