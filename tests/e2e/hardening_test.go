// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A caller's umask must not reach the files and directories root creates
// (umask 002 would make them group-writable and every later launch of the
// snap would refuse them), and must be the app's again.
func TestCallerUmaskDoesNotReachRootFiles(t *testing.T) {
	world(t)
	old := syscall.Umask(0o002)
	r := launch{uid: userUID}.run()
	syscall.Umask(old)
	if r.err != nil {
		t.Fatalf("launch with umask 002 failed: %v\n%s", r.err, r.stderr)
	}
	checkOwnerMode(t, "/run/snapd/ns", os.ModeDir|0o755)
	checkOwnerMode(t, "/run/snapd/ns/snap.hello.info", 0o644)
	checkOwnerMode(t, "/tmp/snap-private-tmp", os.ModeDir|0o700)
	checkOwnerMode(t, "/tmp/snap-private-tmp/snap.hello", os.ModeDir|0o700)
	checkOwnerMode(t, "/tmp/snap-private-tmp/snap.hello/tmp", os.ModeDir|os.ModeSticky|0o777)
	if r.report.Umask != "0002" {
		t.Fatalf("app's umask is %s, want the caller's 0002", r.report.Umask)
	}
	launch{}.mustRun(t)
}

// The private /tmp is its own mount with private propagation, also where
// the host's /tmp is not a mount point (as in this sandbox).
func TestPrivateTmpIsAPrivateMount(t *testing.T) {
	world(t)
	r := launch{}.mustRun(t)
	top := ""
	for _, line := range r.Mounts {
		if f := strings.Fields(line); len(f) > 6 && f[4] == "/tmp" {
			top = line // the last one is on top
		}
	}
	if top == "" {
		t.Fatalf("the app has no /tmp mount: %v", r.Mounts)
	}
	if strings.Contains(top, "shared:") || strings.Contains(top, "master:") {
		t.Fatalf("the app's /tmp propagates: %s", top)
	}
}

// A caller can make writes to their stderr block (a full pipe, a stopped
// terminal). The launcher's debug log and the helper's output must wait
// until no lock is held, so other users' launches never stall.
func TestBlockedStderrHoldsNoLock(t *testing.T) {
	world(t)
	installUpdateNS(t)
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	// Fill the pipe so that the next write blocks. (Fd puts the file in
	// blocking mode: call it once.)
	fd := int(wr.Fd())
	syscall.SetNonblock(fd, true)
	chunk := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fd, chunk); err != nil {
			break
		}
	}
	syscall.SetNonblock(fd, false)
	blocked := launch{debug: true}.command()
	blocked.Stderr = wr
	if err := blocked.Start(); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	defer func() {
		blocked.Process.Kill()
		blocked.Wait()
	}()
	time.Sleep(200 * time.Millisecond) // let it get as far as it can
	start := time.Now()
	other := launch{instance: "hello", uid: 1001, debug: true}.run()
	if other.err != nil {
		t.Fatalf("another user's launch failed while the first caller's stderr was blocked: %v\n%s", other.err, other.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("another user's launch took %s: a lock was held while writing to a blocked stderr", d)
	}
}

