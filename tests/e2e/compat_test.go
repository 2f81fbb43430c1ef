// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

// snap-confine 2.77's behaviours, each as snapd drives it.

// A component's hook runs with SNAP_COMPONENT_NAME naming the component
// ("<snap>+<component>"), under its own tag and profile; as for
// snap-confine it is not a hook for the cookie (sc_is_hook_security_tag),
// so it gets the snap's cookie. A component tag without that variable, or
// with another component's, is refused.
func TestComponentHooksRun(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/var/lib/snapd/cookie", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/cookie/snap.hello", []byte("c00kie"), 0o600); err != nil {
		t.Fatal(err)
	}
	tag := "snap.hello+comp.hook.install"
	for _, in := range installs {
		r := launch{caps: in.caps, tag: tag, uid: userUID, env: []string{"SNAP_COMPONENT_NAME=hello+comp"}}.mustRun(t)
		if !slices.Contains(r.Env, "SNAP_COMPONENT_NAME=hello+comp") || !slices.Contains(r.Env, "SNAP_COOKIE=c00kie") {
			t.Errorf("%s: the hook's environment: %v", in.name, r.Env)
		}
		for _, env := range [][]string{nil, {"SNAP_COMPONENT_NAME=hello+other"}, {"SNAP_COMPONENT_NAME=bye+comp"}} {
			msg := launch{caps: in.caps, tag: tag, uid: userUID, env: env}.mustFail(t)
			if !strings.HasPrefix(msg, "cannot ") {
				t.Errorf("%s: %v refused with %q", in.name, env, msg)
			}
		}
	}
}

// snapd marks a snap it removes (/var/lib/snapd/inhibit/<instance>.remove)
// and no new process of it may start meanwhile: refused under the snap's
// lock, with one line, nothing made.
func TestSnapBeingRemovedIsNotLaunched(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/var/lib/snapd/inhibit", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/inhibit/hello.remove", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, caps := range []bool{false, true} {
		if msg := (launch{caps: caps, uid: userUID}).mustFail(t); msg != "cannot launch snap hello: it is being removed" {
			t.Errorf("refused with %q", msg)
		}
	}
	if exists("/run/snapd/ns/hello.mnt") {
		t.Error("a namespace was made for a snap being removed")
	}
	// Another instance, and the snap once the mark is gone, launch.
	launch{instance: "hello_key", uid: userUID}.mustRun(t)
	os.Remove("/var/lib/snapd/inhibit/hello.remove")
	launch{uid: userUID}.mustRun(t)
}

