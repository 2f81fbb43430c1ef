// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/layout"
)

// onceAtBoot runs work, a set-up of pid 1's namespace that lasts until
// the next boot, once: under the global lock, recorded by the root-owned
// marker name in the lock directory (a tmpfs, emptied at boot). A launch
// that finds the marker (a regular file of root's that nobody else can
// write, in a directory only root writes to) and still(), when given,
// true, takes no lock and reads nothing else: snap-confine reads pid 1's
// whole mount table on every launch to decide the same, and that table
// grows with every preserved namespace and every mount a user makes.
func (l *launcher) onceAtBoot(lockdir int, name string, still func() bool, work func() error) error {
	done := func() bool {
		var st unix.Stat_t
		return unix.Fstatat(lockdir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			st.Mode&unix.S_IFMT == unix.S_IFREG && st.Uid == 0 && st.Mode&0o022 == 0 && (still == nil || still())
	}
	if done() {
		return nil
	}
	global, err := l.lock(lockdir, layout.GlobalLockName, layout.LockDir+"/"+layout.GlobalLockName)
	if err != nil {
		return err
	}
	defer unlock(global)
	if done() {
		return nil
	}
	if err := work(); err != nil {
		return err
	}
	display := layout.LockDir + "/" + name
	fd, err := l.ensureRootFile(lockdir, name, unix.O_RDONLY, layout.MarkerFileMode, display)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := checkRootOwned(fd, unix.S_IFREG, layout.MarkerFileMode, display, l.priv.FixOwner); err != nil {
		return err
	}
	l.debugf("set up once for this boot: recorded in %s", display)
	return nil
}

// ensureSharedSnapMount makes the snap mount directory a shared mount
// point of itself when neither it nor "/" has shared propagation (a host
// whose init does not make "/" shared), as snap-confine's
// sc_ensure_shared_snap_mount does, so that snaps mounted later reach the
// snaps' namespaces. Once per boot.
func (l *launcher) ensureSharedSnapMount(lockdir int) error {
	return l.onceAtBoot(lockdir, layout.SnapMountSharedName, nil, func() error {
		shared, err := l.sharedMountPoints("/", l.snapDir)
		if err != nil || shared[0] || shared[1] {
			return err
		}
		l.debugf("neither / nor %s is shared: making %s a shared mount point", l.snapDir, l.snapDir)
		return l.makeSharedMountPoint(l.snapDir)
	})
}

// ensureVoidDir makes snapd's void directory, where an app starts when the
// caller's working directory cannot be entered in its namespace, root's
// 0111, when it is missing (on systems whose /var/lib/snapd is made on
// demand, as snap-confine does); once per namespace made, the launch's
// cold path. Without it the app starts in "/" instead.
func (l *launcher) ensureVoidDir() {
	dir, err := openDirPath(filepath.Dir(layout.VoidDir))
	if err == nil {
		var st unix.Stat_t
		if unix.Fstatat(dir, filepath.Base(layout.VoidDir), &st, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
			var void int
			if void, err = l.createRootDir(dir, filepath.Base(layout.VoidDir), layout.VoidDirMode, layout.VoidDir); err == nil {
				unix.Close(void)
			}
		}
		unix.Close(dir)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		l.debugf("%v", err)
	}
}

// reassociate moves the main thread into pid 1's mount namespace when it is
// elsewhere (a launch from inside a snap), so that /run/snapd and everything
// else the launcher looks at is the host's, not a view the caller arranged.
// It returns a descriptor of that namespace, which is the one new
// namespaces are made from and captured in.
func (l *launcher) reassociate() (int, error) {
	procfd, err := openProc()
	if err != nil {
		return -1, err
	}
	l.procfd = procfd
	pid1, err := l.priv.OpenHostNS(l.procfd)
	if err != nil {
		return -1, err
	}
	if err := checkNS(pid1, "pid 1's mount namespace"); err != nil {
		return -1, err
	}
	self, err := openNS(procfd, "thread-self/ns/mnt", "the current mount namespace")
	if err != nil {
		unix.Close(pid1)
		return -1, err
	}
	defer unix.Close(self)
	same, err := sameFile(pid1, self)
	if err != nil {
		unix.Close(pid1)
		return -1, fmt.Errorf("cannot compare mount namespaces: %w", err)
	}
	if same {
		l.debugf("already in pid 1's mount namespace")
		return pid1, l.probeSnapDir(pid1)
	}
	l.debugf("moving to pid 1's mount namespace")
	if err := l.priv.JoinHostNS(pid1); err != nil {
		unix.Close(pid1)
		return -1, err
	}
	// /proc is looked up again: the one seen before may have been the
	// caller's arrangement.
	unix.Close(l.procfd)
	if l.procfd, err = openProc(); err != nil {
		unix.Close(pid1)
		return -1, err
	}
	return pid1, l.probeSnapDir(pid1)
}

// probeSnapDir finds, now that the thread is in pid 1's namespace, where
// the host mounts snaps (gather.SnapMountDir), as snap-confine ≥ 2.66
// probes pid 1's /snap. It closes pid1 on failure, as reassociate's
// callers expect of an error.
func (l *launcher) probeSnapDir(pid1 int) error {
	dir, err := gather.SnapMountDir()
	if err != nil {
		unix.Close(pid1)
		return err
	}
	l.snapDir = dir
	l.debugf("snaps are mounted in %s", dir)
	return nil
}

// openProc opens /proc and checks that it is procfs, since the launcher uses
// its magic links for every path-based syscall.
func openProc() (int, error) {
	fd, err := unix.Open("/proc", dirFlags, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open /proc: %w", err)
	}
	if magic, err := fsMagic(fd); err != nil || magic != unix.PROC_SUPER_MAGIC {
		unix.Close(fd)
		return -1, fmt.Errorf("cannot use /proc: not procfs")
	}
	return fd, nil
}

// openNS opens a namespace file below /proc (magic links must be followed
// there) and checks that it is nsfs.
func openNS(procfd int, name, display string) (int, error) {
	fd, err := unix.Openat(procfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open %s: %w", display, err)
	}
	return fd, checkNS(fd, display)
}

// checkNS checks that fd is an nsfs file, and closes it if not.
func checkNS(fd int, display string) error {
	if magic, err := fsMagic(fd); err != nil || magic != unix.NSFS_MAGIC {
		unix.Close(fd)
		return fmt.Errorf("cannot use %s: not an nsfs file", display)
	}
	return nil
}

func sameFile(a, b int) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(a, &sa); err != nil {
		return false, err
	}
	if err := unix.Fstat(b, &sb); err != nil {
		return false, err
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// initRunDirs makes sure, under the global lock, that /run/snapd/lock and
// /run/snapd/ns exist as root-owned 0755 directories and that /run/snapd/ns
// is a private mount. It returns descriptors of both directories.
func (l *launcher) initRunDirs() (nsdir, lockdir int, err error) {
	run, err := openDirPath("/run")
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(run)
	snapd, err := l.ensureRootDir(run, "snapd", layout.RunSnapdDirMode, layout.RunSnapdDir)
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(snapd)
	if lockdir, err = l.ensureRootDir(snapd, "lock", layout.LockDirMode, layout.LockDir); err != nil {
		return -1, -1, err
	}
	if nsdir, ok := l.initialisedNSDir(snapd); ok {
		return nsdir, lockdir, nil
	}
	global, err := l.lock(lockdir, layout.GlobalLockName, layout.LockDir+"/"+layout.GlobalLockName)
	if err != nil {
		unix.Close(lockdir)
		return -1, -1, err
	}
	defer unlock(global)
	if nsdir, err = l.ensureRootDir(snapd, "ns", layout.NSDirMode, layout.NSDir); err != nil {
		unix.Close(lockdir)
		return -1, -1, err
	}
	if nsdir, err = l.makePrivateMount(snapd, nsdir); err != nil {
		unix.Close(lockdir)
		return -1, -1, err
	}
	return nsdir, lockdir, nil
}

// initialisedNSDir is the lock-free fast path of initRunDirs: when
// /run/snapd/ns already is a root-owned 0755 directory and a mount point, the
// only thing left to make sure of is its private propagation, and making a
// mount private is idempotent, so concurrent launches may all do it without
// the global lock. The global lock is then taken only by the first launches
// after boot, and a caller who stops their own launcher while it holds that
// lock cannot stall every other user's launches.
func (l *launcher) initialisedNSDir(snapd int) (int, bool) {
	fd, err := unix.Openat(snapd, "ns", dirFlags, 0)
	if err != nil {
		return -1, false
	}
	if checkRootOwned(fd, unix.S_IFDIR, layout.NSDirMode, layout.NSDir, nil) != nil {
		unix.Close(fd)
		return -1, false
	}
	if mounted, err := l.mountRoot(snapd, fd); err != nil || !mounted {
		unix.Close(fd)
		return -1, false
	}
	if err := l.priv.MakePrivate(fd, layout.NSDir); err != nil {
		unix.Close(fd)
		return -1, false
	}
	return fd, true
}

// makePrivateMount makes /run/snapd/ns a private mount: a bind mount of
// itself first, unless it already is a mount point. Making an already
// private mount private again is a no-op, so this is idempotent and needs no
// parsing of mountinfo: mountRoot tells whether the directory (opened as
// "ns" below snapd) is a mount root. It takes nsdir and returns the
// descriptor to use from then on: after a new bind mount, the old
// descriptor names the directory under it, where a capture would be hidden
// and would propagate.
func (l *launcher) makePrivateMount(snapd, nsdir int) (int, error) {
	mounted, err := l.mountRoot(snapd, nsdir)
	if err != nil {
		unix.Close(nsdir)
		return -1, fmt.Errorf("cannot tell whether %s is a mount point: %w", layout.NSDir, err)
	}
	err = func() error {
		if !mounted {
			if err := l.priv.BindSelf(nsdir, layout.NSDir); err != nil {
				return err
			}
			mounted, err := openDirPath(layout.NSDir)
			if err != nil {
				return err
			}
			unix.Close(nsdir)
			nsdir = mounted
			if err := checkRootOwned(nsdir, unix.S_IFDIR, layout.NSDirMode, layout.NSDir, nil); err != nil {
				return err
			}
		}
		return l.priv.MakePrivate(nsdir, layout.NSDir)
	}()
	if err != nil {
		unix.Close(nsdir)
		return -1, err
	}
	return nsdir, nil
}
