// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// foreignNamespace makes a mount namespace owned by an unprivileged user
// namespace, as uid 1000 could with `unshare -U -r -m`, and binds it over
// path, as a root helper with a bug or a mistaken admin might. On Linux
// 6.18 a namespace file is bound only when its id is above the binder's,
// so the namespace is made again on each CPU until the bind takes.
func foreignNamespace(t *testing.T, path string) uint64 {
	t.Helper()
	for cpu := 0; cpu < 4*runtime.NumCPU(); cpu++ {
		cmd := exec.Command("taskset", "-c", strconv.Itoa(cpu%runtime.NumCPU()), "unshare", "-U", "-r", "-m", "sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID, Groups: []uint32{userUID}}}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		nsPath := fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid)
		var err error
		for i := 0; i < 100; i++ {
			var own, parent unix.Stat_t
			if unix.Stat(nsPath, &own) == nil && unix.Stat("/proc/self/ns/mnt", &parent) == nil && own.Ino != parent.Ino {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err = unix.Mount(nsPath, path, "", unix.MS_BIND, ""); err == nil {
			return nsID(t, path)
		}
		if err != unix.EINVAL {
			t.Fatalf("cannot bind %s over %s: %v", nsPath, path, err)
		}
	}
	t.Fatalf("cannot bind a foreign namespace over %s on any CPU", path)
	return 0
}

// bindNamespace binds the namespace file src over dst.
func bindNamespace(t *testing.T, src, dst string) {
	t.Helper()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("cannot bind %s over %s: %v", src, dst, err)
	}
}

// A namespace bound over a preserved namespace's file is joined only when
// it is the one captured there: owned by pid 1's user namespace, with the id
// the info file recorded. Anything else is discarded and rebuilt, for the
// per-snap namespace and for a user's layer, in both installs.
func TestForeignNamespaceAtTheFileIsNeverJoined(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				uid   int
				plant func(t *testing.T) uint64
			}{
				{"user-owned namespace over the snap's", 0, func(t *testing.T) uint64 {
					return foreignNamespace(t, "/run/snapd/ns/hello.mnt")
				}},
				{"another snap's namespace over the snap's", 0, func(t *testing.T) uint64 {
					launch{caps: in.caps, instance: "other", tag: "snap.other.app"}.mustRun(t)
					bindNamespace(t, "/run/snapd/ns/other.mnt", "/run/snapd/ns/hello.mnt")
					return nsID(t, "/run/snapd/ns/other.mnt")
				}},
				{"user-owned namespace over a user's layer", userUID, func(t *testing.T) uint64 {
					return foreignNamespace(t, "/run/snapd/ns/hello.1000.mnt")
				}},
				{"another user's layer over a user's", userUID, func(t *testing.T) uint64 {
					launch{caps: in.caps, uid: 1001}.mustRun(t)
					bindNamespace(t, "/run/snapd/ns/hello.1001.mnt", "/run/snapd/ns/hello.1000.mnt")
					return nsID(t, "/run/snapd/ns/hello.1001.mnt")
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					world(t)
					enablePerUser(t)
					launch{caps: in.caps, uid: tc.uid}.mustRun(t)
					foreign := tc.plant(t)
					r := launch{caps: in.caps, uid: tc.uid, debug: true}.mustRun(t)
					if r.MountNSID == foreign {
						t.Fatalf("the app runs in the foreign namespace %d", foreign)
					}
					// The rebuilt one is preserved and joined next time.
					if again := (launch{caps: in.caps, uid: tc.uid}).mustRun(t); again.MountNSID != r.MountNSID {
						t.Fatalf("the rebuilt namespace %d was not joined again (%d)", r.MountNSID, again.MountNSID)
					}
				})
			}
		})
	}
}

// The namespace a launch joins is checked on the very descriptor it joins:
// a snapd-made namespace (no recorded id) is still checked for its owner.
func TestForeignNamespaceWithoutRecordedIDIsNeverJoined(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	// What snapd's own snap-confine writes: the base's name only.
	if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := foreignNamespace(t, "/run/snapd/ns/hello.mnt")
	if r := (launch{}).mustRun(t); r.MountNSID == foreign {
		t.Fatalf("the app runs in the foreign namespace %d", foreign)
	}
}
