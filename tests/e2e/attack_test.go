// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nothingCreated fails the test if a launch left anything in the shared
// world.
func nothingCreated(t *testing.T) {
	t.Helper()
	for _, path := range []string{"/run/snapd", "/tmp/snap-private-tmp"} {
		if exists(path) {
			t.Fatalf("%s was created", path)
		}
	}
}

func TestBadNamesAreRefusedAndCreateNothing(t *testing.T) {
	for _, tc := range []struct{ name, instance, tag string }{
		{"dot-dot", "../x", "snap.../x.app"},
		{"uid-suffix", "x.1000", "snap.x.1000.app"},
		{"upper-case", "Foo", "snap.Foo.app"},
		{"empty", "", "snap..app"},
		{"too-long", strings.Repeat("a", 41), "snap." + strings.Repeat("a", 41) + ".app"},
		{"leading-dash", "-foo", "snap.-foo.app"},
		{"tag-of-another-snap", "hello", "snap.other.app"},
		{"tag-of-another-instance", "hello", "snap.hello_x.app"},
		{"tag-not-a-tag", "hello", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world(t)
			l := launch{tag: tc.tag, argv: []string{tc.tag, probe}, env: []string{}}
			l.instance = tc.instance
			if tc.instance == "" {
				// launch{} defaults an empty instance to hello; pass it explicitly.
				l.env = []string{"SNAP_INSTANCE_NAME="}
			}
			msg := l.mustFail(t)
			t.Logf("refused: %s", msg)
			nothingCreated(t)
		})
	}
}

func TestBadBaseIsRefused(t *testing.T) {
	world(t)
	for _, base := range []string{"Core", "../core", "", "core_x"} {
		launch{flags: []string{"--base", base}}.mustFail(t)
	}
	nothingCreated(t)
}

// TestUserPrecreatedPrivateTmpIsMovedAside: in the sticky /tmp anyone can
// make /tmp/snap-private-tmp before root does, as a directory of their
// own, a symlink or a FIFO. Refusing it would let one user fail every
// user's launches: the launcher moves it aside (renamed, never followed nor
// opened, still its owner's) and makes root's.
func TestUserPrecreatedPrivateTmpIsMovedAside(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func() error
	}{
		{"users-directory", func() error { return os.Mkdir("/tmp/snap-private-tmp", 0o700) }},
		{"symlink-to-etc", func() error { return os.Symlink("/etc", "/tmp/snap-private-tmp") }},
		{"fifo", func() error { return unix.Mkfifo("/tmp/snap-private-tmp", 0o600) }},
	} {
		for _, in := range installs {
			t.Run(tc.name+"/"+in.name, func(t *testing.T) {
				world(t)
				asUser(t, tc.create)
				launch{caps: in.caps, uid: userUID + 1, debug: true}.mustRun(t)
				checkOwnerMode(t, "/tmp/snap-private-tmp", os.ModeDir|0o700)
				aside, _ := filepath.Glob("/tmp/snapns-moved-aside-*")
				var st unix.Stat_t
				if len(aside) != 1 || unix.Lstat(aside[0], &st) != nil || st.Uid != userUID {
					t.Errorf("the user's entry was not kept aside, theirs: %v %+v", aside, st)
				}
				if exists("/etc/snap.hello") {
					t.Fatal("the launcher followed the symlink into /etc")
				}
			})
		}
	}
}

// asUser runs fn with the filesystem uid and gid of the unprivileged user, on
// a locked thread, so that what it creates is the user's.
func asUser(t *testing.T, fn func() error) {
	t.Helper()
	asUID(t, userUID, fn)
}

