// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

// Debian's snapd 2.57.6, as the bench gets it: downloaded with
// tools/debfetch.sh into the repository's .cache/debs (git-ignored,
// shared with the bench) and unpacked there with dpkg -x, never installed.
// Its setuid snap-confine is installed in the sandbox at
// /usr/libexec/snapd, the only place snapd 2.57 runs from, with its snap-discard-ns
// and the test stand-in as its snap-update-ns.

const (
	snapdDir         = "/usr/libexec/snapd"
	snapdSnapConfine = snapdDir + "/snap-confine"
	snapdTreeEnv     = "SNAPNS_E2E_SNAPD"      // the unpacked package, on the host
	snapdSkipEnv     = "SNAPNS_E2E_SNAPD_SKIP" // why there is none
	snapdVersionWant = "2.57"
	repoRoot         = "../.."
)

// fetchSnapd runs outside the sandbox: it finds or fetches the package and
// passes its tree, or why there is none, to the sandbox in the environment.
// It never fails the run: the tests that need it skip, loudly.
func fetchSnapd() {
	tree, err := sandbox.SnapdTree(repoRoot, "bookworm")
	if err == nil {
		if v := sandbox.SnapdVersion(tree); !strings.HasPrefix(v, snapdVersionWant+".") {
			err = fmt.Errorf("the package is snapd %s, not %s.x", v, snapdVersionWant)
		}
	}
	if err != nil {
		why := "SKIPPING the tests with Debian's snapd " + snapdVersionWant + " snap-confine: " + strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintln(os.Stderr, "*** "+why+" ***")
		os.Setenv(snapdSkipEnv, why)
		return
	}
	abs, _ := filepath.Abs(tree)
	os.Setenv(snapdTreeEnv, abs)
}

// snapdFiles are the package's files the sandbox gets, if it was fetched.
func snapdFiles() []sandbox.File {
	tree := os.Getenv(snapdTreeEnv)
	if tree == "" {
		return nil
	}
	pkg := filepath.Join(tree, "usr/lib/snapd")
	bin := filepath.Join(os.Getenv("SNAPNS_SANDBOX_STAGING"), "bin")
	return []sandbox.File{
		{Src: filepath.Join(pkg, "snap-confine"), Dst: snapdSnapConfine, Mode: 0o755 | os.ModeSetuid},
		{Src: filepath.Join(pkg, "snap-discard-ns"), Dst: snapdDir + "/snap-discard-ns", Mode: 0o755},
		{Src: filepath.Join(pkg, "info"), Dst: snapdDir + "/info", Mode: 0o644},
		{Src: filepath.Join(bin, "fakeupdatens"), Dst: snapdDir + "/snap-update-ns", Mode: 0o755},
	}
}

// snapdWorld is world for a test of snapd's snap-confine: it skips, saying
// why, when the package could not be had, and pins the test's thread (and
// so every child it starts) to the CPU handing out the highest namespace
// ids, which snapd 2.57's capture by bind mount needs on Linux 6.18. The
// test must not start goroutines that fork.
func snapdWorld(t *testing.T) {
	t.Helper()
	world(t)
	if why := os.Getenv(snapdSkipEnv); why != "" {
		t.Skip(why)
	}
	if !exists(snapdSnapConfine) {
		t.Skip("SKIPPING: no snapd snap-confine in the sandbox")
	}
	cpu, err := sandbox.HighestNamespaceCPU()
	if err != nil {
		t.Fatalf("cannot find the CPU with the highest mount namespace ids: %v", err)
	}
	// The thread is discarded when the test's goroutine ends locked.
	runtime.LockOSThread()
	// No CPU when the kernel has no namespace ids (before 6.8): then it
	// hands none out in batches either, and any CPU will do.
	if cpu >= 0 {
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			t.Fatalf("cannot pin to CPU %d: %v", cpu, err)
		}
	}
	// snapd 2.57 writes a .bin profile; "@unrestricted" loads no filter.
	if err := os.MkdirAll(seccompDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seccompDir+"/snap.hello.app.bin", []byte("@unrestricted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapdLaunch is a launch by snapd's snap-confine of the probe with args.
func snapdLaunch(uid int, args ...string) *exec.Cmd {
	return launch{program: snapdSnapConfine, uid: uid, args: args, noProfile: true, noDevice: true}.command()
}

// Namespaces made by Debian's snapd 2.57.6 snap-confine (its info file
// holds the base alone) are listed as made by snap-confine; their
// staleness is inspected through a process in them when the caller can see
// one, and "unknown" otherwise, as the launcher would decide on the next
// launch.
func TestSnapNsListsNamespacesMadeBySnapdSnapConfine(t *testing.T) {
	snapdWorld(t)
	if out, err := snapdLaunch(0).CombinedOutput(); err != nil {
		t.Fatalf("snapd's snap-confine: %v\n%s", err, out)
	}
	info, err := os.ReadFile("/run/snapd/ns/snap.hello.info")
	if err != nil || string(info) != "base-snap-name=core\n" {
		t.Fatalf("snapd's info file: %q, %v", info, err)
	}
	id := listedID(t, "/run/snapd/ns/hello.mnt")
	for _, uid := range []int{0, userUID} {
		n := listed(t, snapNSList(t, uid), "hello.mnt")
		if n.MadeBy != "snap-confine" || n.Base != "core" || n.Revision != "" || !n.Preserved || n.ID != id {
			t.Errorf("uid %d: snap-confine's namespace: %+v (want id %d)", uid, n, id)
		}
		if n.Stale != "unknown" || n.NextLaunch != "inspect" {
			t.Errorf("uid %d: no process in it: %+v", uid, n)
		}
	}

	// An app of root's in it: root inspects the namespace through it, the
	// user cannot see it and still does not know.
	cmd := snapdLaunch(0, "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var n = listed(t, snapNSList(t, 0), "hello.mnt")
	for deadline := time.Now().Add(10 * time.Second); n.Stale == "unknown" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n = listed(t, snapNSList(t, 0), "hello.mnt")
	}
	if n.Stale != "keep" || n.NextLaunch != "join" || n.MadeBy != "snap-confine" || !strings.Contains(n.Reason, "(inspected) through pid") {
		t.Errorf("root, through the app: %+v", n)
	}
	if n := listed(t, snapNSList(t, userUID), "hello.mnt"); n.Stale != "unknown" || n.NextLaunch != "inspect" {
		t.Errorf("the user, who cannot see root's app: %+v", n)
	}
	// The base refreshed under it: the inspection sees the old revision.
	refresh(t, "core", "2")
	if n := listed(t, snapNSList(t, 0), "hello.mnt"); n.Stale != "should" || !strings.Contains(n.Reason, "through pid") {
		t.Errorf("root, through the app, after a refresh: %+v", n)
	}
}
