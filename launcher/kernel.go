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

// The launcher runs on Linux 5.4 and later. Where the kernel has a newer
// interface that says or does something more directly, it is used; where
// it does not, an older one that keeps the same property (SECURITY.md,
// "Kernels before 6.8"):
//
//	interface                          since  without it
//	open_tree, move_mount              5.2    mount(2) on /proc/self/fd/N (bootstrap.go, the old-API path)
//	openat2 and RESOLVE_*              5.6    a walk of one O_PATH|O_NOFOLLOW component at a time (shared/resolve)
//	STATX_ATTR_MOUNT_ROOT              5.8    the mount ids of the directory and its parent (mountRoot)
//	BPF maps charged to the memcg      5.11   RLIMIT_MEMLOCK raised around the device map and program (devcgroup.go)
//	mount_setattr                      5.12   mount(2) on /proc/self/fd/N, as for open_tree
//	BPF_F_PATH_FD                      6.5    BPF_OBJ_GET/BPF_OBJ_PIN by a /proc/self/fd/N path
//	NS_GET_MNTNS_ID                    6.8    the namespace's nsfs inode (identify)
//
// Each is looked for once per launch, at its first use, from the kernel's
// own answer to a call it must refuse for another reason when it has the
// interface (never from the version string): ENOSYS means the call is
// missing, and so does EPERM before any check of privilege, which only a
// seccomp filter older than the call gives (a container runtime's).
// Nothing the caller controls can choose the older path: the answers come
// from the kernel, and the older paths are as safe.

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

// identify returns the identity of the namespace ns (an nsfs file).
//
// A namespace's id (NS_GET_MNTNS_ID, Linux 6.8) is unique and never
// reused; on older kernels the inode number of its nsfs file is unique
// among the namespaces alive at one time, which every preserved namespace
// is (its bind mount keeps it): another namespace bound over a preserved
// one's file has another inode, as it has another id. What the inode gives
// up is the past: once a namespace is gone its number may be handed to a
// new one, so a record that outlives its namespace could match a later
// one. The launcher never lets a record outlive its namespace (a discard
// removes the namespaces first, then their info files, and a per-user
// layer goes with the snap's namespace); only someone who can unmount in
// /run/snapd/ns (root) can make one, and then the worst is a user's own
// stale layer of the same snap (captured.go says more).
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
	fd, err := unix.Openat(parent.Fd(), filepath.Base(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	child := desc.New(fd, path)
	defer child.Close()
	return s.mountRoot(parent, child)
}
