// SPDX-License-Identifier: GPL-3.0-only

package policy

import (
	"slices"
	"strings"
)

// The bootstrap: how a new mount namespace gets the snap's root filesystem.
// It is a fixed table, executed by the launcher as a closed set of mount
// operations (launcher/bootstrap.go); nothing in a plan can add, remove or
// change an entry. The entries and their order are snap-confine's
// (cmd/snap-confine/mount-support.c, sc_populate_mount_ns).

// Propagation is how mount events flow between a bound host directory and
// its view in the snap's namespace.
type Propagation int

const (
	// Slave: host mounts appear inside; nothing made inside reaches the
	// host or other snaps.
	Slave Propagation = iota
	// Shared: the view stays in the host's peer group, both ways. Only for
	// directories whose mounts must be global: removable media (udisks
	// mounts there from inside a snap) and network namespaces (`ip netns`).
	Shared
)

// HostBind is one host directory bound, recursively, at the same path in the
// snap's root filesystem.
type HostBind struct {
	// Path is absolute, identical on the host and under the new root.
	Path string
	// Propagation between the host and the view.
	Propagation Propagation
	// Optional entries are skipped when the host lacks the directory, or
	// the base snap has no mount point for it; a required one missing
	// fails the launch with an error naming the base and the path.
	Optional bool
	// CreateOnHost makes the directory on the host (root:root 0755) when
	// it is missing, as snap-confine does for the shared entries.
	CreateOnHost bool
	// AltPath, if set, is a second place in the snap's root where the
	// same host directory is bound, the same way (never over a symlink).
	AltPath string
}

// NormalModeBinds are bound into the snap's root, in this order, for every
// snap in normal mode. On a merged-/usr host removable media are mounted
// in /run/media, which the snap sees there and at /media, as snapd builds
// snap-confine for Fedora, Arch and openSUSE (--enable-merged-usr), the
// hosts that mount snaps in /var/lib/snapd/snap.
func NormalModeBinds(mergedUsr bool) []HostBind {
	if !mergedUsr {
		return normalModeBinds
	}
	binds := slices.Clone(normalModeBinds)
	for i, b := range binds {
		if b.Path == "/media" {
			binds[i] = HostBind{Path: "/run/media", Propagation: Shared, CreateOnHost: true, AltPath: "/media"}
		}
	}
	return binds
}

var normalModeBinds = []HostBind{
	{Path: "/dev"},           // the host's devices
	{Path: "/etc"},           // resolv.conf, passwd, ... (a few entries come from the base, see BaseEtcFiles)
	{Path: "/home"},          // the users' snap data
	{Path: "/root"},          // $HOME of services
	{Path: "/proc"},          // fundamental filesystem
	{Path: "/sys"},           // fundamental filesystem
	{Path: "/tmp"},           // then replaced by the snap's private /tmp
	{Path: "/var/snap"},      // global snap data
	{Path: "/var/lib/snapd"}, // snapd state, seccomp profiles, hostfs
	{Path: "/var/tmp"},       // the other temporary directory
	{Path: "/run"},           // sockets and runtime state
	{Path: "/lib/modules", Optional: true},
	{Path: "/lib/firmware", Optional: true},
	{Path: "/usr/src"},
	{Path: "/var/log"},
	{Path: "/media", Propagation: Shared, CreateOnHost: true},
	{Path: "/run/netns", Propagation: Shared, CreateOnHost: true},
	{Path: "/mnt", Optional: true},
	{Path: "/var/lib/extrausers", Optional: true},
}

// BoundOverBase reports whether the base snap's own directory at path (in
// its root) is left out of the new root because a host directory of
// NormalModeBinds, or the host's snap mount directory, is bound there.
func BoundOverBase(path string, mergedUsr bool) bool {
	if path == "/snap" {
		return true
	}
	for _, b := range NormalModeBinds(mergedUsr) {
		if b.Path == path || b.AltPath == path {
			return true
		}
	}
	return false
}

// LegacyModeBinds are bound in legacy mode, where the root filesystem is the
// host's own (a core16 host launching a snap on the "core" base).
var LegacyModeBinds = []HostBind{
	{Path: "/media", Propagation: Shared, CreateOnHost: true},
	{Path: "/run/netns", Propagation: Shared, CreateOnHost: true},
}

// BaseEtcFiles are taken from the base snap rather than the host, bound over
// the host's /etc in normal mode when both exist and have the same type, as
// snap-confine 2.77 does: its paths_all, with /etc/ssl left the host's on
// a Debian-like classic host for a core* base (so that a local CA set-up
// reaches the snap), and for bases after core24 the base's ld.so cache and
// configuration too (paths_after_26).
func BaseEtcFiles(base string, classicDebianLike bool) []string {
	paths := []string{"/etc/alternatives", "/etc/nsswitch.conf", "/etc/apparmor", "/etc/apparmor.d"}
	if !classicDebianLike || !strings.HasPrefix(base, "core") {
		paths = append(paths, "/etc/ssl")
	}
	if !slices.Contains(basesBefore26, base) {
		paths = append(paths, "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d")
	}
	return paths
}

// basesBefore26 are the bases whose snaps use the host's ld.so cache.
var basesBefore26 = []string{"core", "core18", "core20", "core22", "core24"}

// Fixed places of the bootstrap.
const (
	// SnapdToolsDir receives the launcher's own directory, read-only, so
	// that snapd's tools match the launcher, when the base is not "core"
	// (the core snap ships its own) or the host is itself a core system.
	SnapdToolsDir = "/usr/lib/snapd"
	// HostfsDir is where the host's root stays visible after pivot_root.
	HostfsDir = "/var/lib/snapd/hostfs"
	// LegacyBase is the only base that can run in legacy mode.
	LegacyBase = "core"
)

// HostfsDetach are the host's submounts detached from HostfsDir after
// pivot_root: the snap sees them at their own paths already.
var HostfsDetach = []string{"sys", "dev", "proc"}

// DevptsOptions are those of the snap's private devpts instance.
const DevptsOptions = "newinstance,ptmxmode=0666,mode=0620,gid=5"
