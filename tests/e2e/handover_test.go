// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var modes = []struct {
	name string
	caps bool
}{{"setuid", false}, {"file-capabilities", true}}

// While the launcher holds privileges, its caller cannot read its memory,
// environment or descriptors, nor ptrace it.
func TestCallerCannotInspectThePrivilegedLauncher(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			world(t)
			installUpdateNS(t)
			if err := os.WriteFile("/var/lib/snapd/fake-update-ns-hang", nil, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := launch{caps: m.caps, uid: userUID}.command()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
				reapZombies()
			}()
			for deadline := time.Now().Add(10 * time.Second); !exists("/run/fake-update-ns.pid"); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the launcher never got to snap-update-ns")
				}
			}
			spy := exec.Command("/proc/self/exe")
			spy.Env = []string{helperEnv + "=probe-proc"}
			spy.Args = []string{"spy", strconv.Itoa(cmd.Process.Pid)}
			spy.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
			out, err := spy.Output()
			if err != nil {
				t.Fatalf("spy: %v", err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if strings.HasSuffix(line, "=opened") || strings.HasSuffix(line, "=attached") {
					t.Errorf("the caller could inspect the privileged launcher: %s", line)
				}
			}
			t.Logf("the caller's attempts: %s", strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "; "))
		})
	}
}

// The caller's own descriptors (here 100 extra ones) pass to the app
// untouched, and none the launcher opened does, on every path: create, join,
// per-user create and join, discard.
func TestHundredInheritedDescriptorsPassThroughUntouched(t *testing.T) {
	var files []*os.File
	for i := 0; i < 50; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, r, w)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			world(t)
			enablePerUser(t)
			installUpdateNS(t)
			baseline := launch{files: files, program: probe, argv: []string{}, uid: userUID}.mustRun(t).FDs
			if len(baseline) < 103 {
				t.Fatalf("baseline has %d descriptors", len(baseline))
			}
			for _, step := range []string{"create", "join", "discard"} {
				if step == "discard" {
					refresh(t, "core", "2")
				}
				r := launch{caps: m.caps, uid: userUID, files: files}.mustRun(t)
				if !slices.Equal(r.FDs, baseline) {
					t.Fatalf("%s: the app has descriptors %v, the caller alone %v", step, r.FDs, baseline)
				}
			}
		})
	}
}

// Hostile resource limits make a launch fail cleanly (one "cannot" line or
// the runtime's refusal to start, never a half-made state): the next launch
// works.
func TestHostileRlimitsFailCleanly(t *testing.T) {
	for _, m := range modes {
		for _, limit := range []string{"--nofile=4:4", "--fsize=0:0", "--nproc=1:1", "--as=20000000:20000000"} {
			t.Run(m.name+limit, func(t *testing.T) {
				world(t)
				l := launch{caps: m.caps, uid: userUID}
				cmd := l.command()
				cmd.Args = append([]string{"prlimit", limit, "--", cmd.Path}, cmd.Args[1:]...)
				cmd.Path = "/usr/bin/prlimit"
				out, err := cmd.CombinedOutput()
				if err == nil {
					t.Logf("the launch succeeded under %s", limit)
				} else {
					lines := nonDebugLines(string(out))
					t.Logf("under %s: %v: %q", limit, err, lines)
					if len(lines) == 0 {
						t.Errorf("failed without a word under %s", limit)
					}
				}
				r := launch{caps: m.caps, uid: userUID}.mustRun(t)
				if nsID(t, "/run/snapd/ns/hello.mnt") == 0 {
					t.Fatalf("no preserved namespace after the hostile launch; app in %d", r.MountNSID)
				}
			})
		}
	}
}
