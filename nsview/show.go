package nsview

import (
	"fmt"
	"io"
	"os"
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
}

// Show reads the mount table inside the preserved namespace of inst (or of
// uid's layer when uid is set) through a process that runs in it.
// Entering the namespace would need privilege and a thread of our own in
// it; reading a member's mountinfo needs neither, only a member.
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
	for _, e := range entries {
		s.Mounts = append(s.Mounts, Mount{
			MountPoint: e.MountDir, FSType: e.FSType, Source: e.Source, Root: e.Root,
			Device: fmt.Sprintf("%d:%d", e.Major, e.Minor), Propagation: Propagation(e.Optional),
		})
	}
	return s, nil
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
			why = "none of the caller's processes runs in it (root sees every process)"
		}
		return nil, 0, "cannot read its mount table: " + why
	}
	data, err := readProc(fmt.Sprintf("/proc/%d/mountinfo", pid), mountinfo.MaxSize)
	if err != nil {
		return nil, 0, err.Error()
	}
	// The process may have exited and its pid been reused while we read:
	// the table counts only if it is still in the namespace afterwards.
	if !inNamespace(pid, ino, dev) {
		return nil, 0, fmt.Sprintf("cannot read its mount table: process %d left the namespace while it was read", pid)
	}
	entries, err := mountinfo.Parse(data)
	if err != nil {
		return nil, 0, err.Error()
	}
	return entries, pid, ""
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

// readProc reads at most max bytes of a procfs file.
func readProc(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("cannot read %s: over %d bytes", path, max)
	}
	return data, nil
}
