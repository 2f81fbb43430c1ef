// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

var installs = []struct {
	name string
	caps bool
}{{"setuid", false}, {"file-capabilities", true}}

// The app's .bin2 profile binds the app, as two filters (deny, then allow),
// in both install modes, for root and for a user; the launcher itself sets
// no_new_privs nowhere.
func TestAppSeccompProfileIsEnforced(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
				t.Fatal(err)
			}
			for _, uid := range []int{userUID, 0} {
				r := launch{caps: in.caps, uid: uid, args: []string{"uname"}}.mustRun(t)
				if len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "uname: permission denied") {
					t.Fatalf("uid %d: uname was not denied with EACCES in the app: %v", uid, r.Errors)
				}
				if r.Status["Seccomp"] != "2" || r.Status["Seccomp_filters"] != "2" || r.Status["NoNewPrivs"] != "0" {
					t.Fatalf("uid %d: app's status: %v", uid, r.Status)
				}
			}
		})
	}
}

// An unrestricted profile (classic snaps, devmode) loads no filter at all,
// in either format.
func TestUnrestrictedProfileLoadsNothing(t *testing.T) {
	for _, profile := range []string{"unrestricted.bin2", "unrestricted.bin"} {
		for _, in := range installs {
			t.Run(profile+"/"+in.name, func(t *testing.T) {
				world(t)
				if err := installProfile("snap.hello.app", profile); err != nil {
					t.Fatal(err)
				}
				// global.bin is never loaded with an unrestricted profile.
				if err := installProfile("global", "deny-getpid.bin"); err != nil {
					t.Fatal(err)
				}
				for _, flags := range [][]string{nil, {"--classic"}} {
					if r := (launch{caps: in.caps, uid: userUID, flags: flags}).mustRun(t); r.Status["Seccomp"] != "0" {
						t.Fatalf("%v: app's status: %v", flags, r.Status)
					}
				}
			})
		}
	}
}

// snapd 2.63 and earlier: <tag>.bin, then global.bin when there, as
// snap-confine 2.57 loaded them; a .bin2 next to them wins.
func TestLegacyProfilesAreLoadedWithoutBin2(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			if err := installProfile("snap.hello.app", "deny-uname.bin"); err != nil {
				t.Fatal(err)
			}
			r := launch{caps: in.caps, uid: userUID, args: []string{"uname"}}.mustRun(t)
			if r.Status["Seccomp_filters"] != "1" || len(r.Errors) != 1 {
				t.Fatalf("<tag>.bin: status %v errors %v", r.Status, r.Errors)
			}
			if err := installProfile("global", "deny-getpid.bin"); err != nil {
				t.Fatal(err)
			}
			r = launch{caps: in.caps, uid: userUID, args: []string{"uname"}}.mustRun(t)
			if r.Status["Seccomp_filters"] != "2" || len(r.Errors) != 1 {
				t.Fatalf("with global.bin: status %v errors %v", r.Status, r.Errors)
			}
			if err := installProfile("snap.hello.app", "unrestricted.bin2"); err != nil {
				t.Fatal(err)
			}
			r = launch{caps: in.caps, uid: userUID, args: []string{"uname"}}.mustRun(t)
			if r.Status["Seccomp"] != "0" || len(r.Errors) != 0 {
				t.Fatalf("the .bin2 did not win: status %v errors %v", r.Status, r.Errors)
			}
		})
	}
}

// snapd 2.61 and older write no device settings file, and write .bin
// profiles: with a .bin profile a missing settings file is not waited for
// (their snap-confine did not wait either), in both installs; with a .bin2
// it is (TestMissingProfileIsWaitedFor's bound applies to both files).
func TestOldSnapdWithoutDeviceSettingsIsNotWaitedFor(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			if err := installProfile("snap.hello.app", "deny-uname.bin"); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			launch{caps: in.caps, uid: userUID, noDevice: true}.mustRun(t)
			if time.Since(start) > 10*time.Second {
				t.Fatalf("the launch waited %s for the device settings", time.Since(start))
			}
			if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
				t.Fatal(err)
			}
			os.Remove(seccompDir + "/snap.hello.app.bin")
			msg := launch{caps: in.caps, uid: userUID, noDevice: true, env: []string{"SNAP_CONFINE_MAX_PROFILE_WAIT=1"}}.mustFail(t)
			if !strings.Contains(msg, "snap.hello.device") {
				t.Fatalf("unexpected error %q", msg)
			}
		})
	}
}

