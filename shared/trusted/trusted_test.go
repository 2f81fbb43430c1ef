// SPDX-License-Identifier: GPL-3.0-only

package trusted_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/trusted"
)

func TestOpenDirChecksEveryComponent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root to make root- and user-owned directories")
	}
	// Not below /tmp, which everyone may write to: below this package's
	// directory, whose parents are root's in a checkout made by root.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trusted.OpenDir(wd); err != nil {
		t.Skipf("SKIPPING: this checkout is not in a trusted directory: %v", err)
	}
	base, err := os.MkdirTemp(wd, ".trusted-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(base, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func() error
		want  string
	}{
		{"trusted", func() error { return nil }, ""},
		{"group-writable-middle", func() error { return os.Chmod(filepath.Join(base, "a"), 0o775) }, "writable by group or others"},
		{"user-owned-leaf", func() error { return os.Chown(filepath.Join(base, "a/b"), 1000, 1000) }, "owned by uid 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer os.Chmod(filepath.Join(base, "a"), 0o755)
			defer os.Chown(filepath.Join(base, "a/b"), 0, 0)
			if err := tc.setup(); err != nil {
				t.Fatal(err)
			}
			fd, err := trusted.OpenDir(filepath.Join(base, "a/b"))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				fd.Close()
				return
			}
			if err == nil {
				fd.Close()
				t.Fatal("opened")
			}
			if !strings.HasPrefix(err.Error(), "cannot trust ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("unexpected error %q", err)
			}
		})
	}
}

// A file longer than fstat said (a file that grew after the check; procfs
// files all say 0) is read on to the limit, and refused past it, never cut
// to a prefix.
func TestReadFileAtReadsPastWhatFstatSaid(t *testing.T) {
	want, err := os.ReadFile("/proc/version")
	if err != nil || len(want) < 20 {
		t.Skipf("no /proc/version to read: %v", err)
	}
	fd, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := desc.New(fd, "/proc")
	defer dir.Close()
	for _, tc := range []struct {
		max  int
		fail bool
	}{{len(want), false}, {len(want) + 100, false}, {len(want) - 1, true}, {1, true}} {
		got, err := trusted.ReadFileAt(dir, "version", tc.max)
		switch {
		case tc.fail && err == nil:
			t.Errorf("max %d: read %d bytes, want a refusal", tc.max, len(got))
		case !tc.fail && (err != nil || string(got) != string(want)):
			t.Errorf("max %d: got %q, %v; want %q", tc.max, got, err, want)
		}
	}
}

// Where snap-confine wants root's group too (seccomp profiles), a directory
// or a file of another group is refused; elsewhere only the owner counts.
func TestRootGroupIsRequiredWhereAsked(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root to make directories of another group")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if fd, err := trusted.OpenRootGroupDir(wd); err != nil {
		t.Skipf("SKIPPING: this checkout is not in a directory of root's user and group: %v", err)
	} else {
		fd.Close()
	}
	base, err := os.MkdirTemp(wd, ".trusted-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "bpf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func() error {
		fd, err := trusted.OpenRootGroupDir(dir)
		if err != nil {
			return err
		}
		defer fd.Close()
		_, err = trusted.ReadRootGroupFileAt(fd, "p", 10)
		return err
	}
	if err := read(); err != nil {
		t.Fatalf("root:root refused: %v", err)
	}
	for _, path := range []string{filepath.Join(dir, "p"), dir} {
		if err := os.Chown(path, 0, 1000); err != nil {
			t.Fatal(err)
		}
		if err := read(); err == nil || !strings.Contains(err.Error(), "owned by group 1000, not root's") {
			t.Errorf("%s of group 1000: %v", path, err)
		}
		if fd, err := trusted.OpenDir(dir); err != nil {
			t.Errorf("OpenDir refuses a directory of another group: %v", err)
		} else {
			fd.Close()
		}
		os.Chown(path, 0, 0)
	}
}