// snap-update-ns runs as root: it must not see a stale record of a previous
// namespace (only the launcher's record of the tmpfs root, as snap-confine
// ≥ 2.59 writes it), the caller's descriptors or terminal session.
func TestSnapUpdateNSIsIsolatedFromTheCaller(t *testing.T) {
	world(t)
	installUpdateNS(t)
	if err := os.MkdirAll("/run/snapd/ns", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/run/snapd/ns/snap.hello.fstab", []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra, err := os.Open("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	res := launch{files: []*os.File{extra}, args: []string{"read", "/mnt/snap-update-ns.log"}}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	log := res.report.Read["/mnt/snap-update-ns.log"]
	for _, want := range []string{"session-leader=true\n", `fstab="tmpfs / tmpfs x-snapd.origin=rootfs 0 0\n"` + "\n", "fds=0->/dev/null "} {
		if !strings.Contains(log, want) {
			t.Errorf("snap-update-ns log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "/etc/passwd") {
		t.Errorf("the caller's descriptor reached snap-update-ns:\n%s", log)
	}
	if !strings.Contains(res.stderr, "fake snap-update-ns: applied the profile of hello") {
		t.Errorf("snap-update-ns's output was not passed on: %q", res.stderr)
	}
	if !containsInt(res.report.FDs, 3) {
		t.Errorf("the caller's descriptor 3 did not reach the app: %v", res.report.FDs)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A snap with a mount profile cannot get a namespace without
// snap-update-ns: it would be preserved without its layouts.
func TestMountProfileWithoutSnapUpdateNSFails(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/var/lib/snapd/mount", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/mount/snap.hello.fstab", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg := (launch{}).mustFail(t); !strings.Contains(msg, "snap-update-ns is not installed") && !strings.Contains(msg, "is not installed") {
		t.Fatalf("unexpected error %q", msg)
	}
	if nsID(t, "/run/snapd/ns/hello.mnt") != 0 {
		t.Fatal("a namespace was preserved without its mount profile")
	}
}

// The Go runtime's variables are honoured before main even under setuid:
// the launcher executes itself again with them under saved names, and the
// app gets them as the caller set them, as from snap-confine
// (TestAppEnvironmentIsSnapConfines has more of the same), GOTRACEBACK
// too, which the runtime of a launch that raised privilege (a user's)
// replaced with its own "none" before the launcher ran, but in the
// file-capability install (SECURITY.md §9).
func TestGoRuntimeVariablesReachTheAppAsTheCallerSetThem(t *testing.T) {
	world(t)
	set := []string{"GODEBUG=gctrace=1", "GOGC=1", "GOMAXPROCS=1", "GOMEMLIMIT=64MiB", "GOTRACEBACK=crash"}
	for _, in := range installs {
		for _, uid := range []int{userUID, 0} {
			r := launch{caps: in.caps, uid: uid, env: set}.mustRun(t)
			var got []string
			for _, kv := range r.Env {
				if strings.HasPrefix(kv, "GO") || strings.HasPrefix(kv, "SNAP_LAUNCH_") {
					got = append(got, kv)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(set))
			if uid != 0 && in.caps {
				want = slices.DeleteFunc(want, func(kv string) bool { return strings.HasPrefix(kv, "GOTRACEBACK=") })
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, uid %d: the app got %q, want %q", in.name, uid, got, want)
			}
		}
	}
}

func TestSnapCookieIsPassedToTheApp(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/var/lib/snapd/cookie", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/cookie/snap.hello", []byte("c00kie-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := launch{env: []string{"SNAP_COOKIE=forged"}}.mustRun(t)
	env := strings.Join(r.Env, "\n") + "\n"
	for _, want := range []string{"SNAP_COOKIE=c00kie-value\n", "SNAP_CONTEXT=c00kie-value\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("app's environment lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "SNAP_COOKIE=forged") {
		t.Error("the caller's SNAP_COOKIE reached the app")
	}
}

// The cookie is read from the host before the snap's namespace is joined,
// in both installs: a mount inside that namespace over the snap's cookie
// file (another snap's root-only cookie bound there) hands nothing over.
// A hook keeps the SNAP_COOKIE snapd gave it, as with snap-confine.
func TestSnapCookieIsReadFromTheHostBeforeJoining(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			if err := os.MkdirAll("/var/lib/snapd/cookie", 0o700); err != nil {
				t.Fatal(err)
			}
			for snap, cookie := range map[string]string{"hello": "hello-cookie", "other": "other-cookie"} {
				if err := os.WriteFile("/var/lib/snapd/cookie/snap."+snap, []byte(cookie), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			launch{caps: in.caps}.mustRun(t)
			inNamespace(t, "/run/snapd/ns/hello.mnt", func() error {
				return unix.Mount("/var/lib/snapd/cookie/snap.other", "/var/lib/snapd/cookie/snap.hello", "", unix.MS_BIND, "")
			})
			for _, uid := range []int{0, userUID} {
				r := launch{caps: in.caps, uid: uid}.mustRun(t)
				if !slices.Contains(r.Env, "SNAP_COOKIE=hello-cookie") || slices.Contains(r.Env, "SNAP_COOKIE=other-cookie") {
					t.Fatalf("uid %d: the app's cookie is not the host's: %q", uid, r.Env)
				}
			}
			hook := launch{caps: in.caps, uid: userUID, tag: "snap.hello.hook.configure", env: []string{"SNAP_COOKIE=from-snapd"}}.mustRun(t)
			if !slices.Contains(hook.Env, "SNAP_COOKIE=from-snapd") {
				t.Fatalf("the hook's SNAP_COOKIE was replaced: %q", hook.Env)
			}
		})
	}
}

// The global lock is needed only until /run/snapd/ns is initialised: a
// caller holding it (stopped, say) must not stall launches after that.
func TestGlobalLockIsNotNeededOnceInitialised(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	f, err := os.OpenFile("/run/snapd/lock/.lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	launch{instance: "hello_two"}.mustRun(t)
	launch{}.mustRun(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("launches waited %s for the global lock", d)
	}
}