// asUID is asUser for the user uid (whose gid is the same number).
func asUID(t *testing.T, uid int, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		// setfsuid is per thread: lock it and let the thread die.
		lockThreadForever()
		unix.Setfsgid(uid)
		unix.Setfsuid(uid)
		done <- fn()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A launcher killed between creating a directory and handing it to root
// leaves it root-owned with the caller's group: the next launch repairs it.
func TestHalfMadePrivateTmpIsRepaired(t *testing.T) {
	world(t)
	if err := os.Mkdir("/tmp/snap-private-tmp", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown("/tmp/snap-private-tmp", 0, userUID); err != nil {
		t.Fatal(err)
	}
	launch{}.mustRun(t)
	checkOwnerMode(t, "/tmp/snap-private-tmp", os.ModeDir|0o700)
}

func TestHostileEntriesInRunSnapdAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func() error
		want   string
	}{
		{"fifo-at-namespace-file", func() error {
			return mkdirAllThen("/run/snapd/ns", func() error { return unix.Mkfifo("/run/snapd/ns/hello.mnt", 0o600) })
		}, "not a regular file"},
		{"symlink-at-namespace-file", func() error {
			return mkdirAllThen("/run/snapd/ns", func() error { return os.Symlink("/proc/1/ns/mnt", "/run/snapd/ns/hello.mnt") })
		}, "/run/snapd/ns/hello.mnt"},
		{"directory-at-namespace-file", func() error {
			return mkdirAllThen("/run/snapd/ns", func() error { return os.Mkdir("/run/snapd/ns/hello.mnt", 0o755) })
		}, "not a regular file"},
		{"socket-at-namespace-file", func() error {
			return mkdirAllThen("/run/snapd/ns", func() error {
				_, err := listenUnix("/run/snapd/ns/hello.mnt")
				return err
			})
		}, "/run/snapd/ns/hello.mnt"},
		{"symlink-at-lock-file", func() error {
			return mkdirAllThen("/run/snapd/lock", func() error { return os.Symlink("/etc/passwd", "/run/snapd/lock/hello.lock") })
		}, "/run/snapd/lock/hello.lock"},
		{"user-owned-ns-dir-with-entries", func() error {
			return mkdirAllThen("/run/snapd/ns", func() error {
				if err := os.WriteFile("/run/snapd/ns/planted", nil, 0o644); err != nil {
					return err
				}
				return os.Chown("/run/snapd/ns", userUID, userUID)
			})
		}, "owned by uid 1000"},
		{"world-writable-lock-dir", func() error {
			return mkdirAllThen("/run/snapd/lock", func() error { return os.Chmod("/run/snapd/lock", 0o777) })
		}, "writable by others"},
		{"symlink-at-ns-dir", func() error {
			return mkdirAllThen("/run/snapd", func() error { return os.Symlink("/tmp", "/run/snapd/ns") })
		}, "/run/snapd/ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world(t)
			if err := tc.create(); err != nil {
				t.Fatal(err)
			}
			msg := launch{}.mustFail(t)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not contain %q", msg, tc.want)
			}
		})
	}
}

// An entry of a root-only directory that is not root's can only have been
// made by someone else: it is refused with one line and never claimed
// (handed to root), in both installs, since claiming it would make root's
// whatever its owner planted in it.
func TestEntriesNotOwnedByRootAreRefusedNeverClaimed(t *testing.T) {
	for _, path := range []string{"/run/snapd/ns", "/run/snapd/lock/hello.lock"} {
		for _, in := range installs {
			t.Run(path+"/"+in.name, func(t *testing.T) {
				world(t)
				if err := os.MkdirAll("/run/snapd/ns", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll("/run/snapd/lock", 0o755); err != nil {
					t.Fatal(err)
				}
				if path == "/run/snapd/lock/hello.lock" {
					if err := os.WriteFile(path, nil, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Chown(path, userUID, userUID); err != nil {
					t.Fatal(err)
				}
				msg := launch{caps: in.caps, uid: userUID}.mustFail(t)
				if !strings.Contains(msg, path) || !strings.Contains(msg, "owned by uid 1000") {
					t.Fatalf("unexpected error %q", msg)
				}
				var st unix.Stat_t
				if err := unix.Lstat(path, &st); err != nil || st.Uid != userUID {
					t.Fatalf("%s was claimed (owner %d, %v)", path, st.Uid, err)
				}
			})
		}
	}
}

// Nothing the launcher creates is ever the caller's, not even for an
// instant: with file capabilities it makes them as the caller where no one
// else can reach them and gives them to root before they can be. The
// test build of the launcher pauses 100 ms right after each file or
// directory it creates, where a caller racing it (SIGSTOP on an inotify
// event) would stop it, while this test looks at every entry below the
// directories the launcher creates in, as a first launch of a snap with a
// mount profile and a per-user layer goes, in both installs.
func TestNothingTheLauncherCreatesIsEverTheCallers(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			world(t)
			installUpdateNS(t)
			enablePerUser(t)
			var bad []string
			seen := 0
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					for _, top := range []string{"/run/snapd", "/tmp/snap-private-tmp", "/var/lib/snapd"} {
						filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
							if err != nil {
								return nil
							}
							var st unix.Stat_t
							if unix.Lstat(path, &st) != nil {
								return nil
							}
							seen++
							// A staging directory is the caller's
							// for an instant, by design, between
							// its mkdir and its chown (SECURITY.md
							// §4.1): caught there only where the
							// instant is long (an emulated guest).
							if d.IsDir() && strings.HasPrefix(d.Name(), "snapns-staging-") {
								return nil
							}
							if st.Uid != 0 && !slices.Contains(bad, path) {
								bad = append(bad, fmt.Sprintf("%s (uid %d)", path, st.Uid))
							}
							return nil
						})
					}
				}
			}()
			res := launch{program: mode.dir + "/snap-confine", uid: userUID, env: []string{"SNAPNS_TEST_PAUSE_AFTER_CREATE=1"}}.run()
			close(stop)
			<-done
			if res.err != nil {
				t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
			}
			if len(bad) > 0 {
				t.Fatalf("entries owned by the caller were seen: %v", bad)
			}
			t.Logf("%d looks at entries, all root's", seen)
		})
	}
}

