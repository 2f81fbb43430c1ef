// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/trusted"
)

// discard removes the snap's preserved namespace and everything that goes
// with it from /run/snapd/ns (nsdir), under the per-snap lock the caller
// holds: every <instance>.mnt and <instance>.<uid>.mnt is unmounted (after
// its nsfs magic is checked on an opened descriptor) and unlinked, then
// snap-update-ns's records and the info file are unlinked. Only regular
// files are touched; anything else at those names is left alone and
// reported in the debug log, and another instance's files never match
// (layout.Discardable).
func (s *session) discard(nsdir *desc.FD, inst naming.Instance) error {
	names, err := trusted.Names(nsdir)
	if err != nil {
		return fmt.Errorf("cannot list %s: %w", layout.NSDir, err)
	}
	// Namespaces first (per-user ones before the per-snap one, which
	// sorts first), then the files that describe them, the info file last.
	var mounts, files []string
	for _, name := range names {
		if ok, isMount := layout.Discardable(name, inst); ok && isMount {
			mounts = append([]string{name}, mounts...)
		} else if ok {
			files = append(files, name)
		}
	}
	for _, name := range mounts {
		if err := s.unmountNSFile(nsdir, name); err != nil {
			return err
		}
	}
	info := layout.InfoName(inst)
	for i, name := range files {
		if name == info && i < len(files)-1 {
			files[i], files[len(files)-1] = files[len(files)-1], files[i]
		}
	}
	for _, name := range append(mounts, files...) {
		var st unix.Stat_t
		if err := unix.Fstatat(nsdir.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			s.debugf("leaving %s alone: not a regular file", nsdir.Path(name))
			continue
		}
		if err := s.priv.UnlinkRoot(nsdir, name, 0); err != nil {
			return err
		}
	}
	return nil
}

// maxStackedCaptures bounds the unmount loop of one namespace file.
const maxStackedCaptures = 16

// unmountNSFile detaches every namespace mounted on name. The file is opened
// without following symlinks (a FIFO does not block: O_NONBLOCK) and its
// filesystem checked on the descriptor before each unmount: only an nsfs (or,
// from older kernels, procfs) mount is ever unmounted, by a path in the
// root-only /run/snapd/ns that umount2 does not follow as a symlink.
func (s *session) unmountNSFile(nsdir *desc.FD, name string) error {
	display := nsdir.Path(name)
	for i := 0; i < maxStackedCaptures; i++ {
		fd, err := unix.Openat(nsdir.Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			s.debugf("leaving %s alone: %v", display, err)
			return nil
		}
		f := desc.New(fd, display)
		var st unix.Stat_t
		ferr := unix.Fstat(fd, &st)
		magic, merr := trusted.FSMagic(f)
		f.Close()
		if ferr != nil || merr != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			s.debugf("leaving %s alone: not a regular file", display)
			return nil
		}
		if magic != unix.NSFS_MAGIC && magic != unix.PROC_SUPER_MAGIC {
			return nil // a plain file: nothing (more) mounted
		}
		if err := s.priv.UnmountNS(display); err != nil {
			return err
		}
	}
	return fmt.Errorf("cannot unmount %s: more than %d namespaces stacked on it", display, maxStackedCaptures)
}

// Discard is snap-discard-ns's work (package launcher/discardns has its
// command line): it discards inst's preserved namespaces, as root, taking
// the per-snap lock itself or, when locked (snapd ≥ 2.74 passes
// --snap-already-locked while it holds the lock during a refresh,
// snap-confine --from-snap-confine), checking that its caller holds it. A
// missing /run/snapd/ns is success.
func Discard(inst naming.Instance, fromSnapConfine, debug bool) error {
	if unix.Geteuid() != 0 {
		return errors.New("cannot discard: snap-discard-ns must run as root")
	}
	l := &launcher{debug: debug}
	defer l.flushStderr()
	// Root, but like the launcher's: each action raises exactly its
	// capabilities (init emptied the effective set of every thread).
	var err error
	if l.priv, err = privop.Acquire(unix.Getuid(), l.debugLog()); err != nil {
		return err
	}
	privop.SetUmask(0)
	// A missing lock file is made through the verified /proc.
	s := &session{launcher: l}
	if s.host.proc, err = trusted.Proc(); err != nil {
		return err
	}
	defer s.close()
	nsdir, err := trusted.Path(layout.NSDir)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer nsdir.Close()
	lockdir, err := trusted.Path(layout.LockDir)
	switch {
	case err == nil:
		defer lockdir.Close()
	case errors.Is(err, unix.ENOENT) && !fromSnapConfine:
		// No lock directory: no launch can be under way.
	default:
		return err
	}
	lockName := layout.LockName(inst)
	if fromSnapConfine {
		if err := checkLockHeld(lockdir, lockName); err != nil {
			return err
		}
	} else if lockdir != nil {
		lock, err := s.lock(lockdir, lockName)
		if err != nil {
			return err
		}
		defer unlock(lock)
	}
	return s.discard(nsdir, inst)
}

// checkLockHeld verifies that someone (the calling snap-confine) holds the
// per-snap lock: a non-blocking attempt through a new open file description
// must fail. flock(2) takes no access mode: the file is opened read-only.
func checkLockHeld(lockdir *desc.FD, name string) error {
	display := lockdir.Path(name)
	fd, err := unix.Openat(lockdir.Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot discard: the caller should hold %s: cannot open it: %w", display, err)
	}
	defer desc.New(fd, display).Close()
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		unix.Flock(fd, unix.LOCK_UN)
		return fmt.Errorf("cannot discard: %s is not held by the caller", display)
	}
	if err != unix.EWOULDBLOCK {
		return fmt.Errorf("cannot check %s: %w", display, err)
	}
	return nil
}
