// SPDX-License-Identifier: GPL-3.0-only

package launcher

// This file is the launcher's privileged surface, in the manner of
// bubblewrap's privileged_op(): one function per policy.Op, the only one
// that names it, raising exactly the op's capabilities on the calling
// thread around one syscall or a short fixed sequence, and saying why it
// cannot hurt the host. Everything else (deciding, deriving paths,
// walking, checking, looping over tables) happens at the call sites,
// without privilege, before and after. `make vet` (tools/closedset)
// refuses a state-changing call in any other file of the packages the
// privileged binaries link but caps.go (the capset machinery of raise and
// lower), handover.go (the last step: capset, seccomp, execve) and the few
// places SECURITY.md §4.3 lists.
//
// Paths passed to mount(2) are /proc/self/fd/N magic links to descriptors
// that were opened and checked without following symlinks, so nothing a
// user can rename or swap is resolved between the check and the use.

import (
	"encoding/binary"
	"fmt"
	"github.com/snapns/snapns/planner"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/shared/trusted"
)

// privileged runs fn, the syscalls of op, with exactly the capabilities
// policy grants op effective on the calling thread (a locked one: the main
// thread or a throwaway one), and none after (see caps.go). An error reads
// "cannot <what>: ...".
func (l *launcher) privileged(op policy.Op, what string, fn func() error) error {
	l.debugf("privileged: %s: %s", op, what)
	var err error
	if l.mode == planner.Unprivileged {
		err = fn()
	} else if err = l.raise(op.Raised(l.mode != planner.FileCaps)); err == nil {
		if capHook != nil {
			capHook(op)
		}
		err = fn()
		if lerr := l.lower(); err == nil {
			err = lerr
		}
	}
	if err != nil {
		return &actionError{what, err}
	}
	return nil
}

// actionError is "cannot <what>: <err>", put into words only when printed:
// some actions fail on the everyday path (no snap cookie), where fmt's
// first use would cost a launch more than the action.
type actionError struct {
	what string
	err  error
}

func (e *actionError) Error() string { return "cannot " + e.what + ": " + e.err.Error() }
func (e *actionError) Unwrap() error { return e.err }

// privilegedFD is privileged for an action that returns a descriptor (or
// a pid), -1 when it fails.
func (l *launcher) privilegedFD(op policy.Op, what string, fn func() (int, error)) (int, error) {
	fd := -1
	err := l.privileged(op, what, func() (err error) {
		fd, err = fn()
		return err
	})
	return fd, err
}

// fdPath names an open descriptor for syscalls that only take paths. The
// magic link resolves to exactly the opened file, whatever happens to the
// name it was opened by.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// unshareFS gives the calling thread an fs_struct of its own:
// setns(CLONE_NEWNS) refuses a thread that shares it, and every Go thread
// does. It needs no capability. Safe: the thread only stops sharing its
// root, working directory and umask with the rest of the process.
func unshareFS() error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("cannot unshare the filesystem attributes: %w", err)
	}
	return nil
}

// Actions that need no capability: they change only the launcher's own
// process (its umask, its next exec's AppArmor label, its image) or its
// own child, with rights the caller's process has over itself, so policy
// has no Op for them; they are here so that every state-changing call of
// the launcher is in this file (tools/closedset).

// clearUmask sets the process's umask to 0 and returns the one it had.
// Safe: it is the process's own; the launcher clears it at start so that
// every action creates with exactly its mode, and the handover gives the
// caller's back before the exec (handover.go).
func clearUmask() int { return unix.Umask(0) }

// reexec executes the launcher's own image again (/proc/self/exe) with the
// same arguments and env, from the package's initialiser. Safe: it is the
// running executable, with the privilege the process has already and no
// more; the caller chose the arguments and environment of the first image
// too (env only renames the Go runtime's variables, launcher.go).
func reexec(args, env []string) error { return syscall.Exec("/proc/self/exe", args, env) }

// killHelper kills snap-update-ns (pid) at its deadline. Safe: pid is the
// launcher's own child (startHelper), not yet waited for, so the number
// cannot name another process; the launcher may signal it with the ids it
// started it with.
func killHelper(pid int) { unix.Kill(pid, unix.SIGKILL) }

