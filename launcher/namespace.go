// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
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
func (l *launcher) onceAtBoot(lockdir *desc.FD, name string, still func() bool, work func() error) error {
	done := func() bool {
		var st unix.Stat_t
		return unix.Fstatat(lockdir.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			st.Mode&unix.S_IFMT == unix.S_IFREG && st.Uid == 0 && st.Mode&0o022 == 0 && (still == nil || still())
	}
	if done() {
		return nil
	}
	global, err := l.lock(lockdir, layout.GlobalLockName)
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
	marker, err := l.ensureRootFile(lockdir, name, unix.O_RDONLY, layout.MarkerFileMode)
	if err != nil {
		return err
	}
	defer marker.Close()
	if err := checkRootOwned(marker, unix.S_IFREG, layout.MarkerFileMode, l.priv.FixOwner); err != nil {
		return err
	}
	l.debugf("set up once for this boot: recorded in %s", marker.Name())
	return nil
}

// ensureSharedSnapMount makes the snap mount directory a shared mount
// point of itself when neither it nor "/" has shared propagation (a host
// whose init does not make "/" shared), as snap-confine's
// sc_ensure_shared_snap_mount does, so that snaps mounted later reach the
// snaps' namespaces. Once per boot.
func (l *launcher) ensureSharedSnapMount(lockdir *desc.FD) error {
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
		if unix.Fstatat(dir.Fd(), filepath.Base(layout.VoidDir), &st, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
			var void *desc.FD
			void, err = l.createRootDir(dir, filepath.Base(layout.VoidDir), layout.VoidDirMode)
			void.Close()
		}
		dir.Close()
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
func (l *launcher) reassociate() (*desc.FD, error) {
	proc, err := openProc()
	if err != nil {
		return nil, err
	}
	l.proc = proc
	pid1, err := l.priv.OpenHostNS(proc)
	if err != nil {
		return nil, err
	}
	if err := checkNS(pid1); err != nil {
		pid1.Close()
		return nil, err
	}
	self, err := openNS(proc, "thread-self/ns/mnt", "the current mount namespace")
	if err != nil {
		pid1.Close()
		return nil, err
	}
	defer self.Close()
	same, err := sameFile(pid1, self)
	if err != nil {
		pid1.Close()
		return nil, fmt.Errorf("cannot compare mount namespaces: %w", err)
	}
	if !same {
		l.debugf("moving to pid 1's mount namespace")
		if err := l.priv.JoinHostNS(pid1); err != nil {
			pid1.Close()
			return nil, err
		}
		// /proc is looked up again: the one seen before may have been
		// the caller's arrangement.
		l.proc.Close()
		if l.proc, err = openProc(); err != nil {
			pid1.Close()
			return nil, err
		}
	} else {
		l.debugf("already in pid 1's mount namespace")
	}
	// Where the host mounts snaps, now that the thread is in pid 1's
	// namespace (gather.SnapMountDir), as snap-confine ≥ 2.66 probes
	// pid 1's /snap.
	if l.snapDir, err = gather.SnapMountDir(); err != nil {
		pid1.Close()
		return nil, err
	}
	l.debugf("snaps are mounted in %s", l.snapDir)
	return pid1, nil
}

// openProc opens /proc and checks that it is procfs, since the launcher uses
// its magic links for every path-based syscall.
func openProc() (*desc.FD, error) {
	fd, err := unix.Open("/proc", dirFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open /proc: %w", err)
	}
	proc := desc.New(fd, "/proc")
	if magic, err := fsMagic(proc); err != nil || magic != unix.PROC_SUPER_MAGIC {
		proc.Close()
		return nil, fmt.Errorf("cannot use /proc: not procfs")
	}
	return proc, nil
}

// openNS opens a namespace file below /proc (magic links must be followed
// there), named display, and checks that it is nsfs.
func openNS(proc *desc.FD, name, display string) (*desc.FD, error) {
	fd, err := unix.Openat(proc.Fd(), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", display, err)
	}
	ns := desc.New(fd, display)
	if err := checkNS(ns); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// checkNS checks that ns is an nsfs file.
func checkNS(ns *desc.FD) error {
	if magic, err := fsMagic(ns); err != nil || magic != unix.NSFS_MAGIC {
		return fmt.Errorf("cannot use %s: not an nsfs file", ns.Name())
	}
	return nil
}

func sameFile(a, b *desc.FD) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(a.Fd(), &sa); err != nil {
		return false, err
	}
	if err := unix.Fstat(b.Fd(), &sb); err != nil {
		return false, err
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// initRunDirs makes sure, under the global lock, that /run/snapd/lock and
// /run/snapd/ns exist as root-owned 0755 directories and that /run/snapd/ns
// is a private mount. It returns descriptors of both directories.
func (l *launcher) initRunDirs() (nsdir, lockdir *desc.FD, err error) {
	run, err := openDirPath("/run")
	if err != nil {
		return nil, nil, err
	}
	defer run.Close()
	snapd, err := l.ensureRootDir(run, "snapd", layout.RunSnapdDirMode)
	if err != nil {
		return nil, nil, err
	}
	defer snapd.Close()
	if lockdir, err = l.ensureRootDir(snapd, "lock", layout.LockDirMode); err != nil {
		return nil, nil, err
	}
	if nsdir = l.initialisedNSDir(snapd); nsdir != nil {
		return nsdir, lockdir, nil
	}
	nsdir, err = func() (*desc.FD, error) {
		global, err := l.lock(lockdir, layout.GlobalLockName)
		if err != nil {
			return nil, err
		}
		defer unlock(global)
		nsdir, err := l.ensureRootDir(snapd, "ns", layout.NSDirMode)
		if err != nil {
			return nil, err
		}
		return l.makePrivateMount(snapd, nsdir)
	}()
	if err != nil {
		lockdir.Close()
		return nil, nil, err
	}
	return nsdir, lockdir, nil
}

// initialisedNSDir is the lock-free fast path of initRunDirs: when
// /run/snapd/ns already is a root-owned 0755 directory and a mount point, the
// only thing left to make sure of is its private propagation, and making a
// mount private is idempotent, so concurrent launches may all do it without
// the global lock. The global lock is then taken only by the first launches
// after boot, and a caller who stops their own launcher while it holds that
// lock cannot stall every other user's launches. nil when it is not so.
func (l *launcher) initialisedNSDir(snapd *desc.FD) *desc.FD {
	fd, err := unix.Openat(snapd.Fd(), "ns", dirFlags, 0)
	if err != nil {
		return nil
	}
	nsdir := desc.New(fd, layout.NSDir)
	if checkRootOwned(nsdir, unix.S_IFDIR, layout.NSDirMode, nil) != nil {
		nsdir.Close()
		return nil
	}
	if mounted, err := l.mountRoot(snapd, nsdir); err != nil || !mounted || l.priv.MakePrivate(nsdir) != nil {
		nsdir.Close()
		return nil
	}
	return nsdir
}

// makePrivateMount makes /run/snapd/ns a private mount: a bind mount of
// itself first, unless it already is a mount point. Making an already
// private mount private again is a no-op, so this is idempotent and needs no
// parsing of mountinfo: mountRoot tells whether the directory (opened as
// "ns" below snapd) is a mount root. It takes nsdir and returns the
// descriptor to use from then on: after a new bind mount, the old
// descriptor names the directory under it, where a capture would be hidden
// and would propagate.
func (l *launcher) makePrivateMount(snapd, nsdir *desc.FD) (*desc.FD, error) {
	mounted, err := l.mountRoot(snapd, nsdir)
	if err != nil {
		nsdir.Close()
		return nil, fmt.Errorf("cannot tell whether %s is a mount point: %w", layout.NSDir, err)
	}
	if !mounted {
		err := l.priv.BindSelf(nsdir)
		nsdir.Close()
		if err != nil {
			return nil, err
		}
		if nsdir, err = openDirPath(layout.NSDir); err != nil {
			return nil, err
		}
		if err := checkRootOwned(nsdir, unix.S_IFDIR, layout.NSDirMode, nil); err != nil {
			nsdir.Close()
			return nil, err
		}
	}
	if err := l.priv.MakePrivate(nsdir); err != nil {
		nsdir.Close()
		return nil, err
	}
	return nsdir, nil
}
