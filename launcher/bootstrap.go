// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"github.com/snapns/snapns/planner"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/resolve"
)

// The bootstrap gives a new namespace the snap's root filesystem, as
// snap-confine's sc_bootstrap_mount_namespace does, executing the fixed
// tables of policy/bootstrap.go. Every mount is made with the new mount API
// from descriptor to descriptor: a host directory is cloned (open_tree), its
// propagation set on the detached copy (mount_setattr) and the copy attached
// (move_mount) on a target resolved inside the new root with
// RESOLVE_IN_ROOT, so that no symlink in the base snap can send a mount
// outside it. Before Linux 5.12 the same steps are made with mount(2)
// (bootstrap_old.go).

// hostSide is what the bootstrap takes from pid 1's namespace, cloned on the
// throwaway thread before it unshares: open_tree only clones mounts of the
// caller's own namespace, the base snap was resolved there, and the shared
// binds must be clones of the host's mounts to stay in their peer groups.
// Every field is a detached mount tree, visible to no one until attached.
type hostSide struct {
	root       int            // legacy mode: the host's "/"; -1 in normal mode
	shared     map[string]int // policy path -> clone; missing optional entries absent
	snapdTools int            // the launcher's own directory, or -1
}

func (h *hostSide) close() {
	for _, fd := range h.shared {
		unix.Close(fd)
	}
	for _, fd := range []int{h.root, h.snapdTools} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// build is what a new namespace is built from: the plan's root, and the
// base and home directories it was decided on.
type build struct {
	root     planner.Root
	base     planner.Base
	homedirs []string
}

// prepareHostSide runs in pid 1's namespace, on the throwaway thread.
func (l *launcher) prepareHostSide(b *build) (*hostSide, error) {
	normal := b.root.Normal
	h := &hostSide{root: -1, shared: map[string]int{}, snapdTools: -1}
	err := func() (err error) {
		// In normal mode the root is a new tmpfs (replicateBase);
		// legacy mode keeps the host's whole tree.
		if !normal {
			var slash int
			if slash, err = openRoot(); err == nil {
				h.root, err = l.clone(slash, true, "the root filesystem")
				unix.Close(slash)
			}
			if err != nil {
				return err
			}
		}
		for _, hb := range b.root.Binds {
			if hb.Propagation != policy.Shared {
				continue
			}
			if hb.CreateOnHost {
				if err := l.ensureHostDir(hb.Path); err != nil {
					return err
				}
			}
			src, err := openHostDir(hb.Path)
			if errors.Is(err, unix.ENOENT) && hb.Optional {
				continue
			}
			if err != nil {
				return fmt.Errorf("cannot bootstrap: %w", err)
			}
			for _, at := range []string{hb.Path, hb.AltPath} {
				if at == "" {
					continue
				}
				tree, err := l.clone(src, true, hb.Path)
				if err != nil {
					unix.Close(src)
					return err
				}
				h.shared[at] = tree
			}
			unix.Close(src)
		}
		if normal && b.root.SnapdTools {
			fd, _, err := openToolsDir(l.procfd)
			if err != nil {
				return err
			}
			h.snapdTools, err = l.clone(fd, false, policy.SnapdToolsDir)
			unix.Close(fd)
			return err
		}
		return nil
	}()
	if err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// ensureHostDir creates the last component of path on the host as a
// root:root 0755 directory when it is missing (snap-confine does this for
// /media and /run/netns).
func (l *launcher) ensureHostDir(path string) error {
	parent, err := openDirPath(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	fd, err := l.ensureRootDir(parent, filepath.Base(path), 0o755, path)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// openToolsDir opens the directory the launcher runs from: snapd's tools
// are found there, as snap-confine finds them (/usr/lib/snapd, or
// /usr/libexec/snapd on Fedora, Arch, openSUSE and CentOS), and it is bound
// over /usr/lib/snapd in the snap's root so that they match the launcher.
// It must be root-owned and not writable by others: a launcher reached
// through someone else's directory (a hard link) finds nothing there.
func openToolsDir(procfd int) (int, string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(procfd, "self/exe", buf)
	if err != nil {
		return -1, "", fmt.Errorf("cannot locate the launcher: %w", err)
	}
	self := string(buf[:n])
	if !strings.HasPrefix(self, "/") || strings.HasSuffix(self, " (deleted)") {
		return -1, "", fmt.Errorf("cannot use the launcher's directory: %q", self)
	}
	dir := filepath.Dir(self)
	fd, err := openDirPath(dir)
	if err != nil {
		return -1, "", err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Uid != 0 || st.Mode&0o022 != 0 {
		unix.Close(fd)
		return -1, "", fmt.Errorf("cannot use snapd's tools in %s: not a root-owned directory closed to others", dir)
	}
	return fd, dir, nil
}

// bootstrap builds the snap's root filesystem and pivots into it. It runs
// on the throwaway thread, in the new namespace, after / was made
// recursively slave.
func (l *launcher) bootstrap(b *build, h *hostSide) error {
	tmp, privBase, err := l.openPrivateTmpDir()
	if err != nil {
		return err
	}
	defer unix.Close(tmp)
	defer unix.Close(privBase)
	scratchName := layout.RootfsScratchName(l.launch.Instance)
	scratchDisplay := layout.PrivateTmpDir + "/" + scratchName
	if l.old != nil {
		// Assembled in the staging area, whose mount propagates
		// nothing (bootstrap_old.go).
		privBase, scratchName, scratchDisplay = l.old.staging, "root", stagingDisplay+" entry root"
	}
	scratch, err := l.ensureRootDir(privBase, scratchName, layout.PrivateTmpBaseMode, scratchDisplay)
	if err != nil {
		return err
	}
	if b.root.Normal {
		err = l.priv.MountRootTmpfs(privBase, scratchName)
	} else {
		err = l.attachHostRoot(h, scratch)
	}
	unix.Close(scratch)
	if err != nil {
		return err
	}
	root, err := l.priv.OpenRootOnly(privBase, scratchName, dirFlags, scratchDisplay)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	if b.root.Normal {
		base, err := l.openBaseHere(b.base)
		if err != nil {
			return err
		}
		defer unix.Close(base)
		if err := l.replicateBase(root, base, b.root.MergedUsr); err != nil {
			return err
		}
		if err := l.populateRoot(root, b, h, base); err != nil {
			return err
		}
	} else if err := l.populateRoot(root, b, h, -1); err != nil {
		return err
	}
	// On a classic host, the loaded NVIDIA driver below
	// /var/lib/snapd/lib, before the pivot, as snap-confine does
	// (nvidia.go).
	if b.root.HostGPU {
		if err := l.mountNvidia(root, b); err != nil {
			return err
		}
	}
	if err := l.pivot(root, b.root.Normal); err != nil {
		return err
	}
	// Nothing is mounted on the scratch directory any more (before 5.12
	// it went with the staging area).
	if l.old != nil {
		return nil
	}
	if err := l.priv.UnlinkRoot(privBase, scratchName, unix.AT_REMOVEDIR, scratchDisplay); err != nil {
		l.debugf("%v", err)
	}
	return nil
}

// attachHostRoot puts the clone of the host's whole tree on the scratch
// directory, as the root of a legacy-mode namespace. (In normal mode the
// root is a new tmpfs, which replicateBase fills, as snap-confine ≥ 2.59's
// sc_replicate_base_rootfs; it is unbindable while it is assembled, since
// it sits below the host's /tmp, which is bound into it recursively, and
// private after the pivot.)
func (l *launcher) attachHostRoot(h *hostSide, scratch int) error {
	if err := l.setAttrs(h.root, unix.MS_SLAVE, false, "the root filesystem"); err != nil {
		return err
	}
	return l.attach(h.root, scratch, "the root filesystem")
}

// openBaseHere opens the base snap's revision as mounted in the new
// namespace (open_tree clones only mounts of the caller's namespace): the
// revision resolved on the host, checked to be on the same device.
func (l *launcher) openBaseHere(b planner.Base) (int, error) {
	fd, err := openDirPath(l.snapDir + "/" + b.Name + "/" + b.Revision)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Dev != b.Device {
		unix.Close(fd)
		return -1, fmt.Errorf("cannot use base snap %q: revision %s changed device while the namespace was made", b.Name, b.Revision)
	}
	return fd, nil
}

// replicateBase gives the new root's tmpfs a mount point for every entry of
// the base snap's root, as snap-confine ≥ 2.59 does: each directory is the
// base's, bound recursively as a slave, except those the host's
// directories (policy.NormalModeBinds) and /snap go on; each file is the
// base's, bound on an empty file; each symlink is copied. The root itself
// stays a writable tmpfs, so that snap-update-ns makes a layout's new
// top-level mount point there instead of a writable mimic over "/" (which
// needs the whole tree moved aside and back).
func (l *launcher) replicateBase(root, base int, mergedUsr bool) error {
	names, err := readDirNames(base)
	if err != nil {
		return fmt.Errorf("cannot list the root of base snap %q: %w", l.launch.Base, err)
	}
	slices.Sort(names)
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(base, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("cannot inspect /%s of base snap %q: %w", name, l.launch.Base, err)
		}
		display := fmt.Sprintf("/%s of base snap %q", name, l.launch.Base)
		switch typ := st.Mode & unix.S_IFMT; typ {
		case unix.S_IFDIR:
			if err := l.priv.MakeRootEntry(root, name, typ, ""); err != nil {
				return err
			}
			if policy.BoundOverBase("/"+name, mergedUsr) {
				continue
			}
			if err := l.bindFromBaseRoot(root, base, name, true, display); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := l.priv.MakeRootEntry(root, name, typ, ""); err != nil {
				return err
			}
			if err := l.bindFromBaseRoot(root, base, name, false, display); err != nil {
				return err
			}
		case unix.S_IFLNK:
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(base, name, buf)
			if err != nil {
				return fmt.Errorf("cannot read the symlink %s: %w", display, err)
			}
			if err := l.priv.MakeRootEntry(root, name, typ, string(buf[:n])); err != nil {
				return err
			}
		default:
			return fmt.Errorf("cannot bootstrap on base snap %q: /%s is neither a directory, a file nor a symlink", l.launch.Base, name)
		}
	}
	return nil
}

// bindFromBaseRoot binds the base's entry name (a directory, recursively,
// or a file) on the mount point of the same name in the new root, as a
// slave.
func (l *launcher) bindFromBaseRoot(root, base int, name string, dir bool, display string) error {
	src, err := openEntryPath(base, name, dir)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", display, err)
	}
	defer unix.Close(src)
	tree, err := l.clone(src, dir, display)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	if err := l.setAttrs(tree, unix.MS_SLAVE, false, display); err != nil {
		return err
	}
	dst, err := openEntryPath(root, name, dir)
	if err != nil {
		return fmt.Errorf("cannot open the mount point of %s: %w", display, err)
	}
	defer unix.Close(dst)
	return l.attach(tree, dst, display)
}

// openEntryPath opens name below dirfd O_PATH without following a symlink;
// with dir, only a directory.
func openEntryPath(dirfd int, name string, dir bool) (int, error) {
	if dir {
		return unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
	}
	return unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// populateRoot binds the host's directories, the snapd tools, /snap and a
// few files of the base's /etc into the new root, in snap-confine's order.
func (l *launcher) populateRoot(root int, b *build, h *hostSide, baseHere int) error {
	for _, hb := range b.root.Binds {
		if err := l.bindHost(root, hb, h); err != nil {
			return err
		}
	}
	if !b.root.Normal {
		return nil
	}
	// snapd's extra home directories (system-params homedirs=), bound like
	// /home; their mount points are made where missing, as snap-confine
	// makes them (sc_create_mount_points): possible on the root's tmpfs
	// and below the host's writable directories, not in the base's.
	for _, dir := range b.homedirs {
		src, err := openHostDir(dir)
		if err != nil {
			return fmt.Errorf("cannot bind home directory %s: %w", dir, err)
		}
		if err := l.ensureMountPoint(root, dir); err != nil {
			unix.Close(src)
			return fmt.Errorf("cannot bind home directory %s: %w", dir, err)
		}
		err = l.attachAt(root, dir, src, false)
		unix.Close(src)
		if err != nil {
			return err
		}
	}
	for _, path := range b.root.EtcFromBase {
		if err := l.bindFromBase(root, baseHere, b.base.Name, path); err != nil {
			return err
		}
	}
	if h.snapdTools >= 0 {
		if err := l.attachTreeAt(root, policy.SnapdToolsDir, h.snapdTools, true); err != nil {
			return err
		}
	}
	snap, err := openDirPath(l.snapDir)
	if err != nil {
		return err
	}
	defer unix.Close(snap)
	return l.attachAt(root, layout.SnapMountDirInSnap, snap, false)
}

// bindHost binds one host directory of the table into the new root.
func (l *launcher) bindHost(root int, b policy.HostBind, h *hostSide) error {
	if b.Propagation == policy.Shared {
		for _, at := range []string{b.Path, b.AltPath} {
			tree, ok := h.shared[at]
			if at == "" || !ok {
				l.debugf("skipping %s: not on the host", b.Path)
				continue
			}
			target, err := l.openTarget(root, at, b.Optional)
			if err != nil {
				return err
			}
			if target < 0 {
				continue
			}
			err = l.attach(tree, target, at)
			unix.Close(target)
			if err != nil {
				return err
			}
		}
		return nil
	}
	src, err := openHostDir(b.Path)
	if errors.Is(err, unix.ENOENT) && b.Optional {
		l.debugf("skipping %s: not on the host", b.Path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot bootstrap snap %q: the host has no usable %s: %w", l.launch.Instance.String(), b.Path, err)
	}
	defer unix.Close(src)
	return l.attachAt(root, b.Path, src, b.Optional)
}

// attachAt binds the directory src, recursively, at path inside the new root,
// as a slave.
func (l *launcher) attachAt(root int, path string, src int, optional bool) error {
	tree, err := l.clone(src, true, path)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	return l.attachTreeAt(root, path, tree, optional)
}

// attachTreeAt attaches a detached tree at path inside the new root, as a
// slave; read-only for the snapd tools.
func (l *launcher) attachTreeAt(root int, path string, tree int, optional bool) error {
	target, err := l.openTarget(root, path, optional)
	if err != nil || target < 0 {
		return err
	}
	defer unix.Close(target)
	if err := l.setAttrs(tree, unix.MS_SLAVE, path == policy.SnapdToolsDir, path); err != nil {
		return err
	}
	return l.attach(tree, target, path)
}

// ensureMountPoint makes each missing directory of path (absolute, as seen
// from the new root) below root, one component at a time, following no
// symlink.
func (l *launcher) ensureMountPoint(root int, path string) error {
	cur := root
	defer func() {
		if cur != root {
			unix.Close(cur)
		}
	}()
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		next, err := unix.Openat(cur, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT {
			if err := l.priv.MakeRootEntry(cur, name, unix.S_IFDIR, ""); err != nil {
				return err
			}
			next, err = unix.Openat(cur, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return fmt.Errorf("cannot open %s in the snap's root: %w", name, err)
		}
		if cur != root {
			unix.Close(cur)
		}
		cur = next
	}
	return nil
}

// openTarget resolves a mount point inside the new root. A missing optional
// one yields -1 and no error; a missing required one is the base snap's
// fault and says so.
func (l *launcher) openTarget(root int, path string, optional bool) (int, error) {
	fd, err := openInRoot(root, path)
	if errors.Is(err, unix.ENOENT) && optional {
		l.debugf("skipping %s: base snap %q has no mount point for it", path, l.launch.Base)
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("cannot bootstrap on base snap %q: no mount point %s in it: %w", l.launch.Base, path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return -1, fmt.Errorf("cannot bootstrap on base snap %q: %s in it is not a directory", l.launch.Base, path)
	}
	return fd, nil
}

// openHostDir opens a directory of the bootstrap table on the host. Unlike
// openDirPath it follows symlinks (a merged-/usr host has /lib -> usr/lib):
// the table's paths are fixed, and every directory on the way (/, /usr, /var,
// /var/lib, /run) is root's, so no one else can plant a link there.
func openHostDir(path string) (int, error) {
	fd, err := resolve.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	}, -1)
	if err != nil {
		return -1, fmt.Errorf("cannot open %s: %w", path, err)
	}
	return fd, nil
}

// openInRoot opens path (absolute, as seen from the new root) below root,
// resolving every symlink as if root were "/": a base snap's absolute
// symlink cannot point out of it.
func openInRoot(root int, path string) (int, error) {
	return resolve.Openat2(root, strings.TrimPrefix(path, "/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}, -1)
}

// bindFromBase binds the base snap's own copy of a path of /etc over the
// host's, when both exist with the same type.
func (l *launcher) bindFromBase(root, base int, baseName, path string) error {
	src, err := openInRoot(base, path)
	if err != nil {
		return nil
	}
	defer unix.Close(src)
	dst, err := openInRoot(root, path)
	if err != nil {
		return nil
	}
	defer unix.Close(dst)
	var s, d unix.Stat_t
	if unix.Fstat(src, &s) != nil || unix.Fstat(dst, &d) != nil {
		return nil
	}
	if s.Mode&unix.S_IFMT != d.Mode&unix.S_IFMT || (s.Mode&unix.S_IFMT != unix.S_IFREG && s.Mode&unix.S_IFMT != unix.S_IFDIR) {
		return nil
	}
	display := fmt.Sprintf("%s of base snap %q", path, baseName)
	tree, err := l.clone(src, false, display)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	if err := l.setAttrs(tree, unix.MS_SLAVE, false, display); err != nil {
		return err
	}
	return l.attach(tree, dst, display)
}

// pivot makes root the namespace's root, keeps the host's root at
// HostfsDir (created on the host, root:root 0755, as a private mount of its
// own so that the old root never propagates back), and detaches what the
// snap sees at its own paths.
func (l *launcher) pivot(root int, normal bool) error {
	varlib, err := openInRoot(root, filepath.Dir(policy.HostfsDir))
	if err != nil {
		return fmt.Errorf("cannot bootstrap on base snap %q: no %s in it: %w", l.launch.Base, filepath.Dir(policy.HostfsDir), err)
	}
	hostfs, err := l.ensureRootDir(varlib, filepath.Base(policy.HostfsDir), 0o755, policy.HostfsDir)
	unix.Close(varlib)
	if err != nil {
		return err
	}
	// A private mount of its own, so that the old root never
	// propagates back.
	tree, err := l.clone(hostfs, false, policy.HostfsDir)
	if err == nil {
		if err = l.setAttrs(tree, unix.MS_PRIVATE, false, policy.HostfsDir); err == nil {
			err = l.attach(tree, hostfs, policy.HostfsDir)
		}
		unix.Close(tree)
	}
	unix.Close(hostfs)
	if err != nil {
		return err
	}
	if l.old != nil {
		if err := l.beforePivotOld(); err != nil {
			return err
		}
	}
	if err := l.priv.PivotRoot(root, strings.TrimPrefix(policy.HostfsDir, "/")); err != nil {
		return err
	}
	if l.old != nil {
		if err := l.afterPivotOld(); err != nil {
			return err
		}
	}
	l.debugf("pivoted into the root filesystem of base snap %q; the host's root is at %s", l.launch.Base, policy.HostfsDir)
	if normal {
		// The root was unbindable while it was assembled.
		slash, err := openRoot()
		if err != nil {
			return err
		}
		err = l.priv.MakePrivate(slash, "/")
		unix.Close(slash)
		if err != nil {
			return err
		}
	}
	for _, sub := range policy.HostfsDetach {
		if err := l.priv.Detach(policy.HostfsDir + "/" + sub); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return err
		}
	}
	return nil
}

// setupPrivateDevpts gives the snap its own devpts instance, so that it
// cannot reach the host's terminals through /dev/pts.
func (l *launcher) setupPrivateDevpts() error {
	pts, err := openDirPath("/dev/pts")
	if err != nil {
		return err
	}
	defer unix.Close(pts)
	dev, err := openDirPath("/dev")
	if err != nil {
		return err
	}
	ptmx, err := unix.Openat(dev, "ptmx", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	unix.Close(dev)
	if err != nil {
		return fmt.Errorf("cannot open /dev/ptmx: %w", err)
	}
	defer unix.Close(ptmx)
	return l.priv.MountDevpts(pts, ptmx)
}
