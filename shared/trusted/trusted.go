// SPDX-License-Identifier: GPL-3.0-only

// Package trusted is the one place of named path-resolution policies
// (open.go lists them): how the launcher and snap-ns open a path and what
// they check on what they opened, so that what snap-ns says the launcher
// would refuse is what it refuses, in the same words. Root's files are
// read only through it: root's, writable by nobody else, reached without
// following a symlink, read without ever blocking (a FIFO is refused).
package trusted

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
)

const dirFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_RDONLY

// openError is "cannot open <path>: <err>", put into words only when
// printed: a missing optional file (a .bin2 profile of an older snapd, the
// device settings) is an everyday answer on a launch's path, where fmt's
// first use alone costs more than the open.
type openError struct {
	path string
	err  error
}

func (e *openError) Error() string { return "cannot open " + e.path + ": " + e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

// OpenDir walks the absolute path from "/" one component at a time, without
// following symlinks, and checks every directory on the way, "/" included:
// root's, and writable by nobody else. A missing component is an error
// wrapping ENOENT.
func OpenDir(path string) (*desc.FD, error) { return Walk(path, CheckDir) }

// Walk opens the directory at the absolute path from "/" one component at
// a time, without following symlinks, and calls check, unless it is nil, on
// every directory on the way, "/" included, named by the path so far. A
// missing component is an error wrapping ENOENT.
func Walk(path string, check func(dir *desc.FD) error) (*desc.FD, error) {
	fd, err := unix.Open("/", dirFlags, 0)
	if err != nil {
		return nil, &openError{"/", err}
	}
	dir := desc.New(fd, "/")
	for start, i := 1, 1; ; i++ {
		if check != nil {
			if err := check(dir); err != nil {
				dir.Close()
				return nil, err
			}
		}
		for ; i < len(path) && (path[i] != '/' || i == start); i++ {
			if i == start && path[i] == '/' {
				start++
			}
		}
		if start >= len(path) {
			return dir, nil
		}
		next, err := unix.Openat(dir.Fd(), path[start:i], dirFlags, 0)
		dir.Close()
		if err != nil {
			return nil, &openError{path[:i], err}
		}
		dir, start = desc.New(next, path[:i]), i+1
	}
}

// CheckDir checks, on the descriptor, that the directory dir is root's
// and writable by nobody else.
func CheckDir(dir *desc.FD) error {
	if err := RootOnly(dir, unix.S_IFDIR); err != nil {
		return fmt.Errorf("cannot trust %s: %w", dir.Name(), err)
	}
	return nil
}

// CheckStickyDir checks, on the descriptor, that the directory display is
// root's and writable by nobody else, or, like /tmp, writable by others
// only with the sticky bit (no one removes or renames another's entries
// there): a bpffs mounted with the kernel's default mode 1777.
func CheckStickyDir(dir *desc.FD) error {
	var st unix.Stat_t
	if err := unix.Fstat(dir.Fd(), &st); err != nil {
		return fmt.Errorf("cannot inspect %s: %w", dir.Name(), err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Uid == 0 && st.Mode&unix.S_ISVTX != 0 {
		return nil
	}
	return CheckDir(dir)
}

// Seccomp profiles are held to snap-confine's rule for them (2.77's
// seccomp-support.c, validate_bpfpath_is_safe): every directory from "/"
// down to the profile, and the profile, owned by uid 0 and gid 0. The
// functions below add the group to what CheckDir and ReadFileAt check.

// OpenRootGroupDir is OpenDir, every directory on the way also of root's
// group.
func OpenRootGroupDir(path string) (*desc.FD, error) { return Walk(path, checkRootGroupDir) }

func checkRootGroupDir(dir *desc.FD) error {
	if _, err := rootOnlyGroup(dir, unix.S_IFDIR, true); err != nil {
		return fmt.Errorf("cannot trust %s: %w", dir.Name(), err)
	}
	return nil
}

// ReadRootGroupFileAt is ReadFileAt, the file also of root's group.
func ReadRootGroupFileAt(dir *desc.FD, name string, max int) ([]byte, error) {
	return readFileAt(dir, name, max, true)
}

// RootOnly checks, on the descriptor, that fd is of the type fmtType, owned
// by root and writable by nobody else: what only root can have made or
// changed. It says why not in words that follow "<path> is" or "<path>:".
func RootOnly(d *desc.FD, fmtType uint32) error {
	_, err := rootOnlyGroup(d, fmtType, false)
	return err
}

// rootOnlyGroup is RootOnly, returning what fstat said, and with group the
// group must be root's too.
func rootOnlyGroup(d *desc.FD, fmtType uint32, group bool) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.Fd(), &st); err != nil {
		return st, fmt.Errorf("cannot inspect it: %w", err)
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK && fmtType != unix.S_IFLNK:
		return st, errors.New("a symbolic link")
	case st.Mode&unix.S_IFMT != fmtType:
		return st, fmt.Errorf("not a %s", TypeName(fmtType))
	case st.Uid != 0:
		return st, fmt.Errorf("owned by uid %d, not root", st.Uid)
	case group && st.Gid != 0:
		return st, fmt.Errorf("owned by group %d, not root's", st.Gid)
	case st.Mode&0o022 != 0:
		return st, fmt.Errorf("writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	return st, nil
}

// TypeName names a file type of st_mode.
func TypeName(fmtType uint32) string {
	if fmtType == unix.S_IFDIR {
		return "directory"
	}
	return "regular file"
}

// ReadFile reads name below the trusted directory dir (OpenDir), as
// ReadFileAt does.
func ReadFile(dir, name string, max int) ([]byte, error) {
	d, err := OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return ReadFileAt(d, name, max)
}

// ReadFileAt reads name below the directory dir: a regular file of
// root's that nobody else can write, of at most max bytes, opened without
// following a symlink or blocking. Errors are one line naming it (the
// directory's name, a slash and name); a missing file is one wrapping
// ENOENT.
func ReadFileAt(dir *desc.FD, name string, max int) ([]byte, error) {
	return readFileAt(dir, name, max, false)
}

func readFileAt(dir *desc.FD, name string, max int, group bool) ([]byte, error) {
	display := dir.Path(name)
	fd, err := unix.Openat(dir.Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &openError{display, err}
	}
	f := desc.New(fd, display)
	defer f.Close()
	st, err := rootOnlyGroup(f, unix.S_IFREG, group)
	if err == nil && st.Size > int64(max) {
		err = fmt.Errorf("%d bytes is over the limit of %d", st.Size, max)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot use %s: %w", display, err)
	}
	// Sized as fstat said, plus a byte to see the end: a file that grew
	// since is read on to one byte more than allowed, and then refused,
	// never cut to a valid prefix. (A buffer of max bytes up front would
	// cost a launch a fresh heap span of up to half a megabyte.)
	buf := make([]byte, st.Size+1)
	n, err := ReadFull(f, buf)
	if err == nil && n == len(buf) && n <= max {
		buf = append(buf, make([]byte, max+1-n)...)
		var more int
		more, err = ReadFull(f, buf[n:])
		n += more
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", display, err)
	}
	if n > max {
		return nil, fmt.Errorf("cannot use %s: over the limit of %d bytes", display, max)
	}
	return buf[:n], nil
}

// ReadAttrAt reads name below dir as ReadFileAt opens and checks it, to at
// most max bytes whatever size it says: a sysfs attribute (a page).
func ReadAttrAt(dir *desc.FD, name string, max int) ([]byte, error) {
	fd, err := unix.Openat(dir.Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &openError{dir.Path(name), err}
	}
	f := desc.New(fd, dir.Path(name))
	defer f.Close()
	if err := RootOnly(f, unix.S_IFREG); err != nil {
		return nil, fmt.Errorf("cannot use %s: it is %w", f.Name(), err)
	}
	buf := make([]byte, max)
	n, err := ReadFull(f, buf)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", f.Name(), err)
	}
	return buf[:n], nil
}

// ReadFull reads f until buf is full or the file ends.
func ReadFull(f *desc.FD, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(f.Fd(), buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}
