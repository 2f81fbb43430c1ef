// SPDX-License-Identifier: GPL-3.0-only

package policy

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
}

// NormalModeBinds are bound into the base snap, in this order, for every
// snap in normal mode.
var NormalModeBinds = []HostBind{
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
func BoundOverBase(path string) bool {
	if path == "/snap" {
		return true
	}
	for _, b := range NormalModeBinds {
		if b.Path == path {
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
// the host's /etc in normal mode when both exist and have the same type
// (snap-confine's paths_all; the /etc/ssl exception for core bases on
// Debian-like classic hosts is not carried over).
var BaseEtcFiles = []string{"/etc/alternatives", "/etc/nsswitch.conf", "/etc/apparmor", "/etc/apparmor.d"}

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
