// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/kernelsim"
	"github.com/snapns/snapns/tests/sandbox"
)

// hostStat returns "MAJOR:MINOR:INODE" of path, as the probe's stat does.
func hostStat(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
}

// inNamespace runs fn as root inside the mount namespace preserved at
// nsfile, on a thread that dies afterwards.
func inNamespace(t *testing.T, nsfile string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		lockThreadForever()
		f, err := os.Open(nsfile)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			done <- err
			return
		}
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNS); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func statArgs(paths ...string) []string {
	var args []string
	for _, p := range paths {
		args = append(args, "stat", p)
	}
	return args
}

// TestAppRunsOnItsBaseSnap checks the snap's root filesystem: a tmpfs "/"
// holding the base's own entries (its directories and files bound, its
// symlinks copied), the host's directories of the table bound in, a private
// /tmp and /dev/pts, the host's root at /var/lib/snapd/hostfs. The mount
// table the app sees is logged.
func TestAppRunsOnItsBaseSnap(t *testing.T) {
	world(t)
	if err := os.WriteFile("/host-marker", []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/host-marker")
	hostDirs := []string{"/home", "/etc", "/run", "/var/snap", "/var/lib/snapd", "/dev", "/proc", "/sys", "/var/tmp", "/var/log", "/usr/src", "/media", "/snap"}
	baseDirs := []string{"/bin", "/usr", "/var", "/lib"}
	args := append([]string{"read", "/base-marker", "read", "/host-marker", "read", "/var/lib/snapd/hostfs/host-marker"},
		statArgs(append(append(hostDirs, baseDirs...), "/", "/dev/pts", "/tmp", "/var/lib/snapd/hostfs", "/var/lib/snapd/hostfs/proc/1")...)...)
	r := launch{args: args}.mustRun(t)
	for _, d := range baseDirs {
		if want := hostStat(t, "/snap/core/1"+d); r.Stat[d] != want {
			t.Errorf("the app's %s is %s, not the base's %s", d, r.Stat[d], want)
		}
	}
	if fsType(t, r.Mounts, "/") != "tmpfs" {
		t.Errorf("the app's / is %q, not the launcher's tmpfs", fsType(t, r.Mounts, "/"))
	}
	if r.Read["/base-marker"] != "core 1\n" {
		t.Errorf("the base's marker reads %q", r.Read["/base-marker"])
	}
	if _, ok := r.Read["/host-marker"]; ok {
		t.Error("the host's root is visible as the app's /")
	}
	for _, d := range hostDirs {
		if r.Stat[d] != hostStat(t, d) {
			t.Errorf("the app's %s is %s, the host's %s", d, r.Stat[d], hostStat(t, d))
		}
	}
	if r.Stat["/tmp"] == hostStat(t, "/tmp") {
		t.Error("the app's /tmp is the host's")
	}
	if r.Stat["/tmp"] != hostStat(t, "/tmp/snap-private-tmp/snap.hello/tmp") {
		t.Error("the app's /tmp is not its private tmp")
	}
	if r.Stat["/dev/pts"] == hostStat(t, "/dev/pts") {
		t.Error("the app's /dev/pts is the host's instance")
	}
	if r.Stat["/var/lib/snapd/hostfs"] != hostStat(t, "/") || r.Read["/var/lib/snapd/hostfs/host-marker"] != "host\n" {
		t.Error("/var/lib/snapd/hostfs does not hold the host's root")
	}
	if !strings.HasPrefix(r.Stat["/var/lib/snapd/hostfs/proc/1"], "error: ") {
		t.Error("the host's /proc was not detached from /var/lib/snapd/hostfs")
	}
	var table strings.Builder
	for _, line := range r.Mounts {
		if f := strings.Fields(line); len(f) > 9 {
			fmt.Fprintf(&table, "\n  %-28s %-10s %s %s", f[4], f[len(f)-3], f[3], strings.Join(f[6:len(f)-4], " "))
		}
	}
	t.Logf("mount table seen from inside the app (point, fstype, root, propagation):%s", table.String())
}

// fsType returns the type of the last mount on point in a mountinfo table.
func fsType(t *testing.T, mounts []string, point string) string {
	t.Helper()
	typ := ""
	for _, line := range mounts {
		f := strings.Fields(line)
		for i, field := range f {
			if field == "-" && len(f) > 4 && f[4] == point && i+1 < len(f) {
				typ = f[i+1]
			}
		}
	}
	return typ
}

func devOf(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
}

// TestPropagationBetweenHostAndSnap: /media is shared both ways, /mnt (like
// every other host directory) only into the snap, and a mount made inside
// the snap's namespace anywhere else never reaches the host.
func TestPropagationBetweenHostAndSnap(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	for _, d := range []string{"/media/usb", "/media/inner", "/mnt/host-made", "/mnt/inner"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, d := range []string{"/media/usb", "/media/inner", "/mnt/host-made", "/mnt/inner"} {
			unix.Unmount(d, unix.MNT_DETACH)
		}
		os.RemoveAll("/media/usb")
		os.RemoveAll("/media/inner")
	}()
	for _, d := range []string{"/media/usb", "/mnt/host-made"} {
		if err := unix.Mount("tmpfs", d, "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d+"/from-host", []byte("host"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inNamespace(t, "/run/snapd/ns/hello.mnt", func() error {
		for _, d := range []string{"/media/inner", "/mnt/inner"} {
			if err := unix.Mount("tmpfs", d, "tmpfs", 0, "mode=0755"); err != nil {
				return fmt.Errorf("mount %s inside: %w", d, err)
			}
			if err := os.WriteFile(d+"/from-snap", []byte("snap"), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	r := launch{args: []string{"read", "/media/usb/from-host", "read", "/mnt/host-made/from-host"}}.mustRun(t)
	if r.Read["/media/usb/from-host"] != "host" {
		t.Error("a host mount under /media did not reach the snap")
	}
	if r.Read["/mnt/host-made/from-host"] != "host" {
		t.Error("a host mount under /mnt did not reach the snap")
	}
	if data, err := os.ReadFile("/media/inner/from-snap"); err != nil || string(data) != "snap" {
		t.Errorf("a mount made inside the snap under /media did not reach the host (shared): %v", err)
	}
	if exists("/mnt/inner/from-snap") {
		t.Error("a mount made inside the snap under /mnt leaked to the host")
	}
}

func TestBaseWithoutOptionalDirectoriesWorks(t *testing.T) {
	world(t)
	if err := sandbox.MakeBase(sandbox.Base{Name: "bare", Revision: "3", Current: true, Omit: []string{"mnt", "lib/modules", "lib/firmware"}}); err != nil {
		t.Fatal(err)
	}
	// bare requires a device cgroup (snap-confine 2.77): the app runs in
	// its snap cgroup.
	r := launch{flags: []string{"--base", "bare"}, args: []string{"read", "/base-marker"}, cgroup: deviceSetup(t)}.mustRun(t)
	if r.Read["/base-marker"] != "bare 3\n" {
		t.Fatalf("the app does not run on base bare: %q", r.Read["/base-marker"])
	}
}

func TestBaseMissingARequiredMountPointFails(t *testing.T) {
	world(t)
	if err := sandbox.MakeBase(sandbox.Base{Name: "broken", Revision: "1", Current: true, Omit: []string{"usr/src"}}); err != nil {
		t.Fatal(err)
	}
	msg := launch{flags: []string{"--base", "broken"}, cgroup: deviceSetup(t)}.mustFail(t)
	if !strings.Contains(msg, `base snap "broken"`) || !strings.Contains(msg, "/usr/src") {
		t.Fatalf("the error %q does not name the base and the path", msg)
	}
	if nsID(t, "/run/snapd/ns/hello.mnt") != 0 {
		t.Fatal("a namespace was preserved")
	}
}

func TestUnusableBasesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func() error
		want  string
	}{
		{"not-installed", func() error { return nil }, "cannot use base snap \"nobase\""},
		{"not-a-mount-point", func() error {
			if err := os.MkdirAll("/snap/nobase/7", 0o755); err != nil {
				return err
			}
			return os.Symlink("7", "/snap/nobase/current")
		}, "is not a mount point"},
		{"current-missing", func() error { return os.MkdirAll("/snap/nobase/7", 0o755) }, "current"},
		{"current-outside", func() error {
			if err := os.MkdirAll("/snap/nobase", 0o755); err != nil {
				return err
			}
			return os.Symlink("../core/1", "/snap/nobase/current")
		}, "not to a revision"},
		{"current-absolute-elsewhere", func() error {
			if err := os.MkdirAll("/snap/nobase", 0o755); err != nil {
				return err
			}
			return os.Symlink("/snap/core/1", "/snap/nobase/current")
		}, "not to a revision"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world(t)
			os.RemoveAll("/snap/nobase")
			defer os.RemoveAll("/snap/nobase")
			if err := tc.setup(); err != nil {
				t.Fatal(err)
			}
			if msg := (launch{flags: []string{"--base", "nobase"}}).mustFail(t); !strings.Contains(msg, tc.want) {
				t.Fatalf("the error %q does not contain %q", msg, tc.want)
			}
		})
	}
}

// The scratch directory the root is assembled on lives in the root-only
// /tmp/snap-private-tmp; an entry planted there (only root could) is never
// followed.
func TestPlantedScratchSymlinkIsNeverFollowed(t *testing.T) {
	world(t)
	if err := os.MkdirAll("/tmp/snap-private-tmp", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", "/tmp/snap-private-tmp/snap.hello.rootfs"); err != nil {
		t.Fatal(err)
	}
	if kernelLacks(kernelsim.MountAPI) {
		// Before 5.12 the root is assembled elsewhere (a staging
		// tmpfs of the new namespace): the entry is left alone.
		launch{}.mustRun(t)
		if target, err := os.Readlink("/tmp/snap-private-tmp/snap.hello.rootfs"); err != nil || target != "/etc" {
			t.Fatalf("the planted symlink changed: %q, %v", target, err)
		}
		return
	}
	if msg := (launch{}).mustFail(t); !strings.Contains(msg, "snap.hello.rootfs") {
		t.Fatalf("unexpected error %q", msg)
	}
	if nsID(t, "/run/snapd/ns/hello.mnt") != 0 {
		t.Fatal("a namespace was preserved")
	}
}

func TestSnapdToolsAreBoundForNonCoreBases(t *testing.T) {
	world(t)
	if err := sandbox.MakeBase(sandbox.Base{Name: "core22", Revision: "5", Current: true}); err != nil {
		t.Fatal(err)
	}
	r := launch{flags: []string{"--base", "core22"}, args: []string{"stat", "/usr/lib/snapd/snap-confine", "write", "/usr/lib/snapd/x", "y"}}.mustRun(t)
	if r.Stat["/usr/lib/snapd/snap-confine"] != hostStat(t, snapConfine) {
		t.Fatalf("/usr/lib/snapd is not the launcher's directory: %v", r.Stat)
	}
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0], "read-only") {
		t.Fatalf("/usr/lib/snapd is writable in the snap: %v", r.Errors)
	}
	// The core base ships its own snapd tools.
	r = launch{instance: "hello_two", args: []string{"stat", "/usr/lib/snapd/snap-confine"}}.mustRun(t)
	if !strings.HasPrefix(r.Stat["/usr/lib/snapd/snap-confine"], "error: ") {
		t.Fatal("the launcher's directory was bound for the core base")
	}
}

