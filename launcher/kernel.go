// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/shared/trusted"
)

// The launcher runs on Linux 5.4 and later: where the kernel lacks a newer
// interface, an older one keeps the same property (SECURITY.md §4.7 has
// the table and why each holds). Each is looked for once per launch, at
// its first use, from the kernel's own answer to a call it must refuse
// for another reason when it has the interface, never from the version
// string: ENOSYS, or EPERM before any check of privilege (a container's
// seccomp filter), means it is missing.

// feature is a probe's answer: unknown until asked, then have or lack.
type feature int8

const (
	unknown feature = iota
	have
	lack
)

// kernel holds this launch's answers.
var kernel struct {
	mountAPI  feature
	nsIDs     feature
	bpfPathFD feature
}

// probe answers f once with ask.
func probe(f *feature, ask func() bool) bool {
	if *f == unknown {
		*f = lack
		if ask() {
			*f = have
		}
	}
	return *f == have
}

// missing tells the answer of a call made to probe for it: the kernel has
// the call unless it answered ENOSYS, or EPERM (a seccomp filter's).
func missing(errno unix.Errno) bool { return errno == unix.ENOSYS || errno == unix.EPERM }

// haveMountAPI reports whether the new mount API is all there: open_tree
// (with move_mount, Linux 5.2) and mount_setattr (5.12). Both are asked
// with a flag they refuse (EINVAL) before anything else, privilege
// included.
func haveMountAPI() bool {
	return probe(&kernel.mountAPI, func() bool {
		e1, e2 := privop.ProbeMountAPI()
		return !missing(e1) && !missing(e2)
	})
}

// haveBPFPathFD reports whether bpf(2) takes BPF_F_PATH_FD (Linux 6.5):
// asked with BPF_OBJ_GET of the empty path, which a kernel with the flag
// refuses with ENOENT (no privilege needed since 5.19); one without it
// refuses the flag (EINVAL), or, before 5.19 with unprivileged BPF off,
// every unprivileged bpf(2) (EPERM).
func haveBPFPathFD() bool {
	return probe(&kernel.bpfPathFD, func() bool {
		err := privop.ProbeBPFPathFD()
		return err == unix.ENOENT || err == unix.EBADF
	})
}

// identify returns the identity of the namespace ns: its id
// (NS_GET_MNTNS_ID, Linux 6.8), or before, its nsfs inode (SECURITY.md
// §4.7 says why an inode does as well for what the launcher compares).
func identify(ns *desc.FD) (planner.Identity, error) {
	id, err := mountNSID(ns)
	if err != nil {
		return planner.Identity{}, err
	}
	if id != 0 {
		return planner.Identity{ID: id}, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(ns.Fd(), &st); err != nil {
		return planner.Identity{}, err
	}
	return planner.Identity{Inode: st.Ino}, nil
}

// mountNSID returns the kernel's unique, never reused id of a mount
// namespace, or 0 on kernels without NS_GET_MNTNS_ID (before 6.8: the
// ioctl is unknown to nsfs, ENOTTY), which also predate the id ordering
// that unshareAbove works around.
func mountNSID(ns *desc.FD) (uint64, error) {
	if kernel.nsIDs == lack {
		return 0, nil
	}
	id, err := unix.IoctlGetUint64(ns.Fd(), unix.NS_GET_MNTNS_ID)
	if err == unix.ENOTTY || err == unix.EINVAL {
		kernel.nsIDs = lack
		return 0, nil
	}
	if err == nil {
		kernel.nsIDs = have
	}
	return id, err
}

// mountRoot is resolve.MountRoot through the launcher's verified /proc.
func (s *session) mountRoot(parent, child *desc.FD) (bool, error) {
	return resolve.MountRoot(s.host.proc.Fd(), parent.Fd(), child.Fd())
}

// isMountPoint reports whether the directory at the absolute path, walked
// without following symlinks, is the root of a mount (mountRoot).
func (s *session) isMountPoint(path string) (bool, error) {
	parent, err := trusted.Path(filepath.Dir(path))
	if err != nil {
		return false, err
	}
	defer parent.Close()
	child, err := trusted.DirEntryAt(parent, filepath.Base(path))
	if err != nil {
		return false, err
	}
	defer child.Close()
	return s.mountRoot(parent, child)
}
