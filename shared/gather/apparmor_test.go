// SPDX-License-Identifier: GPL-3.0-only

package gather

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
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
			aa, err := DetectAppArmor(desc.New(sysfd, "/sys"), desc.New(procfd, "/proc"))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error %q", aa, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if aa.Enabled != tc.enabled || aa.Label != tc.label || aa.Mode != tc.mode || aa.ExecAttr != tc.execAttr {
				t.Fatalf("got %+v", aa)
			}
		})
	}
}

// Descriptor exhaustion (here: descriptors that are not open) makes
// detection fail, not conclude that AppArmor is off.
func TestDetectAppArmorFailsClosed(t *testing.T) {
	if aa, err := DetectAppArmor(nil, nil); err == nil {
		t.Fatalf("detection without usable descriptors concluded %+v", aa)
	}
}
