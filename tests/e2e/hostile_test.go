// SPDX-License-Identifier: GPL-3.0-only

package e2e

// The hostile-user suite: what one unprivileged user can arrange with what
// is theirs (their cgroups, their mounts, their environment, their
// processes) must neither make another user's launch fail nor let them see
// into the privileged launcher. Each test arranges what a user could and
// checks another user's launches, in both installs (setuid root and file
// capabilities).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/nsview"
	"github.com/snapns/snapns/tests/probe/report"
	"github.com/snapns/snapns/tests/sandbox"
)

// victimUID is the other user, whose launches the hostile one (userUID)
// must not harm.
const victimUID = 1001

// delegatedCgroup makes the hostile user's own cgroup subtree, as systemd
// delegates user@<uid>.service to its user: the directory and the files a
// delegatee may write are theirs. The subtree and everything made below it
// go when the test ends, its processes killed first.
func delegatedCgroup(t *testing.T) string {
	t.Helper()
	dir := fmt.Sprintf("/sys/fs/cgroup/user-%d.slice", userUID)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeCgroupTree(dir); err != nil {
			t.Errorf("cannot remove %s: %v", dir, err)
		}
	})
	for _, name := range []string{"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"} {
		if err := os.Chown(filepath.Join(dir, name), userUID, userUID); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// removeCgroupTree removes the group at path and every group below it,
// deepest first, through directory descriptors (a hostile tree's paths can
// be longer than PATH_MAX), killing what runs there first.
func removeCgroupTree(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	if err := removeCgroupsBelow(fd); err != nil {
		return err
	}
	return rmdirCgroup(unix.AT_FDCWD, path)
}

// removeCgroupsBelow empties the group dir (and closes dir).
func removeCgroupsBelow(dir int) error {
	f := os.NewFile(uintptr(dir), "cgroup")
	defer f.Close()
	if procs, err := os.ReadFile(fmt.Sprintf("/proc/self/fd/%d/cgroup.procs", dir)); err == nil {
		for _, p := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(p); err == nil {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		// An empty group goes at once; one with groups or processes
		// in it is busy until they are gone.
		if err := unix.Unlinkat(dir, name, unix.AT_REMOVEDIR); err != unix.EBUSY {
			continue // removed, or no group (a control file)
		}
		sub, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("cannot open %s: %w", name, err)
		}
		if err := removeCgroupsBelow(sub); err != nil {
			return err
		}
		if err := rmdirCgroup(dir, name); err != nil {
			return err
		}
	}
	return nil
}

// rmdirCgroup removes an empty group, waiting for killed processes to go.
func rmdirCgroup(dir int, name string) error {
	for i := 0; ; i++ {
		err := unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
		if err == nil {
			return nil
		}
		if err != unix.EBUSY || i == 100 {
			return fmt.Errorf("cannot remove %s: %w", name, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The occupancy walk ("is the snap still running?") reads the whole cgroup
// tree, users' delegated subtrees included. What a user can do there must
// never make another user's launch fail: after a base refresh, the
// launcher either finds the snap running or cannot tell, and keeps the
// stale namespace (the direction that still launches, and that the user
// could force anyway by running a process in a cgroup named like snapd's
// tracking groups), or finds it idle and rebuilds it.
func TestHostileCgroupsNeverFailAnotherUsersLaunch(t *testing.T) {
	for _, c := range []struct {
		name    string
		arrange func(t *testing.T, mine string)
	}{
		{"unreadable-directory", func(t *testing.T, mine string) {
			dir := filepath.Join(mine, "private")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, userUID, userUID); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"unreadable-tracking-group", func(t *testing.T, mine string) {
			dir := filepath.Join(mine, "snap.hello.app-1.scope")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"", "cgroup.procs"} {
				if err := os.Chown(filepath.Join(dir, name), userUID, userUID); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(filepath.Join(dir, "cgroup.procs"), 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"a-hundred-thousand-groups", func(t *testing.T, mine string) {
			many := filepath.Join(mine, "many")
			if err := os.Mkdir(many, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i <= 100_000; i++ {
				if err := os.Mkdir(filepath.Join(many, strconv.Itoa(i)), 0o755); err != nil {
					t.Fatalf("cannot make group %d: %v", i, err)
				}
			}
		}},
		{"deep-tree-hiding-a-running-app", func(t *testing.T, mine string) {
			// 40 levels of 200-byte names (paths far beyond PATH_MAX),
			// and at the 11th a tracking group of the snap holding one
			// of its processes.
			fd, err := unix.Open(mine, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.Repeat("d", 200)
			for depth := 1; depth <= 40; depth++ {
				if depth == 11 {
					hideRunningApp(t, fd)
				}
				if err := unix.Mkdirat(fd, name, 0o755); err != nil {
					t.Fatalf("depth %d: %v", depth, err)
				}
				next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				unix.Close(fd)
				if err != nil {
					t.Fatal(err)
				}
				fd = next
			}
			unix.Close(fd)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			world(t)
			before := launch{}.mustRun(t)
			refresh(t, "core", "2")
			c.arrange(t, delegatedCgroup(t))
			for _, in := range installs {
				start := time.Now()
				res := launch{uid: victimUID, caps: in.caps, debug: true, args: []string{"read", "/base-marker"}}.run()
				t.Logf("%s: the launch took %s", in.name, time.Since(start).Round(time.Millisecond))
				if res.err != nil {
					t.Fatalf("%s: another user's launch failed: %v\n%s", in.name, res.err, res.stderr)
				}
				if got := res.report.Read["/base-marker"]; got != "core 1\n" || nsID(t, "/run/snapd/ns/hello.mnt") != before.MountNSID {
					t.Fatalf("%s: the stale namespace was discarded (the app sees %q)\n%s", in.name, got, res.stderr)
				}
				if !strings.Contains(res.stderr, "but the snap is running") {
					t.Errorf("%s: the debug log does not say why the namespace was kept:\n%s", in.name, res.stderr)
				}
			}
		})
	}
}

// hideRunningApp starts a process of the snap in a tracking group below
// the directory parent.
func hideRunningApp(t *testing.T, parent int) {
	t.Helper()
	const scope = "snap.hello.app-7.scope"
	if err := unix.Mkdirat(parent, scope, 0o755); err != nil {
		t.Fatal(err)
	}
	procs, err := unix.Openat(parent, scope+"/cgroup.procs", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(procs)
	cmd := exec.Command(probe, "sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if _, err := unix.Write(procs, []byte(strconv.Itoa(cmd.Process.Pid))); err != nil {
		t.Fatal(err)
	}
}

// hostileMounts stands in for a user's FUSE mounts (fusermount3 is setuid;
// the sandbox has none): n bind mounts below /home, on paths of nearly
// PATH_MAX, so that every mount table they reach (pid 1's, and every snap
// namespace's, which binds /home) is over oldMountTableCap. They go when
// the test ends.
func hostileMounts(t *testing.T, n int) {
	t.Helper()
	src := "/home/hostile-src"
	deep := "/home/hostile-mounts"
	for i := 0; i < 15; i++ {
		deep += "/" + strings.Repeat(string(rune('a'+i)), 255)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unmountBelow(t, "/home/hostile-mounts")
		os.RemoveAll("/home/hostile-mounts")
		os.RemoveAll(src)
	})
	for i := 0; i < n; i++ {
		dir := fmt.Sprintf("%s/%04d", deep, i)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(src, dir, "", unix.MS_BIND, ""); err != nil {
			t.Fatalf("mount %d: %v", i, err)
		}
	}
	if size := len(pid1Mounts(t)); size <= oldMountTableCap {
		t.Fatalf("pid 1's mount table is %d bytes, not over %d", size, oldMountTableCap)
	}
}

// With the parallel-instances feature on, every launch checks /snap and
// /var/snap in pid 1's namespace; a namespace snap-confine made (an info
// file naming only its base) is judged from its own mount table. A user's
// mounts, however many, must fail neither.
// oldMountTableCap is the size at which the launcher once refused to parse
// a mount table.
const oldMountTableCap = 4 << 20

func TestHostileMountTableNeverFailsALaunch(t *testing.T) {
	t.Cleanup(func() { removeInstances(t) })
	world(t)
	if err := os.MkdirAll("/var/lib/snapd/features", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/features/parallel-instances", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hostileMounts(t, 1200)
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			launch{uid: victimUID, caps: in.caps}.mustRun(t)
			if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			res := launch{uid: victimUID, caps: in.caps, debug: true}.run()
			if res.err != nil {
				t.Fatalf("the launch that inspects the namespace failed: %v\n%s", res.err, res.stderr)
			}
			if !strings.Contains(res.stderr, "(inspected)") {
				t.Errorf("the namespace was not inspected:\n%s", res.stderr)
			}
			launch{uid: victimUID, caps: in.caps, flags: []string{"--classic"}}.mustRun(t)
		})
	}
}

// A caller who sets a Go runtime variable makes the launcher execute
// itself again (without them); neither image may ever be dumpable, or the
// caller could list its descriptors and write its oom_score_adj. The
// launcher is caught while it waits for its seccomp profile: in pid 1's
// namespace already, before any change of credentials (a filesystem id,
// the drop) would make the kernel mark it non-dumpable by itself.
func TestRuntimeVariablesNeverMakeTheLauncherDumpable(t *testing.T) {
	for _, in := range installs {
		for _, v := range []struct {
			name string
			env  []string
		}{{"no-runtime-variable", nil}, {"re-executed-for-GOGC", []string{"GOGC=100"}}} {
			t.Run(in.name+"/"+v.name, func(t *testing.T) {
				world(t)
				env := append([]string{"SNAP_CONFINE_MAX_PROFILE_WAIT=20"}, v.env...)
				cmd := launch{caps: in.caps, uid: userUID, env: env, noProfile: true}.command()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() {
					cmd.Process.Kill()
					cmd.Wait()
				}()
				pid := strconv.Itoa(cmd.Process.Pid)
				waiting := func() bool {
					environ, _ := os.ReadFile("/proc/" + pid + "/environ")
					sc, _ := os.ReadFile("/proc/" + pid + "/syscall")
					// The image that waits: the second one when a
					// runtime variable made it execute itself again.
					reexeced := len(v.env) == 0 || bytes.Contains(environ, []byte("SNAP_LAUNCH_SAVED_GOGC=100"))
					return reexeced && len(sc) > 0 && !bytes.HasPrefix(sc, []byte("running"))
				}
				for deadline := time.Now().Add(10 * time.Second); !waiting(); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the launcher never waited for its profile")
					}
				}
				time.Sleep(100 * time.Millisecond)
				spy := exec.Command("/proc/self/exe")
				spy.Env = []string{helperEnv + "=probe-proc"}
				spy.Args = []string{"spy", pid}
				spy.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
				out, err := spy.Output()
				if err != nil {
					t.Fatalf("spy: %v", err)
				}
				for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					if strings.HasSuffix(line, "=opened") || strings.HasSuffix(line, "=attached") {
						t.Errorf("the caller could reach into the privileged launcher: %s", line)
					}
				}
				if exists("/run/snapd") {
					t.Error("the launcher was caught too late: it has created /run/snapd")
				}
			})
		}
	}
}

// runtimeTrace matches the lines the Go runtime writes for GODEBUG's
// inittrace.
var runtimeTrace = regexp.MustCompile(`^init \S+ @\d`)

// The Go runtime honours a caller's GODEBUG, GOGC, GOMAXPROCS and
// GOMEMLIMIT before any of the launcher's code runs, setuid or not. What is
// left of them, as SECURITY.md (§6) says: what they do during the runtime's
// start-up and the initialisers of the packages the launcher links (trace
// output the caller can read, time), before the launcher's own package
// initialiser executes it again without them; nothing the launcher does
// changes (the same privileged actions, in the same order), and the app
// gets them back as the caller set them.
func TestCallersRuntimeVariablesActOnlyBeforeTheLauncherRuns(t *testing.T) {
	for _, in := range installs {
		for _, v := range []struct {
			name string
			env  []string
		}{
			{"inittrace", []string{"GODEBUG=inittrace=1"}},
			{"traces-and-a-busy-gc", []string{"GODEBUG=schedtrace=1,scheddetail=1,gctrace=1", "GOGC=1", "GOMAXPROCS=1", "GOMEMLIMIT=1MiB"}},
		} {
			t.Run(in.name+"/"+v.name, func(t *testing.T) {
				world(t)
				launch{caps: in.caps, uid: userUID}.mustRun(t)
				calm := launch{caps: in.caps, uid: userUID, debug: true}.run()
				hostile := launch{caps: in.caps, uid: userUID, debug: true, env: v.env}.run()
				for _, r := range []result{calm, hostile} {
					if r.err != nil {
						t.Fatalf("launch failed: %v\n%s", r.err, r.stderr)
					}
				}
				if want, got := privilegedSteps(calm.stderr), privilegedSteps(hostile.stderr); strings.Join(want, "\n") != strings.Join(got, "\n") || len(want) == 0 {
					t.Errorf("the launcher acted differently:\nwithout the variables:\n%s\nwith them:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
				}
				a, b := calm.report, hostile.report
				if a.UIDs != b.UIDs || a.GIDs != b.GIDs || fmt.Sprint(a.Caps) != fmt.Sprint(b.Caps) || fmt.Sprint(a.Status) != fmt.Sprint(b.Status) {
					t.Errorf("the app was handed something else: %+v, then %+v", a, b)
				}
				for _, kv := range v.env {
					if !contains(b.Env, kv) {
						t.Errorf("the app did not get %s back", kv)
					}
				}
				if v.name != "inittrace" {
					return
				}
				// Init traces are written line by line by one goroutine
				// of one process at a time: the launcher's first image,
				// then (after the debug log) the app.
				starts := 0
				for _, line := range nonDebugLines(hostile.stderr) {
					if !runtimeTrace.MatchString(line) {
						t.Errorf("a line that is not the runtime's init trace: %q", line)
					}
					if strings.HasPrefix(line, "init runtime @") {
						starts++
					}
					if strings.HasPrefix(line, "init github.com/snapns/snapns/launcher @") {
						t.Errorf("the launcher's package initialiser ran under the caller's GODEBUG: %q", line)
					}
				}
				if starts != 2 {
					t.Errorf("%d runtimes started under the caller's GODEBUG, want 2 (the launcher's first image and the app):\n%s", starts, hostile.stderr)
				}
			})
		}
	}
}

// privilegedSteps are the privileged actions a debug log records, in order.
func privilegedSteps(stderr string) []string {
	var steps []string
	for _, line := range strings.Split(stderr, "\n") {
		if _, step, ok := strings.Cut(line, "DEBUG: snap-confine: privileged: "); ok {
			steps = append(steps, step)
		}
	}
	return steps
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Every launch sets up the device cgroup of its security tag, whose map
// (cgroup v2) or devices group (v1) every running app of that tag, of
// every user, shares. Another user's launches must never close a device
// the running app may use, not even for a moment.
func TestOtherUsersLaunchesNeverCloseTheDeviceMap(t *testing.T) {
	scope := deviceWorld(t)
	deviceUseDuringLaunches(t, scope, snapScope(t, "snap.hello.app"))
}

func TestV1OtherUsersLaunchesNeverCloseTheDeviceGroup(t *testing.T) {
	v1World(t)
	deviceUseDuringLaunches(t, "", "")
}

// deviceUseDuringLaunches runs a core24 app of uid 1000 that opens
// /dev/null in a loop (in the cgroup v2 group mine, or none on v1) while
// uid 1001 launches the same app 100 times (from theirs), in both
// installs; the app must never have been refused.
func deviceUseDuringLaunches(t *testing.T, mine, theirs string) {
	t.Helper()
	dir := "/run/openloop"
	if err := os.Mkdir(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	cmd := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: mine, args: []string{"openloop", "/dev/null", dir}}.command()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := cmd.Start
	if mine != "" {
		start = func() error { return sandbox.InNewCgroupNS(cmd.Start) }
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); !exists(dir + "/running"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the app never started:\n%s", stderr.String())
		}
	}
	launches := 0
	for i := 0; i < 100; i++ {
		launch{flags: []string{"--base", "core24"}, uid: victimUID, caps: i%2 == 1, cgroup: theirs}.mustRun(t)
		launches++
	}
	if err := os.WriteFile(dir+"/stop", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the app failed: %v\n%s", err, stderr.String())
	}
	var r report.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("cannot decode the app's report: %v\n%s", err, stdout.String())
	}
	got := r.Open["/dev/null"]
	t.Logf("while uid %d launched the app %d times, the running app's opens of /dev/null: %s", victimUID, launches, got)
	if !regexp.MustCompile(`^[1-9]\d* opens, 0 failed$`).MatchString(got) {
		t.Fatalf("the running app was refused /dev/null while another user launched it: %s", got)
	}
}

// hostileFUSE mounts what a user's FUSE mount looks like in the mount
// table (fusermount3 lets them choose the source and the subtype), with
// terminal escape sequences in both, below /home, where it propagates into
// every snap's namespace. The connection is aborted at once (its
// descriptor closed), so that nothing ever waits on it.
func hostileFUSE(t *testing.T, source, subtype string) {
	t.Helper()
	dir := "/home/hostile-fuse"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fuse, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("SKIPPING: there is no /dev/fuse to make a FUSE mount with: %v", err)
	}
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d,subtype=%s", fuse, userUID, userUID, subtype)
	err = unix.Mount(source, dir, "fuse", unix.MS_NOSUID|unix.MS_NODEV, opts)
	unix.Close(fuse)
	if err != nil {
		t.Fatalf("cannot mount the FUSE stand-in: %v", err)
	}
	t.Cleanup(func() {
		unmountBelow(t, dir)
		os.Remove(dir)
	})
}

// snap-ns prints to the operator's terminal what users chose (a FUSE
// mount's source and subtype propagate into every preserved namespace):
// every control character is escaped in text output, and JSON keeps the
// strings as they are.
func TestSnapNsEscapesWhatUsersChose(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	const source, subtype = "evil\x1b]2;owned\x07", "x\x1b[2J\x1b[31m"
	hostileFUSE(t, source, subtype)
	var sh nsview.Shown
	if err := json.Unmarshal([]byte(snapNSRun(t, 0, "show", "--json", "hello")), &sh); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range sh.Mounts {
		if m.MountPoint == "/home/hostile-fuse" {
			found = m.Source == source && m.FSType == "fuse."+subtype
		}
	}
	if !found {
		t.Fatalf("the JSON does not hold the FUSE mount as it is: %+v", sh.Mounts)
	}
	for _, args := range [][]string{{"show", "hello"}, {"list"}, {"explain", "snap.hello.app"}} {
		text := snapNSRun(t, 0, args...)
		for _, r := range text {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Errorf("snap-ns %s prints the control character %q:\n%q", strings.Join(args, " "), r, text)
				break
			}
		}
	}
}

// Seccomp profiles, and every directory on their way, must be root's user
// and group, as snap-confine 2.77 requires (seccomp-support.c
// validate_path_has_strict_perms): a profile of group 1000 is refused with
// one line.
func TestSeccompProfilesOfAnotherGroupAreRefused(t *testing.T) {
	for _, c := range []struct {
		name, path, want string
	}{
		{"profile", seccompDir + "/snap.hello.app.bin2", "snap.hello.app.bin2"},
		{"directory", seccompDir, seccompDir},
	} {
		for _, in := range installs {
			t.Run(c.name+"/"+in.name, func(t *testing.T) {
				world(t)
				if err := installProfile("snap.hello.app", "unrestricted.bin2"); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(c.path, 0, userUID); err != nil {
					t.Fatal(err)
				}
				msg := launch{uid: userUID, caps: in.caps}.mustFail(t)
				t.Logf("refused with %q", msg)
				if !strings.Contains(msg, c.want) || !strings.Contains(msg, "group") {
					t.Fatalf("refused with %q, want it to name %s and its group", msg, c.want)
				}
				if exists("/run/snapd/ns/hello.mnt") {
					t.Error("a namespace was made for the refused launch")
				}
			})
		}
	}
}