// After the app's profile is loaded, snap-confine 2.77 makes only capset,
// execve, exit_group, write, readlink, openat, newfstatat and fchdir; a
// profile that allows nothing else (and an app that needs only write and
// exit_group) must start, whatever the Go runtime would like to call.
func TestAppStartsUnderAProfileAllowingOnlyWhatSnapConfineNeeds(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("SKIPPING: the app that needs only write and exit_group is built for amd64")
	}
	world(t)
	if err := installProfile("snap.hello.app", "after-load-only.bin2"); err != nil {
		t.Fatal(err)
	}
	for _, in := range installs {
		for _, uid := range []int{userUID, 0} {
			for _, flags := range [][]string{nil, {"--classic"}} {
				l := launch{caps: in.caps, uid: uid, flags: flags, argv: append(append([]string{}, flags...), "snap.hello.app", startedApp)}
				for round := 0; round < 3; round++ {
					cmd := l.command()
					out, err := cmd.Output()
					stderr := ""
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = string(ee.Stderr)
					}
					if err != nil || string(out) != "started\n" {
						t.Fatalf("%s uid %d %v: %v, stdout %q, stderr %q", in.name, uid, flags, err, out, stderr)
					}
				}
			}
		}
	}
}

// Every profile snap-confine refuses is refused with one line naming the
// file and the reason, before anything is created.
func TestUnusableSeccompProfilesAreRefused(t *testing.T) {
	profile := seccompDir + "/snap.hello.app.bin2"
	patchHeader := func(off int, v uint32) func() error {
		return func() error {
			data, err := os.ReadFile(profile)
			if err != nil {
				return err
			}
			binary.NativeEndian.PutUint32(data[off:], v)
			return os.WriteFile(profile, data, 0o644)
		}
	}
	for _, tc := range []struct {
		name  string
		setup func() error
		want  string
	}{
		{"group-writable", func() error { return os.Chmod(profile, 0o664) }, "writable by group or others"},
		{"user-owned", func() error { return os.Chown(profile, userUID, userUID) }, "owned by uid 1000"},
		{"symlink", func() error {
			os.Remove(profile)
			return os.Symlink(profileDir+"/deny-uname.bin2", profile)
		}, "too many levels of symbolic links"},
		{"fifo", func() error {
			os.Remove(profile)
			return unix.Mkfifo(profile, 0o644)
		}, "not a regular file"},
		{"directory", func() error {
			os.Remove(profile)
			return os.Mkdir(profile, 0o755)
		}, "not a regular file"},
		{"empty", func() error { return os.Truncate(profile, 0) }, "seccomp profile"},
		{"bad-magic", func() error { return patchHeader(0, 0x4141)() }, "magic"},
		{"version-2", func() error {
			data, err := os.ReadFile(profile)
			if err != nil {
				return err
			}
			data[2] = 2
			return os.WriteFile(profile, data, 0o644)
		}, "version"},
		{"truncated", func() error {
			st, err := os.Stat(profile)
			if err != nil {
				return err
			}
			return os.Truncate(profile, st.Size()-8)
		}, "seccomp profile"},
		{"padded", func() error {
			f, err := os.OpenFile(profile, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write(make([]byte, 8))
			return err
		}, "seccomp profile"},
		{"allow-length-not-whole-instructions", patchHeader(8, 13), "seccomp profile"},
		{"allow-length-over-the-limit", patchHeader(8, 40000), "seccomp profile"},
		{"empty-allow-program", patchHeader(8, 0), "seccomp profile"},
		{"profile-directory-group-writable", func() error { return os.Chmod(seccompDir, 0o775) }, "writable by group or others"},
		{"var-lib-snapd-user-owned", func() error { return os.Chown("/var/lib/snapd", userUID, userUID) }, "owned by uid 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world(t)
			defer os.Chown("/var/lib/snapd", 0, 0)
			defer os.Chmod(seccompDir, 0o755)
			if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(); err != nil {
				t.Fatal(err)
			}
			for _, in := range installs {
				for _, flags := range [][]string{nil, {"--classic"}} {
					msg := launch{caps: in.caps, uid: userUID, flags: flags, noProfile: true}.mustFail(t)
					if !strings.Contains(msg, "seccomp") || !strings.Contains(msg, tc.want) {
						t.Errorf("%s %v: unexpected error %q", in.name, flags, msg)
					}
					nothingCreated(t)
				}
			}
		})
	}
}

