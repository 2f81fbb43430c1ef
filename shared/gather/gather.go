// SPDX-License-Identifier: GPL-3.0-only

// Package gather reads the facts a launch is decided on (planner.Facts)
// from the host: the launcher with its privileges, in pid 1's mount
// namespace and under its locks, and snap-ns without privilege to explain
// a launch. One reader per fact, with one rule for each file, so that the
// two can never read the same file two ways. Root's files are read through
// shared/trusted: below root-owned directories that no one else may write,
// never through a symlink, never blocking.
//
// Nothing here changes anything.
package gather

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/shared/trusted"
)

// SnapMountDir looks at /snap in the calling thread's mount namespace (the
// launcher's is pid 1's by then) and says which directory the snaps are
// mounted in (layout.SnapMountDirOf).
func SnapMountDir() (string, error) {
	var st unix.Stat_t
	if err := unix.Lstat(layout.CanonicalSnapMountDir, &st); err == unix.ENOENT {
		return layout.SnapMountDirOf(false, 0, "")
	} else if err != nil {
		return "", fmt.Errorf("cannot inspect %s: %w", layout.CanonicalSnapMountDir, err)
	}
	target := ""
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		buf := make([]byte, 256)
		n, err := unix.Readlink(layout.CanonicalSnapMountDir, buf)
		if err != nil {
			return "", fmt.Errorf("cannot read %s: %w", layout.CanonicalSnapMountDir, err)
		}
		target = string(buf[:n])
	}
	return layout.SnapMountDirOf(true, st.Mode, target)
}

// Feature tells whether snapd's feature flag name is on: a regular file
// owned by root in snapd's root-owned features directory. Anything else
// there (a user cannot put it there, but a broken install may have) is off.
func Feature(name string) (bool, error) {
	display := layout.FeaturesDir + "/" + name
	dir, err := trusted.Path(layout.FeaturesDir)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot check the feature flag %s: %w", display, err)
	}
	defer dir.Close()
	var st unix.Stat_t
	err = unix.Fstatat(dir.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot inspect the feature flag %s: %w", display, err)
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Uid == 0, nil
}

// Features reads the feature flags the launcher honours.
func Features() (planner.Features, error) {
	var f planner.Features
	var err error
	if f.PerUser, err = Feature(layout.PerUserFeature); err != nil {
		return f, err
	}
	f.Parallel, err = Feature(layout.ParallelInstancesFeature)
	return f, err
}

// Homedirs reads the homedirs= setting of snapd's root-owned
// /var/lib/snapd/system-params; a missing file means none.
func Homedirs() ([]string, error) {
	data, err := trusted.ReadFile(path.Dir(layout.SystemParams), path.Base(layout.SystemParams), info.MaxSize)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return info.SystemParamsHomedirs(data)
}

// Removing tells whether snapd marked inst as being removed: a regular
// file /var/lib/snapd/inhibit/<instance>.remove (snap-confine's
// sc_snap_is_inhibited). The directories on the way are root's; the last
// component is not followed.
func Removing(inst naming.Instance) bool {
	var st unix.Stat_t
	return unix.Fstatat(unix.AT_FDCWD, layout.InhibitRemovePath(inst), &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
}

// maxOSRelease bounds how much of /etc/os-release is read.
const maxOSRelease = 16 << 10

// Distro reads the host's /etc/os-release and looks for /meta/snap.yaml as
// snap-confine does, and tells whether the host is Debian-like. Both are
// root-owned; os-release is commonly a symlink into /usr/lib, inside
// root-owned directories, so it is followed.
func Distro() (host.Distro, bool) {
	var osRelease []byte
	if fd, err := unix.Open("/etc/os-release", unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
		f := desc.New(fd, "/etc/os-release")
		// A buffer of the file's size (a few hundred bytes), not of the
		// bound: fresh pages cost a launch microseconds each.
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			buf := make([]byte, min(max(st.Size, 0), maxOSRelease))
			if n, _ := trusted.ReadFull(f, buf); n > 0 {
				osRelease = buf[:n]
			}
		}
		f.Close()
	}
	var st unix.Stat_t
	meta := unix.Lstat("/meta/snap.yaml", &st) == nil
	return host.Classify(osRelease, meta), host.DebianLike(osRelease)
}

// Where systemd says it runs in a container.
const (
	containerDir  = "/run/systemd"
	containerName = "container"
)

// InContainer tells whether systemd's container interface
// (/run/systemd/container) names a container.
func InContainer() (bool, error) {
	data, err := trusted.ReadFile(containerDir, containerName, 128)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return false, err
	}
	return devcgroup.InContainer(data), nil
}

// Hierarchy tells which cgroup hierarchy the device cgroup uses: v2 when
// /sys/fs/cgroup is cgroup2, the v1 devices controller otherwise (legacy
// and hybrid hosts), as snap-confine decides.
func Hierarchy() (devcgroup.Hierarchy, error) {
	dir, err := trusted.Path(devcgroup.CgroupDir)
	if err != nil {
		return devcgroup.V1, err
	}
	defer dir.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(dir.Fd(), &sfs); err != nil {
		return devcgroup.V1, fmt.Errorf("cannot inspect %s: %w", devcgroup.CgroupDir, err)
	}
	return devcgroup.HierarchyOf(int64(uint32(sfs.Type))), nil
}

