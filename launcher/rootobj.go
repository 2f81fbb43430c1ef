// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/shared/desc"
)

// Root's files and directories in places others can look into (/run,
// /tmp, a bpffs mounted 1777) are never seen with any owner, mode, access
// control list or contents but root's (SECURITY.md §4.1): a file is made
// without a name and linked once root's (CreateRootFile), a directory in a
// root-only staging directory and renamed into place once root's
// (createRootDir), which is used only if still empty.

// ensureRootFile opens name in the root-owned directory dir with flags,
// creating it root's with mode when it is missing. The caller checks on
// the descriptor what it got.
func (s *session) ensureRootFile(dir *desc.FD, name string, flags int, mode uint32) (*desc.FD, error) {
	for attempt := 0; ; attempt++ {
		f, err := s.priv.OpenRootFile(dir, name, flags)
		if !errors.Is(err, unix.ENOENT) || attempt == 2 {
			return f, err
		}
		// EEXIST: made by another launch meanwhile; either way, open
		// what is there now.
		if err := s.priv.CreateRootFile(s.host.proc, dir, name, mode); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, err
		}
	}
}

// ensureRootDir opens the directory name below parent, made root:root with
// mode when missing, and checks it (repairing the group and mode of one of
// root's). Where everyone may make entries (/tmp, a bpffs mounted 1777),
// someone else's entry at name is moved aside, once, rather than failing.
func (s *session) ensureRootDir(parent *desc.FD, name string, mode uint32) (*desc.FD, error) {
	for attempt := 0; ; attempt++ {
		dir, err := s.openDirIn(parent, name)
		if errors.Is(err, unix.ENOENT) {
			if dir, err = s.createRootDir(parent, name, mode); errors.Is(err, unix.EEXIST) {
				dir, err = s.openDirIn(parent, name)
			}
		}
		if err == nil {
			if err = checkRootOwned(dir, unix.S_IFDIR, mode, s.priv.FixOwner); err == nil {
				return dir, nil
			}
			dir.Close()
		}
		if attempt > 0 || !othersEntry(parent, name) {
			return nil, err
		}
		aside, nerr := asideName()
		if nerr != nil {
			return nil, nerr
		}
		s.debugf("%v: moving it aside as %s", err, aside)
		if err := s.priv.MoveAside(parent, name, aside); err != nil {
			return nil, err
		}
	}
}

// othersEntry reports whether parent is a root-owned sticky directory
// that everyone may write, and name in it an entry someone else made.
func othersEntry(parent *desc.FD, name string) bool {
	var dir, st unix.Stat_t
	return unix.Fstat(parent.Fd(), &dir) == nil && dir.Uid == 0 && dir.Mode&unix.S_ISVTX != 0 && dir.Mode&0o002 != 0 &&
		unix.Fstatat(parent.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Uid != 0
}

// openDirIn opens the directory name below parent without following a
// symlink, with privilege only where the parent is closed to the caller.
func (s *session) openDirIn(parent *desc.FD, name string) (*desc.FD, error) {
	fd, err := unix.Openat(parent.Fd(), name, dirFlags, 0)
	if err == unix.EACCES {
		return s.priv.OpenRootOnly(parent, name, dirFlags)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", parent.Path(name), privop.WhyNot(parent, name, err))
	}
	return desc.New(fd, parent.Path(name)), nil
}

// createRootDir makes name below parent, a root:root directory of mode,
// and opens it; EEXIST when another launch made it first.
func (s *session) createRootDir(parent *desc.FD, name string, mode uint32) (*desc.FD, error) {
	var st unix.Stat_t
	if err := unix.Fstat(parent.Fd(), &st); err != nil {
		return nil, fmt.Errorf("cannot inspect the parent of %s: %w", parent.Path(name), err)
	}
	if st.Uid == 0 && st.Mode&0o011 == 0 {
		// No one else can even search parent.
		return s.priv.MkdirRoot(parent, name, mode)
	}
	stageName, err := stagingName()
	if err != nil {
		return nil, err
	}
	stage, err := s.priv.StageDir(parent, stageName, name)
	if err != nil {
		return nil, err
	}
	defer stage.Close()
	if empty, err := dirIsEmpty(stage); err != nil || !empty {
		// Left as it is: what is in it is the caller's doing, and
		// nothing of root's is.
		return nil, fmt.Errorf("cannot create %s: someone else put entries in its staging directory", parent.Path(name))
	}
	defer func() {
		if err := s.priv.UnlinkRoot(parent, stageName, unix.AT_REMOVEDIR); err != nil {
			s.debugf("%v", err)
		}
	}()
	dir, err := s.priv.MkdirRoot(stage, name, mode)
	if err != nil {
		return nil, err
	}
	if err := s.priv.PlaceStaged(stage, parent, name); err != nil {
		dir.Close()
		if errors.Is(err, unix.EEXIST) {
			s.priv.UnlinkRoot(stage, name, unix.AT_REMOVEDIR)
		}
		return nil, err
	}
	return dir.Rename(parent.Path(name)), nil
}

// stagingName is a fresh name for a staging directory: no one can have
// guessed it before it is made.
func stagingName() (string, error) { return randomName("snapns-staging-") }

// asideName is a fresh name for an entry moved aside.
func asideName() (string, error) { return randomName("snapns-moved-aside-") }

// randomName is prefix and 16 hexadecimal digits: no dot, which bpffs
// refuses in a name.
func randomName(prefix string) (string, error) {
	var b [8]byte
	if n, err := unix.Getrandom(b[:], 0); err != nil || n != len(b) {
		return "", fmt.Errorf("cannot get random bytes for a new name: %v", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

// dirIsEmpty reads the directory dir (opened before anyone but its owner
// could search it) and reports whether it holds nothing but "." and "..".
func dirIsEmpty(dir *desc.FD) (bool, error) {
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(dir.Fd(), buf)
		if err != nil {
			return false, err
		}
		if n == 0 {
			return true, nil
		}
		if _, _, names := unix.ParseDirent(buf[:n], -1, nil); len(names) > 0 {
			return false, nil
		}
	}
}
