// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNamespaceFileNames(t *testing.T) {
	for name, want := range map[string]struct {
		inst string
		uid  uint32
		user bool
		ok   bool
	}{
		"hello.mnt":        {"hello", 0, false, true},
		"hello_foo.mnt":    {"hello_foo", 0, false, true},
		"hello.1000.mnt":   {"hello", 1000, true, true},
		"hello.01000.mnt":  {ok: false},
		"hello.x.mnt":      {ok: false},
		"Hello.mnt":        {ok: false},
		"snap.hello.info":  {ok: false},
		"hello.1000.mnt.x": {ok: false},
	} {
		inst, uid, user, ok := parseNSName(name)
		if ok != want.ok || (ok && (inst.String() != want.inst || uid != want.uid || user != want.user)) {
			t.Errorf("parseNSName(%q) = %v %d %v %v, want %+v", name, inst, uid, user, ok, want)
		}
	}
	for name, known := range map[string]bool{
		"snap.hello.info": true, "snap.hello.1000.info": true, "snap.hello.fstab": true, "snap.hello.1000.user-fstab": true,
		"snap.hello.info.tmp": true, "snap.hello.user-fstab": false, "hello.info": false, "snap..info": false, "stuff": false,
	} {
		if _, ok := knownFile(name); ok != known {
			t.Errorf("knownFile(%q) = %v, want %v", name, ok, known)
		}
	}
}

// Hostile entries are reported with their type, and none is followed or
// opened for reading: a FIFO would hang a reader, a symlink would lead
// elsewhere.
func TestHostileEntriesAreReportedNotFollowed(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(target, []byte("base-snap-name=core\n"), 0o644)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(target, filepath.Join(dir, "hello.mnt")))
	must(os.Symlink(target, filepath.Join(dir, "snap.hello.info")))
	must(unix.Mkfifo(filepath.Join(dir, "other.mnt"), 0o644))
	must(unix.Mkfifo(filepath.Join(dir, "snap.other.info"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "dir.mnt"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "random"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "bad.name.mnt"), nil, 0o644))
	done := make(chan *Listing)
	go func() {
		l, err := List(dir, time.Now())
		if err != nil {
			t.Error(err)
		}
		done <- l
	}()
	var l *Listing
	select {
	case l = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("List hangs on a FIFO")
	}
	if len(l.Namespaces) != 0 {
		t.Errorf("hostile entries were taken for namespaces: %+v", l.Namespaces)
	}
	types := map[string]string{}
	for _, e := range l.Entries {
		types[e.Name] = e.Type
		if e.Problem == "" {
			t.Errorf("%s is reported without a problem", e.Name)
		}
	}
	for name, typ := range map[string]string{
		"hello.mnt": "symlink", "snap.hello.info": "symlink", "other.mnt": "fifo", "snap.other.info": "fifo",
		"dir.mnt": "directory", "random": "regular file", "bad.name.mnt": "regular file",
	} {
		if types[name] != typ {
			t.Errorf("%s: reported as %q, want %q (all: %v)", name, types[name], typ, types)
		}
	}
}

func TestMissingDirectoryListsNothing(t *testing.T) {
	l, err := List(filepath.Join(t.TempDir(), "ns"), time.Now())
	if err != nil || len(l.Namespaces) != 0 || l.Schema != Schema {
		t.Fatalf("%+v %v", l, err)
	}
}