// A profile that is not there yet is waited for, as snap-confine does
// (snapd may still be writing it at boot): the launch goes on when it
// appears, fails after SNAP_CONFINE_MAX_PROFILE_WAIT seconds, and stops at
// once on the caller's SIGINT. No lock is held and nothing is created while
// it waits.
func TestMissingProfileIsWaitedFor(t *testing.T) {
	world(t)
	t.Run("appears", func(t *testing.T) {
		os.Remove(seccompDir + "/snap.hello.app.bin2")
		go func() {
			time.Sleep(300 * time.Millisecond)
			installProfile("snap.hello.app", "deny-uname.bin2")
		}()
		r := launch{uid: userUID, noProfile: true, args: []string{"uname"}, env: []string{"SNAP_CONFINE_MAX_PROFILE_WAIT=30"}}.mustRun(t)
		if len(r.Errors) != 1 {
			t.Fatalf("the profile that appeared was not loaded: %v", r.Errors)
		}
	})
	t.Run("time-out", func(t *testing.T) {
		os.Remove(seccompDir + "/snap.hello.app.bin2")
		start := time.Now()
		msg := launch{uid: userUID, noProfile: true, env: []string{"SNAP_CONFINE_MAX_PROFILE_WAIT=1"}}.mustFail(t)
		if !strings.Contains(msg, "snap.hello.app.bin2: not there after 1s") || time.Since(start) < time.Second {
			t.Fatalf("unexpected error %q after %s", msg, time.Since(start))
		}
	})
	t.Run("bad-bound", func(t *testing.T) {
		os.Remove(seccompDir + "/snap.hello.app.bin2")
		msg := launch{uid: userUID, noProfile: true, env: []string{"SNAP_CONFINE_MAX_PROFILE_WAIT=soon"}}.mustFail(t)
		if !strings.Contains(msg, "SNAP_CONFINE_MAX_PROFILE_WAIT") {
			t.Fatalf("unexpected error %q", msg)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		world(t)
		for _, in := range installs {
			cmd := launch{caps: in.caps, uid: userUID, noProfile: true, env: []string{"SNAP_CONFINE_MAX_PROFILE_WAIT=60"}}.command()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			start := time.Now()
			// The caller's own signal: as the caller's uid, like a ^C.
			cmd.Process.Signal(syscall.SIGINT)
			err := cmd.Wait()
			if err == nil || time.Since(start) > 5*time.Second || !strings.Contains(stderr.String(), "interrupt") {
				t.Fatalf("%s: %v after %s, stderr %q", in.name, err, time.Since(start), stderr.String())
			}
		}
		nothingCreated(t)
	})
}

// startedELF is a static amd64 program that writes "started\n" to stdout
// with write(2) and ends with exit_group(0): nothing else, so that it runs
// under a profile that allows only what snap-confine needs.
func startedELF() []byte {
	code := []byte{
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (write)
		0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1
		0x48, 0x8d, 0x35, 0x10, 0x00, 0x00, 0x00, // lea rsi, [rip+16] (the message)
		0xba, 0x08, 0x00, 0x00, 0x00, // mov edx, 8
		0x0f, 0x05, // syscall
		0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (exit_group)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
	}
	code = append(code, "started\n"...)
	return sandbox.StaticELF(code)
}
