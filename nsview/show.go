// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/naming"
)

// Shown is the answer of `snap-ns show`.
type Shown struct {
	Schema   string  `json:"schema"`
	Command  string  `json:"command"`
	Instance string  `json:"instance"`
	UID      *uint32 `json:"uid"`
	Name     string  `json:"name"`
	ID       uint64  `json:"id"`
	Inode    uint64  `json:"inode"`
	PID      int     `json:"pid"`     // the process read through; 0 when none
	Entered  bool    `json:"entered"` // root entered it on a throwaway thread (no process in it)
	Problem  string  `json:"problem"` // why there is no mount table
	Mounts   []Mount `json:"mounts"`
}

// Mount is one line of the namespace's mountinfo.
type Mount struct {
	MountPoint  string `json:"mount_point"`
	FSType      string `json:"fs_type"`
	Source      string `json:"source"`
	Root        string `json:"root"`
	Device      string `json:"device"`
	Propagation string `json:"propagation"`
	// Options are the mount's options then the filesystem's, as findmnt's
	// OPTIONS column shows them ("rw,nosuid,relatime,size=...").
	Options string `json:"options"`
}

// Show reads the mount table inside the preserved namespace of inst (or of
// uid's layer when uid is set) through a process that runs in it: reading
// a member's mountinfo needs no privilege, only a member. When there is
// none, root enters the namespace on a throwaway thread (mountsByEntering);
// anyone else is told that it needs a process in it or root.
func Show(inst naming.Instance, uid *uint32) (*Shown, error) {
	name := layout.MountNSName(inst)
	if uid != nil {
		name = layout.UserMountNSName(inst, *uid)
	}
	s := &Shown{Schema: Schema, Command: "show", Instance: inst.String(), UID: uid, Name: name, Mounts: []Mount{}}
	path := layout.NSDir + "/" + name
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return nil, fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || sfs.Type != unix.NSFS_MAGIC {
		return nil, fmt.Errorf("cannot show %s: not a preserved namespace", path)
	}
	s.Inode = st.Ino
	s.ID, _ = namespaceID(fd)
	entries, pid, problem := mountsOf(st.Ino, st.Dev)
	s.PID, s.Problem = pid, problem
	if pid == 0 && problem != "" && os.Geteuid() == 0 {
		// No process to read through: root enters the namespace on a
		// thread of its own, which is thrown away afterwards.
		if e, err := mountsByEntering(fd, st.Ino, st.Dev); err == nil {
			entries, s.Entered, s.Problem = e, true, ""
		} else {
			s.Problem += "; " + err.Error()
		}
	}
	for _, e := range entries {
		s.Mounts = append(s.Mounts, Mount{
			MountPoint: e.MountDir, FSType: e.FSType, Source: e.Source, Root: e.Root,
			Device: fmt.Sprintf("%d:%d", e.Major, e.Minor), Propagation: Propagation(e.Optional),
			Options: Options(e),
		})
	}
	return s, nil
}

// Options joins a mount's options and its filesystem's, as findmnt does:
// the filesystem's rw or ro is left out when the mount says the same.
func Options(e mountinfo.Entry) string {
	opts := strings.Split(e.Options, ",")
	for _, o := range strings.Split(e.SuperOptions, ",") {
		if o != "" && !((o == "rw" || o == "ro") && slices.Contains(opts, o)) {
			opts = append(opts, o)
		}
	}
	return strings.Join(opts, ",")
}

// Propagation spells out mountinfo's optional fields: shared:N, master:N,
// propagate_from:N and unbindable, or private when there are none.
func Propagation(optional []string) string {
	var words []string
	for _, f := range optional {
		switch {
		case strings.HasPrefix(f, "shared:"):
			words = append(words, f)
		case strings.HasPrefix(f, "master:"):
			words = append(words, "slave of "+strings.TrimPrefix(f, "master:"))
		case strings.HasPrefix(f, "propagate_from:"):
			words = append(words, "from "+strings.TrimPrefix(f, "propagate_from:"))
		case f == "unbindable":
			words = append(words, f)
		}
	}
	if len(words) == 0 {
		return "private"
	}
	return strings.Join(words, ",")
}