// On a core16 host the "core" base runs in legacy mode: the host's own root,
// with only the shared binds and the private /tmp and /dev/pts.
func TestLegacyModeOnCore16(t *testing.T) {
	world(t)
	fake := "/var/tmp/os-release-core16"
	if err := os.WriteFile(fake, []byte("NAME=\"Ubuntu Core\"\nID=ubuntu-core\nVERSION_ID=\"16\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(fake, "/etc/os-release", "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount("/etc/os-release", unix.MNT_DETACH)
	r := launch{debug: true, args: []string{"read", "/base-marker", "stat", "/", "stat", "/tmp"}}.run()
	if r.err != nil {
		t.Fatalf("legacy launch failed: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "legacy mode") {
		t.Errorf("the debug log does not say legacy mode:\n%s", r.stderr)
	}
	if _, ok := r.report.Read["/base-marker"]; ok {
		t.Error("legacy mode runs on the base snap")
	}
	if r.report.Stat["/"] != hostStat(t, "/") {
		t.Error("legacy mode does not run on the host's root")
	}
	if r.report.Stat["/tmp"] != hostStat(t, "/tmp/snap-private-tmp/snap.hello/tmp") {
		t.Error("legacy mode has no private /tmp")
	}
	// Another base on the same host is in normal mode.
	if err := sandbox.MakeBase(sandbox.Base{Name: "core18", Revision: "2", Current: true}); err != nil {
		t.Fatal(err)
	}
	r2 := launch{instance: "hello_two", flags: []string{"--base", "core18"}, args: []string{"read", "/base-marker"}}.mustRun(t)
	if r2.Read["/base-marker"] != "core18 2\n" {
		t.Error("core18 on a core16 host is not in normal mode")
	}
}

func TestSnapUpdateNSRunsInsideTheNewRoot(t *testing.T) {
	world(t)
	installUpdateNS(t)
	r := launch{args: []string{"read", "/mnt/snap-update-ns.log"}}.mustRun(t)
	if !strings.Contains(r.Read["/mnt/snap-update-ns.log"], "root=core 1\n") {
		t.Fatalf("snap-update-ns did not run on the base: %q", r.Read["/mnt/snap-update-ns.log"])
	}
}
