// Package policy holds the launcher's rules as data: the closed set of
// privileged operations it may perform, the capabilities each one needs, and
// what the target's environment may inherit from the caller.
//
// The threat it answers: privilege that is granted by code paths scattered
// through a program cannot be reviewed. Every privileged step of the launcher
// names one Op from this table, so a reviewer reads here what the launcher is
// able to do, and why each step needs what it needs, without reading the
// launcher first. Adding an operation means adding a row here.
package policy

import (
	"strings"
)

// Op is one privileged operation of the launcher.
type Op int

// The closed set of privileged operations, in the order a launch uses them
// (those of the parallel-instances feature last).
const (
	// OpReassociate joins pid 1's mount namespace when the caller runs in
	// another one (for example inside a snap), so that /run/snapd is the
	// host's and not a view the caller arranged.
	OpReassociate Op = iota
	// OpInitRunDirs creates /run/snapd, /run/snapd/lock and /run/snapd/ns
	// as root-owned 0755 directories, and the lock files in the lock
	// directory.
	OpInitRunDirs
	// OpPrivateNSDir makes /run/snapd/ns a private bind mount of itself, so
	// that the nsfs files captured there never propagate into the
	// namespaces they describe.
	OpPrivateNSDir
	// OpJoin enters a preserved mount namespace with setns(2).
	OpJoin
	// OpInspect enters a preserved namespace on a throwaway thread to read
	// its mount table, when its info file does not say what it was built
	// from.
	OpInspect
	// OpDiscard unmounts and removes a stale namespace's files in
	// /run/snapd/ns (also snap-discard-ns's only operation).
	OpDiscard
	// OpUnshare creates a new mount namespace for the snap.
	OpUnshare
	// OpSlaveRoot makes "/" recursively slave in the new namespace, so that
	// host mounts keep arriving but nothing leaks back to the host.
	OpSlaveRoot
	// OpBootstrap gives the new namespace the snap's root filesystem: the
	// base snap bound on a scratch directory, the host directories of
	// NormalModeBinds (or LegacyModeBinds) bound into it, pivot_root into
	// it, the host's root detached down to HostfsDir.
	OpBootstrap
	// OpDevpts mounts a private devpts instance on /dev/pts.
	OpDevpts
	// OpPrivateTmp creates /tmp/snap-private-tmp/snap.<instance>/tmp and
	// bind mounts it on /tmp in the new namespace.
	OpPrivateTmp
	// OpSnapUpdateNS runs snapd's snap-update-ns, as root, inside the new
	// namespace, to apply the snap's mount profile.
	OpSnapUpdateNS
	// OpNSFiles writes /run/snapd/ns/snap.<instance>.info and removes
	// snap-update-ns's record of a previous namespace
	// (snap.<instance>.fstab), so that a new namespace is always populated
	// from scratch.
	OpNSFiles
	// OpCapture bind mounts the new namespace's nsfs file onto
	// /run/snapd/ns/<instance>.mnt, preserving it.
	OpCapture
	// OpReadCookie reads the snap's cookie for snapctl from the root-only
	// /var/lib/snapd/cookie.
	OpReadCookie
	// OpDrop permanently gives up every privilege before the exec.
	OpDrop
	// OpSeccomp loads the app's seccomp profiles, after the drop, with the
	// one capability the load needs (no_new_privs is not used: it would
	// also stop the app's AppArmor transitions and setuid helpers).
	OpSeccomp

	// The parallel-instances feature (snapd's experimental flag
	// /var/lib/snapd/features/parallel-instances; launcher/parallel.go).

	// OpSnapDirMounts makes /snap and /var/snap shared mount points of
	// themselves in pid 1's namespace (under the global lock, once), so
	// that a classic snap's namespace can make them slave and bind an
	// instance's directories over the snap's name without the bind
	// reaching the host.
	OpSnapDirMounts
	// OpClassicUnshare gives a classic snap's app a mount namespace of
	// its own, a copy of pid 1's.
	OpClassicUnshare
	// OpInstanceMounts, in that namespace only, makes /snap and /var/snap
	// recursively slave and binds /snap/<snap>_<key> on /snap/<snap> and
	// /var/snap/<snap>_<key> on /var/snap/<snap>.
	OpInstanceMounts

	numOps
)

// Spec describes one privileged operation.
type Spec struct {
	// Name is used in the debug log and in error messages.
	Name string
	// Caps are the capabilities the operation needs; their union over
	// every operation is the file-capability set (Required).
	Caps []Cap
	// SetuidCaps are raised as well when the launcher runs with root's
	// full permitted set (setuid, or a root caller), for the parts of an
	// operation that only that install does differently. They are not part
	// of the file-capability set.
	SetuidCaps []Cap
	// Syscalls names what the operation does with them, for SECURITY.md.
	Syscalls string
	// FileCapsOnly are raised as well in the file-capability install
	// only, where the launcher's ids are the caller's: creating an entry
	// root:root from its first instant takes filesystem ids of 0
	// (setfsuid, setfsgid), which euid 0 gives the setuid install for
	// free. They are part of the file-capability set.
	FileCapsOnly []Cap
}

// Raised returns the capabilities op raises: Caps, and SetuidCaps when
// fullSet (the launcher holds root's full permitted set), FileCapsOnly when
// not.
func (op Op) Raised(fullSet bool) []Cap {
	extra := Ops[op].FileCapsOnly
	if fullSet {
		extra = Ops[op].SetuidCaps
	}
	return append(append([]Cap{}, Ops[op].Caps...), extra...)
}