// writeExecLabel makes the calling thread's next exec transition to the
// AppArmor label, writing "exec <label>" to its exec attribute attr below
// the verified /proc (procfd). Safe: it is the thread's own attribute, which
// any process may write for itself; AppArmor's policy decides whether the
// transition is allowed; label is derived from validated names.
func writeExecLabel(procfd int, attr, label string) error {
	fd, err := unix.Openat(procfd, attr, unix.O_WRONLY|unix.O_CLOEXEC, 0)
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

// The kernel's interfaces, asked for with calls every kernel that has them
// refuses before it looks at anything else (kernel.go). Safe: a refused
// call changes nothing.

// probeMountAPI calls open_tree(2) and mount_setattr(2) with a flag bit
// neither knows, on no descriptor: EINVAL (or EBADF) where they exist.
func probeMountAPI() (openTree, mountSetattr unix.Errno) {
	_, _, openTree = unix.Syscall(unix.SYS_OPEN_TREE, ^uintptr(0), 0, 1<<31)
	_, _, mountSetattr = unix.Syscall6(unix.SYS_MOUNT_SETATTR, ^uintptr(0), 0, 1<<31, 0, 0, 0)
	return openTree, mountSetattr
}

// probeBPFPathFD asks bpf(2) for BPF_OBJ_GET of the empty path relative to
// no descriptor with BPF_F_PATH_FD: ENOENT or EBADF where the flag exists.
func probeBPFPathFD() error {
	empty := []byte{0}
	var a bpfAttr
	a.ptr(0, unsafe.Pointer(&empty[0]))
	a.u32(12, unix.BPF_F_PATH_FD)
	a.u32(16, ^uint32(0))
	_, err := bpfSys(unix.BPF_OBJ_GET, &a)
	runtime.KeepAlive(empty)
	return err
}

// Namespaces.

// openHostNS opens pid 1's mount namespace, which takes ptrace-read access
// to pid 1. Safe: it only opens, through the /proc verified to be procfs;
// the descriptor grants nothing without CAP_SYS_ADMIN to enter it.
func (l *launcher) openHostNS() (int, error) {
	return l.privilegedFD(policy.OpOpenHostNS, "open pid 1's mount namespace", func() (int, error) {
		return unix.Openat(l.procfd, "1/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	})
}

// joinHostNS moves the calling thread into pid 1's mount namespace, hostNS
// (checked to be nsfs, from the verified /proc). Safe: it is the host's own
// view, the one a launch from the host starts in anyway; only the calling
// thread moves (it unshared CLONE_FS).
func (l *launcher) joinHostNS(hostNS int) error {
	return l.privileged(policy.OpReassociate, "join pid 1's mount namespace", func() error { return unix.Setns(hostNS, unix.CLONE_NEWNS) })
}

// join moves the main thread into the namespace the app runs in. Safe:
// nsfd is nsfs, either made by this launch or bind mounted in the
// root-owned /run/snapd/ns and checked to be the one captured there
// (verifyCaptured); the thread drops every privilege before it execs.
func (l *launcher) join(nsfd int, display string) error {
	return l.privileged(policy.OpJoin, "join "+display, func() error { return unix.Setns(nsfd, unix.CLONE_NEWNS) })
}

// inspect moves a throwaway thread, which only reads its mount table and
// ends, into the preserved namespace nsfd. Safe: as join; nothing else
// ever runs on that thread.
func (l *launcher) inspect(nsfd int) error {
	return l.privileged(policy.OpInspect, "enter the preserved mount namespace", func() error { return unix.Setns(nsfd, unix.CLONE_NEWNS) })
}

// unshareFrom gives the calling throwaway thread a new mount namespace, a
// copy of fromNS (pid 1's, or the snap's for a per-user layer). Safe: it
// changes only that thread's view; fromNS is nsfs, from /proc or verified.
func (l *launcher) unshareFrom(fromNS int) error {
	return l.privileged(policy.OpUnshare, "create a mount namespace", func() error {
		if err := unix.Setns(fromNS, unix.CLONE_NEWNS); err != nil {
			return err
		}
		return unix.Unshare(unix.CLONE_NEWNS)
	})
}

// makeRootRslave makes every mount of the calling thread's new namespace a
// slave. Safe: it only stops propagation from the new namespace back to
// the host; it is only called right after unshareFrom.
func (l *launcher) makeRootRslave() error {
	return l.privileged(policy.OpSlaveRoot, "make / recursively slave", func() error { return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SLAVE, "") })
}

// Files in root's directories.

// Root's files and directories are root's from before anyone else can
// reach them, in both installs and without filesystem ids 0 (the
// file-capability install holds neither cap_setuid nor cap_setgid, as
// snapd's snap-confine.v2-only.caps): a file is made without a name
// (O_TMPFILE), given to root:root with its mode and only then linked; a
// directory is made in a directory no one else can search, given to
// root:root, and renamed into place (rootobj.go stages it when its parent
// is searchable). Whatever the setuid install makes with the caller's group
// is given to root's the same way.

// createRootFile makes a file of mode in the root-owned directory dirfd
// without a name, gives it to root:root, and links it there as name,
// failing with EEXIST if name appeared meanwhile. (The caller opens it by
// name: a descriptor of the file made without a name is not the linked
// name's, and nothing can be mounted on it.) Safe: no one can reach a file
// without a name, so it is never seen with any owner or mode but root's
// and mode; linkat goes through the verified /proc and never replaces an
// entry; name is one component derived from a validated name.
func (l *launcher) createRootFile(dirfd int, name string, mode uint32, display string) error {
	return l.privileged(policy.OpCreateRootFile, "create "+display, func() error {
		fd, err := unix.Openat(dirfd, ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, mode)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err = unix.Fchown(fd, 0, 0); err == nil {
			if err = unix.Fchmod(fd, mode); err == nil {
				err = unix.Linkat(l.procfd, "self/fd/"+strconv.Itoa(fd), dirfd, name, unix.AT_SYMLINK_FOLLOW)
			}
		}
		if err == nil && createHook != nil {
			createHook()
		}
		return err
	})
}

// openRootFile opens the existing entry name of the root-owned directory
// dirfd. Safe: it only opens; O_NOFOLLOW refuses a symlink, O_NONBLOCK
// keeps a FIFO or device from blocking, and the caller checks on the
// descriptor that it is a regular file owned by root before using it.
func (l *launcher) openRootFile(dirfd int, name string, flags int, display string) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	return l.privilegedFD(policy.OpOpenRootFile, "open "+display, func() (int, error) {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		return fd, whyNot(dirfd, name, err)
	})
}

// mkdirRoot makes name, a directory of mode, in parent, gives it to
// root:root and opens it; EEXIST if anything is there. Safe: parent is a
// root-owned directory no one else can search (a staging directory, or
// root-only like /tmp/snap-private-tmp), so no one can reach the entry
// before it is root's; the open follows no symlink and the caller checks
// on the descriptor what it got.
func (l *launcher) mkdirRoot(parent int, name string, mode uint32, display string) (int, error) {
	return l.privilegedFD(policy.OpMkdirRoot, "create "+display, func() (int, error) {
		if err := unix.Mkdirat(parent, name, mode); err != nil {
			return -1, err
		}
		fd, err := unix.Openat(parent, name, dirFlags, 0)
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

// stageDir makes the directory stage in the searchable root-owned directory
// parent, opens it, gives it to root:root 0700 and removes any access
// control list, so that what is made in it next is reached by no one else.
// Until fchown it is the caller's (the file-capability install makes
// entries as the caller): the caller may have changed its mode, access
// control lists or contents meanwhile, which is why the mode is set and the
// lists removed here, and the caller checks on the descriptor, opened while
// it was the launcher's own, that it is empty. Safe: stage is a fresh
// random name of one component; nothing else is ever made in parent.
func (l *launcher) stageDir(parent int, stage string, display string) (int, error) {
	return l.privilegedFD(policy.OpStageDir, "create a staging directory for "+display, func() (int, error) {
		if err := unix.Mkdirat(parent, stage, 0o700); err != nil {
			return -1, err
		}
		if stageHook != nil {
			stageHook(parent, stage)
		}
		fd, err := unix.Openat(parent, stage, dirFlags, 0)
		if err != nil {
			return -1, err
		}
		if err = unix.Fchown(fd, 0, 0); err == nil {
			err = unix.Fchmod(fd, 0o700)
		}
		for _, acl := range []string{"system.posix_acl_default", "system.posix_acl_access"} {
			if err == nil {
				if err = unix.Fremovexattr(fd, acl); err == unix.ENODATA || err == unix.EOPNOTSUPP {
					err = nil
				}
			}
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

// placeStaged moves name from the staging directory stage to parent,
// failing with EEXIST if parent has that name already. Safe: the entry is
// root's with its final mode (mkdirRoot); renameat2 never replaces
// (RENAME_NOREPLACE) and follows no symlink; both are root-owned.
func (l *launcher) placeStaged(stage, parent int, name, display string) error {
	return l.privileged(policy.OpPlaceStaged, "move "+display+" into place", func() error {
		if err := unix.Renameat2(stage, name, parent, name, unix.RENAME_NOREPLACE); err != nil {
			return err
		}
		if createHook != nil {
			createHook()
		}
		return nil
	})
}

// moveAside renames someone else's entry name of the sticky, root-owned
// directory parent (where everyone may make entries) to aside, so that the
// name the contract gives root can be root's. Safe: renameat2 follows no
// symlink and never replaces (RENAME_NOREPLACE); the entry, whatever it
// is, stays its owner's, under a fresh random name in the same directory;
// the caller checked that parent is sticky and root's and the entry not
// root's.
func (l *launcher) moveAside(parent int, name, aside, display string) error {
	return l.privileged(policy.OpMoveAside, "move someone else's "+display+" aside", func() error {
		return unix.Renameat2(parent, name, parent, aside, unix.RENAME_NOREPLACE)
	})
}

// fixOwnerMode gives an entry owned by uid 0 whose group or mode differ
// from the contract (the setuid install creates with the caller's group; a
// launcher killed before this step) to root:root with mode. Safe: fd is
// root's already (checkRootOwned); the group and mode are the contract's.
func (l *launcher) fixOwnerMode(fd int, mode uint32) error {
	return l.privileged(policy.OpFixOwner, "set its owner and mode", func() error {
		if err := unix.Fchown(fd, 0, 0); err != nil {
			return err
		}
		return unix.Fchmod(fd, mode)
	})
}

// openRootOnly opens path below dirfd, in root-only directories (the
// scratch root in /tmp/snap-private-tmp, the snap's cookie) that the
// file-capability install, running as the caller, cannot search. Safe: it
// only opens, read-only or O_PATH, without following any symlink or
// leaving dirfd; the caller checks what it got.
func (l *launcher) openRootOnly(dirfd int, path string, flags int, display string) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
	return l.privilegedFD(policy.OpOpenRootOnly, "open "+display, func() (int, error) { return resolve.Openat2(dirfd, path, how, l.procfd) })
}

// unlinkRoot removes name (a directory with AT_REMOVEDIR) from the
// root-owned directory dirfd; a missing one is no error. Safe: name is a
// single component derived from a validated instance name; unlinkat never
// follows a symlink; only what the launcher made goes: a discarded
// namespace's files, a stale record, an empty scratch directory.
func (l *launcher) unlinkRoot(dirfd int, name string, flags int, display string) error {
	return l.privileged(policy.OpUnlink, "remove "+display, func() error {
		if err := unix.Unlinkat(dirfd, name, flags); err != nil && err != unix.ENOENT {
			return err
		}
		return nil
	})
}

// renameRoot replaces newname with oldname inside the root-owned directory
// dirfd. Safe: both are single components derived from a validated
// instance name; renameat never follows a symlink at newname.
func (l *launcher) renameRoot(dirfd int, oldname, newname, display string) error {
	return l.privileged(policy.OpRename, "replace "+display, func() error { return unix.Renameat(dirfd, oldname, dirfd, newname) })
}

// writeRootFile writes data, in one write, to fd: a root-owned regular
// file of a root-owned directory, opened for writing by openRootFile and
// checked by the caller (checkRootOwned). Safe: it goes through the
// descriptor only; what is written is what the launcher formatted (an info
// file, the rootfs fstab record) from validated names.
func (l *launcher) writeRootFile(fd int, data []byte, display string) error {
	return l.privileged(policy.OpWriteRootFile, "write "+display, func() error { return writeAll(fd, string(data)) })
}

// Mounts in pid 1's namespace.

// bindSelf bind mounts the directory dirfd onto itself, recursively so that
// namespaces captured below it stay visible, so that its propagation can
// be set apart from its parent's: /run/snapd/ns, and with the
// parallel-instances feature /snap and /var/snap. Safe: the mount shows
// exactly what was there, and dirfd was checked to be a root-owned
// directory not writable by others.
func (l *launcher) bindSelf(dirfd int, display string) error {
	return l.privileged(policy.OpBindSelf, "bind mount "+display+" onto itself", func() error {
		return unix.Mount(fdPath(dirfd), fdPath(dirfd), "", unix.MS_BIND|unix.MS_REC, "")
	})
}

// makePrivate sets private propagation on the mount at dirfd: /run/snapd/ns
// after bindSelf, and in a new namespace its private /tmp and its root.
// Safe: it only stops mount events from propagating to or from that mount;
// it is idempotent.
func (l *launcher) makePrivate(dirfd int, display string) error {
	return l.privileged(policy.OpMakePrivate, "make "+display+" private", func() error { return unix.Mount("none", fdPath(dirfd), "", unix.MS_PRIVATE, "") })
}

// capture bind mounts the nsfs file nsfd onto the regular file target in
// /run/snapd/ns, preserving the namespace. Safe: nsfd is a namespace this
// launcher just made; target is a root-owned regular file opened without
// following symlinks in the root-owned, private /run/snapd/ns; the mount is
// made in pid 1's namespace, where only root can change it.
func (l *launcher) capture(nsfd, target int, display string) error {
	return l.privileged(policy.OpCapture, "preserve the mount namespace at "+display, func() error {
		return unix.Mount(fdPath(nsfd), fdPath(target), "", unix.MS_BIND, "")
	})
}

// unmountNS lazily unmounts the namespace captured at path in /run/snapd/ns,
// without following a final symlink. Safe: the caller checked the nsfs (or
// procfs) magic on an opened descriptor of it, in the root-only directory.
func (l *launcher) unmountNS(path string) error {
	return l.privileged(policy.OpUnmountNS, "unmount "+path, func() error { return unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) })
}

// Building a new namespace, on the throwaway thread that is its only task.

// mountRootTmpfs mounts a new tmpfs on the scratch directory name of
// parent, root's 0755 from its first instant, and makes it unbindable while
// the snap's root is assembled on it: the host's /tmp, bound into it
// recursively, holds the scratch directory itself. The path goes through
// the parent's magic link, so that the second mount(2) reaches the new
// tmpfs, not the directory under it. Safe: new namespace only; parent is
// root-only /tmp/snap-private-tmp, opened without following symlinks, where
// no one else can put anything at name; the tmpfs is new and empty.
func (l *launcher) mountRootTmpfs(parent int, name string) error {
	path := fdPath(parent) + "/" + name
	return l.privileged(policy.OpRootTmpfs, "mount the tmpfs of the snap's root", func() error {
		if err := unix.Mount("tmpfs", path, "tmpfs", 0, "mode=0755,uid=0,gid=0"); err != nil {
			return err
		}
		return unix.Mount("none", path, "", unix.MS_UNBINDABLE, "")
	})
}

// mkRootEntry creates name in the new root's tmpfs (root, a directory of
// it): a directory (S_IFDIR), an empty file (S_IFREG) or a symlink to
// target (S_IFLNK), mode 0755 or 0644, then gives it to root:root. Safe:
// the tmpfs is mounted in this thread's new namespace alone, below
// root-only /tmp/snap-private-tmp, so no one else can reach an entry before
// it is root's; name is one component of the base snap's root or of a
// fixed path; nothing is followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW).
func (l *launcher) mkRootEntry(root int, name string, typ uint32, target string) error {
	return l.privileged(policy.OpRootEntry, "create "+name+" in the snap's root", func() error {
		var err error
		switch typ {
		case unix.S_IFDIR:
			err = unix.Mkdirat(root, name, 0o755)
		case unix.S_IFREG:
			var fd int
			if fd, err = unix.Openat(root, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644); err == nil {
				unix.Close(fd)
			}
		case unix.S_IFLNK:
			err = unix.Symlinkat(target, root, name)
		default:
			err = unix.EINVAL
		}
		if err != nil {
			return err
		}
		return unix.Fchownat(root, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// cloneTree makes a detached copy of the mount tree at fd (recursively when
// asked), the new mount API's bind source. Safe: a detached copy is visible
// to no one until attachTree places it.
func (l *launcher) cloneTree(fd int, recursive bool, display string) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return l.privilegedFD(policy.OpCloneTree, "clone "+display, func() (int, error) { return unix.OpenTree(fd, "", flags) })
}

// setTreeAttrs sets the propagation (and read-only, when asked) of every
// mount of a detached tree made by cloneTree. Safe: it changes only the
// copy, before it is attached.
func (l *launcher) setTreeAttrs(tree int, propagation uintptr, readonly bool, display string) error {
	attr := unix.MountAttr{Propagation: uint64(propagation)}
	if readonly {
		attr.Attr_set = unix.MOUNT_ATTR_RDONLY
	}
	return l.privileged(policy.OpSetTreeAttrs, "set the propagation of "+display, func() error {
		return unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
	})
}

// attachTree attaches a detached tree on the directory or file target.
// Safe: it is only called in a new namespace, before pivot_root, with
// targets resolved inside the new root (RESOLVE_IN_ROOT: no symlink of the
// base escapes it) or the scratch directory in root-only
// /tmp/snap-private-tmp.
func (l *launcher) attachTree(tree, target int, display string) error {
	return l.privileged(policy.OpAttachTree, "bind "+display+" into the snap's root", func() error {
		return unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	})
}

// Where the new mount API is missing (open_tree and move_mount before
// Linux 5.2, mount_setattr before 5.12), the same steps with mount(2), on
// the throwaway thread, in the new namespace (bootstrap_old.go): a detached
// tree becomes a mount staged in a private, unbindable tmpfs on that
// namespace's copy of /run/snapd/ns, which only this thread's namespace
// has and nothing propagates to or from; every path is a /proc/self/fd/N
// magic link to a descriptor opened and checked without following
// symlinks.

// stageOld mounts a new tmpfs, root's and closed to others, on dirfd: the
// new namespace's /run/snapd/ns, a private mount (made so again right
// before). Safe: new namespace only, on a private mount: no mount event
// reaches pid 1's namespace; the tmpfs is empty.
func (l *launcher) stageOld(dirfd int) error {
	return l.privileged(policy.OpStageOld, "mount the staging area", func() error {
		return unix.Mount("tmpfs", fdPath(dirfd), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,uid=0,gid=0")
	})
}

// bindOld bind mounts src (recursively when asked) on dst, an entry of the
// staging area made for it. Safe: new namespace only; dst is in the
// private staging tmpfs, so the new mount is seen by no one and its mount
// event goes nowhere; src was opened in the new namespace as open_tree's
// source would be.
func (l *launcher) bindOld(src, dst int, recursive bool, display string) error {
	flags := uintptr(unix.MS_BIND)
	if recursive {
		flags |= unix.MS_REC
	}
	return l.privileged(policy.OpBindOld, "stage "+display, func() error { return unix.Mount(fdPath(src), fdPath(dst), "", flags, "") })
}

// propagateOld sets the propagation of the mount at fd: MS_SLAVE,
// MS_PRIVATE or MS_UNBINDABLE, with MS_REC for every mount below it too.
// Safe: new namespace only (a staged mount, the staging area, its "/"
// before pivot_root, the old root after); it only narrows propagation,
// never makes anything shared.
func (l *launcher) propagateOld(fd int, flags uintptr, display string) error {
	return l.privileged(policy.OpPropagateOld, "set the propagation of "+display, func() error { return unix.Mount("none", fdPath(fd), "", flags, "") })
}

// remountReadOnlyOld makes the staged bind mount at fd read-only, keeping
// keep, its other flags (nosuid, nodev, noexec, atime), which a bind
// remount would otherwise clear. Safe: a staged mount of the new namespace
// only loses write access.
func (l *launcher) remountReadOnlyOld(fd int, keep uintptr, display string) error {
	return l.privileged(policy.OpRemountReadOnly, "make "+display+" read-only", func() error {
		return unix.Mount("none", fdPath(fd), "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, "")
	})
}

// moveOld moves the staged mount tree onto target, as attachTree attaches
// a detached one. Safe: as attachTree: new namespace only, the targets
// resolved inside the new root (RESOLVE_IN_ROOT, or its walk) or the
// staging area's root directory.
func (l *launcher) moveOld(tree, target int, display string) error {
	return l.privileged(policy.OpMoveOld, "bind "+display+" into the snap's root", func() error {
		return unix.Mount(fdPath(tree), fdPath(target), "", unix.MS_MOVE, "")
	})
}

// pivotRoot makes rootfd the root of the calling thread's new namespace,
// with the old root kept at putOld inside it. Safe: new namespace only.
func (l *launcher) pivotRoot(rootfd int, putOld string) error {
	return l.privileged(policy.OpPivotRoot, "pivot_root into the snap's root filesystem", func() error {
		if err := unix.Fchdir(rootfd); err != nil {
			return err
		}
		if err := unix.PivotRoot(".", putOld); err != nil {
			return err
		}
		return unix.Chdir("/")
	})
}

// detach lazily unmounts the mount at path, without following a final
// symlink. Safe: new namespace only, on fixed paths below HostfsDir (the
// host's own tree, as seen after pivot_root).
func (l *launcher) detach(path string) error {
	return l.privileged(policy.OpDetach, "detach "+path, func() error { return unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW) })
}

// bindPrivateTmp bind mounts the snap's private tmp directory (src) on /tmp
// (dst). Safe: new namespace only, after / was made slave; both were opened
// without following symlinks and checked to be root-owned directories.
func (l *launcher) bindPrivateTmp(src, dst int) error {
	return l.privileged(policy.OpBindPrivateTmp, "bind mount the private /tmp", func() error { return unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND, "") })
}

// mountDevpts mounts a new devpts instance on pts (the snap's /dev/pts) and
// binds its ptmx over ptmx (/dev/ptmx). Safe: new namespace only; a new
// instance shares no terminals with the host's.
func (l *launcher) mountDevpts(pts, ptmx int) error {
	return l.privileged(policy.OpDevpts, "mount a private devpts instance", func() error {
		if err := unix.Mount("devpts", fdPath(pts), "devpts", 0, policy.DevptsOptions); err != nil {
			return err
		}
		newptmx, err := unix.Open("/dev/pts/ptmx", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(newptmx)
		return unix.Mount(fdPath(newptmx), fdPath(ptmx), "", unix.MS_BIND, "")
	})
}

// startHelper starts snap-update-ns from the calling thread, so that it
// inherits that thread's new namespace, by descriptor. Safe: the binary was
// checked on helperfd to be a root-owned regular file not writable by
// others; its argv and environment are the launcher's own; it gets stdin,
// stdout and stderr from the launcher (never the caller's), runs in a
// session of its own (the caller's terminal cannot signal it), inherits no
// other descriptor (withInheritedFDsClosedOnExec), and is killed if the
// launching thread dies.
//
// As root, or with asCaller (--user-mounts, and every run in the
// file-capability install) with the caller's ids and only the ambient
// capabilities policy.UserHelperCaps: the caller, lacking those, can
// neither ptrace it nor read its memory.
func (l *launcher) startHelper(helperfd int, path string, argv, env []string, stdin, out int, asCaller *syscall.Credential) (int, error) {
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
	attr := &syscall.ProcAttr{Env: env, Files: []uintptr{uintptr(stdin), uintptr(out), uintptr(out)}, Sys: sys}
	return l.privilegedFD(policy.OpSnapUpdateNS, "run "+path, func() (int, error) { return syscall.ForkExec(fdPath(helperfd), argv, attr) })
}

// The handover.

// dropToCaller sets the real, effective and saved gids and uids of every
// thread to the caller's real ones and leaves a non-root caller's threads
// with keep permitted and nothing effective; a root caller's ids are root's
// already, and its capabilities come back on the calling thread only. Safe: it only gives privilege up. The stdlib calls act
// on every thread with cgo off (AllThreadsSyscall), x/sys/unix's on the
// calling thread only. Groups go before the user id, which takes the
// privilege to change them away. A setuid launcher keeps its permitted set
// across the change of uid (PR_SET_KEEPCAPS) only to keep keep.
func (l *launcher) dropToCaller(keep capSet) error {
	keepCaps := l.mode == planner.Setuid && !keep.empty()
	err := l.privileged(policy.OpDrop, "drop privileges", func() (err error) {
		if l.mode == planner.RootCaller {
			// Root keeps root: no setuid bit gave it anything (its
			// threads have had its own ids since the exec), and
			// setting them again would be two stop-the-world calls
			// changing nothing. verifyIDs checks them all the same.
			return nil
		}
		if keepCaps {
			err = setKeepCaps(1)
		}
		if err == nil {
			err = syscall.Setresgid(l.rgid, l.rgid, l.rgid)
		}
		if err == nil {
			err = syscall.Setresuid(l.ruid, l.ruid, l.ruid)
		}
		if err == nil && l.unprivilegedCaller() {
			err = setCapsAllThreads(capSet{}, keep, capSet{})
		}
		if err == nil && keepCaps {
			err = setKeepCaps(0)
		}
		// The capabilities are lowered next from what is left.
		_, l.permitted, l.inheritable, _ = getCaps()
		return err
	})
	if err == nil && l.mode == planner.RootCaller {
		// Root's app runs as root, with root's capabilities effective
		// again (the exec would restore them too; the working directory
		// is entered before it): on this thread, the one that enters it
		// and execs. Every other thread keeps none.
		err = setThreadCaps(l.permitted, l.permitted, l.inheritable)
	}
	return err
}

// setKeepCaps sets PR_SET_KEEPCAPS on every thread.
func setKeepCaps(v uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, v, 0); e != 0 {
		return e
	}
	return nil
}

// The parallel-instances feature (parallel.go).

// makeShared sets shared propagation, recursively, on the mount at dirfd,
// which bindSelf just made of /snap or /var/snap in pid 1's namespace.
// Safe: the mount shows exactly what the directory showed before, and
// shared propagation is what the host's "/" has on a systemd host; it is
// snap-confine's sc_ensure_snap_dir_shared_mounts.
func (l *launcher) makeShared(dirfd int, display string) error {
	return l.privileged(policy.OpMakeShared, "make "+display+" recursively shared", func() error { return unix.Mount("none", fdPath(dirfd), "", unix.MS_REC|unix.MS_SHARED, "") })
}

// classicUnshare gives a classic app's thread (the main one, which execs
// it) a mount namespace of its own. Safe: it changes only that thread's
// view.
func (l *launcher) classicUnshare() error {
	return l.privileged(policy.OpClassicUnshare, "create a classic snap's mount namespace", func() error { return unix.Unshare(unix.CLONE_NEWNS) })
}

// makeRslave makes the mount at dirfd, and every mount below it, a slave.
// Safe: only in a classic app's new namespace (after classicUnshare), where
// it stops the instance's binds from propagating back to the host's /snap
// and /var/snap, whose peers the copies are.
func (l *launcher) makeRslave(dirfd int, display string) error {
	return l.privileged(policy.OpMakeSlave, "make "+display+" recursively slave", func() error { return unix.Mount("none", fdPath(dirfd), "", unix.MS_REC|unix.MS_SLAVE, "") })
}

// bindInstanceDir recursively bind mounts an instance's directory (src,
// /snap/<snap>_<key> or /var/snap/<snap>_<key>) on the snap's (dst).
// Safe: only in a classic app's new namespace, after makeRslave made the
// parent slave, so the host never sees it; both were opened there without
// following symlinks and checked to be root-owned directories not writable
// by others, named from a validated instance name; the app sees root's
// files of an installed instance, which are readable anyway.
func (l *launcher) bindInstanceDir(src, dst int, display string) error {
	return l.privileged(policy.OpBindInstanceDir, "bind mount "+display, func() error { return unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND|unix.MS_REC, "") })
}

// The device cgroup (devcgroup.go), in pid 1's mount namespace, under the
// per-snap lock, as snap-confine 2.77 sets it up on cgroup v2: a hash map
// pinned at /sys/fs/bpf/snap/<tag> in snapd's layout, changed to hold the
// app's allow list (additions first, never emptied: the app's running
// processes read it), and a device program reading it, attached to the
// app's own snap cgroup.

// openDeviceMap opens the entry name of the root-only /sys/fs/bpf/snap
// (dirfd) without following a symlink, as an O_PATH descriptor that the
// caller checks, and, when it is a regular file owned by root, gets the
// map pinned there through its /proc/self/fd magic link with get
// (bpfObjGetAt from the verified /proc, or bpfObjGetPath before Linux
// 6.5), so that the object fetched is exactly the entry checked. Safe: it
// only opens; the caller checks what the map is before using it.
func (l *launcher) openDeviceMap(dirfd int, name string, display string, get bpfGetter) (int, error) {
	return l.privilegedFD(policy.OpDeviceMapOpen, "open the device map "+display, func() (int, error) {
		entry, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(entry)
		if err := trusted.RootOnly(entry, unix.S_IFREG); err != nil {
			return -1, fmt.Errorf("%s is %w", display, err)
		}
		return get(l.procfd, entry)
	})
}

// createDeviceMap creates an empty device map in snapd's layout, pins it
// with pin as name in /sys/fs/bpf/snap (dirfd: bpfObjPinAt, or
// bpfObjPinPath through the directory's /proc/self/fd link before Linux
// 6.5), failing if anything is there already, and gives the pinned file to
// root:root. Safe: the map is new and empty, the name a single component
// derived from a validated security tag, in a root-only directory of bpffs
// that no one else can search, so no one reaches the file before it is
// root's.
func (l *launcher) createDeviceMap(dirfd int, name, objName, display string, pin bpfPinner) (int, error) {
	return l.privilegedFD(policy.OpDeviceMapCreate, "create the device map "+display, func() (int, error) {
		fd, err := bpfMapCreate(unix.BPF_MAP_TYPE_HASH, devcgroup.KeySize, devcgroup.ValueSize, devcgroup.MaxEntries, objName)
		if err != nil {
			return -1, err
		}
		if err = pin(fd, dirfd, name); err == nil {
			err = unix.Fchownat(dirfd, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

// updateDeviceMap makes the changes steps (devcgroup.MapSteps: additions
// first, then deletions) to the device map mapfd, in order, so that a
// device allowed before and after is never missing for the app's running
// processes, whoever started them. Safe: mapfd was checked to be a map of
// snapd's layout pinned in the root-only /sys/fs/bpf/snap under this
// app's name; the map is the app's own, set to its allow list under the
// per-snap lock, as snap-confine does; nothing but the descriptor's write
// access is used.
func (l *launcher) updateDeviceMap(mapfd int, steps []devcgroup.MapStep, display string) error {
	return l.privileged(policy.OpDeviceMapFill, "update the device map "+display, func() error {
		for _, s := range steps {
			if s.Add {
				if err := bpfMapUpdate(mapfd, s.Key[:], []byte{1}); err != nil {
					return fmt.Errorf("cannot allow %s: %w", devcgroup.DeviceOfKey(s.Key), err)
				}
			} else if err := bpfMapDelete(mapfd, s.Key[:]); err != nil && err != unix.ENOENT {
				return fmt.Errorf("cannot delete %s: %w", devcgroup.DeviceOfKey(s.Key), err)
			}
		}
		return nil
	})
}

// deviceMapKeys lists the keys of the device map mapfd. It only reads,
// through the descriptor, and needs no privilege (not an action); it is
// here with the other bpf(2) calls.
func deviceMapKeys(mapfd int) ([][devcgroup.KeySize]byte, error) {
	var keys [][devcgroup.KeySize]byte
	var key, next [devcgroup.KeySize]byte
	for first := true; ; first = false {
		if len(keys) > devcgroup.MaxEntries {
			return nil, fmt.Errorf("more than %d entries", devcgroup.MaxEntries)
		}
		var err error
		if first {
			err = bpfMapNextKey(mapfd, nil, next[:])
		} else {
			err = bpfMapNextKey(mapfd, key[:], next[:])
		}
		if err == unix.ENOENT {
			return keys, nil
		} else if err != nil {
			return nil, err
		}
		keys = append(keys, next)
		key = next
	}
}

// loadDeviceProgram loads the device program (devcgroup.DeviceProgram)
// reading mapfd. Safe: the program is fixed, only denies, and does nothing
// until attached.
func (l *launcher) loadDeviceProgram(mapfd int, objName string) (int, error) {
	insns := devcgroup.DeviceProgram(mapfd)
	return l.privilegedFD(policy.OpDeviceProgLoad, "load the device cgroup program", func() (int, error) {
		return bpfProgLoad(unix.BPF_PROG_TYPE_CGROUP_DEVICE, insns, objName)
	})
}

// setMemlock sets the process's RLIMIT_MEMLOCK to lim, which kernels
// before 5.11 charge the device map and program to: raised to snap-confine's
// 512 KiB when such a kernel refused them, and set back to the caller's
// limit right after (devcgroup.go), before anything of the caller's runs.
// Raising the hard limit needs CAP_SYS_RESOURCE. Safe: the limit is the
// launcher's own, for the length of two bpf(2) calls; the app gets the
// caller's back.
func (l *launcher) setMemlock(lim unix.Rlimit) error {
	return l.privileged(policy.OpRaiseMemlock, "raise RLIMIT_MEMLOCK", func() error { return unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &lim, nil) })
}

// lowerMemlock gives the process's RLIMIT_MEMLOCK back the caller's old
// limit after setMemlock raised it; it needs no capability (no limit goes
// up). Safe: the limit is the launcher's own, and old is what it was.
func lowerMemlock(old unix.Rlimit) error { return unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &old, nil) }

// attachDeviceProgram attaches prog to the cgroup cgfd, replacing the
// device program a previous launch attached there. Safe: cgfd is the
// launcher's own cgroup, checked to be cgroup2 and this app's own snap
// cgroup (snap.<tag>-<id>.scope or snap.<tag>.service), so only this app's
// processes lose device access; the program only denies.
func (l *launcher) attachDeviceProgram(cgfd, prog int, display string) error {
	return l.privileged(policy.OpDeviceProgAttach, "attach the device cgroup program to "+display, func() error {
		return bpfProgAttach(cgfd, prog, unix.BPF_CGROUP_DEVICE)
	})
}

// mountBPFFS mounts a new, empty bpffs on /sys/fs/bpf (dirfd) in pid 1's
// namespace, where systemd normally has mounted one, as snap-confine 2.77
// does on hosts whose userland did not (bpf_mount_bpffs): nosuid, nodev,
// noexec, mode 0700, default propagation; owned by root:root whatever the
// launcher's filesystem ids (Linux 6.9 gives a new bpffs the mounter's,
// older kernels ignore the options and give root's). Safe: dirfd was opened without
// following symlinks and checked to be sysfs's own directory, root's and
// writable by nobody else, with nothing mounted on it; the new instance is
// empty and only root can use it.
func (l *launcher) mountBPFFS(dirfd int) error {
	return l.privileged(policy.OpMountBPFFS, "mount bpffs on "+devcgroup.BPFFS, func() error {
		return unix.Mount("bpf", fdPath(dirfd), "bpf", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,uid=0,gid=0")
	})
}

// The cgroup v1 devices controller (devcgroup.go), in pid 1's mount
// namespace, under the per-snap lock, as snap-confine 2.77 sets it up on a
// legacy or hybrid host: the group /sys/fs/cgroup/devices/<security tag>,
// root's 0700, changed to allow the app's list (new rules first, then the
// others denied; a new group denies every device first), and the launcher
// moved into it (the app inherits it across the exec).

// v1Resolve keeps every open of the devices group below the verified
// hierarchy: no symlink, no magic link, no other mount.
const v1Resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// createDeviceGroup creates the group name in the devices hierarchy
// (devices), opens it, and gives it and each of its files
// (devcgroup.V1GroupFiles) to root:root, with mode 0700 and the files' own
// modes; EEXIST if anything is there. cgroupfs cannot rename a group to
// another parent, so it cannot be staged as a directory is: made by the
// file-capability install it is the caller's until fchown. Safe: devices
// was opened without following symlinks and checked to be cgroupfs, root's
// and writable by nobody else; name is a validated security tag (one
// component); a new group is a copy of its parent's device rules, so it
// allows nothing its parent does not, and while it is the caller's they
// can neither change its rules (devices.allow and devices.deny take a rule
// only from CAP_SYS_ADMIN) nor keep its mode or its files' modes, which
// are set here; a group they make inside it, or their own processes moved
// in, only narrow their own devices; the open stays below devices on the
// same mount and the caller checks what it got.
func (l *launcher) createDeviceGroup(devices int, name, display string) (int, error) {
	how := &unix.OpenHow{Flags: dirFlags, Resolve: v1Resolve}
	return l.privilegedFD(policy.OpDeviceGroupCreate, "create "+display, func() (int, error) {
		if err := unix.Mkdirat(devices, name, 0o700); err != nil {
			return -1, err
		}
		fd, err := resolve.Openat2(devices, name, how, l.procfd)
		if err != nil {
			return -1, err
		}
		for _, f := range devcgroup.V1GroupFiles {
			if err == nil {
				err = unix.Fchownat(fd, f.Name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
			}
			if err == nil {
				err = unix.Fchmodat(fd, f.Name, f.Mode, 0)
			}
		}
		if err == nil {
			err = unix.Fchown(fd, 0, 0)
		}
		if err == nil {
			err = unix.Fchmod(fd, 0o700)
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		if createHook != nil {
			createHook()
		}
		return fd, nil
	})
}

// openDeviceGroup opens the existing group name in the devices hierarchy.
// Safe: it only opens, below the checked hierarchy, on the same mount,
// without following symlinks; the caller checks it is root's.
func (l *launcher) openDeviceGroup(devices int, name, display string) (int, error) {
	how := &unix.OpenHow{Flags: dirFlags, Resolve: v1Resolve}
	return l.privilegedFD(policy.OpDeviceGroupOpen, "open "+display, func() (int, error) {
		fd, err := resolve.Openat2(devices, name, how, l.procfd)
		return fd, whyNot(devices, name, err)
	})
}

// openDeviceGroupFiles opens files (devices.deny, devices.allow and
// cgroup.procs for writing, devices.list for reading) of the group. Safe:
// it only opens, below the checked group, on the same mount, without
// following symlinks; the caller checks each is root's cgroupfs file
// before using it.
func (l *launcher) openDeviceGroupFiles(group int, files []groupFile, display string) ([]int, error) {
	var fds []int
	err := l.privileged(policy.OpDeviceGroupOpen, "open the files of "+display, func() error {
		for _, f := range files {
			how := &unix.OpenHow{Flags: uint64(f.flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Resolve: v1Resolve}
			fd, err := resolve.Openat2(group, f.name, how, l.procfd)
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, whyNot(group, f.name, err))
			}
			fds = append(fds, fd)
		}
		return nil
	})
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	return fds, nil
}

// groupFile is a file of a v1 devices group and how it is opened.
type groupFile struct {
	name  string
	flags int
}

// writeDeviceRules makes the writes of devcgroup.V1Writes, in order, to
// the group's devices.deny (deny) and devices.allow (allow): a group that
// allows a list already gets the new rules first, then loses only what it
// allowed beyond them, so that a device allowed before and after is never
// denied to the app's running processes, whoever started them; a new group
// (it allows every device, and nothing runs in it) denies every device
// first. Safe: both were checked to be root's cgroupfs files of this app's
// own group, below the verified devices hierarchy; a group's rules only
// narrow its parent's, and only the app's group (which holds the app's
// processes alone) changes.
func (l *launcher) writeDeviceRules(deny, allow int, writes []devcgroup.V1Write, display string) error {
	return l.privileged(policy.OpDeviceGroupReset, "set the device rules of "+display, func() error {
		for _, w := range writes {
			fd, what := allow, "allow"
			if w.Deny {
				fd, what = deny, "deny"
			}
			if err := writeAll(fd, w.Line); err != nil {
				if w.Line == devcgroup.V1DenyAll {
					return fmt.Errorf("cannot deny every device: %w", err)
				}
				return fmt.Errorf("cannot %s %s: %w", what, strings.TrimSpace(w.Line), err)
			}
		}
		return nil
	})
}

// attachDeviceGroup moves the launcher's process (every thread) into the
// group (procs, its cgroup.procs); the app inherits it across the exec.
// Safe: procs was checked to be the root-owned cgroup.procs of this app's
// own devices group; only the launcher itself moves.
func (l *launcher) attachDeviceGroup(procs int, display string) error {
	return l.privileged(policy.OpDeviceGroupAttach, "move the launcher into "+display, func() error {
		return writeAll(procs, strconv.Itoa(unix.Getpid())+"\n")
	})
}

// The host's NVIDIA driver (nvidia.go), on the throwaway thread, in its
// new namespace before pivot_root, below /var/lib/snapd/lib in the new
// root: the host's own directory there, as the new root's /var/lib/snapd
// is a slave bind of the host's, so nothing mounted on it reaches the host.

// mountGPUTmpfs mounts a new tmpfs, root's 0755, nodev, noexec and
// nosuid, on the directory dirfd (gl, gl32, vulkan, glvnd or system/gpu of
// /var/lib/snapd/lib), as snap-confine does. Safe: new namespace only;
// dirfd was opened there without following symlinks and checked to be a
// root-owned directory; the tmpfs is new and empty and only hides the
// host's directory from the snap.
func (l *launcher) mountGPUTmpfs(dirfd int, display string) error {
	return l.privileged(policy.OpGPUTmpfs, "mount a tmpfs on "+display, func() error {
		return unix.Mount("tmpfs", fdPath(dirfd), "tmpfs", unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOSUID, "mode=0755,uid=0,gid=0")
	})
}

// remountGPUReadOnly makes the tmpfs whose root is dirfd (checked to be
// the one mountGPUTmpfs just mounted) read-only, keeping nodev, noexec and
// nosuid. Safe: new namespace only; it only takes away.
func (l *launcher) remountGPUReadOnly(dirfd int, display string) error {
	return l.privileged(policy.OpGPUReadOnly, "make "+display+" read-only", func() error {
		return unix.Mount("none", fdPath(dirfd), "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_NOSUID, "")
	})
}

// writeGPUFile creates name, a new file of mode 0644 holding data, in the
// directory dirfd of a tmpfs mountGPUTmpfs mounted, and gives it to
// root:root: the copy of a snap's GPU vendor file, as snap-confine copies
// them. Safe: the tmpfs is mounted in this thread's new namespace alone,
// below the new root in root-only /tmp/snap-private-tmp, so no one else
// can reach the file before it is root's; O_CREAT|O_EXCL|O_NOFOLLOW makes
// a new file; name is one component listed in root's /etc/glvnd/egl_vendor.d
// or /etc/vulkan/icd.d; data was read without privilege from a file anyone
// may read.
func (l *launcher) writeGPUFile(dirfd int, name string, data []byte, display string) error {
	return l.privileged(policy.OpGPUFile, "create "+display, func() error {
		fd, err := unix.Openat(dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if len(data) > 0 {
			if err := writeAll(fd, string(data)); err != nil {
				return err
			}
		}
		return unix.Fchown(fd, 0, 0)
	})
}

// writeAll writes s with one write(2), as cgroupfs takes one value per
// write.
func writeAll(fd int, s string) error {
	n, err := unix.Write(fd, []byte(s))
	if err == nil && n != len(s) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(s))
	}
	return err
}

// bpf(2), thin wrappers. bpf_attr is laid out by hand (linux/bpf.h); the
// buffer is larger than every command's part of it and zeroed.

type bpfAttr [128]byte

func (a *bpfAttr) u32(off int, v uint32)         { binary.NativeEndian.PutUint32(a[off:], v) }
func (a *bpfAttr) u64(off int, v uint64)         { binary.NativeEndian.PutUint64(a[off:], v) }
func (a *bpfAttr) ptr(off int, p unsafe.Pointer) { a.u64(off, uint64(uintptr(p))) }

func bpfSys(cmd int, a *bpfAttr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(a)), unsafe.Sizeof(*a))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func bpfMapCreate(typ, keySize, valueSize, maxEntries uint32, name string) (int, error) {
	var a bpfAttr
	a.u32(0, typ)
	a.u32(4, keySize)
	a.u32(8, valueSize)
	a.u32(12, maxEntries)
	copy(a[28:28+15], name)
	return bpfSys(unix.BPF_MAP_CREATE, &a)
}

// bpfPinner pins the object fd as name in the directory dirfd;
// bpfGetter gets the object pinned at the file entry (an O_PATH
// descriptor), through procfd (the verified /proc). Which pair a launch
// uses is decided once (haveBPFPathFD); both reach exactly the
// descriptor's file through its /proc/self/fd magic link.
type (
	bpfPinner func(fd, dirfd int, name string) error
	bpfGetter func(procfd, entry int) (int, error)
)

// bpfObjPinAt pins fd as name in the directory dirfd (BPF_F_PATH_FD,
// Linux 6.5).
func bpfObjPinAt(fd, dirfd int, name string) error {
	return bpfObjPin(fd, name, dirfd)
}

// bpfObjPinPath pins fd as name in the directory dirfd before Linux 6.5:
// by the path /proc/self/fd/<dirfd>/<name>, whose magic link the kernel
// follows to exactly the directory dirfd, then creates name there. /proc
// is the one the launcher verified in pid 1's namespace, where this runs
// and where only root can mount.
func bpfObjPinPath(fd, dirfd int, name string) error {
	return bpfObjPin(fd, "/proc/self/fd/"+strconv.Itoa(dirfd)+"/"+name, -1)
}

// bpfObjPin is BPF_OBJ_PIN of fd at path, relative to dirfd with
// BPF_F_PATH_FD unless dirfd is -1.
func bpfObjPin(fd int, path string, dirfd int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	var a bpfAttr
	a.ptr(0, unsafe.Pointer(p))
	a.u32(8, uint32(fd))
	if dirfd >= 0 {
		a.u32(12, unix.BPF_F_PATH_FD)
		a.u32(16, uint32(dirfd))
	}
	_, err = bpfSys(unix.BPF_OBJ_PIN, &a)
	runtime.KeepAlive(p)
	return err
}

// bpfObjGetAt gets the object pinned at entry, read-write, close-on-exec,
// by self/fd/<entry> below procfd (BPF_F_PATH_FD, Linux 6.5).
func bpfObjGetAt(procfd, entry int) (int, error) {
	return bpfObjGet("self/fd/"+strconv.Itoa(entry), procfd)
}

// bpfObjGetPath gets the object pinned at entry before Linux 6.5, by the
// path /proc/self/fd/<entry>, as bpfObjPinPath pins.
func bpfObjGetPath(_, entry int) (int, error) {
	return bpfObjGet("/proc/self/fd/"+strconv.Itoa(entry), -1)
}

// bpfObjGet is BPF_OBJ_GET of path, relative to dirfd with BPF_F_PATH_FD
// unless dirfd is -1.
func bpfObjGet(path string, dirfd int) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	var a bpfAttr
	a.ptr(0, unsafe.Pointer(p))
	if dirfd >= 0 {
		a.u32(12, unix.BPF_F_PATH_FD)
		a.u32(16, uint32(dirfd))
	}
	fd, err := bpfSys(unix.BPF_OBJ_GET, &a)
	runtime.KeepAlive(p)
	return fd, err
}

// bpfMapInfo returns a map's type, key size and value size.
func bpfMapInfo(fd int) (typ, keySize, valueSize uint32, err error) {
	var info [80]byte
	var a bpfAttr
	a.u32(0, uint32(fd))
	a.u32(4, uint32(len(info)))
	a.ptr(8, unsafe.Pointer(&info[0]))
	_, err = bpfSys(unix.BPF_OBJ_GET_INFO_BY_FD, &a)
	runtime.KeepAlive(&info)
	n := binary.NativeEndian
	return n.Uint32(info[0:]), n.Uint32(info[8:]), n.Uint32(info[12:]), err
}

func bpfMapElem(cmd int, fd int, key, value []byte, flags uint64) error {
	var a bpfAttr
	a.u32(0, uint32(fd))
	if key != nil {
		a.ptr(8, unsafe.Pointer(&key[0]))
	}
	if value != nil {
		a.ptr(16, unsafe.Pointer(&value[0]))
	}
	a.u64(24, flags)
	_, err := bpfSys(cmd, &a)
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return err
}

func bpfMapNextKey(fd int, key, next []byte) error {
	return bpfMapElem(unix.BPF_MAP_GET_NEXT_KEY, fd, key, next, 0)
}
func bpfMapDelete(fd int, key []byte) error {
	return bpfMapElem(unix.BPF_MAP_DELETE_ELEM, fd, key, nil, 0)
}
func bpfMapUpdate(fd int, key, value []byte) error {
	return bpfMapElem(unix.BPF_MAP_UPDATE_ELEM, fd, key, value, unix.BPF_ANY)
}

// bpfProgLoad loads a program with the GPL licence (the helpers it calls
// need none, but snapd's says GPL too).
func bpfProgLoad(typ uint32, insns []byte, name string) (int, error) {
	license := []byte("GPL\x00")
	var a bpfAttr
	a.u32(0, typ)
	a.u32(4, uint32(len(insns)/8))
	a.ptr(8, unsafe.Pointer(&insns[0]))
	a.ptr(16, unsafe.Pointer(&license[0]))
	copy(a[48:48+15], name)
	fd, err := bpfSys(unix.BPF_PROG_LOAD, &a)
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	return fd, err
}

// bpfProgAttach attaches prog to the cgroup cgfd with no flags: the one
// program of its type there, replacing any attached the same way.
func bpfProgAttach(cgfd, prog int, typ uint32) error {
	var a bpfAttr
	a.u32(0, uint32(cgfd))
	a.u32(4, uint32(prog))
	a.u32(8, typ)
	_, err := bpfSys(unix.BPF_PROG_ATTACH, &a)
	return err
}