// DeviceSettings reads snapd's device cgroup settings file of inst once;
// an error wrapping unix.ENOENT says it is not there (yet).
func DeviceSettings(inst naming.Instance) (devcgroup.Settings, error) {
	name := devcgroup.SettingsName(inst.String())
	data, err := trusted.ReadFile(devcgroup.SettingsDir, name, devcgroup.MaxSettingsSize)
	if err != nil {
		return devcgroup.Settings{}, err
	}
	s, err := devcgroup.ParseSettings(data)
	if err != nil {
		return s, fmt.Errorf("cannot use %s/%s: %w", devcgroup.SettingsDir, name, err)
	}
	return s, nil
}

// ExtraDevices are the host's nodes snap-confine allows every app with a
// device cgroup when they exist (NVIDIA's, uhid, tun, ...).
func ExtraDevices() []devcgroup.Device {
	var out []devcgroup.Device
	add := func(path string) bool {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
			return false
		}
		out = append(out, devcgroup.Device{Type: 'c', Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)})
		return true
	}
	for i := 0; i < devcgroup.MaxNvidia && add(fmt.Sprintf("/dev/nvidia%d", i)); i++ {
	}
	for _, path := range devcgroup.ExtraNodes {
		add(path)
	}
	return out
}

// MountProfiles says whether snapd wrote the snap's mount profile and the
// per-user one. A profile that cannot be looked at counts as none.
func MountProfiles(inst naming.Instance) (profile, user bool) {
	dir, err := trusted.Path(layout.MountProfileDir)
	if err != nil {
		return false, false
	}
	defer dir.Close()
	var st unix.Stat_t
	profile = unix.Fstatat(dir.Fd(), layout.MountProfileName(inst), &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	user = unix.Fstatat(dir.Fd(), layout.UserMountProfileName(inst), &st, unix.AT_SYMLINK_NOFOLLOW) == nil
	return profile, user
}

// Info reads a preserved namespace's info file name in the directory
// dir. A missing one, or anything but a root-owned regular file there, or
// one that does not parse, counts as "no info" (have is false, why says
// why): the namespace is then inspected instead.
func Info(dir *desc.FD, name string) (in info.Info, have bool, why string) {
	data, err := trusted.ReadFileAt(dir, name, info.MaxSize)
	if err != nil {
		return info.Info{}, false, err.Error()
	}
	if in, err = info.Parse(data); err != nil {
		return info.Info{}, false, fmt.Sprintf("cannot use %s: %v", dir.Path(name), err)
	}
	return in, true, ""
}

// Base resolves the base snap name below the snap mount directory snapDir,
// as snap-confine does: a missing "core16" falls back to "core", and a
// missing "core" to "ubuntu-core" (the base returned is the one used).
// <name>/current must name a revision directly below <name>/ ("1", or
// "<snapDir>/<name>/1"), and that revision must be a mount point: a base
// that is not mounted is not installed. The link is read once; the
// revision's directory is returned open (O_PATH), so that a refresh that
// changes the link in the meantime cannot mix two revisions. A base that
// cannot be used has Err set (the launch's refusal) and no directory.
// proc is /proc, for resolve.MountRoot.
func Base(proc *desc.FD, snapDir, name string) (planner.Base, *desc.FD) {
	refuse := func(err error) (planner.Base, *desc.FD) { return planner.Base{Name: name, Err: err}, nil }
	snapfd, err := trusted.Path(snapDir)
	if err != nil {
		return refuse(fmt.Errorf("cannot use base snap %q: %w", name, err))
	}
	defer snapfd.Close()
	snap := snapfd.Fd()
	if fallback, ok := layout.BaseFallback(name); ok && !hasCurrent(snap, name) && hasCurrent(snap, fallback) {
		name = fallback
	}
	display := snapDir + "/" + name
	dirfd, err := unix.Openat(snap, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return refuse(fmt.Errorf("cannot use base snap %q: cannot open %s: %w", name, display, err))
	}
	defer unix.Close(dirfd)
	dir := dirfd
	buf := make([]byte, 256)
	n, err := unix.Readlinkat(dir, "current", buf)
	if err != nil {
		return refuse(fmt.Errorf("cannot use base snap %q: cannot read %s/current: %w", name, display, err))
	}
	target := string(buf[:n])
	rev := strings.TrimPrefix(target, display+"/")
	if err := naming.ValidateRevision(rev); err != nil {
		return refuse(fmt.Errorf("cannot use base snap %q: %s/current points to %q, not to a revision in %s: %w", name, display, target, display, err))
	}
	fd, err := unix.Openat(dir, rev, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return refuse(fmt.Errorf("cannot use base snap %q: cannot open %s/%s: %w", name, display, rev, err))
	}
	revision := desc.New(fd, display+"/"+rev)
	var st unix.Stat_t
	mounted, err := resolve.MountRoot(proc.Fd(), dir, fd)
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if err != nil {
		revision.Close()
		return refuse(fmt.Errorf("cannot inspect %s/%s: %w", display, rev, err))
	}
	if !mounted {
		revision.Close()
		return refuse(fmt.Errorf("cannot use base snap %q: %s/%s is not a mount point", name, display, rev))
	}
	return planner.Base{Name: name, Revision: rev, Device: st.Dev}, revision
}

// hasCurrent reports whether the snap name has a current revision below
// the snap mount directory snap (what snap-confine's access(F_OK) of
// <dir>/<name>/current tells).
func hasCurrent(snap int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(snap, name+"/current", &st, 0) == nil
}
