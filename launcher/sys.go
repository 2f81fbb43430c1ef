package launcher

// This file is the launcher's privileged surface: every syscall that needs
// the launcher's elevated privileges and changes something is made by a
// function below, and every such function is called only inside
// l.privileged(op, ...) with the policy.Op that names it. Each function says
// why it cannot hurt the host. Outside this file the launcher only opens,
// inspects and reads (walking paths from "/" without following symlinks,
// namespace files through the verified /proc), locks, and waits.
// Paths passed to mount(2) are /proc/self/fd/N magic links to descriptors
// that were opened and checked without following symlinks, so nothing a user
// can rename or swap is resolved between the check and the use.

import (
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
)

// fdPath names an open descriptor for syscalls that only take paths. The
// magic link resolves to exactly the opened file, whatever happens to the
// name it was opened by.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// sysSetnsMount moves the calling thread into the mount namespace nsfd.
// Safe: nsfd was checked to be an nsfs file (fstatfs) that either came from
// /proc (pid 1's namespace, or one this launcher just created) or is bind
// mounted in the root-owned /run/snapd/ns, where only root can put it; the
// kernel refuses a namespace of another type. Only the calling thread moves
// (it unshared CLONE_FS first), and that thread later drops every privilege
// before it execs.
func sysSetnsMount(nsfd int, what string) error {
	if err := unix.Setns(nsfd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("cannot join %s: %w", what, err)
	}
	return nil
}

// sysUnshareMount gives the calling thread a new mount namespace, a copy of
// the one it is in. Safe: it changes only this thread's view.
func sysUnshareMount() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("cannot unshare the mount namespace: %w", err)
	}
	return nil
}

// sysMakeRslave makes every mount in the calling thread's (new) namespace a
// slave. Safe: it only stops propagation from the new namespace back to the
// host; it is never called in the host's namespace.
func sysMakeRslave() error {
	if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("cannot make / recursively slave: %w", err)
	}
	return nil
}