func mkdirAllThen(dir string, fn func() error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fn()
}

// TestKilledWhileCreatingLeavesAWorkingState kills the launcher while it
// waits for snap-update-ns, holding the per-snap lock: the helper must die
// with it, the lock must be free, and the next launch must work.
func TestKilledWhileCreatingLeavesAWorkingState(t *testing.T) {
	world(t)
	installUpdateNS(t)
	if err := os.WriteFile("/var/lib/snapd/fake-update-ns-hang", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := launch{}.command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var helper int
	for deadline := time.Now().Add(10 * time.Second); helper == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("snap-update-ns never started")
		}
		data, _ := os.ReadFile("/run/fake-update-ns.pid")
		helper, _ = strconv.Atoi(string(data))
	}
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(helper, 0) == nil; time.Sleep(time.Millisecond) {
		reapZombies()
		if time.Now().After(deadline) {
			t.Fatal("snap-update-ns outlived the killed launcher")
		}
	}
	os.Remove("/var/lib/snapd/fake-update-ns-hang")
	start := time.Now()
	r := launch{}.mustRun(t)
	if r.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
		t.Fatal("the launch after the kill did not preserve its namespace")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the launch after the kill waited %s: a lock was left held", d)
	}
}

// TestKilledAtRandomPointsLeavesAWorkingState kills cold launches after
// random short delays, so the kill lands at every step of a launch; after
// each, a normal launch must work and end in a preserved namespace.
func TestKilledAtRandomPointsLeavesAWorkingState(t *testing.T) {
	world(t)
	installUpdateNS(t)
	for i := range 40 {
		cmd := launch{}.command()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i%10) * 400 * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		reapZombies()
		r := launch{}.mustRun(t)
		if r.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
			t.Fatalf("round %d: app not in the preserved namespace", i)
		}
		if i%2 == 0 {
			unix.Unmount("/run/snapd/ns/hello.mnt", unix.MNT_DETACH)
		}
	}
}

