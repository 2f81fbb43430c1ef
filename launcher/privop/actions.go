// SPDX-License-Identifier: GPL-3.0-only

package privop

import (
	"fmt"
	"path"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/resolve"
)

const dirFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_RDONLY

// fdPath names an open descriptor for syscalls that only take paths. The
// magic link resolves to exactly the opened file, whatever happens to the
// name it was opened by.
func fdPath(d *desc.FD) string { return "/proc/self/fd/" + strconv.Itoa(d.Fd()) }

// WhyNot says why root could not open name below dir: an entry that is
// not root's can only have been made by someone else.
func WhyNot(dir *desc.FD, name string, err error) error {
	var st unix.Stat_t
	if err == unix.EACCES && unix.Fstatat(dir.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Uid != 0 {
		return fmt.Errorf("owned by uid %d, not root", st.Uid)
	}
	return err
}

// Actions that need no capability, so no policy.Op: they change only the
// launcher's own process or child, with rights the caller's process has
// over itself; they are here because every state-changing call is.

// UnshareFS gives the calling thread an fs_struct of its own:
// setns(CLONE_NEWNS) refuses a thread that shares it, and every Go thread
// does. Safe: the thread only stops sharing its root, working directory
// and umask with the rest of the process.
func UnshareFS() error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("cannot unshare the filesystem attributes: %w", err)
	}
	return nil
}

// SetUmask sets the process's umask and returns the one it had. Safe: it
// is the process's own; the launcher clears it at start so that every
// action creates with exactly its mode, and gives the caller's back
// before the exec (Final.Exec).
func SetUmask(mask int) int { return unix.Umask(mask) }

// Reexec executes the launcher's own image again (/proc/self/exe) with the
// same arguments and env, from the package's initialiser. Safe: it is the
// running executable, with the privilege the process has already and no
// more; the caller chose the arguments and environment of the first image
// too (env only renames the Go runtime's variables).
func Reexec(args, env []string) error { return syscall.Exec("/proc/self/exe", args, env) }

// KillHelper kills snap-update-ns (pid) at its deadline. Safe: pid is the
// launcher's own child (StartSnapUpdateNS), not yet waited for, so the
// number cannot name another process; the launcher may signal it with the
// ids it started it with.
func KillHelper(pid int) { unix.Kill(pid, unix.SIGKILL) }

// WriteExecLabel makes the calling thread's next exec transition to the
// AppArmor label, writing "exec <label>" to its exec attribute attr below
// the verified /proc (proc). Safe: it is the thread's own attribute, which
// any process may write for itself; AppArmor's policy decides whether the
// transition is allowed; label is derived from validated names.
func WriteExecLabel(proc *desc.FD, attr, label string) error {
	fd, err := unix.Openat(proc.Fd(), attr, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot set the AppArmor exec label %q: %w", label, err)
	}
	defer unix.Close(fd)
	data := []byte("exec " + label)
	if n, err := unix.Write(fd, data); err != nil || n != len(data) {
		return fmt.Errorf("cannot set the AppArmor exec label %q: %v", label, err)
	}
	return nil
}

// LowerMemlock gives the process's RLIMIT_MEMLOCK back the caller's old
// limit after RaiseMemlock raised it; it needs no capability (no limit goes
// up). Safe: the limit is the launcher's own, and old is what it was.
func LowerMemlock(old unix.Rlimit) error { return unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &old, nil) }

// The kernel's interfaces, asked for with calls every kernel that has them
// refuses before it looks at anything else. Safe: a refused call changes
// nothing.

// ProbeMountAPI calls open_tree(2) and mount_setattr(2) with a flag bit
// neither knows, on no descriptor: EINVAL (or EBADF) where they exist.
func ProbeMountAPI() (openTree, mountSetattr unix.Errno) {
	_, _, openTree = unix.Syscall(unix.SYS_OPEN_TREE, ^uintptr(0), 0, 1<<31)
	_, _, mountSetattr = unix.Syscall6(unix.SYS_MOUNT_SETATTR, ^uintptr(0), 0, 1<<31, 0, 0, 0)
	return openTree, mountSetattr
}

// Namespaces.

