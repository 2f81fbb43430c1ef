// SPDX-License-Identifier: GPL-3.0-only

// Package apparmor makes the launcher's own AppArmor profile from the
// policy (its capabilities are policy.Required() and OptionalCaps()).
// The launcher does not link it.
package apparmor

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/snapns/snapns/policy"
)

// ProfileLayouts are the directories distributions install snapd's tools
// in: Debian and Ubuntu's, and Fedora and Arch's. The repository's
// apparmor/ holds the launcher's profile for each (a unit test checks that
// they are what LauncherProfile makes).
var ProfileLayouts = []string{"/usr/lib/snapd", "/usr/libexec/snapd"}

// ProfileFileName is the name of the launcher's profile in
// /etc/apparmor.d for the launcher installed as libexecdir/snap-confine:
// the path with dots, plus ".real" for /usr/lib/snapd, the name Debian's
// and Ubuntu's snapd give theirs (so that a local/ override and snapd's
// postinst, which reloads that file, keep working).
func ProfileFileName(libexecdir string) string {
	name := strings.ReplaceAll(strings.TrimPrefix(path.Join(libexecdir, "snap-confine"), "/"), "/", ".")
	if path.Clean(libexecdir) == "/usr/lib/snapd" {
		name += ".real"
	}
	return name
}

// LauncherProfile is the AppArmor profile of the launcher installed as
// libexecdir/snap-confine. It is as narrow as what the launcher does: the
// namespace and lock files, the bootstrap's mounts, the helpers it runs
// (with a transition to snap-update-ns.<instance>) and the app's exec (with
// a transition to the snap's security tag). Its capabilities are
// policy.Required(), OptionalCaps() and what only the setuid install
// raises (policy.Spec's SetuidCaps). Tests check its syntax with apparmor_parser and that every
// file the end-to-end launches make the launcher open is allowed by it.
func LauncherProfile(libexecdir string) (string, error) {
	libexecdir = path.Clean(libexecdir)
	if !path.IsAbs(libexecdir) || strings.ContainsAny(libexecdir, " \t\n\"{}[]*?,@") {
		return "", fmt.Errorf("cannot make an AppArmor profile for %q: not an absolute path AppArmor can take literally", libexecdir)
	}
	var caps strings.Builder
	for _, c := range policy.Required() {
		fmt.Fprintf(&caps, "  capability %s,\n", c)
	}
	if optional := OptionalCaps(); len(optional) > 0 {
		caps.WriteString("  # Raised only when held, on older kernels (policy.Spec's Optional).\n")
		for _, c := range optional {
			fmt.Fprintf(&caps, "  capability %s,\n", c)
		}
	}
	var setuidOnly []policy.Cap
	for _, spec := range policy.Ops {
		for _, c := range spec.SetuidCaps {
			if !slices.Contains(policy.Required(), c) && !slices.Contains(OptionalCaps(), c) && !slices.Contains(setuidOnly, c) {
				setuidOnly = append(setuidOnly, c)
			}
		}
	}
	if len(setuidOnly) > 0 {
		caps.WriteString("  # Raised only by the setuid install (policy.Spec's SetuidCaps: snap-update-ns\n  # is started as root).\n")
		for _, c := range setuidOnly {
			fmt.Fprintf(&caps, "  capability %s,\n", c)
		}
	}
	return strings.NewReplacer(
		"@GENERATED@", "Generated from snapns's policy/apparmor/apparmor.go for "+libexecdir+"/snap-confine; do not edit (local/"+ProfileFileName(libexecdir)+" is yours).",
		"@LIBEXECDIR@", libexecdir,
		"@NAME@", ProfileFileName(libexecdir),
		// The launcher runs snap-update-ns from its own directory, as
		// snap-confine does.
		"@TOOLSDIR@", libexecdir,
		"@CAPABILITIES@", caps.String(),
	).Replace(profileTemplate), nil
}

