// SPDX-License-Identifier: GPL-3.0-only

// Package resolve opens a path the way openat2(2) does with the RESOLVE_
// flags the launcher uses, on every kernel the launcher supports: through
// openat2 where the kernel has it (Linux 5.6), and where it does not
// (Linux 5.4, 5.5) by a walk of one component at a time, each opened with
// O_PATH|O_NOFOLLOW and checked on its descriptor, that gives the same
// guarantees:
//
//   - RESOLVE_BENEATH: an absolute path, an absolute symlink and every ".."
//     are refused (EXDEV). This is stricter than the kernel, which allows a
//     ".." that stays below the directory; no caller needs one.
//   - RESOLVE_IN_ROOT: "/" and absolute symlinks mean the starting
//     directory, and ".." goes back to the directory the walk came from,
//     never above the starting one.
//   - RESOLVE_NO_SYMLINKS: any symlink on the way is refused (ELOOP); a
//     final one is opened itself only with O_PATH|O_NOFOLLOW, as openat2
//     does.
//   - RESOLVE_NO_MAGICLINKS: a symlink is never followed by the kernel but
//     read and resolved as text, so a /proc magic link can never jump
//     anywhere; one found on procfs is refused (ELOOP), with or without
//     the flag, which also refuses procfs's ordinary symlinks
//     (/proc/self): stricter than the kernel.
//   - RESOLVE_NO_XDEV: every directory on the way and the result must be on
//     the starting directory's mount: same device and same mount id (from
//     /proc/self/fdinfo, which has it since Linux 3.15), else EXDEV.
//
// Which one runs is decided once per process, from the kernel's own answer
// to an openat2 call it must refuse (ENOSYS: missing), never from a version
// string. The walk is exported so that tests can compare it with openat2 on
// a kernel that has both.
package resolve

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Supported are the RESOLVE_ flags the walk implements.
const Supported = unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// maxSymlinks is the kernel's MAXSYMLINKS: more symlinks than this on one
// lookup is ELOOP.
const maxSymlinks = 40

// haveOpenat2 is 0 before the probe, then 1 (openat2 is there) or 2 (not).
var haveOpenat2 atomic.Int32

// HaveOpenat2 reports whether the kernel has openat2(2). It asks once: an
// openat2 with a size smaller than the first version of struct open_how is
// refused with EINVAL by every kernel that has the call, before it looks at
// anything else; ENOSYS means the call is missing, and so does EPERM, which
// only a seccomp filter older than the call (a container runtime's) gives.
func HaveOpenat2() bool {
	switch haveOpenat2.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	atFDCWD := unix.AT_FDCWD
	_, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(atFDCWD), 0, 0, 0, 0, 0)
	have := errno != unix.ENOSYS && errno != unix.EPERM
	if have {
		haveOpenat2.Store(1)
	} else {
		haveOpenat2.Store(2)
	}
	return have
}

// Openat2 is openat2(dirfd, path, how) where the kernel has it, and Walk
// where it does not. procfd is the caller's verified /proc, used only for
// RESOLVE_NO_XDEV.
func Openat2(dirfd int, path string, how *unix.OpenHow, procfd int) (int, error) {
	if HaveOpenat2() {
		return unix.Openat2(dirfd, path, how)
	}
	return Walk(dirfd, path, how, procfd)
}

