// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
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
// without following symlinks (trusted.EntryAt) and its filesystem checked
// on the descriptor before each unmount: only an nsfs (or, from older
// kernels, procfs) mount is ever unmounted, by a path in the root-only
// /run/snapd/ns that umount2 does not follow as a symlink.
func (s *session) unmountNSFile(nsdir *desc.FD, name string) error {
	display := nsdir.Path(name)
	for i := 0; i < maxStackedCaptures; i++ {
		f, err := trusted.EntryAt(nsdir, name)
		if err != nil {
			s.debugf("leaving %s alone: %v", display, err)
			return nil
		}
		var st unix.Stat_t
		ferr := unix.Fstat(f.Fd(), &st)
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

// Discarder is the launcher's code that snap-discard-ns runs (package
// launcher/discardns): as root, but like the launcher, each action raising
// exactly its capabilities (init emptied the effective set of every
// thread), a missing lock file made through the verified /proc.
type Discarder struct{ s *session }

// NewDiscarder acquires the privilege of the calling process and opens
// /proc; Close writes the debug log.
func NewDiscarder(debug bool) (*Discarder, error) {
	l := &launcher{debug: debug}
	var err error
	if l.priv, err = privop.Acquire(unix.Getuid(), l.debugLog()); err != nil {
		return nil, err
	}
	privop.SetUmask(0)
	s := &session{launcher: l}
	if s.host.proc, err = trusted.Proc(); err != nil {
		return nil, err
	}
	return &Discarder{s}, nil
}

// Lock takes the snap's lock name in lockdir (lock); release releases it.
func (d *Discarder) Lock(lockdir *desc.FD, name string) (release func(), err error) {
	lock, err := d.s.lock(lockdir, name)
	return func() { unlock(lock) }, err
}

// Discard discards inst's namespaces in nsdir (discard).
func (d *Discarder) Discard(nsdir *desc.FD, inst naming.Instance) error {
	return d.s.discard(nsdir, inst)
}

// Close releases what it opened and writes the debug log.
func (d *Discarder) Close() {
	d.s.close()
	d.s.flushStderr()
}