// createAsRoot is FileCapsOnly for every operation that creates files or
// directories.
var createAsRoot = []Cap{CapSetuid, CapSetgid}

// Ops is the table of privileged operations, indexed by Op.
var Ops = [numOps]Spec{
	// setns(CLONE_NEWNS) needs CAP_SYS_ADMIN and CAP_SYS_CHROOT; opening
	// /proc/1/ns/mnt needs ptrace-read access to pid 1.
	OpReassociate: {Name: "reassociate with pid 1's mount namespace", Caps: []Cap{CapSysAdmin, CapSysChroot, CapSysPtrace}},
	// Creating entries in root-owned directories and giving them to root.
	OpInitRunDirs:  {Name: "initialise /run/snapd", Caps: []Cap{CapDacOverride, CapChown}, FileCapsOnly: createAsRoot},
	OpPrivateNSDir: {Name: "make /run/snapd/ns a private bind mount", Caps: []Cap{CapSysAdmin}},
	OpJoin:         {Name: "join the preserved mount namespace", Caps: []Cap{CapSysAdmin, CapSysChroot}},
	OpInspect:      {Name: "inspect the preserved mount namespace", Caps: []Cap{CapSysAdmin, CapSysChroot}},
	OpDiscard:      {Name: "discard the preserved mount namespace", Caps: []Cap{CapSysAdmin, CapDacOverride}},
	OpUnshare:      {Name: "create a mount namespace", Caps: []Cap{CapSysAdmin, CapSysChroot}},
	OpSlaveRoot:    {Name: "make / recursively slave", Caps: []Cap{CapSysAdmin}},
	// Mount operations, plus creating the few host directories the
	// bootstrap needs (shared mount points, the hostfs directory).
	OpBootstrap:  {Name: "bootstrap the snap's root filesystem", Caps: []Cap{CapSysAdmin, CapDacOverride, CapChown}, FileCapsOnly: createAsRoot},
	OpDevpts:     {Name: "mount a private devpts instance", Caps: []Cap{CapSysAdmin}},
	OpPrivateTmp: {Name: "set up the private /tmp", Caps: []Cap{CapDacOverride, CapChown, CapSysAdmin}, FileCapsOnly: createAsRoot},
	// The setuid install runs snap-update-ns as root (setgroups, setgid,
	// setuid in the child); the file-capability install runs it as the
	// caller with UserHelperCaps as ambient capabilities, as snapd 2.70
	// does, which needs none raised in the launcher.
	OpSnapUpdateNS: {Name: "run snap-update-ns", SetuidCaps: []Cap{CapSetuid, CapSetgid}},
	OpNSFiles:      {Name: "write the namespace's files in /run/snapd/ns", Caps: []Cap{CapDacOverride, CapChown}, FileCapsOnly: createAsRoot},
	OpCapture:      {Name: "preserve the mount namespace", Caps: []Cap{CapSysAdmin}},
	// Changing ids to the caller's own needs nothing for a setuid-root
	// launcher beyond being root; with file capabilities it needs no
	// capability at all, because the ids already are the caller's.
	OpDrop:       {Name: "drop privileges", Caps: nil},
	OpReadCookie: {Name: "read the snap cookie", Caps: []Cap{CapDacReadSearch}},
	OpSeccomp:    {Name: "load the app's seccomp profiles", Caps: []Cap{CapSysAdmin}},
	// Mount operations only: every directory involved exists, root's,
	// and is opened and checked before (nothing is created).
	OpSnapDirMounts:  {Name: "make /snap and /var/snap shared mount points", Caps: []Cap{CapSysAdmin}},
	OpClassicUnshare: {Name: "create a classic snap's mount namespace", Caps: []Cap{CapSysAdmin}},
	OpInstanceMounts: {Name: "map the snap instance's directories onto the snap's name", Caps: []Cap{CapSysAdmin}},
}

// The bounding set is left as the caller's: a non-root app can gain no
// capability from it except through the host's own setuid and
// file-capability programs, exactly as under snap-confine, whose AppArmor
// and seccomp policy decide whether it may run them.

// UserHelperCaps are the only capabilities snap-update-ns --user-mounts
// gets (as ambient capabilities, running as the caller), as snap-confine
// gives them: it mounts (SYS_ADMIN) in the caller's per-user namespace,
// poking around files as a regular user (DAC_OVERRIDE) and setting their
// ownership (CHOWN).
var UserHelperCaps = []Cap{CapDacOverride, CapSysAdmin, CapChown}

// Required is the union of every operation's capabilities: the set a
// strict-capability build is installed with (setcap <set>=p).
func Required() []Cap {
	var caps []Cap
	seen := map[Cap]bool{}
	for _, spec := range Ops {
		for _, c := range append(append([]Cap{}, spec.Caps...), spec.FileCapsOnly...) {
			if !seen[c] {
				seen[c] = true
				caps = append(caps, c)
			}
		}
	}
	return caps
}

// RequiredSetcap is Required() in setcap(8)'s syntax ("cap_a,cap_b").
func RequiredSetcap() string {
	var names []string
	for _, c := range Required() {
		names = append(names, "cap_"+c.String())
	}
	return strings.Join(names, ",")
}

// String returns the operation's name.
func (op Op) String() string {
	if op < 0 || op >= numOps {
		return "unknown operation"
	}
	return Ops[op].Name
}
