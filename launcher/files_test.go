// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/trusted"
)

func TestOpenDirPathRefusesSymlinkComponents(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "real/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	d, err := trusted.Path(filepath.Join(dir, "real/sub") + "/")
	if err != nil {
		t.Fatalf("a real path is refused: %v", err)
	}
	d.Close()
	for _, p := range []string{"link/sub", "link", "real/../link/sub"} {
		if d, err := trusted.Path(filepath.Join(dir, p)); err == nil {
			d.Close()
			t.Errorf("%s: a path through a symlink was opened", p)
		}
	}
}

func TestCheckRootOwned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root to make root- and user-owned files")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		uid, gid int
		mode     uint32
		want     uint32
		fix      bool
		err      string // "" for success
		wantMode uint32
	}{
		{"exact", 0, 0, 0o755, 0o755, false, "", 0o755},
		{"user-owned", 1000, 0, 0o755, 0o755, true, "owned by uid 1000", 0},
		{"group-writable", 0, 0, 0o775, 0o755, true, "writable by others", 0},
		{"world-writable-wanted", 0, 0, 0o1777, 0o1777, false, "", 0o1777},
		{"half-made-is-repaired", 0, 1000, 0o700, 0o755, true, "", 0o755},
		{"half-made-without-fix", 0, 1000, 0o700, 0o755, false, "want 0:0", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, tc.uid, tc.gid); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			fd, err := unix.Open(path, dirFlags, 0)
			if err != nil {
				t.Fatal(err)
			}
			d := desc.New(fd, path)
			defer d.Close()
			var fix func(*desc.FD, uint32) error
			if tc.fix {
				fix = (&privop.Privileges{}).FixOwner
			}
			err = checkRootOwned(d, unix.S_IFDIR, tc.want, fix)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				var st unix.Stat_t
				unix.Fstat(fd, &st)
				if st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != tc.wantMode {
					t.Fatalf("after the check: %d:%d %04o", st.Uid, st.Gid, st.Mode&0o7777)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "cannot ") {
				t.Fatalf("got %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestCheckRootOwnedRefusesWrongType(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, dirFlags, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := desc.New(fd, dir)
	defer d.Close()
	if err := checkRootOwned(d, unix.S_IFREG, 0o600, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory passed as a regular file: %v", err)
	}
}