// A missing core16 falls back to core, and a missing core to ubuntu-core,
// as snap-confine does; the base used is the one recorded.
func TestBaseFallbacks(t *testing.T) {
	world(t)
	r := launch{flags: []string{"--base", "core16"}, args: []string{"read", "/base-marker"}}.mustRun(t)
	if r.Read["/base-marker"] != "core 1\n" {
		t.Errorf("core16 ran on %q", r.Read["/base-marker"])
	}
	if data, _ := os.ReadFile("/run/snapd/ns/snap.hello.info"); !strings.HasPrefix(string(data), "base-snap-name=core\n") {
		t.Errorf("the info file records %q", data)
	}
	if err := sandbox.MakeBase(sandbox.Base{Name: "ubuntu-core", Revision: "7", Current: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename("/snap/core/current", "/snap/core/.current.hidden"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Rename("/snap/core/.current.hidden", "/snap/core/current") })
	// ubuntu-core is not among the bases whose device cgroup is optional.
	if err := writeDeviceSettings("other", "self-managed=true\n", true); err != nil {
		t.Fatal(err)
	}
	r = launch{instance: "other", args: []string{"read", "/base-marker"}}.mustRun(t)
	if r.Read["/base-marker"] != "ubuntu-core 7\n" {
		t.Errorf("core ran on %q", r.Read["/base-marker"])
	}
	// Without either, the launch is refused.
	if msg := (launch{instance: "third", flags: []string{"--base", "core18x"}}).mustFail(t); !strings.Contains(msg, `base snap "core18x"`) {
		t.Errorf("refused with %q", msg)
	}
}

// The void directory, where an app starts when the caller's working
// directory does not exist in its namespace, is made when missing, root's
// 0111, as snap-confine makes it.
func TestVoidDirectoryIsMadeWhenMissing(t *testing.T) {
	world(t)
	// The snap's /var/lib is its base's: this host directory is not there.
	dir := "/var/lib/not-in-the-snap"
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := launch{uid: userUID, dir: dir, caps: true}.mustRun(t)
	var st unix.Stat_t
	if err := unix.Lstat("/var/lib/snapd/void", &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode != unix.S_IFDIR|0o111 {
		t.Errorf("the void directory: %v %+v", err, st)
	}
	if r.Cwd != "/var/lib/snapd/void" {
		t.Errorf("the app started in %s, not in the void directory", r.Cwd)
	}
}

// The base's /etc/ssl is bound over the host's unless the host is a
// Debian-like classic one and the base a core one (whose snaps then use the
// host's certificate set-up), and the base's ld.so cache and configuration
// for bases after core24, as snap-confine 2.77 binds them. (The sandbox's
// /etc is a Debian host's.)
func TestEtcFromTheBase(t *testing.T) {
	world(t)
	files := map[string]string{"etc/ssl/": "", "etc/ssl/marker": "the base's ssl\n", "etc/ld.so.cache": "the base's cache\n", "etc/ld.so.conf": "the base's conf\n"}
	for _, name := range []string{"core26", "core22", "mybase"} {
		if err := sandbox.MakeBase(sandbox.Base{Name: name, Revision: "1", Current: true, Files: files}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		base      string
		ssl, ldso bool
	}{{"core26", false, true}, {"core22", false, false}, {"mybase", true, true}} {
		if err := writeDeviceSettings(tc.base, "self-managed=true\n", true); err != nil {
			t.Fatal(err)
		}
		r := launch{instance: tc.base, flags: []string{"--base", tc.base}, args: []string{"read", "/etc/ssl/marker", "read", "/etc/ld.so.cache"}}.mustRun(t)
		if got := r.Read["/etc/ld.so.cache"] == "the base's cache\n"; got != tc.ldso {
			t.Errorf("%s: ld.so.cache from the base: %t, want %t", tc.base, got, tc.ldso)
		}
		if got := r.Read["/etc/ssl/marker"] == "the base's ssl\n"; got != tc.ssl {
			t.Errorf("%s: /etc/ssl from the base: %t, want %t", tc.base, got, tc.ssl)
		}
	}
}

// snapd's extra home directories (system-params homedirs=) are bound like
// /home, their mount points made in the snap's root where the base has none.
func TestHomedirsAreBoundWhereTheBaseHasNoMountPoint(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/srv/homes/alice", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll("/srv") })
	if err := os.WriteFile("/srv/homes/alice/note", []byte("alice's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/system-params", []byte("homedirs=/srv/homes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := launch{uid: userUID, args: []string{"read", "/srv/homes/alice/note"}}.mustRun(t)
	if r.Read["/srv/homes/alice/note"] != "alice's\n" {
		t.Errorf("the home directory in the snap: %q %v", r.Read["/srv/homes/alice/note"], r.Errors)
	}
}

// On a host whose "/" is not shared (an init that does not make it so), the
// snap mount directory is made a shared mount point of itself, so that
// snaps mounted later reach the snaps' namespaces, as snap-confine's
// sc_ensure_shared_snap_mount does; once per boot, recorded in the lock
// directory, and not at all where "/" is shared.
func TestSnapMountDirIsMadeSharedWhereRootIsNot(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	if topMountOf(t, "/snap") != "" {
		t.Fatal(`/snap was made a mount point although "/" is shared`)
	}
	world(t)
	if err := unix.Mount("none", "/", "", unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		detachAll(t, "/snap")
		unix.Mount("none", "/", "", unix.MS_SHARED, "")
	})
	launch{caps: true, uid: userUID}.mustRun(t)
	if topMountOf(t, "/snap") != "/snap" || !strings.Contains(mountLineOf(t, "/snap"), "shared:") {
		t.Fatalf("/snap is not a shared mount point: %q", mountLineOf(t, "/snap"))
	}
	if !exists("/run/snapd/lock/.snap-mount-shared") {
		t.Error("the set-up was not recorded")
	}
	// A later launch does nothing more.
	launch{caps: true, uid: userUID + 1}.mustRun(t)
	if n := strings.Count(pid1Mounts(t), " /snap /snap "); n != 1 {
		t.Errorf("/snap is bound %d times", n)
	}
}

// mountLineOf is the last mountinfo line of the mount on point, or "".
func mountLineOf(t *testing.T, point string) string {
	line := ""
	for _, l := range strings.Split(pid1Mounts(t), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == point {
			line = l
		}
	}
	return line
}

// topMountOf is point when a mount's root is point itself mounted there
// (a bind of the directory on itself), else "".
func topMountOf(t *testing.T, point string) string {
	if f := strings.Fields(mountLineOf(t, point)); len(f) > 4 && f[3] == point {
		return point
	}
	return ""
}