// sysBindSelf bind mounts the directory dirfd onto itself (so that its
// propagation can be changed independently of its parent mount), recursively
// so that namespaces already captured below it stay visible. Safe: the mount
// shows exactly what was there before, and dirfd was verified to be a
// root-owned directory not writable by others.
func sysBindSelf(dirfd int, display string) error {
	if err := unix.Mount(fdPath(dirfd), fdPath(dirfd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot bind mount %s onto itself: %w", display, err)
	}
	return nil
}

// sysMakePrivate sets private propagation on the mount at dirfd. Safe: it
// only stops mount events from propagating to or from that mount; it is
// idempotent.
func sysMakePrivate(dirfd int, display string) error {
	if err := unix.Mount("none", fdPath(dirfd), "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("cannot make %s private: %w", display, err)
	}
	return nil
}

// sysBindPrivateTmp bind mounts the snap's private tmp directory (srcfd) on
// /tmp (dstfd) in the snap's new namespace. Safe: it runs only in the new
// namespace (after sysMakeRslave), and both descriptors were opened without
// following symlinks and checked to be root-owned directories. The new
// mount is made private by the caller through a fresh descriptor of /tmp:
// dstfd still names the directory underneath.
func sysBindPrivateTmp(srcfd, dstfd int) error {
	if err := unix.Mount(fdPath(srcfd), fdPath(dstfd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cannot bind mount the private /tmp: %w", err)
	}
	return nil
}

// sysCapture bind mounts the nsfs file nsfd onto the regular file targetfd
// inside /run/snapd/ns, preserving the namespace. Safe: nsfd is the
// namespace this launcher just created, targetfd is a root-owned regular file
// opened without following symlinks in the root-owned, private
// /run/snapd/ns, and the mount is made in pid 1's namespace where only root
// can change it.
func sysCapture(nsfd, targetfd int, display string) error {
	if err := unix.Mount(fdPath(nsfd), fdPath(targetfd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cannot preserve the mount namespace at %s: %w", display, err)
	}
	return nil
}

// sysMkdirRoot creates a directory owned by root:root with exactly mode
// (the launcher's umask is 0) unless one is there. Safe: parentfd is a directory opened without
// following symlinks, and the entry is root's from its first instant
// (sysAsRootOwner), so nobody else can ever have used it.
func sysMkdirRoot(parentfd int, name string, mode uint32) error {
	err := sysAsRootOwner(func() error { return unix.Mkdirat(parentfd, name, mode) })
	if err == unix.EEXIST {
		return nil
	}
	return err
}

// sysCreateRootFile opens name in the root-owned directory dirfd, creating
// it root:root with mode when missing. Safe: the file is root's from its
// first instant (sysAsRootOwner); O_NOFOLLOW refuses a symlink, O_NONBLOCK
// keeps a FIFO or device from blocking, O_EXCL tells a new file from an
// existing one, and the caller checks on the descriptor that it is a
// regular file owned by root before using it.
func sysCreateRootFile(dirfd int, name string, flags int, mode uint32) (int, error) {
	const common = unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	fd := -1
	err := sysAsRootOwner(func() (err error) {
		fd, err = unix.Openat(dirfd, name, flags|unix.O_CREAT|unix.O_EXCL|common, mode)
		return err
	})
	if err == unix.EEXIST {
		return unix.Openat(dirfd, name, flags|common, 0)
	}
	return fd, err
}

// sysAsRootOwner runs create, one mkdirat or openat(O_CREAT|O_EXCL) of a
// single name, with the calling thread's filesystem uid and gid 0, so that
// what it creates is root:root from its first instant. With file
// capabilities the launcher's ids are the caller's, and an entry created
// as the caller and handed to root afterwards is the caller's for a
// moment: long enough for them to stop the launcher (SIGSTOP on an inotify
// event), plant entries in it, and leave root's directories theirs. Needs
// CAP_SETUID and CAP_SETGID. Safe: the ids are the calling thread's alone
// and are restored before it returns, with the thread's capabilities as
// they were (the kernel raises the filesystem capabilities of the
// permitted set when fsuid becomes 0, and drops them all when it goes
// back). In the setuid install fsuid is 0 already and nothing changes.
func sysAsRootOwner(create func() error) error {
	fsuid, _ := unix.SetfsuidRetUid(-1)
	if fsuid == 0 {
		err := create()
		if err == nil && createHook != nil {
			createHook()
		}
		return err
	}
	fsgid, _ := unix.SetfsgidRetGid(-1)
	eff, prm, inh, err := getCaps()
	if err != nil {
		return fmt.Errorf("cannot get capabilities: %w", err)
	}
	unix.SetfsgidRetGid(0)
	unix.SetfsuidRetUid(0)
	err = setThreadCaps(eff, prm, inh)
	if u, _ := unix.SetfsuidRetUid(-1); u != 0 && err == nil {
		err = fmt.Errorf("cannot create as root: the filesystem uid stays %d", u)
	}
	if g, _ := unix.SetfsgidRetGid(-1); g != 0 && err == nil {
		err = fmt.Errorf("cannot create as root: the filesystem gid stays %d", g)
	}
	if err == nil {
		err = create()
	}
	if err == nil && createHook != nil {
		createHook()
	}
	unix.SetfsuidRetUid(fsuid)
	unix.SetfsgidRetGid(fsgid)
	if rerr := setThreadCaps(eff, prm, inh); rerr != nil && err == nil {
		err = rerr
	}
	if u, _ := unix.SetfsuidRetUid(-1); u != fsuid {
		// The thread would go on creating as root: never use it again.
		panic(fmt.Sprintf("cannot restore the filesystem uid %d (it is %d)", fsuid, u))
	}
	return err
}

// sysFixOwnerMode hands a root-owned file or directory whose group or mode
// differ from the contract back to root:root with mode. Safe: fd refers to
// an entry that is already owned by uid 0; the group and mode are the
// contract's.
func sysFixOwnerMode(fd int, mode uint32) error {
	if err := unix.Fchown(fd, 0, 0); err != nil {
		return err
	}
	return unix.Fchmod(fd, mode)
}

// sysRenameat replaces the entry newname with oldname inside the same
// root-owned directory. Safe: both are plain names (no '/') derived from a
// validated instance name; renameat never follows a symlink at newname.
func sysRenameat(dirfd int, oldname, newname string) error {
	return unix.Renameat(dirfd, oldname, dirfd, newname)
}

// sysForkExecHelper starts a root helper (snap-update-ns) from the calling
// thread, so that it inherits that thread's new namespace, by descriptor.
// Safe: the binary was checked on helperfd to be a root-owned regular file
// not writable by others; its argv and environment are the launcher's own;
// it gets stdin, stdout and stderr from the launcher (never the caller's),
// runs fully as root in a session of its own (so the caller's terminal
// cannot signal it), inherits no other descriptor (the caller's are hidden
// by withInheritedFDsClosedOnExec), and is killed if the launching thread
// dies, so a killed launcher leaves no helper behind.
//
// With asCaller set (snap-update-ns --user-mounts, as snap-confine runs it)
// the helper runs with the caller's uid, gid and groups instead of root's,
// and only the ambient capabilities policy.UserHelperCaps: it mounts in the
// caller's per-user namespace, and the caller, lacking those capabilities,
// can neither ptrace it nor read its memory.
func sysForkExecHelper(helperfd int, argv, env []string, stdin, out int, asCaller *syscall.Credential) (int, error) {
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
	return syscall.ForkExec(fdPath(helperfd), argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{uintptr(stdin), uintptr(out), uintptr(out)},
		Sys:   sys,
	})
}

// sysDropToCaller sets the real, effective and saved group and user ids of
// every thread to the caller's real ones. Safe: it only gives privilege up.
// The stdlib calls are used on purpose: with cgo off they apply to every
// thread of the process (AllThreadsSyscall), while x/sys/unix's act on the
// calling thread only and would leave other threads privileged. Groups go
// before the user id, since changing groups needs the privilege that
// dropping the user id takes away.
func sysDropToCaller(uid, gid int) error {
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("cannot drop to the caller's group %d: %w", gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("cannot drop to the caller's user %d: %w", uid, err)
	}
	return nil
}

// sysUnlinkRootFile removes name from the root-owned directory dirfd. Safe:
// name is a single component derived from a validated instance name, and
// unlinkat never follows a symlink.
func sysUnlinkRootFile(dirfd int, name string) error {
	if err := unix.Unlinkat(dirfd, name, 0); err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}

// sysCloneTree makes a detached copy of the mount tree at dirfd/path
// (recursively when asked), the new mount API's bind source. Safe: a
// detached copy is visible to no one until sysAttachTree places it; path is
// empty (the descriptor itself) or a fixed single name.
func sysCloneTree(dirfd int, path string, recursive bool) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_SYMLINK_NOFOLLOW)
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return unix.OpenTree(dirfd, path, flags)
}

