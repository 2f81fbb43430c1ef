// SPDX-License-Identifier: GPL-3.0-only

package gather

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/naming"
)

// Bounds of the cgroup v2 walk. snapd's tracking groups sit a few levels
// below the root (user.slice/user-1000.slice/user@1000.service/app.slice),
// but the walk also crosses every user's delegated subtree, where they make
// as many groups as they like, as deep as they like, with any permissions:
// the depth is snap-confine's own bound (cgroup-support.c), and a walk
// visits at most maxCgroupDirs groups (about 20 µs each on cgroupfs, so
// about 0.2 s at worst, paid only when a stale namespace would otherwise be
// discarded). A walk that cannot look everywhere cannot tell whether the
// snap runs (see Occupied).
const (
	maxCgroupDepth = 32
	maxCgroupDirs  = 10000
)

// Occupied reports whether the snap instance still has processes, from the
// cgroup hierarchy at root (normally /sys/fs/cgroup): on cgroup v2, any of
// snapd's tracking groups for the instance holding a process; otherwise
// the v1 freezer group snap.<instance> holding a task.
//
// When it cannot tell (a group it may not read, more or deeper groups than
// it visits) it says the snap runs, and why: users make groups with
// tracking names, in any number and with any permissions, in their
// delegated subtrees; failing on them would fail everyone's launches,
// skipping them could discard a namespace another user's app runs in. A
// stale namespace kept is what any user can have anyway, by running a
// process in such a group. Its only error is a root it cannot inspect.
func Occupied(root string, inst naming.Instance) (bool, string, error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(root, &sfs); err != nil {
		return false, "", fmt.Errorf("cannot inspect %s: %w", root, err)
	}
	if sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		found, why := occupiedV2(root, inst)
		if found != "" {
			return true, "tracking group " + found + " has processes", nil
		}
		if why != "" {
			return true, cannotTell(why), nil
		}
		return false, "", nil
	}
	group := filepath.Join(root, "freezer", "snap."+inst.String())
	fd, err := unix.Open(group, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, "", nil
	}
	if err != nil {
		return true, cannotTell(fmt.Sprintf("cannot open %s: %v", group, err)), nil
	}
	defer unix.Close(fd)
	busy, err := hasProcesses(fd, group)
	if err != nil {
		return true, cannotTell(err.Error()), nil
	}
	if busy {
		return true, "freezer group " + group + " has tasks", nil
	}
	return false, "", nil
}

func cannotTell(why string) string {
	return "cannot tell whether the snap runs (" + why + "), so it counts as running"
}

// IsTrackingGroup tells whether a cgroup directory name is one of snapd's
// tracking groups for inst: snap.<instance>.<app>-<id>.scope,
// snap.<instance>.<app>.service or snap.<instance>.hook.<hook>-<id>.scope.
// Instance names contain no '.', so another instance (foo_bar, foobar,
// foo-bar) never matches foo's prefix.
func IsTrackingGroup(name string, inst naming.Instance) bool {
	rest, ok := strings.CutPrefix(name, "snap."+inst.String()+".")
	if !ok {
		return false
	}
	if app, ok := strings.CutSuffix(rest, ".service"); ok {
		return app != "" && !strings.Contains(app, ".")
	}
	body, ok := strings.CutSuffix(rest, ".scope")
	if !ok {
		return false
	}
	body = strings.TrimPrefix(body, "hook.")
	i := strings.Index(body, "-")
	return i > 0 && i < len(body)-1 && !strings.Contains(body, ".")
}

// occupiedV2 walks the v2 hierarchy at root for a tracking group of inst
// with processes: found names it; otherwise why says what the walk could
// not look at, if anything.
func occupiedV2(root string, inst naming.Instance) (found, why string) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Sprintf("cannot open %s: %v", root, err)
	}
	defer unix.Close(fd)
	w := &walker{inst: inst, buf: make([]byte, 16<<10)}
	found = w.walk(fd, root, 1)
	return found, w.why
}

