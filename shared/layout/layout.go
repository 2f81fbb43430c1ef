// SPDX-License-Identifier: GPL-3.0-only

// Package layout is the on-disk contract with snapd: every directory and file
// name that the planner and the launcher use, derived only from validated names.
//
// The threat it answers: a path built from an unvalidated string ("../x",
// "x/../../etc") could point the privileged launcher anywhere. Functions here
// take naming.Instance, which only naming.ParseInstance can produce, and return
// single path components (no "/") to be opened relative to a directory fd.
package layout

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/snapns/snapns/shared/naming"
)

// Directories of the contract. They are absolute and fixed: nothing from the
// plan or the environment is ever joined to them except the names below.
const (
	// NSDir holds the preserved namespaces and their info files. It is
	// 0755 root:root and a private bind mount of itself.
	NSDir = "/run/snapd/ns"
	// LockDir holds the flock(2) lock files.
	LockDir = "/run/snapd/lock"
	// RunSnapdDir is the parent of NSDir and LockDir.
	RunSnapdDir = "/run/snapd"
	// GlobalLockName is the global lock, taken only around the
	// initialisation of NSDir.
	GlobalLockName = ".lock"
	// SnapDirsSharedName, in LockDir, records that /snap and /var/snap
	// were made shared mount points of themselves in pid 1's namespace
	// (the parallel-instances feature's global set-up), once per boot.
	// Instance names hold no dot, so no lock file can be named so.
	SnapDirsSharedName = ".snap-dirs-shared"
	// SnapMountSharedName, in LockDir, records that the snap mount
	// directory was checked (and made a shared mount point of itself
	// where neither it nor "/" was shared), once per boot.
	SnapMountSharedName = ".snap-mount-shared"
	// MarkerFileMode is the mode of those markers.
	MarkerFileMode = 0o644
	// PrivateTmpDir is the root-owned 0700 parent of every snap's private
	// /tmp; it lives in the world-writable /tmp, so every step below it is
	// opened without following symlinks and checked for ownership.
	PrivateTmpDir = "/tmp/snap-private-tmp"
	// SnapUpdateNSName is snapd's mount-profile helper, found next to
	// the launcher's own executable (/usr/lib/snapd on Debian and
	// Ubuntu, /usr/libexec/snapd on Fedora, Arch, openSUSE and CentOS),
	// as snap-confine finds it, and run in a new namespace when it is
	// installed.
	SnapUpdateNSName = "snap-update-ns"
	// VoidDir is where the app starts when the caller's working directory
	// cannot be entered (snap-confine's SC_VOID_DIR).
	VoidDir     = "/var/lib/snapd/void"
	VoidDirMode = 0o111 // searchable, not listable, as snap-confine makes it
	// CookieDir holds each snap's cookie for snapctl (root-only files).
	CookieDir = "/var/lib/snapd/cookie"
	// MountProfileDir holds the mount profiles snap-update-ns applies; a
	// snap with a profile there needs snap-update-ns to be installed.
	MountProfileDir = "/var/lib/snapd/mount"
	// SystemParams is snapd's system configuration; its homedirs= line
	// lists extra home directories bound into every snap's namespace.
	SystemParams = "/var/lib/snapd/system-params"
	// SeccompDir holds the compiled seccomp profiles snapd writes, one per
	// security tag: <tag>.bin2 since snapd 2.64, <tag>.bin and global.bin
	// for every snap before.
	SeccompDir = "/var/lib/snapd/seccomp/bpf"
	// GlobalSeccompName is the profile snapd ≤ 2.63 wrote for every app
	// with a restricted <tag>.bin.
	GlobalSeccompName = "global.bin"
	// CgroupDir is where the cgroup hierarchy is mounted; it tells whether
	// a snap still has processes.
	CgroupDir = "/sys/fs/cgroup"
	// FeaturesDir holds snapd's feature flags, one file each (a regular
	// file of root's there means "on"; snap-confine's feature.c).
	FeaturesDir = "/var/lib/snapd/features"
	// PerUserFeature, inside FeaturesDir, turns preserved per-user mount
	// namespaces on (snapd 2.76 no longer writes it; snapns keeps the
	// feature).
	PerUserFeature = "per-user-mount-namespace"
	// ParallelInstancesFeature is the flag, inside FeaturesDir, of
	// snapd's parallel-instances feature: with it, classic snaps get a
	// mount namespace of their own in which an instance's directories
	// are bound on the snap's name.
	ParallelInstancesFeature = "parallel-instances"
	// SnapDataDir holds each instance's system data: $SNAP_DATA is
	// /var/snap/<snap>/<revision> inside the instance's namespace.
	SnapDataDir = "/var/snap"
)