// OpenHostNS opens pid 1's mount namespace below proc, which takes
// ptrace-read access to pid 1. Safe: it only opens, through the /proc
// verified to be procfs; the descriptor grants nothing without
// CAP_SYS_ADMIN to enter it.
func (p *Privileges) OpenHostNS(proc *desc.FD) (*desc.FD, error) {
	const name = "pid 1's mount namespace"
	return p.bracketFD(policy.OpOpenHostNS, "open "+name, name, func() (int, error) {
		return unix.Openat(proc.Fd(), "1/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	})
}

// JoinHostNS moves the calling thread into pid 1's mount namespace, hostNS
// (checked to be nsfs, from the verified /proc). Safe: it is the host's own
// view, the one a launch from the host starts in anyway; only the calling
// thread moves (it unshared CLONE_FS).
func (p *Privileges) JoinHostNS(hostNS *desc.FD) error {
	return p.bracket(policy.OpJoinHostNS, "join pid 1's mount namespace", func() error { return unix.Setns(hostNS.Fd(), unix.CLONE_NEWNS) })
}

// Join moves the main thread into the namespace the app runs in. Safe:
// ns is nsfs, either made by this launch or bind mounted in the
// root-owned /run/snapd/ns and checked to be the one captured there
// (verifyCaptured); the thread drops every privilege before it execs.
func (p *Privileges) Join(ns *desc.FD) error {
	return p.bracket(policy.OpJoin, "join "+ns.Name(), func() error { return unix.Setns(ns.Fd(), unix.CLONE_NEWNS) })
}

// Inspect moves a throwaway thread, which only reads its mount table and
// ends, into the preserved namespace ns. Safe: as Join; nothing else
// ever runs on that thread.
func (p *Privileges) Inspect(ns *desc.FD) error {
	return p.bracket(policy.OpInspect, "enter the preserved mount namespace", func() error { return unix.Setns(ns.Fd(), unix.CLONE_NEWNS) })
}

// Unshare gives the calling throwaway thread a new mount namespace, a
// copy of from (pid 1's, or the snap's for a per-user layer). Safe: it
// changes only that thread's view; from is nsfs, from /proc or verified.
func (p *Privileges) Unshare(from *desc.FD) error {
	return p.bracket(policy.OpUnshare, "create a mount namespace", func() error {
		if err := unix.Setns(from.Fd(), unix.CLONE_NEWNS); err != nil {
			return err
		}
		return unix.Unshare(unix.CLONE_NEWNS)
	})
}

// MakeSlave makes the mount at dir, and every mount below it, a slave.
// Safe: only ever in a mount namespace the calling thread has just made
// (Unshare: its "/" right away; ClassicUnshare: /snap and /var/snap, the
// peers of the host's), where it only stops propagation from that
// namespace back to the host's.
func (p *Privileges) MakeSlave(dir *desc.FD) error {
	return p.bracket(policy.OpMakeSlave, "make "+dir.Name()+" recursively slave", func() error {
		return unix.Mount("none", fdPath(dir), "", unix.MS_REC|unix.MS_SLAVE, "")
	})
}

// Files in root's directories.

// Files in root's directories: root's before anyone else can reach them,
// without filesystem ids 0 (the file-capability install has neither
// cap_setuid nor cap_setgid): a file made without a name and linked once
// root's, a directory made where no one else can search (staged when its
// parent is searchable) and renamed into place once root's.

// CreateRootFile makes a file of mode in the root-owned directory dir
// without a name, gives it to root:root, and links it there as name
// through proc (the verified /proc), failing with EEXIST if name
// appeared meanwhile. (The caller opens it by name: a descriptor of the
// file made without a name is not the linked name's, and nothing can be
// mounted on it.) Safe: no one can reach a file without a name, so it is
// never seen with any owner or mode but root's and mode; linkat goes
// through the verified /proc and never replaces an entry; name is one
// component derived from a validated name.
func (p *Privileges) CreateRootFile(proc, dir *desc.FD, name string, mode uint32) error {
	return p.bracket(policy.OpCreateRootFile, "create "+dir.Path(name), func() error {
		fd, err := unix.Openat(dir.Fd(), ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, mode)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err = unix.Fchown(fd, 0, 0); err == nil {
			if err = unix.Fchmod(fd, mode); err == nil {
				err = unix.Linkat(proc.Fd(), "self/fd/"+strconv.Itoa(fd), dir.Fd(), name, unix.AT_SYMLINK_FOLLOW)
			}
		}
		if err == nil && createHook != nil {
			createHook()
		}
		return err
	})
}

// OpenRootFile opens the existing entry name of the root-owned directory
// dir. Safe: it only opens; O_NOFOLLOW refuses a symlink, O_NONBLOCK
// keeps a FIFO or device from blocking, and the caller checks on the
// descriptor that it is a regular file owned by root before using it.
func (p *Privileges) OpenRootFile(dir *desc.FD, name string, flags int) (*desc.FD, error) {
	flags |= unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	path := dir.Path(name)
	return p.bracketFD(policy.OpOpenRootFile, "open "+path, path, func() (int, error) {
		fd, err := unix.Openat(dir.Fd(), name, flags, 0)
		return fd, WhyNot(dir, name, err)
	})
}

// MkdirRoot makes name, a directory of mode, in parent, gives it to
// root:root and opens it; EEXIST if anything is there. Safe: parent is a
// root-owned directory no one else can search (a staging directory, or
// root-only like /tmp/snap-private-tmp), so no one can reach the entry
// before it is root's; the open follows no symlink and the caller checks
// on the descriptor what it got.
func (p *Privileges) MkdirRoot(parent *desc.FD, name string, mode uint32) (*desc.FD, error) {
	path := parent.Path(name)
	return p.bracketFD(policy.OpMkdirRoot, "create "+path, path, func() (int, error) {
		if err := unix.Mkdirat(parent.Fd(), name, mode); err != nil {
			return -1, err
		}
		fd, err := unix.Openat(parent.Fd(), name, dirFlags, 0)
		if err != nil {
			return -1, err
		}
		if err = unix.Fchown(fd, 0, 0); err == nil {
			err = unix.Fchmod(fd, mode)
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

// StageDir makes the directory stage in the searchable root-owned directory
// parent, opens it, gives it to root:root 0700 and removes its access
// control lists, so that what is made in it next is reached by no one else.
// Until fchown it is the caller's (the file-capability install makes
// entries as the caller): the caller may have changed its mode, access
// control lists or contents meanwhile, which is why the mode is set and the
// lists removed here, and the caller checks on the descriptor, opened while
// it was the launcher's own, that it is empty. Safe: stage is a fresh
// random name of one component; nothing else is ever made in parent.
// forName is the name of the directory it is for, in messages.
func (p *Privileges) StageDir(parent *desc.FD, stage, forName string) (*desc.FD, error) {
	return p.bracketFD(policy.OpStageDir, "create a staging directory for "+parent.Path(forName), parent.Path(stage), func() (int, error) {
		if err := unix.Mkdirat(parent.Fd(), stage, 0o700); err != nil {
			return -1, err
		}
		if stageHook != nil {
			stageHook(parent.Fd(), stage)
		}
		fd, err := unix.Openat(parent.Fd(), stage, dirFlags, 0)
		if err != nil {
			return -1, err
		}
		if err = unix.Fchown(fd, 0, 0); err == nil {
			err = unix.Fchmod(fd, 0o700)
		}
		if err == nil {
			err = noACL(unix.Fremovexattr(fd, "system.posix_acl_default"))
		}
		if err == nil {
			err = noACL(unix.Fremovexattr(fd, "system.posix_acl_access"))
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

// noACL is the error of removing an access control list, nil when there
// was none or the filesystem has none.
func noACL(err error) error {
	if err == unix.ENODATA || err == unix.EOPNOTSUPP {
		return nil
	}
	return err
}

// PlaceStaged moves name from the staging directory stage to parent,
// failing with EEXIST if parent has that name already. Safe: the entry is
// root's with its final mode (MkdirRoot); renameat2 never replaces
// (RENAME_NOREPLACE) and follows no symlink; both are root-owned.
func (p *Privileges) PlaceStaged(stage, parent *desc.FD, name string) error {
	return p.bracket(policy.OpPlaceStaged, "move "+parent.Path(name)+" into place", func() error {
		if err := unix.Renameat2(stage.Fd(), name, parent.Fd(), name, unix.RENAME_NOREPLACE); err != nil {
			return err
		}
		if createHook != nil {
			createHook()
		}
		return nil
	})
}

// MoveAside renames someone else's entry name of the sticky, root-owned
// directory parent (where everyone may make entries) to aside, so that the
// name the contract gives root can be root's. Safe: renameat2 follows no
// symlink and never replaces (RENAME_NOREPLACE); the entry, whatever it
// is, stays its owner's, under a fresh random name in the same directory;
// the caller checked that parent is sticky and root's and the entry not
// root's.
func (p *Privileges) MoveAside(parent *desc.FD, name, aside string) error {
	return p.bracket(policy.OpMoveAside, "move someone else's "+parent.Path(name)+" aside", func() error {
		return unix.Renameat2(parent.Fd(), name, parent.Fd(), aside, unix.RENAME_NOREPLACE)
	})
}

// FixOwner gives an entry owned by uid 0 whose group or mode differ from
// the contract (the setuid install creates with the caller's group; a
// launcher killed before this step), or a device group the launcher just
// made as the caller, to root:root with mode. Safe: fd is root's already
// (the caller checked), or the devices group CreateDeviceGroup made,
// whose files were given to root first (ChownDeviceGroupFile); the group
// and mode are the contract's.
func (p *Privileges) FixOwner(d *desc.FD, mode uint32) error {
	return p.bracket(policy.OpFixOwner, "set its owner and mode", func() error {
		if err := unix.Fchown(d.Fd(), 0, 0); err != nil {
			return err
		}
		return unix.Fchmod(d.Fd(), mode)
	})
}

// OpenRootOnly opens path below dir, in root-only directories (the
// scratch root in /tmp/snap-private-tmp, the snap's cookie,
// /sys/fs/bpf/snap) that the file-capability install, running as the
// caller, cannot search. Safe: it only opens, read-only or O_PATH, without
// following any symlink or leaving dir; the caller checks what it got.
func (p *Privileges) OpenRootOnly(dir *desc.FD, path string, flags int) (*desc.FD, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
	name := dir.Path(path)
	return p.bracketFD(policy.OpOpenRootOnly, "open "+name, name, func() (int, error) { return resolve.Openat2(dir.Fd(), path, how, -1) })
}

// UnlinkRoot removes name (a directory with AT_REMOVEDIR) from the
// root-owned directory dir; a missing one is no error. Safe: name is a
// single component derived from a validated instance name; unlinkat never
// follows a symlink; only what the launcher made goes: a discarded
// namespace's files, a stale record, an empty scratch directory.
func (p *Privileges) UnlinkRoot(dir *desc.FD, name string, flags int) error {
	return p.bracket(policy.OpUnlinkRoot, "remove "+dir.Path(name), func() error {
		if err := unix.Unlinkat(dir.Fd(), name, flags); err != nil && err != unix.ENOENT {
			return err
		}
		return nil
	})
}

// RenameRoot replaces newname with oldname inside the root-owned directory
// dir. Safe: both are single components derived from a validated
// instance name; renameat never follows a symlink at newname.
func (p *Privileges) RenameRoot(dir *desc.FD, oldname, newname string) error {
	return p.bracket(policy.OpRenameRoot, "replace "+dir.Path(newname), func() error { return unix.Renameat(dir.Fd(), oldname, dir.Fd(), newname) })
}

// WriteRootFile writes data, in one write, to f: a root-owned regular
// file of a root-owned directory, opened for writing by OpenRootFile and
// checked by the caller. Safe: it goes through the descriptor only; what
// is written is what the launcher formatted (an info file, the rootfs
// fstab record) from validated names.
func (p *Privileges) WriteRootFile(f *desc.FD, data []byte) error {
	return p.bracket(policy.OpWriteRootFile, "write "+f.Name(), func() error { return writeAll(f, string(data)) })
}

// writeAll writes s to f with one write(2), as cgroupfs takes one value
// per write.
func writeAll(f *desc.FD, s string) error {
	n, err := unix.Write(f.Fd(), []byte(s))
	if err == nil && n != len(s) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(s))
	}
	return err
}

// Mounts in pid 1's namespace.

// BindSelf bind mounts the directory dir onto itself, recursively so that
// namespaces captured below it stay visible, so that its propagation can
// be set apart from its parent's: /run/snapd/ns, and with the
// parallel-instances feature /snap and /var/snap. Safe: the mount shows
// exactly what was there, and dir was checked to be a root-owned
// directory not writable by others.
func (p *Privileges) BindSelf(dir *desc.FD) error {
	return p.bracket(policy.OpBindSelf, "bind mount "+dir.Name()+" onto itself", func() error {
		return unix.Mount(fdPath(dir), fdPath(dir), "", unix.MS_BIND|unix.MS_REC, "")
	})
}

// MakePrivate sets private propagation on the mount at dir: /run/snapd/ns
// after BindSelf, and in a new namespace its private /tmp and its root.
// Safe: it only stops mount events from propagating to or from that mount;
// it is idempotent.
func (p *Privileges) MakePrivate(dir *desc.FD) error {
	return p.bracket(policy.OpMakePrivate, "make "+dir.Name()+" private", func() error { return unix.Mount("none", fdPath(dir), "", unix.MS_PRIVATE, "") })
}

// Capture bind mounts the nsfs file ns onto the regular file target in
// /run/snapd/ns, preserving the namespace. Safe: ns is a namespace this
// launcher just made; target is a root-owned regular file opened without
// following symlinks in the root-owned, private /run/snapd/ns; the mount is
// made in pid 1's namespace, where only root can change it.
func (p *Privileges) Capture(ns, target *desc.FD) error {
	return p.bracket(policy.OpCapture, "preserve the mount namespace at "+target.Name(), func() error {
		return unix.Mount(fdPath(ns), fdPath(target), "", unix.MS_BIND, "")
	})
}

// UnmountNS lazily unmounts the namespace captured at path in /run/snapd/ns,
// without following a final symlink. Safe: the caller checked the nsfs (or
// procfs) magic on an opened descriptor of it, in the root-only directory.
func (p *Privileges) UnmountNS(path string) error {
	return p.bracket(policy.OpUnmountNS, "unmount "+path, func() error { return unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) })
}

// Building a new namespace, on the throwaway thread that is its only task.

// MountRootTmpfs mounts a new tmpfs on the scratch directory name of
// parent, root's 0755 from its first instant, and makes it unbindable while
// the snap's root is assembled on it: the host's /tmp, bound into it
// recursively, holds the scratch directory itself. The path goes through
// the parent's magic link, so that the second mount(2) reaches the new
// tmpfs, not the directory under it. Safe: new namespace only; parent is
// root-only /tmp/snap-private-tmp, opened without following symlinks, where
// no one else can put anything at name; the tmpfs is new and empty.
func (p *Privileges) MountRootTmpfs(parent *desc.FD, name string) error {
	path := fdPath(parent) + "/" + name
	return p.bracket(policy.OpMountRootTmpfs, "mount the tmpfs of the snap's root", func() error {
		if err := unix.Mount("tmpfs", path, "tmpfs", 0, "mode=0755,uid=0,gid=0"); err != nil {
			return err
		}
		return unix.Mount("none", path, "", unix.MS_UNBINDABLE, "")
	})
}

// MakeRootEntry creates name in a tmpfs the launcher mounted in the new
// namespace (the new root, or the GPU driver's): a directory (S_IFDIR), an
// empty file (S_IFREG) or a symlink to target (S_IFLNK), mode 0755 or
// 0644, then gives it to root:root. Safe: the tmpfs is mounted in this
// thread's new namespace alone, below root-only /tmp/snap-private-tmp, so
// no one else can reach an entry before it is root's; name is one
// component of the base snap's root or of a fixed path; nothing is
// followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW).
func (p *Privileges) MakeRootEntry(root *desc.FD, name string, typ uint32, target string) error {
	return p.bracket(policy.OpMakeRootEntry, "create "+root.Path(name), func() error {
		var err error
		switch typ {
		case unix.S_IFDIR:
			err = unix.Mkdirat(root.Fd(), name, 0o755)
		case unix.S_IFREG:
			var fd int
			if fd, err = unix.Openat(root.Fd(), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644); err == nil {
				unix.Close(fd)
			}
		case unix.S_IFLNK:
			err = unix.Symlinkat(target, root.Fd(), name)
		default:
			err = unix.EINVAL
		}
		if err != nil {
			return err
		}
		return unix.Fchownat(root.Fd(), name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// CloneTree makes a detached copy of the mount tree at d (recursively when
// asked), the new mount API's bind source, named as d. Safe: a detached
// copy is visible to no one until AttachTree places it.
func (p *Privileges) CloneTree(d *desc.FD, recursive bool) (*desc.FD, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return p.bracketFD(policy.OpCloneTree, "clone "+d.Name(), d.Name(), func() (int, error) { return unix.OpenTree(d.Fd(), "", flags) })
}

// SetTreeAttrs sets the propagation (and read-only, when asked) of every
// mount of a detached tree made by CloneTree. Safe: it changes only the
// copy, before it is attached.
func (p *Privileges) SetTreeAttrs(tree *desc.FD, propagation uintptr, readonly bool) error {
	attr := unix.MountAttr{Propagation: uint64(propagation)}
	if readonly {
		attr.Attr_set = unix.MOUNT_ATTR_RDONLY
	}
	return p.bracket(policy.OpSetTreeAttrs, "set the propagation of "+tree.Name(), func() error {
		return unix.MountSetattr(tree.Fd(), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
	})
}

// AttachTree attaches a detached tree on the directory or file target.
// Safe: it is only called in a new namespace, before pivot_root, with
// targets resolved inside the new root (RESOLVE_IN_ROOT: no symlink of the
// base escapes it) or the scratch directory in root-only
// /tmp/snap-private-tmp.
func (p *Privileges) AttachTree(tree, target *desc.FD) error {
	return p.bracket(policy.OpAttachTree, "bind "+tree.Name()+" into the snap's root", func() error {
		return unix.MoveMount(tree.Fd(), "", target.Fd(), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	})
}

// Where the new mount API is missing (before Linux 5.12), the same steps
// with mount(2) of /proc/self/fd/N magic links, in the new namespace, a
// detached tree being a mount staged in a private, unbindable tmpfs on its
// copy of /run/snapd/ns (the launcher's bootstrap_old.go).

// StageOld mounts a new tmpfs, root's and closed to others, on dir: the
// new namespace's /run/snapd/ns, a private mount (made so again right
// before). Safe: new namespace only, on a private mount: no mount event
// reaches pid 1's namespace; the tmpfs is empty.
func (p *Privileges) StageOld(dir *desc.FD) error {
	return p.bracket(policy.OpStageOld, "mount the staging area", func() error {
		return unix.Mount("tmpfs", fdPath(dir), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,uid=0,gid=0")
	})
}

// BindOld bind mounts src (recursively when asked) on dst, an entry of the
// staging area made for it. Safe: new namespace only; dst is in the
// private staging tmpfs, so the new mount is seen by no one and its mount
// event goes nowhere; src was opened in the new namespace as open_tree's
// source would be.
func (p *Privileges) BindOld(src, dst *desc.FD, recursive bool) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	return p.bracket(policy.OpBindOld, "stage "+src.Name(), func() error { return unix.Mount(fdPath(src), fdPath(dst), "", flags, "") })
}

// PropagateOld sets the propagation of the mount at d: MS_SLAVE,
// MS_PRIVATE or MS_UNBINDABLE, with MS_REC for every mount below it too.
// Safe: new namespace only (a staged mount, the staging area, its "/"
// before pivot_root, the old root after); it only narrows propagation,
// never makes anything shared.
func (p *Privileges) PropagateOld(d *desc.FD, flags uintptr) error {
	return p.bracket(policy.OpPropagateOld, "set the propagation of "+d.Name(), func() error { return unix.Mount("none", fdPath(d), "", flags, "") })
}

// RemountReadOnlyOld makes the staged bind mount at d read-only, keeping
// keep, its other flags (nosuid, nodev, noexec, atime), which a bind
// remount would otherwise clear. Safe: a staged mount of the new namespace
// only loses write access.
func (p *Privileges) RemountReadOnlyOld(d *desc.FD, keep uintptr) error {
	return p.bracket(policy.OpRemountReadOnlyOld, "make "+d.Name()+" read-only", func() error {
		return unix.Mount("none", fdPath(d), "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, "")
	})
}

// MoveOld moves the staged mount tree onto target, as AttachTree attaches
// a detached one. Safe: as AttachTree: new namespace only, the targets
// resolved inside the new root (RESOLVE_IN_ROOT, or its walk) or the
// staging area's root directory.
func (p *Privileges) MoveOld(tree, target *desc.FD) error {
	return p.bracket(policy.OpMoveOld, "bind "+tree.Name()+" into the snap's root", func() error {
		return unix.Mount(fdPath(tree), fdPath(target), "", unix.MS_MOVE, "")
	})
}

// PivotRoot makes root the root of the calling thread's new namespace,
// with the old root kept at putOld inside it. Safe: new namespace only.
func (p *Privileges) PivotRoot(root *desc.FD, putOld string) error {
	return p.bracket(policy.OpPivotRoot, "pivot_root into the snap's root filesystem", func() error {
		if err := unix.Fchdir(root.Fd()); err != nil {
			return err
		}
		if err := unix.PivotRoot(".", putOld); err != nil {
			return err
		}
		return unix.Chdir("/")
	})
}

// Detach lazily unmounts the mount at path, without following a final
// symlink. Safe: new namespace only, on fixed paths below HostfsDir (the
// host's own tree, as seen after pivot_root).
func (p *Privileges) Detach(path string) error {
	return p.bracket(policy.OpDetach, "detach "+path, func() error { return unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) })
}

// BindPrivateTmp bind mounts the snap's private tmp directory (src) on /tmp
// (dst). Safe: new namespace only, after / was made slave; both were opened
// without following symlinks and checked to be root-owned directories.
func (p *Privileges) BindPrivateTmp(src, dst *desc.FD) error {
	return p.bracket(policy.OpBindPrivateTmp, "bind mount the private /tmp", func() error { return unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND, "") })
}

// MountDevpts mounts a new devpts instance on pts (the snap's /dev/pts) and
// binds its ptmx over ptmx (/dev/ptmx). Safe: new namespace only; a new
// instance shares no terminals with the host's.
func (p *Privileges) MountDevpts(pts, ptmx *desc.FD) error {
	return p.bracket(policy.OpMountDevpts, "mount a private devpts instance", func() error {
		if err := unix.Mount("devpts", fdPath(pts), "devpts", 0, policy.DevptsOptions); err != nil {
			return err
		}
		fd, err := unix.Open("/dev/pts/ptmx", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		newptmx := desc.New(fd, "/dev/pts/ptmx")
		defer newptmx.Close()
		return unix.Mount(fdPath(newptmx), fdPath(ptmx), "", unix.MS_BIND, "")
	})
}

// StartSnapUpdateNS starts snap-update-ns from the calling thread, so that
// it inherits that thread's new namespace, by descriptor, and returns its
// pid. Safe: the binary was checked on helper to be a root-owned regular
// file not writable by
// others; its argv and environment are the launcher's own; it gets stdin,
// stdout and stderr from the launcher (never the caller's), runs in a
// session of its own (the caller's terminal cannot signal it), inherits no
// other descriptor (the caller marks every inherited one close-on-exec
// first), and is killed if the launching thread dies.
//
// As root, or with asCaller (--user-mounts, and every run in the
// file-capability install) with the caller's ids and only the ambient
// capabilities policy.UserHelperCaps: the caller, lacking those, can
// neither ptrace it nor read its memory.
func (p *Privileges) StartSnapUpdateNS(helper *desc.FD, argv, env []string, stdin, out *desc.FD, asCaller *syscall.Credential) (int, error) {
	sys := &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}},
		Setsid:     true,
		Pdeathsig:  syscall.SIGKILL,
	}
	if asCaller != nil {
		// The groups already are the caller's (a setuid exec keeps
		// them; a file-capability launcher never changes them), and
		// setting them again would need cap_setgid.
		asCaller.NoSetGroups = true
		sys.Credential = asCaller
		for _, c := range policy.UserHelperCaps {
			sys.AmbientCaps = append(sys.AmbientCaps, uintptr(c))
		}
	}
	attr := &syscall.ProcAttr{Env: env, Files: []uintptr{uintptr(stdin.Fd()), uintptr(out.Fd()), uintptr(out.Fd())}, Sys: sys}
	pid := -1
	err := p.bracket(policy.OpStartSnapUpdateNS, "run "+helper.Name(), func() (err error) {
		pid, err = syscall.ForkExec(fdPath(helper), argv, attr)
		return err
	})
	return pid, err
}

// The parallel-instances feature (the launcher's parallel.go).

// MakeShared sets shared propagation, recursively, on the mount at dir,
// which BindSelf just made of /snap or /var/snap in pid 1's namespace.
// Safe: the mount shows exactly what the directory showed before, and
// shared propagation is what the host's "/" has on a systemd host; it is
// snap-confine's sc_ensure_snap_dir_shared_mounts.
func (p *Privileges) MakeShared(dir *desc.FD) error {
	return p.bracket(policy.OpMakeShared, "make "+dir.Name()+" recursively shared", func() error { return unix.Mount("none", fdPath(dir), "", unix.MS_REC|unix.MS_SHARED, "") })
}

// ClassicUnshare gives a classic app's thread (the main one, which execs
// it) a mount namespace of its own. Safe: it changes only that thread's
// view.
func (p *Privileges) ClassicUnshare() error {
	return p.bracket(policy.OpClassicUnshare, "create a classic snap's mount namespace", func() error { return unix.Unshare(unix.CLONE_NEWNS) })
}

// BindInstanceDir recursively bind mounts an instance's directory (src,
// /snap/<snap>_<key> or /var/snap/<snap>_<key>) on the snap's (dst).
// Safe: only in a classic app's new namespace, after MakeSlave made the
// parent slave, so the host never sees it; both were opened there without
// following symlinks and checked to be root-owned directories not writable
// by others, named from a validated instance name; the app sees root's
// files of an installed instance, which are readable anyway.
func (p *Privileges) BindInstanceDir(src, dst *desc.FD) error {
	return p.bracket(policy.OpBindInstanceDir, "bind mount "+src.Name()+" on "+dst.Name(), func() error { return unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND|unix.MS_REC, "") })
}

// The host's NVIDIA driver (the launcher's nvidia.go), in the new
// namespace before pivot_root, below the new root's /var/lib/snapd/lib, a
// slave bind of the host's: nothing mounted on it reaches the host.

// MountGPUTmpfs mounts a new tmpfs, root's 0755, nodev, noexec and
// nosuid, on the directory dir (gl, gl32, vulkan, glvnd or system/gpu of
// /var/lib/snapd/lib), as snap-confine does. Safe: new namespace only;
// dir was opened there without following symlinks and checked to be a
// root-owned directory; the tmpfs is new and empty and only hides the
// host's directory from the snap.
func (p *Privileges) MountGPUTmpfs(dir *desc.FD) error {
	return p.bracket(policy.OpMountGPUTmpfs, "mount a tmpfs on "+dir.Name(), func() error {
		return unix.Mount("tmpfs", fdPath(dir), "tmpfs", unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOSUID, "mode=0755,uid=0,gid=0")
	})
}

// RemountGPUReadOnly makes the tmpfs whose root is dir (checked to be
// the one MountGPUTmpfs just mounted) read-only, keeping nodev, noexec and
// nosuid. Safe: new namespace only; it only takes away.
func (p *Privileges) RemountGPUReadOnly(dir *desc.FD) error {
	return p.bracket(policy.OpRemountGPUReadOnly, "make "+dir.Name()+" read-only", func() error {
		return unix.Mount("none", fdPath(dir), "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOSUID, "")
	})
}

// WriteGPUFile creates name, a new file of mode 0644 holding data, in the
// directory dir of a tmpfs MountGPUTmpfs mounted, and gives it to
// root:root: the copy of a snap's GPU vendor file, as snap-confine copies
// them. Safe: the tmpfs is mounted in this thread's new namespace alone,
// below the new root in root-only /tmp/snap-private-tmp, so no one else
// can reach the file before it is root's; O_CREAT|O_EXCL|O_NOFOLLOW makes
// a new file; name is one component listed in root's /etc/glvnd/egl_vendor.d
// or /etc/vulkan/icd.d; data was read without privilege from a file anyone
// may read.
func (p *Privileges) WriteGPUFile(dir *desc.FD, name string, data []byte) error {
	path := dir.Path(name)
	return p.bracket(policy.OpWriteGPUFile, "create "+path, func() error {
		fd, err := unix.Openat(dir.Fd(), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		f := desc.New(fd, path)
		defer f.Close()
		if len(data) > 0 {
			if err := writeAll(f, string(data)); err != nil {
				return err
			}
		}
		return unix.Fchown(fd, 0, 0)
	})
}

// The cgroup v1 devices controller (the launcher's devcgroup.go): the
// group /sys/fs/cgroup/devices/<security tag>, root's 0700, set to the
// app's list, and the launcher moved into it.

// v1Resolve keeps every open of the devices group below the verified
// hierarchy: no symlink, no magic link, no other mount.
const v1Resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// CreateDeviceGroup creates the group name in the devices hierarchy
// (devices) and opens it through proc (the verified /proc); EEXIST if
// anything is there. cgroupfs cannot rename a group to another parent, so
// it cannot be staged as a directory is: made by the file-capability
// install it is the caller's until the launcher gives it and its files to
// root (ChownDeviceGroupFile, then FixOwner), before it writes a rule.
// Safe: devices was opened without following symlinks and checked to be
// cgroupfs, root's and writable by nobody else; name is a validated
// security tag (one component); a new group is a copy of its parent's
// device rules, so it allows nothing its parent does not, and while it is
// the caller's they can neither change its rules (devices.allow and
// devices.deny take a rule only from CAP_SYS_ADMIN) nor keep its mode or
// its files' modes, which the launcher sets next; a group they make inside
// it, or their own processes moved in, only narrow their own devices; the
// open stays below devices on the same mount and the caller checks what
// it got.
func (p *Privileges) CreateDeviceGroup(proc, devices *desc.FD, name string) (*desc.FD, error) {
	how := &unix.OpenHow{Flags: dirFlags, Resolve: v1Resolve}
	path := devices.Path(name)
	return p.bracketFD(policy.OpCreateDeviceGroup, "create "+path, path, func() (int, error) {
		if err := unix.Mkdirat(devices.Fd(), name, 0o700); err != nil {
			return -1, err
		}
		fd, err := resolve.Openat2(devices.Fd(), name, how, proc.Fd())
		if err == nil && createHook != nil {
			createHook()
		}
		return fd, err
	})
}

// ChownDeviceGroupFile gives name, a file the kernel made in the devices
// group CreateDeviceGroup just made, to root:root with mode, without
// following a symlink. Safe: group is that new group, and name one of the
// files the kernel gives every group (devcgroup.V1GroupFiles), with the
// mode the kernel gives it.
func (p *Privileges) ChownDeviceGroupFile(group *desc.FD, name string, mode uint32) error {
	return p.bracket(policy.OpChownDeviceGroupFile, "give "+group.Path(name)+" to root", func() error {
		if err := unix.Fchownat(group.Fd(), name, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		return unix.Fchmodat(group.Fd(), name, mode, 0)
	})
}

// OpenDeviceGroup opens name below dir through proc (the verified
// /proc): the existing group name in the devices hierarchy (dir, with
// dirFlags), or one of the files of the group (dir): devices.deny,
// devices.allow and cgroup.procs for writing, devices.list for reading.
// Safe: it only opens, below the checked hierarchy or group, on the same
// mount, without following symlinks; the caller checks that each is
// root's cgroupfs entry before using it.
func (p *Privileges) OpenDeviceGroup(proc, dir *desc.FD, name string, flags int) (*desc.FD, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Resolve: v1Resolve}
	path := dir.Path(name)
	return p.bracketFD(policy.OpOpenDeviceGroup, "open "+path, path, func() (int, error) {
		fd, err := resolve.Openat2(dir.Fd(), name, how, proc.Fd())
		return fd, WhyNot(dir, name, err)
	})
}

// WriteDeviceRule writes line, one rule, to a group's devices.deny or
// devices.allow (file); the launcher writes devcgroup.V1Writes in order, so
// that a device allowed before and after is never denied to the app's
// running processes, whoever started them. Safe: file was checked to be
// root's cgroupfs file of this app's own group, below the verified devices
// hierarchy; a group's rules only narrow its parent's, and only the app's
// group (which holds the app's processes alone) changes.
func (p *Privileges) WriteDeviceRule(file *desc.FD, line string) error {
	return p.bracket(policy.OpWriteDeviceRule, "write "+file.Name(), func() error { return writeAll(file, line) })
}

// AttachDeviceGroup moves the launcher's process (every thread) into the
// group (procs, its cgroup.procs); the app inherits it across the exec.
// Safe: procs was checked to be the root-owned cgroup.procs of this app's
// own devices group; only the launcher itself moves.
func (p *Privileges) AttachDeviceGroup(procs *desc.FD) error {
	return p.bracket(policy.OpAttachDeviceGroup, "move the launcher into "+path.Dir(procs.Name()), func() error {
		return writeAll(procs, strconv.Itoa(unix.Getpid())+"\n")
	})
}

// RaiseMemlock sets the process's RLIMIT_MEMLOCK to lim, which kernels
// before 5.11 charge the device map and program to: raised to
// snap-confine's 512 KiB when such a kernel refused them, and set back to
// the caller's limit right after (LowerMemlock), before anything of the
// caller's runs. Raising the hard limit needs CAP_SYS_RESOURCE. Safe: the
// limit is the launcher's own, for the length of two bpf(2) calls; the app
// gets the caller's back.
func (p *Privileges) RaiseMemlock(lim unix.Rlimit) error {
	return p.bracket(policy.OpRaiseMemlock, "raise RLIMIT_MEMLOCK", func() error { return unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &lim, nil) })
}

// MountBPFFS mounts a new, empty bpffs on /sys/fs/bpf (dir) in pid 1's
// namespace, where systemd normally has mounted one, as snap-confine 2.77
// does on hosts whose userland did not (bpf_mount_bpffs): nosuid, nodev,
// noexec, mode 0700, default propagation; owned by root:root whatever the
// launcher's filesystem ids (Linux 6.9 gives a new bpffs the mounter's,
// older kernels ignore the options and give root's). Safe: dir was opened
// without following symlinks and checked to be sysfs's own directory,
// root's and writable by nobody else, with nothing mounted on it; the new
// instance is empty and only root can use it.
func (p *Privileges) MountBPFFS(dir *desc.FD) error {
	return p.bracket(policy.OpMountBPFFS, "mount bpffs on "+devcgroup.BPFFS, func() error {
		return unix.Mount("bpf", fdPath(dir), "bpf", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,uid=0,gid=0")
	})
}

// unprivilegedCaller reports whether the launcher was given privilege that
// the caller does not have, which the app must not keep.
func (p *Privileges) unprivilegedCaller() bool {
	return p.mode == planner.Setuid || p.mode == planner.FileCaps
}
