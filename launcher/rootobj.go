// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Root's files and directories in places others can look into (/run,
// /run/snapd, /tmp, a bpffs root mounted world-writable) are made without
// filesystem ids 0 and yet never seen with any owner but root, nor with a
// mode, an access control list or contents anyone else chose:
//
//   - a file is made without a name and linked once it is root's
//     (createRootFile);
//   - a directory is made in a root-only staging directory and renamed into
//     place once it is root's (createRootDir); where its parent is already
//     closed to everyone else it is made there directly.
//
// The staging directory itself is the caller's for a moment in the
// file-capability install (it is made as the caller): stageDir sets its
// owner, mode and access control lists, and it is used only if it is still
// empty, so nothing the caller did to it reaches what is made in it.

// ensureRootFile opens name in the root-owned directory dirfd with flags,
// creating it root's with mode when it is missing. The caller checks on
// the descriptor what it got.
func (l *launcher) ensureRootFile(dirfd int, name string, flags int, mode uint32, display string) (int, error) {
	for attempt := 0; ; attempt++ {
		fd, err := l.openRootFile(dirfd, name, flags, display)
		if !errors.Is(err, unix.ENOENT) || attempt == 2 {
			return fd, err
		}
		// EEXIST: made by another launch meanwhile; either way, open
		// what is there now.
		if err := l.createRootFile(dirfd, name, mode, display); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, err
		}
	}
}

// ensureRootDir opens the directory name below parent, creating it
// root:root with mode when it is missing, and checks it (repairing the
// group and mode of one of root's).
func (l *launcher) ensureRootDir(parent int, name string, mode uint32, display string) (int, error) {
	fd, err := l.openDirIn(parent, name, display)
	if errors.Is(err, unix.ENOENT) {
		if fd, err = l.createRootDir(parent, name, mode, display); errors.Is(err, unix.EEXIST) {
			fd, err = l.openDirIn(parent, name, display)
		}
	}
	if err != nil {
		return -1, err
	}
	if err := checkRootOwned(fd, unix.S_IFDIR, mode, display, l.fixOwnerMode); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// openDirIn opens the directory name below parent without following a
// symlink, with privilege only where the parent is closed to the caller.
func (l *launcher) openDirIn(parent int, name, display string) (int, error) {
	fd, err := unix.Openat(parent, name, dirFlags, 0)
	if err == unix.EACCES {
		return l.openRootOnly(parent, name, dirFlags, display)
	}
	if err != nil {
		return -1, fmt.Errorf("cannot open %s: %w", display, whyNot(parent, name, err))
	}
	return fd, nil
}

// createRootDir makes name below parent, a root:root directory of mode,
// and opens it; EEXIST when another launch made it first.
func (l *launcher) createRootDir(parent int, name string, mode uint32, display string) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(parent, &st); err != nil {
		return -1, fmt.Errorf("cannot inspect the parent of %s: %w", display, err)
	}
	if st.Uid == 0 && st.Mode&0o011 == 0 {
		// No one else can even search parent.
		return l.mkdirRoot(parent, name, mode, display)
	}
	stageName, err := stagingName()
	if err != nil {
		return -1, err
	}
	stage, err := l.stageDir(parent, stageName, display)
	if err != nil {
		return -1, err
	}
	defer unix.Close(stage)
	if empty, err := dirIsEmpty(stage); err != nil || !empty {
		// Left as it is: what is in it is the caller's doing, and
		// nothing of root's is.
		return -1, fmt.Errorf("cannot create %s: someone else put entries in its staging directory", display)
	}
	defer func() {
		if err := l.unlinkRoot(parent, stageName, unix.AT_REMOVEDIR, "the staging directory of "+display); err != nil {
			l.debugf("%v", err)
		}
	}()
	fd, err := l.mkdirRoot(stage, name, mode, display)
	if err != nil {
		return -1, err
	}
	if err := l.placeStaged(stage, parent, name, display); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EEXIST) {
			l.unlinkRoot(stage, name, unix.AT_REMOVEDIR, display)
		}
		return -1, err
	}
	return fd, nil
}

// stagingName is a fresh name for a staging directory: no one can have
// guessed it before it is made.
func stagingName() (string, error) {
	var b [8]byte
	if n, err := unix.Getrandom(b[:], 0); err != nil || n != len(b) {
		return "", fmt.Errorf("cannot get random bytes for a staging directory: %v", err)
	}
	return ".snapns-staging-" + hex.EncodeToString(b[:]), nil
}

// dirIsEmpty reads the directory fd (opened before anyone but its owner
// could search it) and reports whether it holds nothing but "." and "..".
func dirIsEmpty(fd int) (bool, error) {
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(fd, buf)
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