// mountsOf finds a process whose mount namespace is the nsfs inode ino on
// dev and reads its mount table. Without privilege only the caller's own
// processes can be seen, so "none found" says what would help.
func mountsOf(ino, dev uint64) ([]mountinfo.Entry, int, string) {
	pid, err := memberOf(ino, dev)
	if err != nil {
		return nil, 0, err.Error()
	}
	if pid == 0 {
		why := "no process runs in it"
		if os.Geteuid() != 0 {
			why = "none of the caller's processes runs in it (root sees every process, and enters a namespace without one)"
		}
		return nil, 0, "cannot read its mount table: " + why
	}
	path := fmt.Sprintf("/proc/%d/mountinfo", pid)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Sprintf("cannot open %s: %v", path, err)
	}
	entries, err := readMountTable(f)
	f.Close()
	if err != nil {
		return nil, 0, fmt.Sprintf("cannot read %s: %v", path, err)
	}
	// The process may have exited and its pid been reused while we read:
	// the table counts only if it is still in the namespace afterwards.
	if !inNamespace(pid, ino, dev) {
		return nil, 0, fmt.Sprintf("cannot read its mount table: process %d left the namespace while it was read", pid)
	}
	return entries, pid, ""
}

// mountsByEntering reads the mount table of the namespace behind the
// O_PATH descriptor nsfd (inode ino on dev) from inside it: on a new locked
// thread that stops sharing its filesystem attributes with the process
// (unshare(CLONE_FS), which setns into a mount namespace requires of a
// thread), joins it and reads its own mountinfo through a /proc/thread-self
// opened before, so that nothing is looked up inside the namespace. The
// thread is never unlocked: the Go runtime ends it with its goroutine, so
// no other goroutine ever runs in the namespace. Root only.
func mountsByEntering(nsfd int, ino, dev uint64) ([]mountinfo.Entry, error) {
	type result struct {
		entries []mountinfo.Entry
		err     error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		entries, err := enterAndRead(nsfd, ino, dev)
		done <- result{entries, err}
	}()
	r := <-done
	return r.entries, r.err
}

func enterAndRead(nsfd int, ino, dev uint64) ([]mountinfo.Entry, error) {
	rfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", nsfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot enter it: cannot open the namespace file: %w", err)
	}
	defer unix.Close(rfd)
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if unix.Fstat(rfd, &st) != nil || unix.Fstatfs(rfd, &sfs) != nil || st.Ino != ino || st.Dev != dev || sfs.Type != unix.NSFS_MAGIC {
		return nil, fmt.Errorf("cannot enter it: the namespace file changed")
	}
	procfd, err := unix.Open("/proc/thread-self", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot enter it: cannot open /proc/thread-self: %w", err)
	}
	defer unix.Close(procfd)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return nil, fmt.Errorf("cannot enter it: unshare(CLONE_FS): %w", err)
	}
	if err := unix.Setns(rfd, unix.CLONE_NEWNS); err != nil {
		return nil, fmt.Errorf("cannot enter it: setns: %w", err)
	}
	if err := unix.Fstatat(procfd, "ns/mnt", &st, 0); err != nil || st.Ino != ino || st.Dev != dev {
		return nil, fmt.Errorf("cannot enter it: the thread is not in it after setns")
	}
	fd, err := unix.Openat(procfd, "mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open /proc/thread-self/mountinfo in it: %w", err)
	}
	f := os.NewFile(uintptr(fd), "/proc/thread-self/mountinfo")
	defer f.Close()
	entries, err := readMountTable(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read /proc/thread-self/mountinfo in it: %w", err)
	}
	return entries, nil
}

// memberOf returns the first process in the namespace, or 0.
func memberOf(ino, dev uint64) (int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return 0, fmt.Errorf("cannot open /proc: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("cannot read /proc: %w", err)
	}
	self := os.Getpid()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		if inNamespace(pid, ino, dev) {
			return pid, nil
		}
	}
	return 0, nil
}

// inNamespace tells whether pid's mount namespace is ino on dev. The stat
// goes through the magic link, which the kernel allows only to those who
// may ptrace-read the process.
func inNamespace(pid int, ino, dev uint64) bool {
	var st unix.Stat_t
	return unix.Stat(fmt.Sprintf("/proc/%d/ns/mnt", pid), &st) == nil && st.Ino == ino && st.Dev == dev
}

// readMountTable reads a whole mount table from r (mountinfo.Scan), of
// any size, to show it.
func readMountTable(r io.Reader) ([]mountinfo.Entry, error) {
	var entries []mountinfo.Entry
	err := mountinfo.Scan(r, func(e mountinfo.Entry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}
