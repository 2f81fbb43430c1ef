// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

// ensureBase makes a base snap revision once per run.
func ensureBase(t *testing.T, name, rev string) {
	t.Helper()
	var st, parent unix.Stat_t
	mnt := filepath.Join("/snap", name, rev)
	if unix.Stat(mnt, &st) == nil && unix.Stat(filepath.Dir(mnt), &parent) == nil && st.Dev != parent.Dev {
		return
	}
	if err := sandbox.MakeBase(sandbox.Base{Name: name, Revision: rev}); err != nil {
		t.Fatal(err)
	}
}

// refresh points the base's current at rev for the rest of the test.
func refresh(t *testing.T, name, rev string) {
	t.Helper()
	ensureBase(t, name, rev)
	old, err := os.Readlink(filepath.Join("/snap", name, "current"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SetCurrent(name, rev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.SetCurrent(name, old) })
}

// runningApp starts a long-lived process of the snap in one of snapd's
// tracking cgroups (snap.<instance>.app-<id>.scope) and returns a function
// that stops it and removes the group.
func runningApp(t *testing.T, instance string) func() {
	t.Helper()
	group := fmt.Sprintf("/sys/fs/cgroup/snap.%s.app-%d.scope", instance, time.Now().UnixNano())
	if err := os.Mkdir(group, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(probe, "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(group+"/cgroup.procs", []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	stop := func() {
		if cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
			cmd.Process = nil
		}
		os.Remove(group)
	}
	t.Cleanup(stop)
	return stop
}

func TestBaseRefreshRebuildsWhenTheSnapIsNotRunning(t *testing.T) {
	world(t)
	before := launch{}.mustRun(t)
	refresh(t, "core", "2")
	res := launch{debug: true, args: []string{"read", "/base-marker", "stat", "/bin"}}.run()
	if res.err != nil {
		t.Fatalf("launch after the refresh failed: %v\n%s", res.err, res.stderr)
	}
	r := res.report
	if r.MountNSID == before.MountNSID {
		t.Fatal("the stale namespace was joined after a base refresh")
	}
	if r.Read["/base-marker"] != "core 2\n" || !strings.HasPrefix(r.Stat["/bin"], devOf(t, "/snap/core/2")+":") {
		t.Fatalf("the app does not run on the new base: %q %s", r.Read["/base-marker"], r.Stat["/bin"])
	}
	if !strings.Contains(res.stderr, "stale (should): base \"core\" was refreshed from revision 1 to 2") {
		t.Errorf("the debug log does not explain the decision:\n%s", res.stderr)
	}
	if r.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
		t.Fatal("the new namespace is not preserved")
	}
}

func TestBaseRefreshKeepsTheNamespaceWhileTheSnapRuns(t *testing.T) {
	world(t)
	before := launch{}.mustRun(t)
	stop := runningApp(t, "hello")
	refresh(t, "core", "2")
	res := launch{debug: true, args: []string{"read", "/base-marker"}}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	if res.report.MountNSID != before.MountNSID || res.report.Read["/base-marker"] != "core 1\n" {
		t.Fatal("an occupied namespace was discarded after a mere refresh")
	}
	if !strings.Contains(res.stderr, "but the snap is running") {
		t.Errorf("the debug log does not say why it was kept:\n%s", res.stderr)
	}
	// Another snap's processes do not count.
	stopOther := runningApp(t, "hello_bar")
	defer stopOther()
	stop()
	after := launch{args: []string{"read", "/base-marker"}}.mustRun(t)
	if after.MountNSID == before.MountNSID || after.Read["/base-marker"] != "core 2\n" {
		t.Fatal("the namespace was not rebuilt once the snap stopped")
	}
}

func TestBaseChangeDiscardsEvenWhileTheSnapRuns(t *testing.T) {
	world(t)
	ensureBase(t, "core18", "2")
	sandbox.SetCurrent("core18", "2")
	before := launch{}.mustRun(t)
	runningApp(t, "hello")
	r := launch{flags: []string{"--base", "core18"}, args: []string{"read", "/base-marker"}}.mustRun(t)
	if r.MountNSID == before.MountNSID || r.Read["/base-marker"] != "core18 2\n" {
		t.Fatal("a change of base did not rebuild the occupied namespace")
	}
	data, _ := os.ReadFile("/run/snapd/ns/snap.hello.info")
	if !strings.HasPrefix(string(data), "base-snap-name=core18\n") {
		t.Fatalf("the info file was not rewritten: %q", data)
	}
}