// Walk opens path below dirfd as openat2(2) would with how (see the
// package comment for the few places where it is stricter), without
// openat2. how.Flags may not create a file; how.Resolve may hold only
// Supported flags; procfd must be a descriptor of procfs when
// RESOLVE_NO_XDEV is asked for.
func Walk(dirfd int, path string, how *unix.OpenHow, procfd int) (int, error) {
	flags := int(how.Flags)
	res := how.Resolve
	switch {
	case res&^Supported != 0, res&unix.RESOLVE_BENEATH != 0 && res&unix.RESOLVE_IN_ROOT != 0:
		return -1, unix.EINVAL
	case flags&unix.O_CREAT != 0, flags&unix.O_TMPFILE == unix.O_TMPFILE:
		return -1, unix.EINVAL
	case res&unix.RESOLVE_NO_XDEV != 0 && procfd < 0:
		return -1, unix.EINVAL
	case path == "":
		return -1, unix.ENOENT
	}
	w := &walker{res: res, procfd: procfd}
	defer w.closeAll()
	absolute := strings.HasPrefix(path, "/")
	if absolute && res&unix.RESOLVE_BENEATH != 0 {
		return -1, unix.EXDEV
	}
	// The walk starts at dirfd, or at "/" for an absolute path (which
	// RESOLVE_NO_XDEV allows: it is where the lookup starts, not a
	// crossing); RESOLVE_IN_ROOT's "/" is dirfd.
	start, err := unix.Openat(dirfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if absolute && res&unix.RESOLVE_IN_ROOT == 0 {
		if err == nil {
			unix.Close(start)
		}
		start, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		w.rooted = true
	}
	if err != nil {
		return -1, err
	}
	w.stack = []int{start}
	if res&unix.RESOLVE_NO_XDEV != 0 {
		if w.dev, w.mnt, err = w.mountOf(start); err != nil {
			return -1, err
		}
	}
	w.queue = split(path)
	if strings.HasSuffix(path, "/") {
		// A trailing slash follows a final symlink and wants a
		// directory: "name/." does both.
		w.queue = append(w.queue, ".")
	}
	links := 0
	for {
		if len(w.queue) == 0 {
			// The path ended on a directory already open ("", ".", "..").
			return w.final(".", flags, int(how.Mode))
		}
		name := w.queue[0]
		w.queue = w.queue[1:]
		last := len(w.queue) == 0
		switch {
		case name == ".":
			continue
		case name == "..":
			if err := w.dotdot(); err != nil {
				return -1, err
			}
			continue
		}
		// A directory, as a directory (what policies that match paths
		// expect to see); anything else again without O_DIRECTORY, to
		// tell a symlink from the rest.
		fd, err := unix.Openat(w.cur(), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR {
			fd, err = unix.Openat(w.cur(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if last && flags&unix.O_NOFOLLOW != 0 {
				if flags&unix.O_PATH == 0 {
					unix.Close(fd)
					return -1, unix.ELOOP
				}
				// openat2 hands out the link itself here, even with
				// RESOLVE_NO_SYMLINKS.
				return w.result(fd)
			}
			unix.Close(fd)
			if links++; links > maxSymlinks {
				return -1, unix.ELOOP
			}
			if err := w.follow(name); err != nil {
				return -1, err
			}
			continue
		}
		if last {
			unix.Close(fd)
			return w.final(name, flags, int(how.Mode))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			unix.Close(fd)
			return -1, unix.ENOTDIR
		}
		if err := w.checkMount(fd); err != nil {
			unix.Close(fd)
			return -1, err
		}
		w.push(fd)
	}
}

// walker is the state of one Walk: the directories opened so far (the
// first is the starting one; RESOLVE_IN_ROOT's ".." pops back to the one
// before), the components left, and the starting mount for
// RESOLVE_NO_XDEV.
type walker struct {
	res    uint64
	procfd int
	rooted bool // the lookup started at "/", or went through "..": its root is set
	stack  []int
	queue  []string
	dev    uint64
	mnt    uint64
}

func (w *walker) cur() int { return w.stack[len(w.stack)-1] }

func (w *walker) push(fd int) {
	if w.res&unix.RESOLVE_IN_ROOT == 0 {
		// Only RESOLVE_IN_ROOT walks back the way it came.
		unix.Close(w.stack[len(w.stack)-1])
		w.stack[len(w.stack)-1] = fd
		return
	}
	w.stack = append(w.stack, fd)
}

func (w *walker) closeAll() {
	for _, fd := range w.stack {
		unix.Close(fd)
	}
	w.stack = nil
}

// jumpRoot handles an absolute symlink. Like the kernel, it refuses one
// under RESOLVE_NO_XDEV unless the lookup started at the root it jumps to
// (an absolute path, or RESOLVE_IN_ROOT), where the mount check decides.
func (w *walker) jumpRoot() error {
	switch {
	case w.res&unix.RESOLVE_BENEATH != 0:
		return unix.EXDEV
	case w.res&unix.RESOLVE_NO_XDEV != 0 && w.res&unix.RESOLVE_IN_ROOT == 0 && !w.rooted:
		return unix.EXDEV
	case w.res&unix.RESOLVE_IN_ROOT != 0:
		for len(w.stack) > 1 {
			unix.Close(w.stack[len(w.stack)-1])
			w.stack = w.stack[:len(w.stack)-1]
		}
		return nil
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := w.checkMount(fd); err != nil {
		unix.Close(fd)
		return err
	}
	w.push(fd)
	return nil
}

// dotdot handles "..".
func (w *walker) dotdot() error {
	switch {
	case w.res&unix.RESOLVE_BENEATH != 0:
		return unix.EXDEV
	case w.res&unix.RESOLVE_IN_ROOT != 0:
		if len(w.stack) > 1 {
			unix.Close(w.stack[len(w.stack)-1])
			w.stack = w.stack[:len(w.stack)-1]
		}
		return nil
	}
	// The kernel sets the lookup's root at the first "..", after which
	// an absolute symlink is no crossing by itself.
	w.rooted = true
	fd, err := unix.Openat(w.cur(), "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := w.checkMount(fd); err != nil {
		unix.Close(fd)
		return err
	}
	w.push(fd)
	return nil
}

// follow puts the target of the symlink name (in the current directory)
// in front of the components left, unless symlinks are refused.
func (w *walker) follow(name string) error {
	if w.res&unix.RESOLVE_NO_SYMLINKS != 0 {
		return unix.ELOOP
	}
	// A magic link's text is no path to what it opens: the walk never
	// follows one, whatever the flags (the launcher always asks for
	// RESOLVE_NO_MAGICLINKS where it follows symlinks).
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(w.cur(), &sfs); err != nil {
		return err
	}
	if sfs.Type == unix.PROC_SUPER_MAGIC {
		return unix.ELOOP
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(w.cur(), name, buf)
	if err != nil {
		return err
	}
	if n == len(buf) {
		return unix.ENAMETOOLONG
	}
	target := string(buf[:n])
	if target == "" {
		return unix.ENOENT
	}
	if strings.HasPrefix(target, "/") {
		if err := w.jumpRoot(); err != nil {
			return err
		}
	}
	rest := split(target)
	if strings.HasSuffix(target, "/") && len(w.queue) == 0 {
		rest = append(rest, ".")
	}
	w.queue = append(rest, w.queue...)
	return nil
}

// final opens the last component, name in the current directory, with the
// caller's flags and never following a symlink: the component was seen not
// to be one, and if it was swapped for one since, O_NOFOLLOW refuses it
// (O_PATH gets the link, which is then refused).
func (w *walker) final(name string, flags, mode int) (int, error) {
	fd, err := unix.Openat(w.cur(), name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode))
	if err != nil {
		return -1, err
	}
	if flags&unix.O_PATH != 0 && flags&unix.O_NOFOLLOW == 0 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(fd)
			return -1, unix.EAGAIN
		}
	}
	return w.result(fd)
}

// result checks the mount of what the walk opened and hands it out.
func (w *walker) result(fd int) (int, error) {
	if err := w.checkMount(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// checkMount enforces RESOLVE_NO_XDEV on fd.
func (w *walker) checkMount(fd int) error {
	if w.res&unix.RESOLVE_NO_XDEV == 0 {
		return nil
	}
	dev, mnt, err := w.mountOf(fd)
	if err != nil {
		return err
	}
	if dev != w.dev || mnt != w.mnt {
		return unix.EXDEV
	}
	return nil
}

func (w *walker) mountOf(fd int) (dev, mnt uint64, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, 0, err
	}
	mnt, err = MountID(w.procfd, fd)
	return uint64(st.Dev), mnt, err
}

// split returns the components of path, without empty ones.
func split(path string) []string {
	var out []string
	for _, c := range strings.Split(path, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// MountID returns the id of the mount fd is on, from the "mnt_id:" line of
// its /proc/self/fdinfo entry below procfd (Linux 3.15; statx's
// STATX_MNT_ID came only with 5.8).
func MountID(procfd, fd int) (uint64, error) {
	info, err := unix.Openat(procfd, "self/fdinfo/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(info)
	var buf [1024]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(info, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	for _, line := range bytes.Split(buf[:n], []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("mnt_id:")); ok {
			id, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, unix.EINVAL
			}
			return id, nil
		}
	}
	return 0, unix.ENODATA
}

// haveStatxMountRoot is 0 before the probe, then 1 (statx has
// STATX_ATTR_MOUNT_ROOT) or 2 (not).
var haveStatxMountRoot atomic.Int32

// HaveStatxMountRoot reports what the last MountRoot found out: whether
// statx tells a mount's root (Linux 5.8); false before it asked.
func HaveStatxMountRoot() bool { return haveStatxMountRoot.Load() == 1 }

// MountRoot reports whether child, a directory opened by one name below
// the directory parent (neither "." nor ".."), is the root of a mount:
// something is mounted there. statx says so directly since Linux 5.8
// (STATX_ATTR_MOUNT_ROOT, with its bit in the attribute mask); before, the
// answer is whether child's mount differs from parent's, by the mount ids
// of /proc/self/fdinfo below procfd (Linux 3.15): a lookup of a name lands
// on what is mounted there, if anything, so child is on another mount
// exactly when it is a mount's root.
func MountRoot(procfd, parent, child int) (bool, error) {
	if haveStatxMountRoot.Load() != 2 {
		var stx unix.Statx_t
		err := unix.Statx(child, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, 0, &stx)
		switch {
		case err == nil && stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0:
			haveStatxMountRoot.Store(1)
			return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
		case err == nil || err == unix.ENOSYS || err == unix.EPERM:
			haveStatxMountRoot.Store(2)
		default:
			return false, err
		}
	}
	p, err := MountID(procfd, parent)
	if err != nil {
		return false, fmt.Errorf("cannot get a mount id: %w", err)
	}
	c, err := MountID(procfd, child)
	if err != nil {
		return false, fmt.Errorf("cannot get a mount id: %w", err)
	}
	return p != c, nil
}
