// SPDX-License-Identifier: GPL-3.0-only

package gather

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/naming"
)

func TestIsTrackingGroup(t *testing.T) {
	foo, _ := naming.ParseInstance("foo")
	for name, want := range map[string]bool{
		"snap.foo.app-1234.scope":                                 true,
		"snap.foo.app-5ed1b9f6-7f36-4f0d-9d2f-0a6b4c0a7a11.scope": true,
		"snap.foo.my-app-77.scope":                                true,
		"snap.foo.app.service":                                    true,
		"snap.foo.hook.configure-88.scope":                        true,
		"snap.foo_bar.app-1.scope":                                false,
		"snap.foobar.app-1.scope":                                 false,
		"snap.foo-bar.app-1.scope":                                false,
		"snap.foo.app.scope":                                      false,
		"snap.foo.app-.scope":                                     false,
		"snap.foo..service":                                       false,
		"snap.foo.a.b.service":                                    false,
		"snap.foo.app-1.slice":                                    false,
		"foo.app-1.scope":                                         false,
	} {
		if got := IsTrackingGroup(name, foo); got != want {
			t.Errorf("IsTrackingGroup(%q) = %t, want %t", name, got, want)
		}
	}
}

func TestOccupiedV1Freezer(t *testing.T) {
	root := t.TempDir()
	foo, _ := naming.ParseInstance("foo")
	if busy, _, err := Occupied(root, foo); err != nil || busy {
		t.Fatalf("no freezer group: %t %v", busy, err)
	}
	group := filepath.Join(root, "freezer", "snap.foo")
	os.MkdirAll(group, 0o755)
	os.WriteFile(filepath.Join(group, "cgroup.procs"), nil, 0o644)
	if busy, _, err := Occupied(root, foo); err != nil || busy {
		t.Fatalf("empty freezer group: %t %v", busy, err)
	}
	os.WriteFile(filepath.Join(group, "cgroup.procs"), []byte("123\n"), 0o644)
	if busy, _, err := Occupied(root, foo); err != nil || !busy {
		t.Fatalf("busy freezer group: %t %v", busy, err)
	}
	bar, _ := naming.ParseInstance("foo_bar")
	if busy, _, _ := Occupied(root, bar); busy {
		t.Fatal("foo's group counts for foo_bar")
	}
}

// The planner reads cgroup.procs without privilege: something other than a
// regular file there is an error, never a hang.
func TestHasProcessesRefusesAFIFO(t *testing.T) {
	group := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(group, "cgroup.procs"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := hasProcesses(openDir(t, group), group)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.HasPrefix(err.Error(), "cannot read ") || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("hasProcesses of a FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hasProcesses hangs on a FIFO")
	}
	for content, want := range map[string]bool{"": false, "\n": false, "42\n": true} {
		g := t.TempDir()
		if err := os.WriteFile(filepath.Join(g, "cgroup.procs"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if busy, err := hasProcesses(openDir(t, g), g); err != nil || busy != want {
			t.Errorf("hasProcesses(%q) = %v, %v; want %v", content, busy, err, want)
		}
	}
	if busy, err := hasProcesses(openDir(t, t.TempDir()), "empty"); err != nil || busy {
		t.Errorf("a group without cgroup.procs: %v, %v", busy, err)
	}
}

// openDir opens a directory for as long as the test runs.
func openDir(t *testing.T, path string) int {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// The v2 walk finds a tracking group with processes at any depth it
// visits, and cannot tell (so the snap counts as running) when a group is
// deeper than it visits, there are more groups than it visits, or one
// cannot be read.
func TestOccupiedV2Walk(t *testing.T) {
	foo, _ := naming.ParseInstance("foo")
	mkdir := func(t *testing.T, path string) {
		t.Helper()
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	procs := func(t *testing.T, group, content string) {
		t.Helper()
		mkdir(t, group)
		if err := os.WriteFile(filepath.Join(group, "cgroup.procs"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deep := func(root string, levels int) string {
		for i := 0; i < levels; i++ {
			root = filepath.Join(root, "d")
		}
		return root
	}
	for _, tc := range []struct {
		name    string
		arrange func(t *testing.T, root string)
		found   string // a suffix of the group found
		why     string // a part of why it cannot tell
	}{
		{"nothing", func(t *testing.T, root string) { mkdir(t, filepath.Join(root, "user.slice")) }, "", ""},
		{"idle-tracking-group", func(t *testing.T, root string) { procs(t, filepath.Join(root, "a/snap.foo.app-1.scope"), "") }, "", ""},
		{"busy-tracking-group", func(t *testing.T, root string) { procs(t, filepath.Join(root, "a/b/snap.foo.app-1.scope"), "7\n") }, "/a/b/snap.foo.app-1.scope", ""},
		{"another-snaps-group", func(t *testing.T, root string) { procs(t, filepath.Join(root, "snap.foo_bar.app-1.scope"), "7\n") }, "", ""},
		{"busy-at-depth-32", func(t *testing.T, root string) {
			procs(t, filepath.Join(deep(root, 31), "snap.foo.app.service"), "7\n")
		}, "snap.foo.app.service", ""},
		{"deeper-than-32", func(t *testing.T, root string) { mkdir(t, deep(root, 33)) }, "", "more than 32 levels deep"},
		{"too-many", func(t *testing.T, root string) {
			for i := 0; i <= maxCgroupDirs; i++ {
				mkdir(t, filepath.Join(root, "many", strconv.Itoa(i)))
			}
		}, "", "more than 10000 cgroups"},
		{"procs-not-a-file", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "snap.foo.app-1.scope", "cgroup.procs"))
		}, "", "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.arrange(t, root)
			found, why := occupiedV2(root, foo)
			if !strings.HasSuffix(found, tc.found) || (tc.found == "") != (found == "") || !strings.Contains(why, tc.why) || (tc.why == "") != (why == "") {
				t.Fatalf("occupiedV2 = %q, %q; want a group ending in %q, why %q", found, why, tc.found, tc.why)
			}
		})
	}
}