// sysSetTreeAttrs sets the propagation (and read-only, when asked) of every
// mount of a detached tree made by sysCloneTree. Safe: it changes only the
// copy, before it is attached.
func sysSetTreeAttrs(treefd int, propagation uintptr, readonly bool) error {
	attr := unix.MountAttr{Propagation: uint64(propagation)}
	if readonly {
		attr.Attr_set = unix.MOUNT_ATTR_RDONLY
	}
	return unix.MountSetattr(treefd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
}

// sysAttachTree attaches a detached tree on the directory or file targetfd.
// Safe: it is only ever called on the thread building a new namespace,
// before pivot_root, with targets resolved inside the new root
// (RESOLVE_IN_ROOT, so no symlink of the base escapes it) or the scratch
// directory in root-only /tmp/snap-private-tmp.
func sysAttachTree(treefd, targetfd int) error {
	return unix.MoveMount(treefd, "", targetfd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// sysPivotRoot makes rootfd the root of the calling thread's (new)
// namespace, with the old root kept at HostfsDir inside it. Safe: it only
// runs in the new namespace, whose only task is the calling thread.
func sysPivotRoot(rootfd int, putOld string) error {
	if err := unix.Fchdir(rootfd); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", putOld); err != nil {
		return err
	}
	return unix.Chdir("/")
}

// sysDetach lazily unmounts the mount at path without following a final
// symlink. Safe: it is called on fixed paths below HostfsDir in a new
// namespace (the host's own tree, as seen after pivot_root), and on a
// discarded namespace's file in the root-only /run/snapd/ns after its nsfs
// magic was checked on an opened descriptor.
func sysDetach(path string) error {
	return unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
}

// sysMountDevpts mounts a new devpts instance on ptsfd (the snap's
// /dev/pts) and binds its ptmx over ptmxfd (/dev/ptmx). Safe: new namespace
// only; a new instance shares no terminals with the host's.
func sysMountDevpts(ptsfd, ptmxfd int, options string) error {
	if err := unix.Mount("devpts", fdPath(ptsfd), "devpts", 0, options); err != nil {
		return fmt.Errorf("cannot mount devpts: %w", err)
	}
	newptmx, err := unix.Open("/dev/pts/ptmx", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open the new /dev/pts/ptmx: %w", err)
	}
	defer unix.Close(newptmx)
	if err := unix.Mount(fdPath(newptmx), fdPath(ptmxfd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cannot bind mount /dev/pts/ptmx on /dev/ptmx: %w", err)
	}
	return nil
}

// sysKeepCaps sets or clears PR_SET_KEEPCAPS on every thread: a setuid
// launcher keeps its permitted set across the drop of its uid only long
// enough to load the app's seccomp profile (the drop clears the flag again
// right after). Safe: it keeps nothing effective, and the last step of the
// handover empties the permitted set before the exec.
func sysKeepCaps(on bool) error {
	v := uintptr(0)
	if on {
		v = 1
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, v, 0); e != 0 {
		return e
	}
	return nil
}

// The parallel-instances feature (parallel.go).

// sysMakeRshared sets shared propagation, recursively, on the mount at
// dirfd, which sysBindSelf just made of /snap or /var/snap in pid 1's
// namespace. Safe: the mount shows exactly what the directory showed
// before, and shared propagation is what the host's "/" has on a systemd
// host; it is snap-confine's sc_ensure_snap_dir_shared_mounts.
func sysMakeRshared(dirfd int, display string) error {
	if err := unix.Mount("none", fdPath(dirfd), "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("cannot make %s recursively shared: %w", display, err)
	}
	return nil
}

// sysMakeRslaveAt makes the mount at dirfd, and every mount below it,
// a slave. Safe: it is only called in a classic snap's new namespace
// (after sysUnshareMount, on the thread that execs the app), where it stops
// the instance's binds from propagating back to the host's /snap and
// /var/snap, whose peers the copies are.
func sysMakeRslaveAt(dirfd int, display string) error {
	if err := unix.Mount("none", fdPath(dirfd), "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("cannot make %s recursively slave: %w", display, err)
	}
	return nil
}

// sysBindInstanceDir recursively bind mounts an instance's directory
// (srcfd, /snap/<snap>_<key> or /var/snap/<snap>_<key>) on the snap's
// (dstfd, /snap/<snap> or /var/snap/<snap>). Safe: it is only called in a
// classic snap's new namespace after sysMakeRslaveAt made the parent slave,
// so the host never sees it; both descriptors were opened in that namespace
// without following symlinks and checked to be root-owned directories not
// writable by others, named from a validated instance name; the app then
// sees root's files of an installed instance, which are readable anyway.
func sysBindInstanceDir(srcfd, dstfd int, display string) error {
	if err := unix.Mount(fdPath(srcfd), fdPath(dstfd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot bind mount %s: %w", display, err)
	}
	return nil
}