// reapZombies collects orphans re-parented to this pid 1.
func reapZombies() {
	for {
		pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// tamperStage is the "tamper-stage" helper: as the unprivileged caller
// SNAPNS_E2E_UID, it does to the staging directory stage what that caller
// could while the launcher has just made it: opens it to everyone, gives
// itself full access through access control lists that directories made in
// it would inherit, and with kind "file" plants an entry in it. It prints
// what each step gave.
func tamperStage(stage, kind string) int {
	runtime.LockOSThread()
	uid, _ := strconv.Atoi(os.Getenv("SNAPNS_E2E_UID"))
	if err := syscall.Setresgid(uid, uid, uid); err != nil {
		fmt.Println("setresgid:", err)
		return 1
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		fmt.Println("setresuid:", err)
		return 1
	}
	fmt.Printf("chmod=%v\n", unix.Chmod(stage, 0o777))
	// A POSIX ACL in its xattr form: version 2, then (tag, perm, id)
	// entries sorted by tag: the owner, the caller, the owning group, the
	// mask and others.
	const undefined = 0xffffffff
	acl := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range [][3]uint32{{0x01, 7, undefined}, {0x02, 7, uint32(uid)}, {0x04, 5, undefined}, {0x10, 7, undefined}, {0x20, 5, undefined}} {
		acl = binary.LittleEndian.AppendUint16(acl, uint16(e[0]))
		acl = binary.LittleEndian.AppendUint16(acl, uint16(e[1]))
		acl = binary.LittleEndian.AppendUint32(acl, e[2])
	}
	fmt.Printf("acl=%v\n", unix.Setxattr(stage, "system.posix_acl_default", acl, 0))
	if kind == "file" {
		fmt.Printf("file=%v\n", os.WriteFile(stage+"/planted", []byte("mine\n"), 0o666))
	}
	return 0
}

// TestTamperedStagingDirectoryIsNeverUsed: a new directory of root's
// (here /run/snapd, in /run, where everyone can look) is made in a staging
// directory that the file-capability launcher, running as its caller,
// owns for a moment. The caller, stopping the launcher right then, opens it
// to everyone and sets access control lists that whatever is made in it
// would inherit: the launcher takes them all back before it makes anything
// there, so /run/snapd and what is made in it carry none. Planting an entry
// in it makes the caller's own launch fail with one line, leaving nothing
// of root's made, and the next launch of another user works. The setuid
// install's staging directory is root's from the start: the caller can do
// nothing to it.
func TestTamperedStagingDirectoryIsNeverUsed(t *testing.T) {
	for _, install := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		for _, kind := range []string{"acl", "file"} {
			t.Run(install.name+"/"+kind, func(t *testing.T) {
				world(t)
				signal := "/var/tmp/stage-signal"
				os.Remove(signal)
				os.Remove(signal + ".done")
				cmd := launch{program: install.dir + "/snap-confine", uid: userUID, env: []string{"SNAPNS_TEST_PAUSE_IN_STAGE=" + signal}}.command()
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				var stage string
				for deadline := time.Now().Add(10 * time.Second); stage == ""; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						cmd.Wait()
						t.Fatal("the launcher made no staging directory")
					}
					data, _ := os.ReadFile(signal)
					stage = string(data)
				}
				if !strings.HasPrefix(stage, "/run/snapns-staging-") {
					t.Errorf("the first staging directory is %s, not one for /run/snapd", stage)
				}
				tamper := exec.Command("/proc/self/exe", stage, kind)
				tamper.Env = append(os.Environ(), helperEnv+"=tamper-stage", fmt.Sprintf("SNAPNS_E2E_UID=%d", userUID))
				out, err := tamper.CombinedOutput()
				t.Logf("the caller tampered with %s: %v %s", stage, err, strings.ReplaceAll(string(out), "\n", " "))
				tampered := strings.Contains(string(out), "chmod=<nil>")
				if tampered == (install.name == "setuid") {
					t.Errorf("the caller could change the staging directory: %v", tampered)
				}
				if err := os.WriteFile(signal+".done", nil, 0o644); err != nil {
					t.Fatal(err)
				}
				err = cmd.Wait()
				if kind == "file" && tampered {
					if err == nil || !strings.Contains(stderr.String(), "cannot create /run/snapd: someone else put entries in its staging directory") {
						t.Fatalf("a launch whose staging directory held the caller's entry: %v\n%s", err, stderr.String())
					}
					if exists("/run/snapd") {
						t.Error("/run/snapd was made anyway")
					}
					var st unix.Stat_t
					if unix.Lstat(stage, &st) != nil || st.Uid != 0 || st.Mode&0o7777 != 0o700 {
						t.Errorf("the tampered staging directory is not left root's 0700: %+v", st)
					}
					launch{uid: userUID + 1}.mustRun(t)
					return
				}
				if err != nil {
					t.Fatalf("launch failed: %v\n%s", err, stderr.String())
				}
				for _, dir := range []string{"/run/snapd", "/run/snapd/ns", "/run/snapd/lock", "/run/snapd/lock/hello.lock"} {
					var st unix.Stat_t
					if err := unix.Lstat(dir, &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode&0o022 != 0 {
						t.Errorf("%s: %v %+v", dir, err, st)
					}
					for _, acl := range []string{"system.posix_acl_default", "system.posix_acl_access"} {
						if n, err := unix.Getxattr(dir, acl, nil); err != unix.ENODATA && err != unix.EOPNOTSUPP {
							t.Errorf("%s carries %s (%d bytes, %v)", dir, acl, n, err)
						}
					}
				}
				if exists(stage) {
					t.Errorf("the staging directory %s was left behind", stage)
				}
			})
		}
	}
}
