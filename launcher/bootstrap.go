// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
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
	root       *desc.FD            // legacy mode: the host's "/"; nil in normal mode
	shared     map[string]*desc.FD // policy path -> clone; missing optional entries absent
	snapdTools *desc.FD            // the launcher's own directory, or nil
}

func (h *hostSide) close() {
	for _, tree := range h.shared {
		tree.Close()
	}
	h.root.Close()
	h.snapdTools.Close()
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
	h := &hostSide{shared: map[string]*desc.FD{}}
	err := func() (err error) {
		// In normal mode the root is a new tmpfs (replicateBase);
		// legacy mode keeps the host's whole tree.
		if !normal {
			var slash *desc.FD
			if slash, err = openRoot(); err == nil {
				h.root, err = l.clone(slash.Rename("the root filesystem"), true)
				slash.Close()
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
			if err := l.cloneShared(h, hb); err != nil {
				return err
			}
		}
		if normal && b.root.SnapdTools {
			tools, err := openToolsDir(l.proc)
			if err != nil {
				return err
			}
			defer tools.Close()
			h.snapdTools, err = l.clone(tools.Rename(policy.SnapdToolsDir), false)
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

// cloneShared clones the host's directory of a shared entry of the table
// for each place it goes in the new root.
func (l *launcher) cloneShared(h *hostSide, hb policy.HostBind) error {
	src, err := openHostDir(hb.Path)
	if errors.Is(err, unix.ENOENT) && hb.Optional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot bootstrap: %w", err)
	}
	defer src.Close()
	for _, at := range []string{hb.Path, hb.AltPath} {
		if at == "" {
			continue
		}
		if h.shared[at], err = l.clone(src, true); err != nil {
			return err
		}
	}
	return nil
}

// ensureHostDir creates the last component of path on the host as a
// root:root 0755 directory when it is missing (snap-confine does this for
// /media and /run/netns).
func (l *launcher) ensureHostDir(path string) error {
	parent, err := openDirPath(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer parent.Close()
	dir, err := l.ensureRootDir(parent, filepath.Base(path), 0o755)
	dir.Close()
	return err
}

// openToolsDir opens the directory the launcher runs from: snapd's tools
// are found there, as snap-confine finds them (/usr/lib/snapd, or
// /usr/libexec/snapd on Fedora, Arch, openSUSE and CentOS), and it is bound
// over /usr/lib/snapd in the snap's root so that they match the launcher.
// It must be root-owned and not writable by others: a launcher reached
// through someone else's directory (a hard link) finds nothing there.
// It is named by its path.
func openToolsDir(proc *desc.FD) (*desc.FD, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(proc.Fd(), "self/exe", buf)
	if err != nil {
		return nil, fmt.Errorf("cannot locate the launcher: %w", err)
	}
	self := string(buf[:n])
	if !strings.HasPrefix(self, "/") || strings.HasSuffix(self, " (deleted)") {
		return nil, fmt.Errorf("cannot use the launcher's directory: %q", self)
	}
	dir, err := openDirPath(filepath.Dir(self))
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(dir.Fd(), &st); err != nil || st.Uid != 0 || st.Mode&0o022 != 0 {
		dir.Close()
		return nil, fmt.Errorf("cannot use snapd's tools in %s: not a root-owned directory closed to others", dir.Name())
	}
	return dir, nil
}

// bootstrap builds the snap's root filesystem and pivots into it. It runs
// on the throwaway thread, in the new namespace, after / was made
// recursively slave.
func (l *launcher) bootstrap(b *build, h *hostSide) error {
	tmp, privBase, err := l.openPrivateTmpDir()
	if err != nil {
		return err
	}
	defer tmp.Close()
	defer privBase.Close()
	scratchName := layout.RootfsScratchName(l.launch.Instance)
	if l.old != nil {
		// Assembled in the staging area, whose mount propagates
		// nothing (bootstrap_old.go).
		privBase, scratchName = l.old.staging, "root"
	}
	scratch, err := l.ensureRootDir(privBase, scratchName, layout.PrivateTmpBaseMode)
	if err != nil {
		return err
	}
	if b.root.Normal {
		err = l.priv.MountRootTmpfs(privBase, scratchName)
	} else {
		err = l.attachHostRoot(h, scratch)
	}
	scratch.Close()
	if err != nil {
		return err
	}
	root, err := l.priv.OpenRootOnly(privBase, scratchName, dirFlags)
	if err != nil {
		return err
	}
	defer root.Close()
	var base *desc.FD
	if b.root.Normal {
		if base, err = l.openBaseHere(b.base); err != nil {
			return err
		}
		defer base.Close()
		if err := l.replicateBase(root, base, b.root.MergedUsr); err != nil {
			return err
		}
	}
	if err := l.populateRoot(root, b, h, base); err != nil {
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
	if err := l.priv.UnlinkRoot(privBase, scratchName, unix.AT_REMOVEDIR); err != nil {
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
func (l *launcher) attachHostRoot(h *hostSide, scratch *desc.FD) error {
	if err := l.setAttrs(h.root, unix.MS_SLAVE, false); err != nil {
		return err
	}
	return l.attach(h.root, scratch)
}

// openBaseHere opens the base snap's revision as mounted in the new
// namespace (open_tree clones only mounts of the caller's namespace): the
// revision resolved on the host, checked to be on the same device.
func (l *launcher) openBaseHere(b planner.Base) (*desc.FD, error) {
	base, err := openDirPath(l.snapDir + "/" + b.Name + "/" + b.Revision)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(base.Fd(), &st); err != nil || st.Dev != b.Device {
		base.Close()
		return nil, fmt.Errorf("cannot use base snap %q: revision %s changed device while the namespace was made", b.Name, b.Revision)
	}
	return base.Rename(fmt.Sprintf("base snap %q", b.Name)), nil
}

// replicateBase gives the new root's tmpfs a mount point for every entry of
// the base snap's root, as snap-confine ≥ 2.59 does: each directory is the
// base's, bound recursively as a slave, except those the host's
// directories (policy.NormalModeBinds) and /snap go on; each file is the
// base's, bound on an empty file; each symlink is copied. The root itself
// stays a writable tmpfs, so that snap-update-ns makes a layout's new
// top-level mount point there instead of a writable mimic over "/" (which
// needs the whole tree moved aside and back).
func (l *launcher) replicateBase(root, base *desc.FD, mergedUsr bool) error {
	names, err := readDirNames(base)
	if err != nil {
		return fmt.Errorf("cannot list the root of base snap %q: %w", l.launch.Base, err)
	}
	slices.Sort(names)
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(base.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("cannot inspect /%s of base snap %q: %w", name, l.launch.Base, err)
		}
		switch typ := st.Mode & unix.S_IFMT; typ {
		case unix.S_IFDIR:
			if err := l.priv.MakeRootEntry(root, name, typ, ""); err != nil {
				return err
			}
			if policy.BoundOverBase("/"+name, mergedUsr) {
				continue
			}
			if err := l.bindFromBaseRoot(root, base, name, true); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := l.priv.MakeRootEntry(root, name, typ, ""); err != nil {
				return err
			}
			if err := l.bindFromBaseRoot(root, base, name, false); err != nil {
				return err
			}
		case unix.S_IFLNK:
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(base.Fd(), name, buf)
			if err != nil {
				return fmt.Errorf("cannot read the symlink /%s of base snap %q: %w", name, l.launch.Base, err)
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
func (l *launcher) bindFromBaseRoot(root, base *desc.FD, name string, dir bool) error {
	display := fmt.Sprintf("/%s of base snap %q", name, l.launch.Base)
	src, err := openEntryPath(base, name, dir)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", display, err)
	}
	defer src.Close()
	tree, err := l.clone(src.Rename(display), dir)
	if err != nil {
		return err
	}
	defer tree.Close()
	if err := l.setAttrs(tree, unix.MS_SLAVE, false); err != nil {
		return err
	}
	dst, err := openEntryPath(root, name, dir)
	if err != nil {
		return fmt.Errorf("cannot open the mount point of %s: %w", display, err)
	}
	defer dst.Close()
	return l.attach(tree, dst)
}

// openEntryPath opens name below dir O_PATH without following a symlink;
// with isDir, only a directory.
func openEntryPath(dir *desc.FD, name string, isDir bool) (*desc.FD, error) {
	var fd int
	var err error
	if isDir {
		fd, err = unix.Openat(dir.Fd(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
	} else {
		fd, err = unix.Openat(dir.Fd(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	return desc.New(fd, dir.Path(name)), err
}

// populateRoot binds the host's directories, the snapd tools, /snap and a
// few files of the base's /etc (baseHere, in normal mode) into the new
// root, in snap-confine's order.
func (l *launcher) populateRoot(root *desc.FD, b *build, h *hostSide, baseHere *desc.FD) error {
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
		if err := l.bindHomedir(root, dir); err != nil {
			return fmt.Errorf("cannot bind home directory %s: %w", dir, err)
		}
	}
	for _, path := range b.root.EtcFromBase {
		if err := l.bindFromBase(root, baseHere, path); err != nil {
			return err
		}
	}
	if h.snapdTools != nil {
		if err := l.attachTreeAt(root, policy.SnapdToolsDir, h.snapdTools, true); err != nil {
			return err
		}
	}
	snap, err := openDirPath(l.snapDir)
	if err != nil {
		return err
	}
	defer snap.Close()
	return l.attachAt(root, layout.SnapMountDirInSnap, snap, false)
}

// bindHomedir binds the host's home directory dir at the same place in the
// new root, made where missing.
func (l *launcher) bindHomedir(root *desc.FD, dir string) error {
	src, err := openHostDir(dir)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := l.ensureMountPoint(root, dir); err != nil {
		return err
	}
	return l.attachAt(root, dir, src, false)
}

// bindHost binds one host directory of the table into the new root.
func (l *launcher) bindHost(root *desc.FD, b policy.HostBind, h *hostSide) error {
	if b.Propagation == policy.Shared {
		for _, at := range []string{b.Path, b.AltPath} {
			tree, ok := h.shared[at]
			if at == "" || !ok {
				l.debugf("skipping %s: not on the host", b.Path)
				continue
			}
			target, err := l.openTarget(root, at, b.Optional)
			if err == nil && target != nil {
				err = l.attach(tree.Rename(at), target)
				target.Close()
			}
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
	defer src.Close()
	return l.attachAt(root, b.Path, src, b.Optional)
}

// attachAt binds the directory src, recursively, at path inside the new root,
// as a slave.
func (l *launcher) attachAt(root *desc.FD, path string, src *desc.FD, optional bool) error {
	tree, err := l.clone(src.Rename(path), true)
	if err != nil {
		return err
	}
	defer tree.Close()
	return l.attachTreeAt(root, path, tree, optional)
}

// attachTreeAt attaches a detached tree at path inside the new root, as a
// slave; read-only for the snapd tools.
func (l *launcher) attachTreeAt(root *desc.FD, path string, tree *desc.FD, optional bool) error {
	target, err := l.openTarget(root, path, optional)
	if err != nil || target == nil {
		return err
	}
	defer target.Close()
	if err := l.setAttrs(tree, unix.MS_SLAVE, path == policy.SnapdToolsDir); err != nil {
		return err
	}
	return l.attach(tree, target)
}

// ensureMountPoint makes each missing directory of path (absolute, as seen
// from the new root) below root, one component at a time, following no
// symlink.
func (l *launcher) ensureMountPoint(root *desc.FD, path string) error {
	cur := root
	defer func() {
		if cur != root {
			cur.Close()
		}
	}()
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		fd, err := unix.Openat(cur.Fd(), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT {
			if err := l.priv.MakeRootEntry(cur, name, unix.S_IFDIR, ""); err != nil {
				return err
			}
			fd, err = unix.Openat(cur.Fd(), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return fmt.Errorf("cannot open %s in the snap's root: %w", name, err)
		}
		next := desc.New(fd, cur.Path(name))
		if cur != root {
			cur.Close()
		}
		cur = next
	}
	return nil
}

// openTarget resolves a mount point inside the new root. A missing optional
// one yields nil and no error; a missing required one is the base snap's
// fault and says so.
func (l *launcher) openTarget(root *desc.FD, path string, optional bool) (*desc.FD, error) {
	target, err := openInRoot(root, path)
	if errors.Is(err, unix.ENOENT) && optional {
		l.debugf("skipping %s: base snap %q has no mount point for it", path, l.launch.Base)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot bootstrap on base snap %q: no mount point %s in it: %w", l.launch.Base, path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(target.Fd(), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		target.Close()
		return nil, fmt.Errorf("cannot bootstrap on base snap %q: %s in it is not a directory", l.launch.Base, path)
	}
	return target, nil
}

// openHostDir opens a directory of the bootstrap table on the host. Unlike
// openDirPath it follows symlinks (a merged-/usr host has /lib -> usr/lib):
// the table's paths are fixed, and every directory on the way (/, /usr, /var,
// /var/lib, /run) is root's, so no one else can plant a link there.
func openHostDir(path string) (*desc.FD, error) {
	fd, err := resolve.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_MAGICLINKS,
	}, -1)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	return desc.New(fd, path), nil
}

// openInRoot opens path (absolute, as seen from the new root) below root,
// resolving every symlink as if root were "/": a base snap's absolute
// symlink cannot point out of it.
func openInRoot(root *desc.FD, path string) (*desc.FD, error) {
	fd, err := resolve.Openat2(root.Fd(), strings.TrimPrefix(path, "/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}, -1)
	return desc.New(fd, path), err
}

// bindFromBase binds the base snap's own copy of a path of /etc over the
// host's, when both exist with the same type.
func (l *launcher) bindFromBase(root, base *desc.FD, path string) error {
	src, err := openInRoot(base, path)
	if err != nil {
		return nil
	}
	defer src.Close()
	dst, err := openInRoot(root, path)
	if err != nil {
		return nil
	}
	defer dst.Close()
	var s, d unix.Stat_t
	if unix.Fstat(src.Fd(), &s) != nil || unix.Fstat(dst.Fd(), &d) != nil {
		return nil
	}
	if s.Mode&unix.S_IFMT != d.Mode&unix.S_IFMT || (s.Mode&unix.S_IFMT != unix.S_IFREG && s.Mode&unix.S_IFMT != unix.S_IFDIR) {
		return nil
	}
	tree, err := l.clone(src.Rename(path+" of "+base.Name()), false)
	if err != nil {
		return err
	}
	defer tree.Close()
	if err := l.setAttrs(tree, unix.MS_SLAVE, false); err != nil {
		return err
	}
	return l.attach(tree, dst)
}

// pivot makes root the namespace's root, keeps the host's root at
// HostfsDir (created on the host, root:root 0755, as a private mount of its
// own so that the old root never propagates back), and detaches what the
// snap sees at its own paths.
func (l *launcher) pivot(root *desc.FD, normal bool) error {
	varlib, err := openInRoot(root, filepath.Dir(policy.HostfsDir))
	if err != nil {
		return fmt.Errorf("cannot bootstrap on base snap %q: no %s in it: %w", l.launch.Base, filepath.Dir(policy.HostfsDir), err)
	}
	hostfs, err := l.ensureRootDir(varlib, filepath.Base(policy.HostfsDir), 0o755)
	varlib.Close()
	if err != nil {
		return err
	}
	// A private mount of its own, so that the old root never
	// propagates back.
	err = l.privateSelf(hostfs)
	hostfs.Close()
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
		err = l.priv.MakePrivate(slash)
		slash.Close()
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

// privateSelf binds the directory dir of the new root onto itself, as a
// private mount.
func (l *launcher) privateSelf(dir *desc.FD) error {
	tree, err := l.clone(dir.Rename(policy.HostfsDir), false)
	if err != nil {
		return err
	}
	defer tree.Close()
	if err := l.setAttrs(tree, unix.MS_PRIVATE, false); err != nil {
		return err
	}
	return l.attach(tree, dir)
}

// setupPrivateDevpts gives the snap its own devpts instance, so that it
// cannot reach the host's terminals through /dev/pts.
func (l *launcher) setupPrivateDevpts() error {
	pts, err := openDirPath("/dev/pts")
	if err != nil {
		return err
	}
	defer pts.Close()
	dev, err := openDirPath("/dev")
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dev.Fd(), "ptmx", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	dev.Close()
	if err != nil {
		return fmt.Errorf("cannot open /dev/ptmx: %w", err)
	}
	ptmx := desc.New(fd, "/dev/ptmx")
	defer ptmx.Close()
	return l.priv.MountDevpts(pts, ptmx)
}