// Directory modes of the contract.
const (
	NSDirMode          = 0o755
	LockDirMode        = 0o755
	RunSnapdDirMode    = 0o755
	PrivateTmpBaseMode = 0o700 // /tmp/snap-private-tmp and snap.<instance>
	PrivateTmpMode     = 0o1777
	InfoFileMode       = 0o644
	LockFileMode       = 0o600
	MountNSFileMode    = 0o600
	FstabFileMode      = 0o644 // snap-update-ns's record, first written by the launcher
)

// MountNSName is the name, inside NSDir, of the preserved per-snap namespace.
func MountNSName(inst naming.Instance) string { return inst.String() + ".mnt" }

// UserMountNSName is the name, inside NSDir, of a preserved per-user namespace.
func UserMountNSName(inst naming.Instance, uid uint32) string {
	return inst.String() + "." + strconv.FormatUint(uint64(uid), 10) + ".mnt"
}

// InfoName is the name, inside NSDir, of the namespace's info file.
func InfoName(inst naming.Instance) string { return "snap." + inst.String() + ".info" }

// InfoTempName is the scratch name used to replace the info file atomically.
// It is fixed (not random) because it is only written under the per-snap
// lock, so a launcher killed half-way leaves at most one file that the next
// launch truncates and reuses. Instance names contain no '.', so no instance
// can own this name as its info file.
func InfoTempName(inst naming.Instance) string { return InfoName(inst) + ".tmp" }

// FstabName is snap-update-ns's record of the mounts it made in the per-snap
// namespace.
func FstabName(inst naming.Instance) string { return "snap." + inst.String() + ".fstab" }

// RootfsFstabEntry is the first record of a new namespace's fstab in normal
// mode, as snap-confine ≥ 2.59 writes it: the snap's root is a tmpfs the
// launcher made, which snap-update-ns must keep.
const RootfsFstabEntry = "tmpfs / tmpfs x-snapd.origin=rootfs 0 0\n"

// UserLockName is the name, inside LockDir, of the per-user lock, taken
// while the per-snap lock is held.
func UserLockName(inst naming.Instance, uid uint32) string {
	return inst.String() + "." + strconv.FormatUint(uint64(uid), 10) + ".lock"
}

// UserInfoName is the name, inside NSDir, of a preserved per-user
// namespace's info file: it records the per-snap namespace it was derived
// from.
func UserInfoName(inst naming.Instance, uid uint32) string {
	return "snap." + inst.String() + "." + strconv.FormatUint(uint64(uid), 10) + ".info"
}

// UserMountProfileName is the name, inside MountProfileDir, of the snap's
// per-user mount profile, applied by snap-update-ns --user-mounts.
func UserMountProfileName(inst naming.Instance) string {
	return "snap." + inst.String() + ".user-fstab"
}

// LockName is the name, inside LockDir, of the per-snap lock.
func LockName(inst naming.Instance) string { return inst.String() + ".lock" }

// PrivateTmpName is the name, inside PrivateTmpDir, of the snap's directory;
// its "tmp" child is bind mounted on /tmp in the snap's namespace.
func PrivateTmpName(inst naming.Instance) string { return "snap." + inst.String() }

// SeccompName is the name, inside SeccompDir, of an app's profile as snapd
// 2.64 and later write it: a header, an allow and a deny program.
func SeccompName(tag naming.SecurityTag) string { return tag.String() + ".bin2" }

// LegacySeccompName is the name, inside SeccompDir, of an app's profile as
// snapd 2.63 and earlier wrote it: one raw program, or "@unrestricted".
func LegacySeccompName(tag naming.SecurityTag) string { return tag.String() + ".bin" }

// CookieName is the name, inside CookieDir, of the snap's cookie.
func CookieName(inst naming.Instance) string { return "snap." + inst.String() }

// MountProfileName is the name, inside MountProfileDir, of the snap's mount
// profile.
func MountProfileName(inst naming.Instance) string { return "snap." + inst.String() + ".fstab" }

// RootfsScratchName is the name, inside PrivateTmpDir (root-only 0700), of
// the directory the new root filesystem is assembled on before pivot_root.
// Instance names contain no '.', so it never names a snap's private tmp.
func RootfsScratchName(inst naming.Instance) string { return "snap." + inst.String() + ".rootfs" }

