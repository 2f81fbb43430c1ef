// SPDX-License-Identifier: GPL-3.0-only

// Package report is the probe app's report: what tests/probe prints and the
// tests and the demo read.
package report

import "golang.org/x/sys/unix"

// Report is what the launcher handed the probe, as the probe saw it.
type Report struct {
	Argv   []string          `json:"argv"`
	Env    []string          `json:"env"`
	UIDs   [3]int            `json:"uids"`
	GIDs   [3]int            `json:"gids"`
	Groups []int             `json:"groups"`
	Caps   map[string]string `json:"caps"`
	CPUs   string            `json:"cpus"`
	Umask  string            `json:"umask"`
	// Status holds the security lines of /proc/self/status: NoNewPrivs,
	// Seccomp, Seccomp_filters.
	Status    map[string]string `json:"status"`
	Mounts    []string          `json:"mounts"`
	Cwd       string            `json:"cwd"`
	FDs       []int             `json:"fds"`
	MountNS   string            `json:"mount_ns"`
	MountNSID uint64            `json:"mount_ns_id"`
	Read      map[string]string `json:"read,omitempty"`
	// Stat maps a path given to "stat" to "MAJOR:MINOR:INODE", or to
	// "error: ..." when it cannot be stat-ed.
	Stat map[string]string `json:"stat,omitempty"`
	// Open maps a path given to "open" to "ok", or to "error: ..." when
	// it cannot be opened for reading (the device cgroup's answer).
	Open   map[string]string `json:"open,omitempty"`
	Errors []string          `json:"errors,omitempty"`
}

// MountNSID returns an id of the mount namespace behind fd, an nsfs file
// (/proc/PID/ns/mnt or a bind mount of one): NS_GET_MNTNS_ID where the
// kernel has it (Linux 6.8), else the nsfs file's inode number. Every nsfs
// file is on the one nsfs superblock, so its inode names the namespace as
// the device and inode do, but only while the namespace lives: the kernel
// may give a later namespace the inode of one that died, where an id is
// never reused. The probe and the tests use this one function, so that
// both sides of a comparison are of the same kind on every kernel.
func MountNSID(fd int) (uint64, error) {
	id, err := unix.IoctlGetUint64(fd, unix.NS_GET_MNTNS_ID)
	if err != unix.ENOTTY {
		return id, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// HaveMountNSIDs reports whether the kernel has NS_GET_MNTNS_ID (6.8), so
// that MountNSID returns the kernel's ids and not inode numbers.
func HaveMountNSIDs() bool {
	fd, err := unix.Open("/proc/self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	_, err = unix.IoctlGetUint64(fd, unix.NS_GET_MNTNS_ID)
	return err == nil
}
