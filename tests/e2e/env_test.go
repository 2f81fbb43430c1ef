// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/snapns/snapns/policy"
)

// callerEnv is what the callers of TestAppEnvironmentIsSnapConfines set:
// the loader's unsecure variables, what it keeps, GLIBC_TUNABLES with
// entries it keeps and drops, the Go runtime's variables, and what
// snap-confine resets.
var callerEnv = []string{
	"LD_PRELOAD=/nonexistent.so", "LD_LIBRARY_PATH=/opt/lib", "LD_BIND_NOW=1", "LD_USE_LOAD_BIAS=1",
	"GCONV_PATH=/opt/gconv", "LOCALDOMAIN=example.org", "TZDIR=/opt/zoneinfo", "NLSPATH=/opt/nls",
	"MALLOC_CHECK_=3", "MALLOC_TRACE=/tmp/mtrace", "MALLOC_ARENA_MAX=2", "MALLOC_PERTURB_=5",
	"GLIBC_TUNABLES=glibc.malloc.check=1:glibc.malloc.arena_max=2:glibc.malloc.tcache_count=3",
	"GODEBUG=madvdontneed=1", "GOGC=400", "GOMAXPROCS=3", "GOMEMLIMIT=1GiB", "GOTRACEBACK=all",
	"PATH=/usr/bin:/bin", "SHELL=/bin/zsh", "TMPDIR=/var/tmp/mine", "TEMPDIR=/var/tmp/mine",
	"HOME=/home/user", "LANG=C.UTF-8", "SNAP_NAME=hello", "SNAP_INSTANCE_NAME=hello", "XDG_RUNTIME_DIR=/run/user/1000",
}

// The app's whole environment is what snapd's snap-confine would give it:
// the caller's, less what the host's own dynamic loader strips from a
// setuid or file-capability program run by that caller (measured here by
// running env(1) installed the same way), then PATH, SHELL, TMPDIR and
// TEMPDIR set for a confined app. Where the launch raised privilege (a
// user's), the Go runtime replaced the caller's GOTRACEBACK with its own
// "none" before the launcher ran: the app of the setuid install gets the
// caller's all the same, from the initial environment block, which the
// file-capability install cannot read (SECURITY.md §9).
func TestAppEnvironmentIsSnapConfines(t *testing.T) {
	world(t)
	refDir := "/usr/lib/snapd-env-ref"
	if err := os.MkdirAll(refDir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(refDir)
	envBin, err := os.ReadFile("/usr/bin/env")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range installs {
		ref := refDir + "/env-" + in.name
		if err := os.WriteFile(ref, envBin, 0o755); err != nil {
			t.Fatal(err)
		}
		if in.caps {
			if out, err := exec.Command("setcap", "cap_sys_admin=p", ref).CombinedOutput(); err != nil {
				t.Fatalf("setcap: %v: %s", err, out)
			}
		} else if err := os.Chmod(ref, 0o755|os.ModeSetuid); err != nil {
			t.Fatal(err)
		}
		for _, uid := range []int{userUID, 0} {
			for _, classic := range []bool{false, true} {
				// What the loader passes to a program installed as the
				// launcher is, run by this caller.
				cmd := exec.Command(ref)
				cmd.Env = callerEnv
				if uid != 0 {
					cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{uint32(uid)}}}
				}
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s: %v", ref, err)
				}
				want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
				if !classic {
					want = slices.DeleteFunc(want, func(kv string) bool {
						name, _, _ := strings.Cut(kv, "=")
						return slices.Contains([]string{"PATH", "SHELL", "TMPDIR", "TEMPDIR"}, name)
					})
					want = append(want, "PATH="+policy.Path, "SHELL=/bin/bash", "TMPDIR=/tmp", "TEMPDIR=/tmp")
				}
				if uid != 0 && in.caps {
					want = slices.DeleteFunc(want, func(kv string) bool { return strings.HasPrefix(kv, "GOTRACEBACK=") })
				}
				var flags []string
				if classic {
					flags = []string{"--classic"}
				}
				// launch adds SNAP_INSTANCE_NAME and PATH before
				// callerEnv; the first of duplicates wins, and they
				// are the same.
				r := launch{caps: in.caps, uid: uid, flags: flags, env: callerEnv}.mustRun(t)
				got := slices.Clone(r.Env)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s, uid %d, classic %t: the app's environment differs from snap-confine's:\n got  %q\n want %q", in.name, uid, classic, got, want)
				}
			}
		}
	}
}

// The Go runtime raises its own RLIMIT_NOFILE soft limit at start; the app
// gets the caller's back, as from snap-confine, which never changes it.
func TestAppGetsTheCallersFileLimit(t *testing.T) {
	world(t)
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	caller := syscall.Rlimit{Cur: 517, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &caller); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig)
	for _, in := range installs {
		for _, uid := range []int{userUID, 0} {
			for _, flags := range [][]string{nil, {"--classic"}} {
				l := launch{caps: in.caps, uid: uid, argv: append(append([]string{}, flags...), "snap.hello.app", "/usr/bin/sh", "-c", "ulimit -Sn")}
				out, err := l.command().Output()
				if err != nil || strings.TrimSpace(string(out)) != "517" {
					t.Errorf("%s uid %d %v: the app's soft RLIMIT_NOFILE is %q (%v), want the caller's 517", in.name, uid, flags, out, err)
				}
			}
		}
	}
}