func TestHomedirsChangeMakesTheNamespaceStale(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/home/extra", 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll("/home/extra")
	before := launch{}.mustRun(t)
	if err := os.WriteFile("/var/lib/snapd/system-params", []byte("homedirs=/home/extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := launch{debug: true}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	if res.report.MountNSID == before.MountNSID {
		t.Fatal("a homedirs change did not rebuild the namespace")
	}
	if !strings.Contains(res.stderr, "homedirs changed") {
		t.Errorf("the debug log does not say why:\n%s", res.stderr)
	}
	if !mountedAt(res.report.Mounts, "/home/extra") {
		t.Error("the new homedir is not mounted in the namespace")
	}
	if again := (launch{}).mustRun(t); again.MountNSID != res.report.MountNSID {
		t.Error("the rebuilt namespace is not kept")
	}
}

func mountedAt(mounts []string, dir string) bool {
	for _, line := range mounts {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// A namespace whose info file holds only snapd's base-snap-name line (made
// by snapd's snap-confine, or an older version of ours) is inspected.
func TestNamespaceWithoutFactsIsInspected(t *testing.T) {
	world(t)
	before := launch{}.mustRun(t)
	if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := launch{debug: true}.run()
	if res.err != nil || res.report.MountNSID != before.MountNSID {
		t.Fatalf("a fresh namespace without facts was not kept: %v\n%s", res.err, res.stderr)
	}
	if !strings.Contains(res.stderr, "(inspected)") {
		t.Errorf("the namespace was not inspected:\n%s", res.stderr)
	}
	refresh(t, "core", "2")
	if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = launch{debug: true, args: []string{"read", "/base-marker"}}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	if res.report.MountNSID == before.MountNSID || res.report.Read["/base-marker"] != "core 2\n" {
		t.Fatal("a stale namespace without facts was not rebuilt")
	}
	if !strings.Contains(res.stderr, "is not mounted at / or /usr in the namespace") {
		t.Errorf("the inspection did not find the namespace stale:\n%s", res.stderr)
	}
}

// The command line has no way to ask for a discard: whatever a caller
// passes besides another --base (TestBaseChangeDiscardsEvenWhileTheSnapRuns,
// as snap-confine's --base), a fresh namespace is joined, or left alone by
// a classic launch, in both installs, as root and as a user.
func TestNoCommandLineDiscardsAFreshNamespace(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			before := launch{caps: in.caps}.mustRun(t)
			for _, l := range []launch{
				{flags: []string{"--base", "core"}},
				{flags: []string{"--classic"}, uid: userUID},
				{flags: []string{"--classic", "--base", "core18"}},
				{tag: "snap.hello.hook.configure"},
				{uid: userUID, debug: true},
				{env: []string{"SNAP_CONFINE_DEBUG=yes", "SNAP_REEXEC=0", "SNAP_CONFINE_MAX_PROFILE_WAIT=0"}},
				{args: []string{"--base", "core18"}}, // the app's arguments, never parsed
			} {
				l.caps = in.caps
				l.mustRun(t)
				if id := nsID(t, "/run/snapd/ns/hello.mnt"); id != before.MountNSID {
					t.Fatalf("%+v: the fresh namespace was replaced (%d, was %d)", l, id, before.MountNSID)
				}
			}
		})
	}
}

// snapDiscard runs snap-discard-ns as root.
func snapDiscard(args ...string) (string, error) {
	out, err := exec.Command(snapDiscardNS, args...).CombinedOutput()
	return string(out), err
}