// walker walks a cgroup v2 tree through directory descriptors (paths below
// a hostile subtree can be longer than PATH_MAX), reading entries with
// getdents and looking only at directories.
type walker struct {
	inst naming.Instance
	seen int    // groups visited
	why  string // the first thing the walk could not look at
	buf  []byte
}

// cannot records the first thing the walk could not look at.
func (w *walker) cannot(format string, args ...any) {
	if w.why == "" {
		w.why = fmt.Sprintf(format, args...)
	}
}

// walk looks below the group dirfd (at path, depth levels below the root)
// and returns a tracking group with processes, or "".
func (w *walker) walk(dirfd int, path string, depth int) string {
	names, err := w.subgroups(dirfd, maxCgroupDirs-w.seen)
	if errors.Is(err, errTooMany) {
		w.cannot("more than %d cgroups", maxCgroupDirs)
		w.seen = maxCgroupDirs + 1 // the walk ends here
		return ""
	}
	if err != nil {
		w.cannot("cannot read %s: %v", path, err)
		return ""
	}
	if len(names) > 0 && depth > maxCgroupDepth {
		w.cannot("%s has groups more than %d levels deep", path, maxCgroupDepth)
		return ""
	}
	for _, name := range names {
		if w.seen++; w.seen > maxCgroupDirs {
			w.cannot("more than %d cgroups", maxCgroupDirs)
			return ""
		}
		sub := path + "/" + name
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue // removed while walking
		}
		if err != nil {
			w.cannot("cannot open %s: %v", sub, err)
			continue
		}
		if IsTrackingGroup(name, w.inst) {
			busy, err := hasProcesses(fd, sub)
			if err != nil {
				w.cannot("%v", err)
			} else if busy {
				unix.Close(fd)
				return sub
			}
		}
		found := w.walk(fd, sub, depth+1)
		unix.Close(fd)
		if found != "" || w.seen > maxCgroupDirs {
			return found
		}
	}
	return ""
}

// errTooMany says that a walk would visit more than maxCgroupDirs groups.
var errTooMany = errors.New("too many cgroups")

// subgroups lists the directories in dirfd, failing with errTooMany once
// there are more than limit.
func (w *walker) subgroups(dirfd int, limit int) ([]string, error) {
	var names []string
	for {
		n, err := unix.Getdents(dirfd, w.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return names, nil
		}
		for off := 0; off+19 <= n; {
			// struct linux_dirent64: ino, off, reclen, type, name.
			reclen := int(binary.NativeEndian.Uint16(w.buf[off+16:]))
			if reclen < 19 || off+reclen > n {
				return nil, errors.New("malformed directory entry")
			}
			typ, raw := w.buf[off+18], w.buf[off+19:off+reclen]
			off += reclen
			end := bytes.IndexByte(raw, 0)
			if end < 0 {
				return nil, errors.New("malformed directory entry")
			}
			name := string(raw[:end])
			if name == "" || name == "." || name == ".." {
				continue
			}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
					typ = unix.DT_DIR
				}
			}
			if typ != unix.DT_DIR {
				continue
			}
			if len(names) == limit {
				return nil, errTooMany
			}
			names = append(names, name)
		}
	}
}

// hasProcesses reads the cgroup.procs of the group dirfd (at path) (v2,
// and v1 since 3.x) and tells whether it lists a process. The planner reads
// it too, without privilege: it is opened O_NONBLOCK|O_NOFOLLOW and must be
// a regular file (as cgroupfs makes it), so that nothing planted there can
// hang or redirect the read. A missing file means no processes.
func hasProcesses(dirfd int, path string) (bool, error) {
	path += "/cgroup.procs"
	fd, err := unix.Openat(dirfd, "cgroup.procs", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false, fmt.Errorf("cannot read %s: not a regular file", path)
	}
	// The first bytes are enough: a group without processes reads empty.
	var buf [64]byte
	n, err := f.Read(buf[:])
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return strings.TrimSpace(string(buf[:n])) != "", nil
}
