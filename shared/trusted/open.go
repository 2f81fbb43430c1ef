// SPDX-License-Identifier: GPL-3.0-only

package trusted

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/resolve"
)

// The named path-resolution policies: how a path is resolved and what is
// checked on what it opened, so that the launcher and snap-ns open the same
// thing the same way. A descriptor is named by its path, an error names it.
//
//	Walk, Path    from "/", a component at a time, no symlink (Walk checks each directory)
//	OpenDir       Walk, every directory root's and writable by nobody else
//	Root          "/" of the calling thread
//	DirAt         one directory below a directory, no symlink
//	EntryAt       one entry of any type, O_PATH, no symlink followed (DirEntryAt: a directory)
//	RootDirAt     EntryAt, a directory of root's writable by nobody else
//	HostDir       a fixed path of root's directories, symlinks followed, magic links not
//	InRoot        below a root, every symlink resolved as if it were "/"
//	Proc, NS      /proc checked to be procfs; a namespace file below it, nsfs
//	PreservedNS   a preserved namespace of /run/snapd/ns, nsfs, opened through /proc
//	ReadFileAt    a file of root's writable by nobody else, bounded, never blocking (ReadAttrAt: sysfs's)
//	ProcFile      a small file below the verified /proc, bounded
//
// Root-only directories the caller cannot search are opened by the
// launcher's action privop.OpenRootOnly: beneath, following no symlink.

// Path is Walk with no check.
func Path(path string) (*desc.FD, error) { return Walk(path, nil) }

// Root opens "/" of the calling thread.
func Root() (*desc.FD, error) {
	fd, err := unix.Open("/", dirFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open /: %w", err)
	}
	return desc.New(fd, "/"), nil
}

// DirAt opens the directory name (one component) below dir, following no
// symlink.
func DirAt(dir *desc.FD, name string) (*desc.FD, error) {
	fd, err := unix.Openat(dir.Fd(), name, dirFlags, 0)
	if err != nil {
		return nil, &openError{dir.Path(name), err}
	}
	return desc.New(fd, dir.Path(name)), nil
}

// EntryAt opens name O_PATH: nothing is read, nothing can block, a
// symlink is the link itself. The error is the syscall's.
func EntryAt(dir *desc.FD, name string) (*desc.FD, error) {
	fd, err := unix.Openat(dir.Fd(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	return desc.New(fd, dir.Path(name)), err
}

// DirEntryAt is EntryAt of a directory only.
func DirEntryAt(dir *desc.FD, name string) (*desc.FD, error) {
	fd, err := unix.Openat(dir.Fd(), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	return desc.New(fd, dir.Path(name)), err
}

// RootDirAt needs no permission on the directory itself (EntryAt).
func RootDirAt(dir *desc.FD, name string) (*desc.FD, error) {
	d, err := EntryAt(dir, name)
	if err == unix.ENOENT {
		return nil, fmt.Errorf("%s does not exist", dir.Path(name))
	}
	if err != nil {
		return nil, &openError{dir.Path(name), err}
	}
	if err := RootOnly(d, unix.S_IFDIR); err != nil {
		d.Close()
		return nil, fmt.Errorf("%s is %w", d.Name(), err)
	}
	return d, nil
}

// HostDir opens a directory of the bootstrap table, following symlinks (a
// merged-/usr host has /lib -> usr/lib): the paths are fixed and every
// directory on the way is root's, so no one else can plant a link there.
func HostDir(path string) (*desc.FD, error) {
	fd, err := resolve.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	}, -1)
	if err != nil {
		return nil, &openError{path, err}
	}
	return desc.New(fd, path), nil
}

// InRoot opens path O_PATH: a base snap's absolute symlink cannot point
// out of root. The error is the syscall's.
func InRoot(root *desc.FD, path string) (*desc.FD, error) {
	fd, err := resolve.Openat2(root.Fd(), strings.TrimPrefix(path, "/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}, -1)
	return desc.New(fd, path), err
}

// Proc opens /proc, whose magic links name descriptors for path syscalls.
func Proc() (*desc.FD, error) {
	fd, err := unix.Open("/proc", dirFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open /proc: %w", err)
	}
	proc := desc.New(fd, "/proc")
	if magic, err := FSMagic(proc); err != nil || magic != unix.PROC_SUPER_MAGIC {
		proc.Close()
		return nil, fmt.Errorf("cannot use /proc: not procfs")
	}
	return proc, nil
}

// NS opens a namespace below proc, named display (magic links followed).
func NS(proc *desc.FD, name, display string) (*desc.FD, error) {
	fd, err := unix.Openat(proc.Fd(), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", display, err)
	}
	ns := desc.New(fd, display)
	if err := CheckNS(ns); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// CheckNS checks that ns is an nsfs file.
func CheckNS(ns *desc.FD) error {
	if magic, err := FSMagic(ns); err != nil || magic != unix.NSFS_MAGIC {
		return fmt.Errorf("cannot use %s: not an nsfs file", ns.Name())
	}
	return nil
}

// PreservedNS returns nil when name is missing or a plain file ("not
// preserved"). Opened O_PATH first, a plain 0600 file needs no privilege to
// be looked at; only an nsfs file (0444) is then opened for reading,
// through the descriptor's magic link, and anything else is refused.
func PreservedNS(proc, nsdir *desc.FD, name string) (*desc.FD, error) {
	path, err := EntryAt(nsdir, name)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		return nil, &openError{nsdir.Path(name), err}
	}
	defer path.Close()
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if unix.Fstat(path.Fd(), &st) != nil || unix.Fstatfs(path.Fd(), &sfs) != nil {
		return nil, fmt.Errorf("cannot inspect %s", path.Name())
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("cannot use %s: not a regular file nor a preserved namespace", path.Name())
	}
	if sfs.Type != unix.NSFS_MAGIC {
		return nil, nil
	}
	fd, err := unix.Openat(proc.Fd(), "self/fd/"+strconv.Itoa(path.Fd()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &openError{path.Name(), err}
	}
	ns := desc.New(fd, path.Name())
	if unix.Fstatfs(fd, &sfs) != nil || sfs.Type != unix.NSFS_MAGIC {
		ns.Close()
		return nil, fmt.Errorf("cannot use %s: it changed while it was opened", ns.Name())
	}
	return ns, nil
}

// ProcFile reads at most max bytes (procfs says its files are empty).
func ProcFile(proc *desc.FD, name string, max int) ([]byte, error) {
	fd, err := unix.Openat(proc.Fd(), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &openError{proc.Path(name), err}
	}
	f := desc.New(fd, proc.Path(name))
	defer f.Close()
	buf := make([]byte, max+1)
	n, err := ReadFull(f, buf)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", f.Name(), err)
	}
	return buf[:n], nil
}

// FSMagic returns the filesystem magic of d, as uint32 everywhere (f_type
// is int64, int32 or uint32 by architecture; an int32 would sign-extend
// RAMFS_MAGIC and the like).
func FSMagic(d *desc.FD) (int64, error) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(d.Fd(), &sfs); err != nil {
		return 0, err
	}
	return int64(uint32(sfs.Type)), nil
}

// Names lists dir, through a descriptor of its own (getdents moves the
// offset of the one it reads).
func Names(dir *desc.FD) ([]string, error) {
	fd, err := unix.Openat(dir.Fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer desc.New(fd, dir.Name()).Close()
	var names []string
	buf := make([]byte, 16<<10)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
