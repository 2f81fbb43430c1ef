// SPDX-License-Identifier: GPL-3.0-only

// Package policy holds the launcher's rules as data: the closed set of
// privileged actions it may perform, the syscalls and capabilities of each,
// and what the target's environment may inherit from the caller.
//
// The threat it answers: privilege that is granted by code paths scattered
// through a program cannot be reviewed. Every privileged step of the launcher
// names one Op from this table, so a reviewer reads here what the launcher is
// able to do, and why each step needs what it needs, without reading the
// launcher first. Adding an operation means adding a row here.
package policy

import (
	"slices"
	"strings"
)

// Op is one privileged action of the launcher: one syscall, or a short
// fixed sequence of them, made with exactly the capabilities of its Spec
// by exactly one function of package launcher/privop, which has the Op's
// name: OpJoinHostNS is privop's Privileges.JoinHostNS, and Spec.Name
// says "JoinHostNS" (tools/securitydoc checks all three).
type Op int

// The closed set of privileged actions, roughly in the order a launch uses
// them (those of the parallel-instances feature last). Each is described
// by its Spec below; its function in launcher/privop says why it is safe.
const (
	// Namespaces: the launcher's threads move between mount namespaces
	// (each thread first unshares CLONE_FS, which needs no capability).
	OpOpenHostNS Op = iota
	OpJoinHostNS
	OpJoin
	OpInspect
	OpUnshare
	OpMakeSlave

	// Files in root's directories (/run/snapd, /tmp/snap-private-tmp, the
	// host's /media and /run/netns, the new root's hostfs directory).
	OpMkdirRoot
	OpStageDir
	OpPlaceStaged
	OpMoveAside
	OpCreateRootFile
	OpOpenRootFile
	OpFixOwner
	OpOpenRootOnly
	OpUnlinkRoot
	OpRenameRoot
	OpWriteRootFile

	// Mounts in pid 1's namespace.
	OpBindSelf
	OpMakePrivate
	OpCapture
	OpUnmountNS

	// Building a new namespace, on its own thread.
	OpMountRootTmpfs
	OpMakeRootEntry
	OpCloneTree
	OpSetTreeAttrs
	OpAttachTree
	OpPivotRoot
	OpDetach
	OpBindPrivateTmp
	OpMountDevpts
	OpStartSnapUpdateNS

	// The handover.
	OpDrop
	OpExec

	// The parallel-instances feature (snapd's experimental flag
	// /var/lib/snapd/features/parallel-instances; launcher/parallel.go).
	OpMakeShared
	OpClassicUnshare
	OpBindInstanceDir

	// The device cgroup (cgroup v2, snapd's BPF map layout).
	OpOpenDeviceMap
	OpCreateDeviceMap
	OpReadDeviceMap
	OpUpdateDeviceMap
	OpLoadDeviceProgram
	OpAttachDeviceProgram
	// bpffs where /sys/fs/bpf is not one, and the cgroup v1 devices
	// controller (legacy and hybrid hosts).
	OpMountBPFFS
	OpCreateDeviceGroup
	OpChownDeviceGroupFile
	OpOpenDeviceGroup
	OpWriteDeviceRule
	OpAttachDeviceGroup

	// Kernels older than the interfaces above (launcher/kernel.go): the
	// bootstrap with mount(2) where the new mount API is missing (before
	// Linux 5.12), and RLIMIT_MEMLOCK where BPF maps are charged to it
	// (before 5.11).
	OpStageOld
	OpBindOld
	OpPropagateOld
	OpRemountReadOnlyOld
	OpMoveOld
	OpRaiseMemlock
	// The host's NVIDIA driver on a classic host (launcher/nvidia.go),
	// below /var/lib/snapd/lib in a new namespace's root.
	OpMountGPUTmpfs
	OpRemountGPUReadOnly
	OpWriteGPUFile

	numOps
)

// KernelFloor is the oldest Linux the launcher runs on: each newer
// interface it uses has an older path back to it (launcher/kernel.go,
// shared/resolve), and below it a launch is refused in one line naming
// what is missing. The documents that state it are checked against it
// (tools/securitydoc).
const KernelFloor = "5.4"