// profileTemplate is LauncherProfile before the layout and the
// capabilities are filled in.
const profileTemplate = `# @GENERATED@
abi <abi/3.0>,

#include <tunables/global>

# The profile's name is the installed path, as snapd names snap-confine's
# (snapd's own policy refers to it as a peer by that name).
profile @LIBEXECDIR@/snap-confine flags=(attach_disconnected,mediate_deleted) {
  # What snapd generates for snap-confine (e.g. a remote or encrypted
  # $HOME), and the administrator's additions.
  #include if exists "/var/lib/snapd/apparmor/snap-confine"
  #include if exists <local/@NAME@>

  # policy.Required(): each raised only around the operations that need it.
@CAPABILITIES@
  # Reading pid 1's namespace needs ptrace read access.
  ptrace (read) peer=unconfined,
  # The Go runtime signals its own threads: SIGURG to preempt a
  # goroutine, SIGRTMIN+1 for a syscall made on every thread
  # (syscall.AllThreadsSyscall: the capability and id drops). Denied,
  # the launcher waits for its own threads forever.
  signal (send, receive) set=(urg, rtmin+1) peer=@LIBEXECDIR@/snap-confine,
  # Read by the Go runtime as it starts (the huge page size, and its
  # cgroup's CPU limit, looked for even where GOMAXPROCS does not follow
  # it: launcher/cmd/snap-confine).
  /sys/kernel/mm/transparent_hugepage/hpage_pmd_size r,
  @{PROC}/@{pid}/mountinfo r,

  @LIBEXECDIR@/snap-confine mr,

  # procfs: the launcher's own threads, pid 1's namespace, the AppArmor
  # attributes of the thread that execs.
  @{PROC}/ r,
  @{PROC}/1/ns/mnt r,
  @{PROC}/@{pid}/exe r,
  # Its own initial environment: the caller's GOTRACEBACK, which the Go
  # runtime replaces in secure mode (launcher.go callerEnv).
  @{PROC}/@{pid}/environ r,
  @{PROC}/@{pid}/fd/ r,
  @{PROC}/@{pid}/fd/* rw,
  # Mount ids, where statx has none (before Linux 5.8) or openat2 is
  # missing (5.6).
  @{PROC}/@{pid}/fdinfo/* r,
  @{PROC}/@{pid}/task/@{tid}/ns/mnt r,
  @{PROC}/@{pid}/task/@{tid}/mountinfo r,
  @{PROC}/@{pid}/task/@{tid}/attr/{apparmor/,}current r,
  @{PROC}/@{pid}/task/@{tid}/attr/{apparmor/,}exec w,
  @{PROC}/sys/kernel/cap_last_cap r,
  /sys/ r,
  /sys/kernel/security/apparmor/ r,
  /sys/module/apparmor/parameters/enabled r,
  /sys/fs/cgroup/{,**} r,

  # /run/snapd: locks, namespace files, info files.
  / r,
  /run/ r,
  /run/snapd/ rw,
  /run/snapd/lock/ rw,
  /run/snapd/lock/*.lock rwkl,
  /run/snapd/lock/.snap-{dirs,mount}-shared rwl,
  /run/snapd/ns/ rw,
  /run/snapd/ns/*.mnt rwl,
  /run/snapd/ns/snap.*.info{,.tmp} rwl,
  # Root's new files there are made without a name (O_TMPFILE, which
  # AppArmor names "#<inode>"), given to root and linked in place
  # (launcher/actions.go createRootFile).
  /run/snapd/{lock,ns}/#[0-9]* rwk,
  /run/snapd/ns/snap.*.{fstab,user-fstab} rwl,
  /run/snapd/ns/snap.*.fstab.tmp rwl,
  # Root's new directories are made in a root-only staging directory of
  # their parent and renamed into place (launcher/rootobj.go).
  /{,run/,run/snapd/,tmp/,sys/fs/bpf/,var/lib/snapd/}snapns-staging-*/{,**} rw,
  # ... and another user's entry where root's goes in a sticky directory
  # is renamed aside.
  /{tmp/,sys/fs/bpf/}snapns-moved-aside-* w,
  /tmp/snap-private-tmp w,
  /sys/fs/bpf/snap w,

  # Host facts: base snaps, the host's kind, snapd's configuration.
  # Snaps are mounted in /snap or, on Fedora, Arch, openSUSE and CentOS,
  # in /var/lib/snapd/snap (probed as snap-confine does).
  /{,var/lib/snapd/}snap r,
  /{,var/lib/snapd/}snap/ r,
  /{,var/lib/snapd/}snap/*/ r,
  /{,var/lib/snapd/}snap/*/current r,
  /{,var/lib/snapd/}snap/*/*/ r,
  /{,var/lib/snapd/}snap/*/*/etc/{alternatives,nsswitch.conf,apparmor,apparmor.d,ssl,ld.so.cache,ld.so.conf,ld.so.conf.d} r,
  /etc/ r,
  /etc/os-release r,
  /usr/lib/os-release r,
  /meta/snap.yaml r,
  /var/ r,
  /var/lib/ r,
  /var/lib/snapd/ r,
  /var/lib/snapd/system-params r,
  /var/lib/snapd/features/ r,
  /var/lib/snapd/features/{per-user-mount-namespace,parallel-instances} r,
  /var/lib/snapd/cookie/ r,
  /var/lib/snapd/cookie/snap.* r,
  /var/lib/snapd/mount/ r,
  /var/lib/snapd/mount/snap.*.{fstab,user-fstab} r,
  /var/lib/snapd/seccomp/ r,
  /var/lib/snapd/seccomp/bpf/ r,
  /var/lib/snapd/seccomp/bpf/*.bin r,
  /var/lib/snapd/seccomp/bpf/*.bin2 r,
  /var/lib/snapd/hostfs/ rw,
  /var/lib/snapd/void/ rw,
  /usr/ r,
  /usr/lib/ r,
  /usr/lib/snapd/ r,
  /dev/ r,
  /dev/null rw,
  /dev/pts/ r,
  /dev/pts/ptmx rw,
  /dev/ptmx rw,

  # The device cgroup (SECURITY.md 4.5): container detection, snapd's
  # settings, udev's database, the launcher's own cgroup, the app's map
  # (on a bpffs mounted by the launcher where none is), or the app's group
  # of the cgroup v1 devices controller.
  /run/systemd/ r,
  /run/systemd/container r,
  /var/lib/snapd/cgroup/ r,
  /var/lib/snapd/cgroup/snap.*.device r,
  /run/udev/ r,
  /run/udev/tags/ r,
  /run/udev/tags/*/ r,
  /run/udev/data/ r,
  /run/udev/data/* r,
  @{PROC}/@{pid}/cgroup r,
  /sys/fs/ r,
  /sys/fs/bpf/ r,
  /sys/fs/bpf/snap/ rw,
  /sys/fs/bpf/snap/* rw,
  mount fstype=bpf options=(rw nosuid nodev noexec) bpf -> /sys/fs/bpf/,
  /sys/fs/cgroup/devices/ r,
  /sys/fs/cgroup/devices/snap.*/ rw,
  /sys/fs/cgroup/devices/snap.*/{devices.allow,devices.deny,cgroup.procs} w,

  # The loaded NVIDIA driver on a classic host (policy/nvidia.go): its
  # version, the library and vendor directories it is looked for in (only
  # listed; the farms below /var/lib/snapd/lib are made in the new root),
  # the export files of snaps providing GPU libraries and the vendor files
  # copied from them.
  /sys/module/ r,
  /sys/module/nvidia/ r,
  /sys/module/nvidia/version r,
  /usr/{lib,lib32,lib64}/{,**/} r,
  /usr/share/ r,
  /usr/share/{vulkan,glvnd}/{,**/} r,
  /var/lib/snapd/export/ r,
  /var/lib/snapd/export/system_*.library-source r,
  /etc/{glvnd,vulkan}/ r,
  /etc/glvnd/egl_vendor.d/{,*_snap_*_*_*.json} r,
  /etc/vulkan/icd.d/{,snap_*_*_*.json} r,
  /snap/*/*/**.json r,

  # The snap's private /tmp and the scratch directory of a new root.
  /tmp/ r,
  /tmp/snap-private-tmp/ rw,
  /tmp/snap-private-tmp/snap.*/ rw,
  /tmp/snap-private-tmp/snap.*/tmp/ rw,
  /tmp/snap-private-tmp/snap.*.rootfs/{,**} rw,
  # ... removed through the host's root after pivot_root.
  /var/lib/snapd/hostfs/tmp/snap-private-tmp/snap.*.rootfs/ w,

  # The host directories the bootstrap binds (policy.NormalModeBinds; on a
  # merged-/usr host /run/media too).
  /{dev,etc,home,root,proc,sys,tmp,media,mnt,snap}/ r,
  /var/{snap,tmp,log}/ r,
  /var/lib/{snapd,extrausers}/ r,
  /{media,run/netns,run/media}/ rw,
  /{,usr/}lib/{modules,firmware}/ r,
  # Before Linux 5.6 (no openat2) each component is opened on its own: a
  # merged-/usr host's /lib is a symlink.
  /lib{,/} r,
  /usr/src/ r,

  # Mounts: the namespace directory, the new namespace's root and binds,
  # private /tmp and devpts, captures, discards.
  mount options=(rw rslave) -> /,
  mount options=(rw bind) /run/snapd/ns/ -> /run/snapd/ns/,
  mount options=(rw rbind) /run/snapd/ns/ -> /run/snapd/ns/,
  mount options=(rw private) -> /run/snapd/ns/,
  # The capture: the source is the new namespace's nsfs file, which
  # AppArmor names "/" (as snapd's own profile notes).
  mount options=(rw bind) / -> /run/snapd/ns/*.mnt,
  mount options=(rw bind) /tmp/snap-private-tmp/snap.*/tmp/ -> /tmp/,
  mount options=(rw private) -> /tmp/,
  mount options=(rw private) -> /,
  mount -> /tmp/snap-private-tmp/snap.*.rootfs/{,**},
  mount -> /var/lib/snapd/hostfs/,
  mount fstype=devpts options=(rw) devpts -> /dev/pts/,
  mount options=(rw bind) /dev/pts/ptmx -> /dev/ptmx,
  # The old root's path is taken before the pivot, below the new root.
  pivot_root oldroot=/tmp/snap-private-tmp/snap.*.rootfs/var/lib/snapd/hostfs/ /tmp/snap-private-tmp/snap.*.rootfs/,
  umount /var/lib/snapd/hostfs/{sys,dev,proc}/,
  umount /run/snapd/ns/*.mnt,

  # Before Linux 5.12 (no open_tree, mount_setattr): the new root is
  # assembled with mount(2) in a staging tmpfs mounted on the new
  # namespace's /run/snapd/ns (launcher/bootstrap_old.go), then pivoted
  # into; the old root is made slave and the staging area detached.
  /run/snapd/ns/[0-9]* rwl,
  /run/snapd/ns/[0-9]*/ rw,
  /run/snapd/ns/root/{,**} rw,
  mount fstype=tmpfs options=(rw nosuid nodev noexec) tmpfs -> /run/snapd/ns/,
  mount options=(rw unbindable) -> /run/snapd/ns/,
  mount -> /run/snapd/ns/{[0-9]*,[0-9]*/,root/,root/**},
  mount options=(rw slave) -> /,
  mount options=(rw rslave) -> /var/lib/snapd/hostfs/,
  pivot_root oldroot=/run/snapd/ns/root/var/lib/snapd/hostfs/ /run/snapd/ns/root/,
  umount /var/lib/snapd/hostfs/run/snapd/ns/,

  # The snap mount directory made a shared mount point of itself where
  # neither it nor / is shared; parallel instances (the
  # parallel-instances feature): it and /var/snap made so; in a classic
  # app's own namespace, made slave and an instance's directories bound
  # on the snap's name.
  /var/snap/*/ r,
  mount options=(rw rbind) /{,var/lib/snapd/}snap/ -> /{,var/lib/snapd/}snap/,
  mount options=(rw rbind) /var/snap/ -> /var/snap/,
  mount options=(rw rshared) -> /{,var/lib/snapd/}snap/,
  mount options=(rw rshared) -> /var/snap/,
  mount options=(rw rslave) -> /{,var/lib/snapd/}snap/,
  mount options=(rw rslave) -> /var/snap/,
  mount options=(rw rbind) /{,var/lib/snapd/}snap/*_*/ -> /{,var/lib/snapd/}snap/*/,
  mount options=(rw rbind) /var/snap/*_*/ -> /var/snap/*/,

  # snap-update-ns, executed by descriptor, transitions to its per-snap
  # profile; the app to its security tag (both through change_onexec).
  @TOOLSDIR@/snap-update-ns r,
  change_profile -> snap-update-ns.*,
  change_profile -> snap.*,
  # The app: snapd's snap-exec, or the snap's own command; the exec is
  # made after the drop, into the app's own label.
  @TOOLSDIR@/snap-exec ix,
  /snap/** ix,

  signal (send) set=(kill) peer=snap-update-ns.*,
}
`

// OptionalCaps is the union of every action's Optional capabilities, less
// policy.Required(): raised only when held, and granted by the profile.
func OptionalCaps() []policy.Cap {
	var caps []policy.Cap
	required := map[policy.Cap]bool{}
	for _, c := range policy.Required() {
		required[c] = true
	}
	for _, spec := range policy.Ops {
		for _, c := range spec.Optional {
			if !required[c] && !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
	}
	return caps
}
