// SPDX-License-Identifier: GPL-3.0-only

package launcher

// Parallel instances of classic snaps, as snapd 2.77's snap-confine does
// them when snapd's experimental parallel-instances feature is on: a
// parallel instance "name_key" is installed in /snap/name_key and
// /var/snap/name_key while $SNAP and $SNAP_DATA name /snap/name and
// /var/snap/name. A confined snap's namespace maps one onto the other
// (snap-update-ns); a classic snap has none, so the launcher gives every
// classic app a namespace of its own: /snap and /var/snap shared mount
// points of themselves in pid 1's namespace (once per boot), then, in the
// app's new namespace, made recursively slave, and for an instance its
// directories bound on the snap's name.
//
// The threat: the caller names the instance. Every path is built from the
// validated name, every directory opened from "/" without following
// symlinks and checked to be root's and writable by nobody else, and the
// instance's four directories are checked before anything is mounted
// anywhere, so a symlink, a user's directory or a missing target is
// refused with one line and leaves the host as it was.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/trusted"
)

// snapDirs are the directories an instance is mapped in, in snap-confine's
// order: the host's snap mount directory, and /var/snap.
func (s *session) snapDirs() []string { return []string{s.host.snapDir, layout.SnapDataDir} }

// classicNamespace is the namespace work of a classic launch, as the plan
// says: none unless the parallel-instances feature is on (see the top of
// this file). It leaves the main thread in the app's new namespace.
func (s *session) classicNamespace(c planner.ClassicStep) error {
	if !c.NewNamespace {
		return nil
	}
	inst := s.launch.Instance
	own, mapped, isInstance := c.Own, c.Mapped, c.Own != ""
	// As for a confined snap: this thread needs an fs_struct of its own
	// to setns and unshare, and works from pid 1's namespace.
	if err := privop.UnshareFS(); err != nil {
		return err
	}
	if err := s.enterHost(); err != nil {
		return err
	}
	if isInstance {
		// Refused here, before anything is mounted.
		for _, parent := range s.snapDirs() {
			src, dst, err := s.openInstanceDirs(parent, own, mapped)
			if err != nil {
				return err
			}
			src.Close()
			dst.Close()
		}
	}
	var err error
	if s.nsdir, s.lockdir, err = s.initRunDirs(); err != nil {
		return err
	}
	if err := s.ensureSharedSnapMount(); err != nil {
		return err
	}
	if err := s.ensureSnapDirMounts(); err != nil {
		return err
	}
	if err := s.priv.ClassicUnshare(); err != nil {
		return err
	}
	s.debugf("classic snap %s: a new mount namespace for this launch (parallel-instances feature)", inst)
	if isInstance {
		if err := s.mapInstanceDirs(own, mapped); err != nil {
			return err
		}
	}
	// The caller's directory is looked up again by path, in the new
	// namespace, as snap-confine does (exec.go restoreCwd): the descriptor
	// names it in pid 1's namespace, where /snap/<snap> is not mapped.
	s.cwdByPath = true
	return nil
}