// Spec describes one privileged action.
type Spec struct {
	// Name is the Op's name without "Op", and its function's in
	// launcher/privop: the debug log and SECURITY.md use it.
	Name string
	// Does says what the action does.
	Does string
	// Syscalls names the syscalls the action makes, in order.
	Syscalls string
	// Caps are the capabilities the action needs in both installs; their
	// union over every action, with FileCapsOnly and UserHelperCaps, is
	// the file-capability set (Required).
	Caps []Cap
	// SetuidCaps are raised as well when the launcher runs with root's
	// full permitted set (setuid, or a root caller), where its euid is 0
	// but its group is the caller's. They are not part of the
	// file-capability set.
	SetuidCaps []Cap
	// FileCapsOnly are raised as well in the file-capability install
	// only, where the launcher's ids are the caller's: what euid 0 gives
	// the setuid install for free (owning root's files and directories).
	FileCapsOnly []Cap
	// Optional are raised as well, in both installs, when the launcher
	// holds them, and are no part of the file-capability set: what only
	// kernels older than some interface need and what a packager may
	// add (cap_sys_resource, for RLIMIT_MEMLOCK before Linux 5.11, which
	// snapd's snap-confine.v2-only.caps has and containers' bounding sets
	// often lack). Without them the action does less, and says so.
	Optional []Cap
	// GatedBPF are raised as well where the kernel refuses every bpf(2)
	// call to a caller without CAP_SYS_ADMIN (or CAP_BPF, which the
	// launcher is not given): before Linux 5.19, where
	// kernel.unprivileged_bpf_disabled is set, as Debian, Ubuntu and
	// RHEL set it. Since 5.19 that setting refuses only the creation of
	// maps and programs, whose actions raise CAP_SYS_ADMIN anyway.
	// The launcher asks the kernel once (launcher/kernel.go).
	GatedBPF []Cap
	// Kernels says on which kernels the action runs: every one (""), or
	// only since or before the Linux version that brought the interface
	// it uses or stands in for ("since 5.12", "before 5.12").
	Kernels string
}

// OnlyBefore reports whether op runs only on kernels older than some
// interface (a fallback), OnlySince whether only on kernels that have it.
func (op Op) OnlyBefore() bool { return strings.HasPrefix(Ops[op].Kernels, "before ") }
func (op Op) OnlySince() bool  { return strings.HasPrefix(Ops[op].Kernels, "since ") }

// Raised returns the capabilities op raises: Caps, and SetuidCaps when
// fullSet (the launcher holds root's full permitted set), FileCapsOnly when
// not.
func (op Op) Raised(fullSet bool) []Cap {
	extra := Ops[op].FileCapsOnly
	if fullSet {
		extra = Ops[op].SetuidCaps
	}
	return append(append(append([]Cap{}, Ops[op].Caps...), extra...), Ops[op].Optional...)
}

