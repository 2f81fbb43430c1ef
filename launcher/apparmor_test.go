// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/naming"
)

// The exec attributes, relative to /proc, and where fakeProc has them.
const (
	newExecAttr = "thread-self/attr/apparmor/exec"
	oldExecAttr = "thread-self/attr/exec"
	newExec     = "proc/" + newExecAttr
	oldExec     = "proc/" + oldExecAttr
)

// fakeProc builds a fake /proc holding files (paths below the fake root,
// "proc/...") and returns a descriptor of it.
func fakeProc(t *testing.T, files map[string]string) (proc *desc.FD, root string) {
	t.Helper()
	root = t.TempDir()
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "proc/thread-self/attr"), 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(filepath.Join(root, "proc"), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	proc = desc.New(fd, "/proc")
	t.Cleanup(func() { proc.Close() })
	return proc, root
}

func TestSetExecLabelWritesExactlyTheTransition(t *testing.T) {
	for _, tc := range []struct {
		name, execAttr, file string
	}{
		{"apparmor-attr", newExecAttr, newExec},
		{"legacy-attr", oldExecAttr, oldExec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			procfd, root := fakeProc(t, map[string]string{tc.file: ""})
			aa := gather.AppArmor{Enabled: true, Label: "snap-confine", Mode: "enforce", ExecAttr: tc.execAttr}
			if err := setExecLabel(aa, procfd, "snap.hello.app"); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(root, tc.file))
			if string(got) != "exec snap.hello.app" {
				t.Fatalf("wrote %q to %s", got, tc.file)
			}
			// The attribute is the writing thread's own (thread-self),
			// never the process's.
			if !strings.HasPrefix(tc.execAttr, "thread-self/") {
				t.Fatalf("%s is not a per-thread attribute", tc.execAttr)
			}
		})
	}
	t.Run("disabled-writes-nothing", func(t *testing.T) {
		procfd, root := fakeProc(t, map[string]string{newExec: "untouched"})
		aa := gather.AppArmor{Label: "unconfined"}
		if err := setExecLabel(aa, procfd, "snap.hello.app"); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(root, newExec)); string(got) != "untouched" {
			t.Fatalf("wrote %q with AppArmor disabled", got)
		}
	})
	t.Run("enabled-failure-is-fatal", func(t *testing.T) {
		procfd, _ := fakeProc(t, nil)
		aa := gather.AppArmor{Enabled: true, ExecAttr: newExecAttr}
		if err := setExecLabel(aa, procfd, "snap.hello.app"); err == nil || !strings.HasPrefix(err.Error(), "cannot set the AppArmor exec label") {
			t.Fatalf("got %v", err)
		}
	})
}

// The labels the app and snap-update-ns exec under come from the launch's
// validated names alone: the command line has nothing that could name
// another profile (an "unconfined" one, another snap's).
func TestExecLabelsAreDerivedFromThePlansNames(t *testing.T) {
	for _, tc := range []struct{ instance, tag, app, helper string }{
		{"hello", "snap.hello.app", "snap.hello.app", "snap-update-ns.hello"},
		{"foo_x1", "snap.foo_x1.hook.install", "snap.foo_x1.hook.install", "snap-update-ns.foo_x1"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			inst, err := naming.ParseInstance(tc.instance)
			if err != nil {
				t.Fatal(err)
			}
			tag, err := naming.ParseSecurityTagFor(tc.tag, inst)
			if err != nil {
				t.Fatal(err)
			}
			procfd, root := fakeProc(t, map[string]string{newExec: ""})
			l := &session{
				launcher: &launcher{launch: planner.Launch{Instance: inst, Tag: tag, Base: "core"}},
				aa:       gather.AppArmor{Enabled: true, Label: "snap-confine", Mode: "enforce", ExecAttr: newExecAttr},
				host:     host{proc: procfd},
			}
			for _, want := range []struct{ label, exec string }{{l.appLabel(), tc.app}, {l.helperLabel(), tc.helper}} {
				// A real attribute file takes each write whole; the
				// fake one is emptied before each.
				if err := os.WriteFile(filepath.Join(root, newExec), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := l.execLabel(want.label); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(filepath.Join(root, newExec)); string(got) != "exec "+want.exec {
					t.Errorf("wrote %q, want %q", got, "exec "+want.exec)
				}
			}
		})
	}
}