// openInstanceDirs opens parent/own (the instance's directory) and
// parent/mapped (the snap's, which it is bound on), checked to be root's
// directories closed to others, as snapd makes them.
func (s *session) openInstanceDirs(parent, own, mapped string) (src, dst *desc.FD, err error) {
	what := fmt.Sprintf("cannot map snap instance %s onto %s", own, mapped)
	pdir, err := trusted.Path(parent)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	defer pdir.Close()
	if err := checkRootDir(pdir); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if src, err = trusted.RootDirAt(pdir, own); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if dst, err = trusted.RootDirAt(pdir, mapped); err != nil {
		src.Close()
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	return src, dst, nil
}

// checkRootDir checks, on the descriptor, that d is a directory owned by
// root and not writable by group or others.
func checkRootDir(d *desc.FD) error {
	if err := trusted.RootOnly(d, unix.S_IFDIR); err != nil {
		return fmt.Errorf("%s is %w", d.Name(), err)
	}
	return nil
}

// ensureSnapDirMounts makes /snap and /var/snap shared mount points of
// themselves in pid 1's namespace (snap-confine's
// sc_ensure_snap_dir_shared_mounts), once per boot, so that a classic app's
// namespace can make them slave and mount over the snap's name while the
// host's new snap mounts still reach it; a launch that finds it done
// checks that both are still mount points.
func (s *session) ensureSnapDirMounts() error {
	stillMounted := func() bool {
		for _, dir := range s.snapDirs() {
			if mounted, err := s.isMountPoint(dir); err != nil || !mounted {
				s.debugf("%s is not a mount point any more: setting it up again", dir)
				return false
			}
		}
		return true
	}
	return s.onceAtBoot(layout.SnapDirsSharedName, stillMounted, func() error {
		shared, err := s.sharedMountPoints(s.snapDirs()...)
		if err != nil {
			return err
		}
		for i, dir := range s.snapDirs() {
			if !shared[i] {
				if err := s.makeSharedMountPoint(dir); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// makeSharedMountPoint binds dir on itself and makes the new mount
// recursively shared.
func (s *session) makeSharedMountPoint(path string) error {
	dir, err := trusted.Path(path)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := checkRootDir(dir); err != nil {
		return fmt.Errorf("cannot make %s a shared mount point: %w", path, err)
	}
	if err := s.priv.BindSelf(dir); err != nil {
		return err
	}
	// dir names the directory under the new mount; the propagation is
	// set on the mount itself.
	mounted, err := trusted.Path(path)
	if err != nil {
		return err
	}
	defer mounted.Close()
	if err := checkRootDir(mounted); err != nil {
		return fmt.Errorf("cannot make %s a shared mount point: %w", path, err)
	}
	return s.priv.MakeShared(mounted)
}

// sharedMountPoints tells, for each of dirs, whether it is a mount point
// with shared propagation in the calling thread's namespace, from its mount
// table: the last (topmost) mount on the directory counts.
func (s *session) sharedMountPoints(dirs ...string) ([]bool, error) {
	shared := make([]bool, len(dirs))
	err := s.scanMountTable("the mount table", func(e mountinfo.Entry) error {
		for i, dir := range dirs {
			if e.MountDir == dir {
				shared[i] = slices.ContainsFunc(e.Optional, func(opt string) bool { return strings.HasPrefix(opt, "shared:") })
			}
		}
		return nil
	})
	return shared, err
}

// scanMountTable reads the calling thread's mount table through the
// verified /proc as a stream (mountinfo.Scan: any number of mounts, of any
// size), calling fn with each entry; what names it in errors.
func (s *session) scanMountTable(what string, fn func(mountinfo.Entry) error) error {
	fd, err := unix.Openat(s.host.proc.Fd(), "thread-self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", what, err)
	}
	f := desc.New(fd, what)
	defer f.Close()
	if err := mountinfo.Scan(fdReader{f}, fn); err != nil {
		return fmt.Errorf("cannot read %s: %w", what, err)
	}
	return nil
}

// fdReader reads a descriptor with read(2).
type fdReader struct{ f *desc.FD }

func (r fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(r.f.Fd(), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// mapInstanceDirs runs in the classic app's new namespace: /snap and
// /var/snap made recursively slave, then the instance's directories bound
// on the snap's, each opened again here and checked again.
func (s *session) mapInstanceDirs(own, mapped string) error {
	for _, parent := range s.snapDirs() {
		dir, err := trusted.Path(parent)
		if err != nil {
			return err
		}
		err = checkRootDir(dir)
		if err == nil {
			err = s.priv.MakeSlave(dir)
		}
		dir.Close()
		if err != nil {
			return err
		}
	}
	for _, parent := range s.snapDirs() {
		src, dst, err := s.openInstanceDirs(parent, own, mapped)
		if err != nil {
			return err
		}
		err = s.priv.BindInstanceDir(src, dst)
		src.Close()
		dst.Close()
		if err != nil {
			return err
		}
		s.debugf("parallel instance: bound %s on %s", src.Name(), dst.Name())
	}
	return nil
}