// RaisedGated is Raised on a kernel that refuses every bpf(2) call to a
// caller without CAP_SYS_ADMIN (Spec's GatedBPF) when gated.
func (op Op) RaisedGated(fullSet, gated bool) []Cap {
	caps := op.Raised(fullSet)
	if gated {
		for _, c := range Ops[op].GatedBPF {
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
	}
	return caps
}

var (
	// mounts is Caps of every mount(2), open_tree(2), mount_setattr(2),
	// move_mount(2), umount2(2), pivot_root(2) and unshare(CLONE_NEWNS).
	mounts = []Cap{CapSysAdmin}
	// setns(CLONE_NEWNS) needs CAP_SYS_ADMIN and CAP_SYS_CHROOT.
	setns = []Cap{CapSysAdmin, CapSysChroot}
	// bpf is Caps of the bpf(2) commands that need privilege: CAP_BPF,
	// CAP_NET_ADMIN and CAP_PERFMON are each implied by CAP_SYS_ADMIN
	// there.
	bpf = []Cap{CapSysAdmin}
)

// Ops is the table of privileged actions, indexed by Op. The capabilities
// are measured, not assumed: tests/e2e/leastpriv_test.go checks in both
// installs that each action runs with exactly these effective, and that
// without each one of them in turn a launch fails.
var Ops = [numOps]Spec{
	// Another process's namespace file needs ptrace-read access to it.
	OpOpenHostNS: {Name: "OpenHostNS", Does: "open pid 1's mount namespace", Syscalls: "openat(/proc/1/ns/mnt)", Caps: []Cap{CapSysPtrace}},
	OpJoinHostNS: {Name: "JoinHostNS", Does: "join pid 1's mount namespace", Syscalls: "setns(CLONE_NEWNS)", Caps: setns},
	OpJoin:       {Name: "Join", Does: "join the snap's mount namespace", Syscalls: "setns(CLONE_NEWNS)", Caps: setns},
	OpInspect:    {Name: "Inspect", Does: "inspect the preserved mount namespace", Syscalls: "setns(CLONE_NEWNS)", Caps: setns},
	OpUnshare:    {Name: "Unshare", Does: "create a mount namespace", Syscalls: "setns(CLONE_NEWNS), unshare(CLONE_NEWNS)", Caps: setns},
	OpMakeSlave:  {Name: "MakeSlave", Does: "make a mount of a new namespace recursively slave", Syscalls: "mount(MS_REC|MS_SLAVE)", Caps: mounts},

	// Root's entries are made without filesystem ids 0 (rootobj.go):
	// the file-capability install makes them as the caller where no one
	// else can reach them, gives them to root (CAP_CHOWN), sets the mode
	// of what is now root's (CAP_FOWNER) and writes in root's directories
	// (CAP_DAC_OVERRIDE); the setuid install, euid 0, owns them but makes
	// them with the caller's group, which only CAP_CHOWN changes.
	OpMkdirRoot:   {Name: "MkdirRoot", Does: "create a root-owned directory", Syscalls: "mkdirat, openat(O_DIRECTORY|O_NOFOLLOW), fchown(0, 0), fchmod", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapDacOverride, CapChown, CapFowner}},
	OpStageDir:    {Name: "StageDir", Does: "create a root-only staging directory", Syscalls: "mkdirat, openat(O_DIRECTORY|O_NOFOLLOW), fchown(0, 0), fchmod(0700), fremovexattr(system.posix_acl_*)", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapDacOverride, CapChown, CapFowner}},
	OpPlaceStaged: {Name: "PlaceStaged", Does: "move a staged directory into place", Syscalls: "renameat2(RENAME_NOREPLACE)", FileCapsOnly: []Cap{CapDacOverride}},
	// Renaming another's entry in a sticky directory takes being root,
	// the directory's owner (setuid), or CAP_FOWNER.
	OpMoveAside:      {Name: "MoveAside", Does: "move someone else's entry of a sticky directory aside", Syscalls: "renameat2(RENAME_NOREPLACE)", FileCapsOnly: []Cap{CapFowner}},
	OpCreateRootFile: {Name: "CreateRootFile", Does: "create a root-owned file", Syscalls: "openat(O_TMPFILE), fchown(0, 0), fchmod, linkat(/proc/self/fd/N)", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapDacOverride, CapChown, CapFowner}},
	OpOpenRootFile:   {Name: "OpenRootFile", Does: "open a root-owned file", Syscalls: "openat(O_NOFOLLOW|O_NONBLOCK)", FileCapsOnly: []Cap{CapDacOverride}},
	// The setuid install creates with the caller's group (its egid),
	// which only CAP_CHOWN can change to root's; the file-capability
	// install changes the mode of root's entries with CAP_FOWNER.
	OpFixOwner:     {Name: "FixOwner", Does: "give an entry to root:root with its mode", Syscalls: "fchown(0, 0), fchmod", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapChown, CapFowner}},
	OpOpenRootOnly: {Name: "OpenRootOnly", Does: "open a file in a root-only directory", Syscalls: "openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS); before Linux 5.6 openat(O_PATH|O_NOFOLLOW) per component", FileCapsOnly: []Cap{CapDacReadSearch}},
	OpUnlinkRoot:   {Name: "UnlinkRoot", Does: "remove an entry of a root-owned directory", Syscalls: "unlinkat", FileCapsOnly: []Cap{CapDacOverride}},
	OpRenameRoot:   {Name: "RenameRoot", Does: "replace a file in a root-owned directory", Syscalls: "renameat", FileCapsOnly: []Cap{CapDacOverride}},
	// Through a descriptor openRootFile opened for writing: none.
	OpWriteRootFile: {Name: "WriteRootFile", Does: "write a root-owned file", Syscalls: "write"},

	OpBindSelf:    {Name: "BindSelf", Does: "bind mount a directory onto itself", Syscalls: "mount(MS_BIND|MS_REC)", Caps: mounts},
	OpMakePrivate: {Name: "MakePrivate", Does: "make a mount private", Syscalls: "mount(MS_PRIVATE)", Caps: mounts},
	OpCapture:     {Name: "Capture", Does: "preserve the mount namespace", Syscalls: "mount(MS_BIND) of an nsfs file", Caps: mounts},
	OpUnmountNS:   {Name: "UnmountNS", Does: "unmount a preserved mount namespace", Syscalls: "umount2(MNT_DETACH|UMOUNT_NOFOLLOW)", Caps: mounts},

	// The snap's root is a tmpfs holding a mount point per entry of the
	// base snap's root, as snap-confine ≥ 2.59 builds it, so that
	// snap-update-ns can make new top-level mount points (layouts)
	// without a writable mimic over "/". An entry made by the setuid
	// install has the caller's group until fchownat, which only
	// CAP_CHOWN can change; the file-capability install makes it as the
	// caller in the root-owned tmpfs root (DAC override) and gives it to
	// root (chown), and reaches the scratch directory through root-only
	// /tmp/snap-private-tmp by path for mount(2) (DAC read-search).
	OpMountRootTmpfs: {Name: "MountRootTmpfs", Does: "mount the tmpfs that becomes the snap's root", Syscalls: "mount(tmpfs, mode=0755,uid=0,gid=0), mount(MS_UNBINDABLE)", Caps: mounts, FileCapsOnly: []Cap{CapDacReadSearch}},
	OpMakeRootEntry:  {Name: "MakeRootEntry", Does: "create a mount point in the snap's new root", Syscalls: "mkdirat, openat(O_CREAT|O_EXCL|O_NOFOLLOW) or symlinkat, fchownat(0, 0, AT_SYMLINK_NOFOLLOW)", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapDacOverride, CapChown}},
	OpCloneTree:      {Name: "CloneTree", Does: "clone a mount tree", Syscalls: "open_tree(OPEN_TREE_CLONE)", Caps: mounts, Kernels: "since 5.12"},
	OpSetTreeAttrs:   {Name: "SetTreeAttrs", Does: "set the attributes of a cloned mount tree", Syscalls: "mount_setattr(AT_RECURSIVE)", Caps: mounts, Kernels: "since 5.12"},
	OpAttachTree:     {Name: "AttachTree", Does: "attach a cloned mount tree", Syscalls: "move_mount", Caps: mounts, Kernels: "since 5.12"},
	OpPivotRoot:      {Name: "PivotRoot", Does: "pivot into the snap's root filesystem", Syscalls: "fchdir, pivot_root, chdir", Caps: mounts},
	OpDetach:         {Name: "Detach", Does: "detach a host mount from the snap's root", Syscalls: "umount2(MNT_DETACH|UMOUNT_NOFOLLOW)", Caps: mounts},
	OpBindPrivateTmp: {Name: "BindPrivateTmp", Does: "bind mount the private /tmp", Syscalls: "mount(MS_BIND)", Caps: mounts},
	OpMountDevpts:    {Name: "MountDevpts", Does: "mount a private devpts instance", Syscalls: "mount(devpts), openat(/dev/pts/ptmx), mount(MS_BIND)", Caps: mounts},
	// The setuid install runs snap-update-ns as root (setgroups, setgid,
	// setuid in the child); the file-capability install runs it as the
	// caller with UserHelperCaps as ambient capabilities, as snapd 2.70
	// does, which needs none raised in the launcher.
	OpStartSnapUpdateNS: {Name: "StartSnapUpdateNS", Does: "run snap-update-ns", Syscalls: "clone, execve(/proc/self/fd/N of snap-update-ns)", SetuidCaps: []Cap{CapSetuid, CapSetgid}},

	// Changing ids to the caller's own needs nothing for a setuid-root
	// launcher beyond being root; with file capabilities it needs no
	// capability at all, because the ids already are the caller's.
	OpDrop: {Name: "Drop", Does: "drop privileges", Syscalls: "prctl(PR_SET_KEEPCAPS), setresgid, setresuid, capset (every thread; none for a root caller)"},
	OpExec: {Name: "Exec", Does: "load the app's seccomp profiles and execute it", Syscalls: "capset, seccomp(SECCOMP_SET_MODE_FILTER) per program, capset, execve (the raise only with a seccomp program to load)", Caps: []Cap{CapSysAdmin}},

	OpMakeShared:      {Name: "MakeShared", Does: "make a mount recursively shared", Syscalls: "mount(MS_REC|MS_SHARED)", Caps: mounts},
	OpClassicUnshare:  {Name: "ClassicUnshare", Does: "create a classic snap's mount namespace", Syscalls: "unshare(CLONE_NEWNS)", Caps: mounts},
	OpBindInstanceDir: {Name: "BindInstanceDir", Does: "bind a snap instance's directory onto the snap's", Syscalls: "mount(MS_BIND|MS_REC)", Caps: mounts},

	// /sys/fs/bpf/snap is root's, 0700, and a pinned map root's, 0600:
	// euid 0 opens them; the file-capability install does so with
	// CAP_DAC_OVERRIDE, pins a new map there as the caller and gives it
	// to root. bpf(2) asks for CAP_BPF, CAP_NET_ADMIN or CAP_PERFMON, each
	// of which CAP_SYS_ADMIN stands for (bpf_token_capable), so the set
	// needs no new capability: a map needs CAP_BPF (unprivileged BPF is
	// off), a device program CAP_BPF and CAP_NET_ADMIN. Using a map
	// through its descriptor, and attaching a loaded program to a cgroup
	// one can open, needs none since Linux 5.19; before, where
	// unprivileged BPF is off, every bpf(2) call needs CAP_SYS_ADMIN
	// (GatedBPF).
	OpOpenDeviceMap:       {Name: "OpenDeviceMap", Does: "get the app's pinned device map", Syscalls: "bpf(BPF_OBJ_GET) of an O_PATH descriptor's /proc/self/fd link (BPF_F_PATH_FD; before Linux 6.5 by its path)", FileCapsOnly: []Cap{CapDacOverride}, GatedBPF: bpf},
	OpCreateDeviceMap:     {Name: "CreateDeviceMap", Does: "create and pin the app's device map", Syscalls: "bpf(BPF_MAP_CREATE), bpf(BPF_OBJ_PIN, BPF_F_PATH_FD; before Linux 6.5 by its /proc/self/fd path), fchownat(0, 0)", Caps: bpf, SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapDacOverride, CapChown}},
	OpReadDeviceMap:       {Name: "ReadDeviceMap", Does: "read the app's device map: its type and sizes, then its keys", Syscalls: "bpf(BPF_OBJ_GET_INFO_BY_FD), bpf(BPF_MAP_GET_NEXT_KEY)", GatedBPF: bpf},
	OpUpdateDeviceMap:     {Name: "UpdateDeviceMap", Does: "add an allowed key to the app's device map, or delete one", Syscalls: "bpf(BPF_MAP_UPDATE_ELEM or BPF_MAP_DELETE_ELEM)", GatedBPF: bpf},
	OpLoadDeviceProgram:   {Name: "LoadDeviceProgram", Does: "load the device cgroup program", Syscalls: "bpf(BPF_PROG_LOAD)", Caps: bpf},
	OpAttachDeviceProgram: {Name: "AttachDeviceProgram", Does: "attach the device cgroup program to the app's cgroup", Syscalls: "bpf(BPF_PROG_ATTACH)", GatedBPF: bpf},
	OpMountBPFFS:          {Name: "MountBPFFS", Does: "mount bpffs on /sys/fs/bpf", Syscalls: "mount(bpf, MS_NOSUID|MS_NODEV|MS_NOEXEC, mode=0700,uid=0,gid=0)", Caps: mounts},

	// The cgroup v1 devices hierarchy is root's (0755) and the app's
	// group root's 0700, with root's files in it: euid 0 creates and
	// opens them; the file-capability install creates the group as the
	// caller and gives it and its files to root (CAP_CHOWN), setting
	// their modes (CAP_FOWNER), and opens root's files with
	// CAP_DAC_OVERRIDE. The devices controller takes a rule only from a
	// writer with CAP_SYS_ADMIN (devcgroup_access_write); cgroup.procs of
	// v1 takes a pid from a writer whose euid is root's or the task's own
	// (the launcher moves itself), which needs none.
	OpCreateDeviceGroup:    {Name: "CreateDeviceGroup", Does: "create the app's cgroup v1 devices group", Syscalls: "mkdirat, openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV; before Linux 5.6 openat(O_PATH|O_NOFOLLOW) per component)", FileCapsOnly: []Cap{CapDacOverride}},
	OpChownDeviceGroupFile: {Name: "ChownDeviceGroupFile", Does: "give a file of the new devices group to root:root with its mode", Syscalls: "fchownat(0, 0, AT_SYMLINK_NOFOLLOW), fchmodat", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapChown, CapFowner}},
	OpOpenDeviceGroup:      {Name: "OpenDeviceGroup", Does: "open the app's devices group, or one of its files", Syscalls: "openat2(O_DIRECTORY, or O_WRONLY, or O_RDONLY for devices.list, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV; before Linux 5.6 openat(O_NOFOLLOW) per component)", FileCapsOnly: []Cap{CapDacOverride}},
	OpWriteDeviceRule:      {Name: "WriteDeviceRule", Does: "write a rule to the app's devices group: its list allowed first, then the rest denied", Syscalls: "write(devices.allow) or write(devices.deny) (a new group: write(devices.deny) of every device first)", Caps: []Cap{CapSysAdmin}},
	OpAttachDeviceGroup:    {Name: "AttachDeviceGroup", Does: "move the launcher into the app's devices group", Syscalls: "write(cgroup.procs)"},

	// Where open_tree, move_mount (5.2) or mount_setattr (5.12) are
	// missing, the bootstrap does what they do with mount(2), always
	// from descriptor to descriptor (/proc/self/fd/N), in the new
	// namespace, on mounts staged in a private tmpfs of that namespace
	// instead of detached trees (launcher/bootstrap_old.go).
	OpStageOld:           {Name: "StageOld", Does: "mount the staging area of the new namespace", Syscalls: "mount(tmpfs, MS_NOSUID|MS_NODEV|MS_NOEXEC, mode=0700,uid=0,gid=0) on /proc/self/fd/N", Caps: mounts, Kernels: "before 5.12"},
	OpBindOld:            {Name: "BindOld", Does: "stage a bind mount in the new namespace", Syscalls: "mount(MS_BIND[|MS_REC]) of /proc/self/fd/N on /proc/self/fd/M", Caps: mounts, Kernels: "before 5.12"},
	OpPropagateOld:       {Name: "PropagateOld", Does: "set the propagation of a mount of the new namespace", Syscalls: "mount(MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE[, MS_REC]) on /proc/self/fd/N", Caps: mounts, Kernels: "before 5.12"},
	OpRemountReadOnlyOld: {Name: "RemountReadOnlyOld", Does: "make a staged bind mount read-only", Syscalls: "mount(MS_REMOUNT|MS_BIND|MS_RDONLY, its other flags kept) on /proc/self/fd/N", Caps: mounts, Kernels: "before 5.12"},
	OpMoveOld:            {Name: "MoveOld", Does: "move a staged mount into the snap's root", Syscalls: "mount(MS_MOVE) of /proc/self/fd/N on /proc/self/fd/M", Caps: mounts, Kernels: "before 5.12"},
	// Kernels before 5.11 charge BPF maps and programs to the caller's
	// RLIMIT_MEMLOCK; snap-confine 2.77 raises it to 512 KiB, which
	// above the hard limit takes CAP_SYS_RESOURCE.
	OpRaiseMemlock: {Name: "RaiseMemlock", Does: "raise RLIMIT_MEMLOCK for the device map and program", Syscalls: "prlimit64(RLIMIT_MEMLOCK)", Optional: []Cap{CapSysResource}, Kernels: "before 5.11"},
	// The driver's directories are tmpfs instances of root's, made in
	// the new namespace: links and copied vendor files are made in them
	// as the new root's mount points are (OpMakeRootEntry: as the caller,
	// then given to root), and they end read-only.
	OpMountGPUTmpfs:      {Name: "MountGPUTmpfs", Does: "mount a tmpfs for the host's GPU driver files", Syscalls: "mount(tmpfs, MS_NODEV|MS_NOEXEC|MS_NOSUID, mode=0755,uid=0,gid=0)", Caps: mounts},
	OpRemountGPUReadOnly: {Name: "RemountGPUReadOnly", Does: "make a tmpfs of GPU driver files read-only", Syscalls: "mount(MS_REMOUNT|MS_BIND|MS_RDONLY|MS_NODEV|MS_NOEXEC|MS_NOSUID)", Caps: mounts},
	OpWriteGPUFile:       {Name: "WriteGPUFile", Does: "copy a GPU vendor file into the snap's root", Syscalls: "openat(O_CREAT|O_EXCL|O_NOFOLLOW), write, fchown(0, 0)", SetuidCaps: []Cap{CapChown}, FileCapsOnly: []Cap{CapDacOverride, CapChown}},
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

// Required is the union of every action's capabilities in the
// file-capability install and of UserHelperCaps (which the launcher must
// hold permitted to pass them on as ambient capabilities): the set a
// strict-capability build is installed with (setcap <set>=p).
func Required() []Cap {
	var caps []Cap
	seen := map[Cap]bool{}
	for _, spec := range append(Ops[:], Spec{Caps: UserHelperCaps}) {
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