// ParallelInstanceDirs returns, for an instance with a key ("name_key"), the
// single path components that name its own directories inside SnapMountDir
// and SnapDataDir ("name_key") and the ones they are mapped onto in the
// instance's namespace ("name"), so that $SNAP and $SNAP_DATA, which snapd
// builds from the snap name, show the instance's files. ok is false for an
// instance without a key: nothing is mapped.
func ParallelInstanceDirs(inst naming.Instance) (own, mapped string, ok bool) {
	if inst.Key() == "" {
		return "", "", false
	}
	return inst.String(), inst.SnapName(), true
}

// Where snaps are mounted, <dir>/<snap>/<revision>, with
// <dir>/<snap>/current naming the revision in use: /snap on Debian and
// Ubuntu, /var/lib/snapd/snap on Fedora, Arch, openSUSE and CentOS (where
// /snap, if there, links to it). Inside a snap's namespace it is always
// /snap.
const (
	CanonicalSnapMountDir = "/snap"
	AlternateSnapMountDir = "/var/lib/snapd/snap"
	SnapMountDirInSnap    = "/snap"
)

// SnapMountDirOf decides the host's snap mount directory from what is at
// /snap, as snap-confine ≥ 2.66 probes pid 1's: a directory means /snap;
// nothing (exists false) or a symlink to /var/lib/snapd/snap (absolute or
// relative) means /var/lib/snapd/snap; anything else is refused.
func SnapMountDirOf(exists bool, mode uint32, linkTarget string) (string, error) {
	switch {
	case !exists:
		return AlternateSnapMountDir, nil
	case mode&0o170000 == 0o040000:
		return CanonicalSnapMountDir, nil
	case mode&0o170000 == 0o120000 && (linkTarget == AlternateSnapMountDir || linkTarget == AlternateSnapMountDir[1:]):
		return AlternateSnapMountDir, nil
	case mode&0o170000 == 0o120000:
		return "", fmt.Errorf("cannot use %s: it must be a symbolic link to %s, not to %q", CanonicalSnapMountDir, AlternateSnapMountDir, linkTarget)
	}
	return "", fmt.Errorf("cannot use %s: it must be a directory or a symbolic link to %s", CanonicalSnapMountDir, AlternateSnapMountDir)
}

// InhibitRemovePath is snapd's mark that inst is being removed: while it
// is a regular file, no new process of the snap starts.
func InhibitRemovePath(inst naming.Instance) string {
	return "/var/lib/snapd/inhibit/" + inst.String() + ".remove"
}

// BaseFallback is the base snap-confine uses instead of base when base has
// no current revision: "core" for "core16" (a core16 snap runs on the core
// snap), "ubuntu-core" for "core" (the migration from ubuntu-core systems).
func BaseFallback(base string) (string, bool) {
	switch base {
	case "core16":
		return "core", true
	case "core":
		return "ubuntu-core", true
	}
	return "", false
}

// Discardable tells whether name, inside NSDir, belongs to inst and goes
// when inst's namespace is discarded: <instance>.mnt, <instance>.<uid>.mnt,
// snap.<instance>.fstab, snap.<instance>.<uid>.user-fstab,
// snap.<instance>.info, snap.<instance>.<uid>.info (and their scratch
// copies). isMount is set for the
// namespace files. Instance names contain no '.', so the names of another
// instance (foo_bar, foobar, foo-bar for foo) never match.
func Discardable(name string, inst naming.Instance) (ok, isMount bool) {
	i := inst.String()
	if name == MountNSName(inst) {
		return true, true
	}
	if uid, ok := strings.CutSuffix(strings.TrimPrefix(name, i+"."), ".mnt"); ok && strings.HasPrefix(name, i+".") && isUID(uid) {
		return true, true
	}
	switch name {
	case FstabName(inst), FstabName(inst) + ".tmp", InfoName(inst), InfoTempName(inst):
		return true, false
	}
	if uid, ok := strings.CutSuffix(strings.TrimPrefix(name, "snap."+i+"."), ".user-fstab"); ok && strings.HasPrefix(name, "snap."+i+".") && isUID(uid) {
		return true, false
	}
	for _, suffix := range []string{".info", ".info.tmp"} {
		if uid, ok := strings.CutSuffix(strings.TrimPrefix(name, "snap."+i+"."), suffix); ok && strings.HasPrefix(name, "snap."+i+".") && isUID(uid) {
			return true, false
		}
	}
	return false, false
}

// isUID tells whether s is a decimal uid as snap-confine prints it.
func isUID(s string) bool {
	if s == "" || len(s) > 10 || (s[0] == '0' && s != "0") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}