func TestSnapDiscardNSRemovesExactlyOneInstance(t *testing.T) {
	world(t)
	for _, inst := range []string{"foo", "foo_bar", "foobar", "foo-bar"} {
		launch{instance: inst}.mustRun(t)
	}
	for name, content := range map[string]string{
		"snap.foo.fstab": "", "snap.foo.1000.user-fstab": "", "foo.1000.mnt": "",
		"snap.foo_bar.fstab": "", "foo_bar.1000.mnt": "", "snap.foobar.1000.user-fstab": "",
	} {
		if err := os.WriteFile("/run/snapd/ns/"+name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := snapDiscard("foo"); err != nil {
		t.Fatalf("snap-discard-ns foo: %v\n%s", err, out)
	}
	for _, gone := range []string{"foo.mnt", "foo.1000.mnt", "snap.foo.info", "snap.foo.fstab", "snap.foo.1000.user-fstab"} {
		if exists("/run/snapd/ns/" + gone) {
			t.Errorf("%s survived", gone)
		}
	}
	for _, inst := range []string{"foo_bar", "foobar", "foo-bar"} {
		if nsID(t, "/run/snapd/ns/"+inst+".mnt") == 0 || !exists("/run/snapd/ns/snap."+inst+".info") {
			t.Errorf("%s's namespace was touched", inst)
		}
	}
	for _, kept := range []string{"snap.foo_bar.fstab", "foo_bar.1000.mnt", "snap.foobar.1000.user-fstab"} {
		if !exists("/run/snapd/ns/" + kept) {
			t.Errorf("%s was removed", kept)
		}
	}
	if data, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(data), "/run/snapd/ns/foo.mnt") {
		t.Error("foo's namespace is still mounted")
	}
	// The snap works again afterwards.
	launch{instance: "foo"}.mustRun(t)
}

func TestSnapDiscardNSChecksItsCallerAndInput(t *testing.T) {
	world(t)
	// snap-confine passes --from-snap-confine, snapd ≥ 2.74
	// --snap-already-locked while it refreshes the snap: both mean "the
	// caller holds the lock", and each is refused without it.
	for _, opt := range []string{"--from-snap-confine", "--snap-already-locked"} {
		launch{}.mustRun(t)
		if out, err := snapDiscard(opt, "hello"); err == nil || !strings.HasPrefix(out, "cannot ") {
			t.Errorf("%s without the lock held succeeded: %q", opt, out)
		}
		if nsID(t, "/run/snapd/ns/hello.mnt") == 0 {
			t.Fatalf("%s: the namespace was discarded without the lock held", opt)
		}
		f, err := os.OpenFile("/run/snapd/lock/hello.lock", os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		if out, err := snapDiscard(opt, "hello"); err != nil {
			t.Errorf("%s with the lock held: %v %s", opt, err, out)
		}
		f.Close()
		if exists("/run/snapd/ns/hello.mnt") {
			t.Errorf("%s: the namespace was not discarded", opt)
		}
	}
	for _, bad := range [][]string{{"../x"}, {"Foo"}, {""}, {"x.1000"}, {}, {"--from-snap-confine"}, {"--snap-already-locked"}, {"-x", "hello"}, {"--help", "hello"}, {"hello", "--from-snap-confine"}} {
		if out, err := snapDiscard(bad...); err == nil || !strings.HasPrefix(out, "cannot ") {
			t.Errorf("snap-discard-ns %q: %v %q", bad, err, out)
		}
	}
	// --help and --version print on stdout and succeed, for anyone.
	for opt, want := range map[string]string{"--help": "Usage: snap-discard-ns [--from-snap-confine | --snap-already-locked] INSTANCE\n", "--version": "snap-discard-ns "} {
		cmd := exec.Command(snapDiscardNS, opt)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || !strings.HasPrefix(string(out), want) || stderr.Len() != 0 {
			t.Errorf("snap-discard-ns %s: %v, stdout %q, stderr %q", opt, err, out, stderr.String())
		}
	}
	os.RemoveAll("/run/snapd")
	if out, err := snapDiscard("hello"); err != nil {
		t.Errorf("a missing /run/snapd/ns is not success: %v %s", err, out)
	}
	// Not for users: it is neither setuid nor capable.
	cmd := exec.Command(snapDiscardNS, "hello")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "must run as root") {
		t.Errorf("snap-discard-ns ran for a user: %v %s", err, out)
	}
}

// Hostile entries at the discarded names are skipped, never followed, and
// nothing outside /run/snapd/ns changes.
func TestDiscardSkipsHostileEntries(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	victim := "/var/tmp/victim"
	if err := os.WriteFile(victim, []byte("intact"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(victim)
	os.Remove("/run/snapd/ns/snap.hello.info")
	if err := os.Symlink(victim, "/run/snapd/ns/snap.hello.info"); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo("/run/snapd/ns/hello.1000.mnt", 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove("/run/snapd/ns/snap.hello.fstab")
	if err := os.Mkdir("/run/snapd/ns/snap.hello.fstab", 0o755); err != nil {
		t.Fatal(err)
	}
	sock, err := listenUnix("/run/snapd/ns/hello.1001.mnt")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	done := make(chan struct{})
	go func() {
		snapDiscard("hello")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("snap-discard-ns hung on a hostile entry")
	}
	if data, _ := os.ReadFile(victim); string(data) != "intact" {
		t.Error("the symlink was followed")
	}
	for _, kept := range []string{"snap.hello.info", "hello.1000.mnt", "snap.hello.fstab", "hello.1001.mnt"} {
		if !exists("/run/snapd/ns/" + kept) {
			t.Errorf("the non-regular %s was removed", kept)
		}
	}
	if exists("/run/snapd/ns/hello.mnt") {
		t.Error("the namespace itself was not discarded")
	}
	// The launcher refuses a directory where snap-update-ns's record goes,
	// treats the symlinked info file as absent (inspection) and never
	// follows it either.
	if msg := (launch{}).mustFail(t); !strings.Contains(msg, "snap.hello.fstab") {
		t.Errorf("unexpected error %q", msg)
	}
	os.Remove("/run/snapd/ns/snap.hello.fstab")
	r := launch{}.run()
	if r.err != nil {
		t.Fatalf("launch after the hostile entries failed: %v\n%s", r.err, r.stderr)
	}
	if data, _ := os.ReadFile(victim); string(data) != "intact" {
		t.Error("the launcher wrote through the symlinked info file")
	}
}

// listenUnix makes a listening unix socket at path.
func listenUnix(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
