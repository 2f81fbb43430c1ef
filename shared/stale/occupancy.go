// SPDX-License-Identifier: GPL-3.0-only

package stale

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/naming"
)

// Bounds of the cgroup v2 walk: snapd's tracking groups sit a few levels
// below the root (user.slice/user-1000.slice/user@1000.service/app.slice).
const (
	maxCgroupDepth = 8
	maxCgroupDirs  = 100000
)

// Occupied reports whether the snap instance still has processes, from the
// cgroup hierarchy mounted at root (normally /sys/fs/cgroup): on a unified
// (cgroup v2) host, any of snapd's tracking groups for the instance holding a
// process; otherwise the v1 freezer group snap.<instance> holding a task.
func Occupied(root string, inst naming.Instance) (bool, string, error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(root, &sfs); err != nil {
		return false, "", fmt.Errorf("cannot inspect %s: %w", root, err)
	}
	if sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		return occupiedV2(root, inst)
	}
	group := filepath.Join(root, "freezer", "snap."+inst.String())
	busy, err := hasProcesses(group)
	if err != nil {
		return false, "", err
	}
	if busy {
		return true, "freezer group " + group + " has tasks", nil
	}
	return false, "", nil
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

func occupiedV2(root string, inst naming.Instance) (bool, string, error) {
	seen := 0
	var walk func(dir string, depth int) (string, error)
	walk = func(dir string, depth int) (string, error) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", nil // removed while walking
			}
			return "", err
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if seen++; seen > maxCgroupDirs {
				return "", fmt.Errorf("cannot inspect %s: more than %d cgroups", root, maxCgroupDirs)
			}
			path := filepath.Join(dir, e.Name())
			if IsTrackingGroup(e.Name(), inst) {
				busy, err := hasProcesses(path)
				if err != nil {
					return "", err
				}
				if busy {
					return path, nil
				}
			}
			if depth < maxCgroupDepth {
				if found, err := walk(path, depth+1); err != nil || found != "" {
					return found, err
				}
			}
		}
		return "", nil
	}
	found, err := walk(root, 1)
	if err != nil {
		return false, "", fmt.Errorf("cannot inspect the cgroups of snap %s: %w", inst, err)
	}
	if found != "" {
		return true, "tracking group " + found + " has processes", nil
	}
	return false, "", nil
}

// hasProcesses reads a cgroup's cgroup.procs (v2, and v1 since 3.x) and
// tells whether it lists a process. A missing group has none. The planner
// reads it too, without privilege: it is opened O_NONBLOCK|O_NOFOLLOW and
// must be a regular file (as cgroupfs makes it), so that nothing planted
// there can hang or redirect the read.
func hasProcesses(group string) (bool, error) {
	path := filepath.Join(group, "cgroup.procs")
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
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
