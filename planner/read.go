// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/trusted"
)

// Every file the planner reads is opened with readFlags. The planner runs as
// its caller, next to entries other processes may have made or may race:
// O_NONBLOCK so that a FIFO (or a device) there can hang neither the open nor
// the read (a FIFO at /run/snapd/ns/snap.<instance>.info once hung a debug
// launch forever), O_NOFOLLOW so that a symlink is never followed, O_CLOEXEC
// so that no descriptor reaches the launcher. What is opened must then be a
// regular file, checked on the descriptor.
const readFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC

// maxOSRelease bounds what is read of /etc/os-release, as the launcher does.
const maxOSRelease = 16 << 10

// errNotRegular is wrapped in the error for anything but a regular file.
var errNotRegular = errors.New("not a regular file")

// readFile reads at most max bytes of the regular file at path, opened with
// flags (readFlags, or readFlags without O_NOFOLLOW for /etc/os-release).
// With rootOnly, a file not owned by root is refused too, as the launcher
// refuses it. Every error is one line starting with "cannot".
func readFile(path string, flags, max int, rootOnly bool) ([]byte, error) {
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("cannot use %s: %w", path, errNotRegular)
	}
	if rootOnly && st.Uid != 0 {
		return nil, fmt.Errorf("cannot use %s: not owned by root", path)
	}
	buf := make([]byte, max+1)
	n, err := trusted.ReadFull(fd, buf)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if n > max {
		return nil, fmt.Errorf("cannot use %s: larger than %d bytes", path, max)
	}
	return buf[:n], nil
}

// readOSRelease reads /etc/os-release as the launcher does (launcher
// classifyHost): it is commonly a symlink into /usr/lib, within root's
// directories, so it is the one file whose symlink is followed; anything
// unusable there (missing, a FIFO, a directory) counts as absent, which the
// host classification handles.
func readOSRelease() []byte {
	data, err := readFile("/etc/os-release", readFlags&^unix.O_NOFOLLOW, maxOSRelease, false)
	if err != nil {
		return nil
	}
	return data
}

// readSystemParams reads the homedirs= line of snapd's system-params at
// path as the launcher does (launcher readHomedirs): a missing file means
// none; anything but a root-owned regular file there is refused, as the
// launcher will refuse the launch.
func readSystemParams(path string) ([]string, error) {
	data, err := readFile(path, readFlags, info.MaxSize, true)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return info.SystemParamsHomedirs(data)
}

// readInfoFile reads an info file of /run/snapd/ns (dir). Like the launcher
// (launcher readInfo), it treats anything but a root-owned regular file that
// parses as no info file at all, and says why.
func readInfoFile(dir, name string) (info.Info, string) {
	data, err := readFile(dir+"/"+name, readFlags, info.MaxSize, true)
	if err != nil {
		return info.Info{}, err.Error()
	}
	in, err := info.Parse(data)
	if err != nil {
		return info.Info{}, err.Error()
	}
	return in, ""
}

// isPreserved tells whether dir/name is a preserved namespace (an nsfs file),
// as the launcher decides it (launcher openNSFile): opened O_PATH without
// following a symlink, so that nothing is read and nothing can block; a
// missing or plain file means "not preserved", anything else is refused with
// the launcher's words.
func isPreserved(dir, name string) (bool, error) {
	path := dir + "/" + name
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return false, fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, fmt.Errorf("cannot use %s: not a regular file nor a preserved namespace", path)
	}
	return sfs.Type == unix.NSFS_MAGIC, nil
}

// ReadInfoFile reads the info file dir/name as the launcher does: anything
// but a root-owned regular file that parses counts as no info file, and the
// second result says why (empty when the file is usable). It never follows
// a symlink nor blocks on a FIFO.
func ReadInfoFile(dir, name string) (info.Info, string) { return readInfoFile(dir, name) }

// IsPreserved tells whether dir/name is a preserved namespace as the
// launcher decides it; an entry the launcher refuses is an error with its
// words.
func IsPreserved(dir, name string) (bool, error) { return isPreserved(dir, name) }
