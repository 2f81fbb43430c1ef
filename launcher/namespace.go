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
	"github.com/snapns/snapns/shared/trusted"
)

// host is pid 1's mount namespace as the launcher finds it once its main
// thread is there (enterHost), read once: everything the launcher looks at
// from then on is the host's, not a view the caller arranged.
type host struct {
	ns      *desc.FD // pid 1's mount namespace: new namespaces are made from it and captured in it
	proc    *desc.FD // /proc, verified to be procfs, seen from there
	snapDir string   // where the host mounts snaps (gather.SnapMountDir)
	owner   nsOwner  // the user namespace that owns ns
}

// enterHost moves the main thread into pid 1's mount namespace when it is
// elsewhere (a launch from inside a snap), and reads the session's host
// there.
func (s *session) enterHost() error {
	proc, err := trusted.Proc()
	if err != nil {
		return err
	}
	pid1, err := s.priv.OpenHostNS(proc)
	if err != nil {
		proc.Close()
		return err
	}
	h := host{ns: pid1, proc: proc}
	err = func() error {
		if err := trusted.CheckNS(pid1); err != nil {
			return err
		}
		self, err := trusted.NS(proc, "thread-self/ns/mnt", "the current mount namespace")
		if err != nil {
			return err
		}
		defer self.Close()
		same, err := sameFile(pid1, self)
		if err != nil {
			return fmt.Errorf("cannot compare mount namespaces: %w", err)
		}
		if same {
			s.debugf("already in pid 1's mount namespace")
		} else {
			s.debugf("moving to pid 1's mount namespace")
			if err := s.priv.JoinHostNS(pid1); err != nil {
				return err
			}
			// /proc is looked up again there: the one seen before
			// may have been the caller's arrangement.
			h.proc.Close()
			if h.proc, err = trusted.Proc(); err != nil {
				return err
			}
		}
		if h.owner, err = ownerOf(pid1); err != nil {
			return fmt.Errorf("cannot get the owner of pid 1's mount namespace: %w", err)
		}
		// Where the host mounts snaps, as snap-confine ≥ 2.66 probes
		// pid 1's /snap.
		h.snapDir, err = gather.SnapMountDir()
		return err
	}()
	if err != nil {
		h.ns.Close()
		h.proc.Close()
		return err
	}
	s.debugf("snaps are mounted in %s", h.snapDir)
	s.host = h
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

// onceAtBoot runs work, a set-up of pid 1's namespace that lasts until
// the next boot, once, under the global lock, recorded by the root-owned
// marker name in the lock directory (a tmpfs). A launch that finds the
// marker (and still(), when given) takes no lock and reads no mount table,
// which snap-confine reads whole on every launch to decide the same.
func (s *session) onceAtBoot(name string, still func() bool, work func() error) error {
	done := func() bool {
		var st unix.Stat_t
		return unix.Fstatat(s.lockdir.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			st.Mode&unix.S_IFMT == unix.S_IFREG && st.Uid == 0 && st.Mode&0o022 == 0 && (still == nil || still())
	}
	if done() {
		return nil
	}
	global, err := s.lock(s.lockdir, layout.GlobalLockName)
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
	marker, err := s.ensureRootFile(s.lockdir, name, unix.O_RDONLY, layout.MarkerFileMode)
	if err != nil {
		return err
	}
	defer marker.Close()
	if err := checkRootOwned(marker, unix.S_IFREG, layout.MarkerFileMode, s.priv.FixOwner); err != nil {
		return err
	}
	s.debugf("set up once for this boot: recorded in %s", marker.Name())
	return nil
}

// ensureSharedSnapMount makes the snap mount directory a shared mount
// point of itself, once per boot, when neither it nor "/" is shared, as
// snap-confine's sc_ensure_shared_snap_mount does: snaps mounted later then
// reach the snaps' namespaces.
func (s *session) ensureSharedSnapMount() error {
	dir := s.host.snapDir
	return s.onceAtBoot(layout.SnapMountSharedName, nil, func() error {
		shared, err := s.sharedMountPoints("/", dir)
		if err != nil || shared[0] || shared[1] {
			return err
		}
		s.debugf("neither / nor %s is shared: making %s a shared mount point", dir, dir)
		return s.makeSharedMountPoint(dir)
	})
}

// ensureVoidDir makes snapd's void directory, where an app starts when the
// caller's directory cannot be entered in its namespace, root's 0111, when
// it is missing, as snap-confine does, once per namespace made.
func (s *session) ensureVoidDir() {
	dir, err := trusted.Path(filepath.Dir(layout.VoidDir))
	if err == nil {
		var st unix.Stat_t
		if unix.Fstatat(dir.Fd(), filepath.Base(layout.VoidDir), &st, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
			var void *desc.FD
			void, err = s.createRootDir(dir, filepath.Base(layout.VoidDir), layout.VoidDirMode)
			void.Close()
		}
		dir.Close()
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		s.debugf("%v", err)
	}
}

// initRunDirs makes sure, under the global lock, that /run/snapd/lock and
// /run/snapd/ns exist as root-owned 0755 directories and that /run/snapd/ns
// is a private mount. It returns descriptors of both directories.
func (s *session) initRunDirs() (nsdir, lockdir *desc.FD, err error) {
	run, err := trusted.Path("/run")
	if err != nil {
		return nil, nil, err
	}
	defer run.Close()
	snapd, err := s.ensureRootDir(run, "snapd", layout.RunSnapdDirMode)
	if err != nil {
		return nil, nil, err
	}
	defer snapd.Close()
	if lockdir, err = s.ensureRootDir(snapd, "lock", layout.LockDirMode); err != nil {
		return nil, nil, err
	}
	if nsdir = s.initialisedNSDir(snapd); nsdir != nil {
		return nsdir, lockdir, nil
	}
	nsdir, err = func() (*desc.FD, error) {
		global, err := s.lock(lockdir, layout.GlobalLockName)
		if err != nil {
			return nil, err
		}
		defer unlock(global)
		nsdir, err := s.ensureRootDir(snapd, "ns", layout.NSDirMode)
		if err != nil {
			return nil, err
		}
		return s.makePrivateMount(snapd, nsdir)
	}()
	if err != nil {
		lockdir.Close()
		return nil, nil, err
	}
	return nsdir, lockdir, nil
}

// initialisedNSDir is initRunDirs's lock-free fast path: when
// /run/snapd/ns is root's 0755 directory and a mount point, making it
// private again is idempotent, so only the first launches after boot take
// the global lock. nil when it is not so.
func (s *session) initialisedNSDir(snapd *desc.FD) *desc.FD {
	nsdir, err := trusted.DirAt(snapd, "ns")
	if err != nil {
		return nil
	}
	if checkRootOwned(nsdir, unix.S_IFDIR, layout.NSDirMode, nil) != nil {
		nsdir.Close()
		return nil
	}
	if mounted, err := s.mountRoot(snapd, nsdir); err != nil || !mounted || s.priv.MakePrivate(nsdir) != nil {
		nsdir.Close()
		return nil
	}
	return nsdir
}

// makePrivateMount makes /run/snapd/ns a private mount, a bind mount of
// itself first unless it is a mount point already (mountRoot). It returns
// the descriptor to use from then on: after a new bind mount the old one
// names the directory under it.
func (s *session) makePrivateMount(snapd, nsdir *desc.FD) (*desc.FD, error) {
	mounted, err := s.mountRoot(snapd, nsdir)
	if err != nil {
		nsdir.Close()
		return nil, fmt.Errorf("cannot tell whether %s is a mount point: %w", layout.NSDir, err)
	}
	if !mounted {
		err := s.priv.BindSelf(nsdir)
		nsdir.Close()
		if err != nil {
			return nil, err
		}
		if nsdir, err = trusted.Path(layout.NSDir); err != nil {
			return nil, err
		}
		if err := checkRootOwned(nsdir, unix.S_IFDIR, layout.NSDirMode, nil); err != nil {
			nsdir.Close()
			return nil, err
		}
	}
	if err := s.priv.MakePrivate(nsdir); err != nil {
		nsdir.Close()
		return nil, err
	}
	return nsdir, nil
}
