// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/naming"
)

// fakeRoot builds a fake /sys and /proc for AppArmor detection: files maps
// a path below the root ("sys/..." or "proc/...") to its content; a content
// of "<dir>" makes a directory.
func fakeRoot(t *testing.T, files map[string]string) (sysfd, procfd int, root string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"sys", "proc/thread-self/attr"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if content == "<dir>" {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open := func(p string) int {
		fd, err := unix.Open(filepath.Join(root, p), unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	return open("sys"), open("proc"), root
}

const (
	securityfs = "sys/kernel/security/apparmor"
	param      = "sys/module/apparmor/parameters/enabled"
	newCurrent = "proc/thread-self/attr/apparmor/current"
	newExec    = "proc/thread-self/attr/apparmor/exec"
	oldCurrent = "proc/thread-self/attr/current"
	oldExec    = "proc/thread-self/attr/exec"
)

func TestDetectAppArmor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		enabled  bool
		label    string
		mode     string
		execAttr string
		err      string
	}{
		{"no-securityfs", nil, false, "unconfined", "", "", ""},
		{"module-disabled", map[string]string{securityfs: "<dir>", param: "N\n"}, false, "unconfined", "", "", ""},
		{"no-module-parameter", map[string]string{securityfs: "<dir>"}, false, "unconfined", "", "", ""},
		{"enabled-unconfined", map[string]string{securityfs: "<dir>", param: "Y\n", newCurrent: "unconfined\n", newExec: ""}, true, "unconfined", "", aaExecAttr, ""},
		{"enabled-enforce", map[string]string{securityfs: "<dir>", param: "Y\n", newCurrent: "/usr/lib/snapd/snap-confine (enforce)\n"}, true, "/usr/lib/snapd/snap-confine", "enforce", aaExecAttr, ""},
		{"enabled-complain", map[string]string{securityfs: "<dir>", param: "Y\n", newCurrent: "snap-confine (complain)\n"}, true, "snap-confine", "complain", aaExecAttr, ""},
		{"legacy-attr-files", map[string]string{securityfs: "<dir>", param: "Y\n", oldCurrent: "snap-confine (enforce)\n"}, true, "snap-confine", "enforce", aaLegacyExecAttr, ""},
		// Undecidable: never "disabled".
		{"securityfs-not-a-directory-on-the-way", map[string]string{"sys/kernel/security": "a file"}, false, "", "", "", "cannot tell whether AppArmor is enabled"},
		{"parameter-unreadable", map[string]string{securityfs: "<dir>", param: "<dir>"}, false, "", "", "", "cannot tell whether AppArmor is enabled"},
		{"parameter-garbage", map[string]string{securityfs: "<dir>", param: "maybe\n"}, false, "", "", "", "cannot tell whether AppArmor is enabled"},
		{"label-unreadable", map[string]string{securityfs: "<dir>", param: "Y\n", newCurrent: "<dir>"}, false, "", "", "", "cannot read the launcher's AppArmor label"},
		{"label-missing", map[string]string{securityfs: "<dir>", param: "Y\n"}, false, "", "", "", "cannot read the launcher's AppArmor label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sysfd, procfd, _ := fakeRoot(t, tc.files)
			aa, err := detectAppArmor(sysfd, procfd)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error %q", aa, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if aa.enabled != tc.enabled || aa.label != tc.label || aa.mode != tc.mode || aa.execAttr != tc.execAttr {
				t.Fatalf("got %+v", aa)
			}
		})
	}
}

// Descriptor exhaustion (here: descriptors that are not open) makes
// detection fail, not conclude that AppArmor is off.
func TestDetectAppArmorFailsClosed(t *testing.T) {
	if aa, err := detectAppArmor(-1, -1); err == nil {
		t.Fatalf("detection without usable descriptors concluded %+v", aa)
	}
}

func TestRefuseUnconfined(t *testing.T) {
	for _, tc := range []struct {
		enabled, elevated bool
		label             string
		refused           bool
	}{
		{true, true, "unconfined", true},
		{true, true, "/usr/lib/snapd/snap-confine", false},
		{true, false, "unconfined", false},
		{false, true, "unconfined", false},
	} {
		err := (&apparmor{enabled: tc.enabled, label: tc.label}).refuseUnconfined(tc.elevated)
		if (err != nil) != tc.refused {
			t.Errorf("%+v: %v", tc, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "cannot launch: ") {
			t.Errorf("error %q does not start with cannot", err)
		}
	}
}

func TestSetExecLabelWritesExactlyTheTransition(t *testing.T) {
	for _, tc := range []struct {
		name, execAttr, file string
	}{
		{"apparmor-attr", aaExecAttr, newExec},
		{"legacy-attr", aaLegacyExecAttr, oldExec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, procfd, root := fakeRoot(t, map[string]string{tc.file: ""})
			aa := &apparmor{enabled: true, label: "snap-confine", mode: "enforce", execAttr: tc.execAttr}
			if err := aa.setExecLabel(procfd, "snap.hello.app"); err != nil {
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
		_, procfd, root := fakeRoot(t, map[string]string{newExec: "untouched"})
		aa := &apparmor{label: "unconfined"}
		if err := aa.setExecLabel(procfd, "snap.hello.app"); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(root, newExec)); string(got) != "untouched" {
			t.Fatalf("wrote %q with AppArmor disabled", got)
		}
	})
	t.Run("enabled-failure-is-fatal", func(t *testing.T) {
		_, procfd, _ := fakeRoot(t, nil)
		aa := &apparmor{enabled: true, execAttr: aaExecAttr}
		if err := aa.setExecLabel(procfd, "snap.hello.app"); err == nil || !strings.HasPrefix(err.Error(), "cannot set the AppArmor exec label") {
			t.Fatalf("got %v", err)
		}
	})
}

// The labels the app and snap-update-ns exec under come from the command
// line's validated names alone: nothing the caller passes could name
// another profile (an "unconfined" one, another snap's).
func TestExecLabelsAreDerivedFromTheValidatedNames(t *testing.T) {
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
			_, procfd, root := fakeRoot(t, map[string]string{newExec: ""})
			l := &launcher{
				inv:    &cmdline.Invocation{Instance: inst, Tag: tag, Base: "core"},
				aa:     &apparmor{enabled: true, label: "snap-confine", mode: "enforce", execAttr: aaExecAttr},
				procfd: procfd,
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
