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
	"github.com/snapns/snapns/shared/trusted"
)

// The bootstrap gives a new namespace the snap's root filesystem, as
// snap-confine's sc_bootstrap_mount_namespace does, from the tables of
// policy/bootstrap.go: each host directory cloned (open_tree), its
// propagation set on the detached copy (mount_setattr) and attached
// (move_mount) on a target resolved in the new root (RESOLVE_IN_ROOT: no
// symlink of the base sends a mount out of it); before Linux 5.12 with
// mount(2) (bootstrap_old.go).

// hostSide is what the bootstrap clones in pid 1's namespace before it
// unshares (open_tree clones only the caller's namespace's mounts, and the
// shared binds must stay in the host's peer groups): detached trees,
// visible to no one until attached.
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

// builder builds a new namespace, on the throwaway thread that is its
// only task: from the plan's root and the base and home directories it
// was decided on; before Linux 5.12 in its staging area.
type builder struct {
	*session
	root     planner.Root
	base     planner.Base
	homedirs []string
	old      *oldMounts // the staging area where the new mount API is missing (bootstrap_old.go)
}

// prepareHostSide runs in pid 1's namespace, on the throwaway thread.
func (b *builder) prepareHostSide() (*hostSide, error) {
	normal := b.root.Normal
	h := &hostSide{shared: map[string]*desc.FD{}}
	err := func() (err error) {
		// In normal mode the root is a new tmpfs (replicateBase);
		// legacy mode keeps the host's whole tree.
		if !normal {
			var slash *desc.FD
			if slash, err = trusted.Root(); err == nil {
				h.root, err = b.clone(slash.Rename("the root filesystem"), true)
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
				if err := b.ensureHostDir(hb.Path); err != nil {
					return err
				}
			}
			if err := b.cloneShared(h, hb); err != nil {
				return err
			}
		}
		if normal && b.root.SnapdTools {
			tools, err := openToolsDir(b.host.proc)
			if err != nil {
				return err
			}
			defer tools.Close()
			h.snapdTools, err = b.clone(tools.Rename(policy.SnapdToolsDir), false)
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
func (b *builder) cloneShared(h *hostSide, hb policy.HostBind) error {
	src, err := trusted.HostDir(hb.Path)
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
		if h.shared[at], err = b.clone(src, true); err != nil {
			return err
		}
	}
	return nil
}

// ensureHostDir creates the last component of path on the host as a
// root:root 0755 directory when it is missing (snap-confine does this for
// /media and /run/netns).
func (b *builder) ensureHostDir(path string) error {
	parent, err := trusted.Path(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer parent.Close()
	dir, err := b.ensureRootDir(parent, filepath.Base(path), 0o755)
	dir.Close()
	return err
}

// openToolsDir opens the directory the launcher runs from, where snapd's
// tools are, as snap-confine finds them (/usr/lib/snapd, /usr/libexec/snapd),
// bound over /usr/lib/snapd in the snap's root. It must be root's and
// closed to others: a launcher reached through someone else's directory (a
// hard link) finds nothing there.
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
	dir, err := trusted.Path(filepath.Dir(self))
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
func (b *builder) bootstrap(h *hostSide) error {
	tmp, privBase, err := b.openPrivateTmpDir()
	if err != nil {
		return err
	}
	defer tmp.Close()
	defer privBase.Close()
	scratchName := layout.RootfsScratchName(b.launch.Instance)
	if b.old != nil {
		// Assembled in the staging area, whose mount propagates
		// nothing (bootstrap_old.go).
		privBase, scratchName = b.old.staging, "root"
	}
	scratch, err := b.ensureRootDir(privBase, scratchName, layout.PrivateTmpBaseMode)
	if err != nil {
		return err
	}
	if b.root.Normal {
		err = b.priv.MountRootTmpfs(privBase, scratchName)
	} else {
		err = b.attachHostRoot(h, scratch)
	}
	scratch.Close()
	if err != nil {
		return err
	}
	root, err := b.priv.OpenRootOnly(privBase, scratchName, dirFlags)
	if err != nil {
		return err
	}
	defer root.Close()
	var base *desc.FD
	if b.root.Normal {
		if base, err = b.openBaseHere(); err != nil {
			return err
		}
		defer base.Close()
		if err := b.replicateBase(root, base, b.root.MergedUsr); err != nil {
			return err
		}
	}
	if err := b.populateRoot(root, h, base); err != nil {
		return err
	}
	// On a classic host, the loaded NVIDIA driver below
	// /var/lib/snapd/lib, before the pivot, as snap-confine does
	// (nvidia.go).
	if b.root.HostGPU {
		if err := b.mountNvidia(root); err != nil {
			return err
		}
	}
	if err := b.pivot(root, b.root.Normal); err != nil {
		return err
	}
	// Nothing is mounted on the scratch directory any more (before 5.12
	// it went with the staging area).
	if b.old != nil {
		return nil
	}
	if err := b.priv.UnlinkRoot(privBase, scratchName, unix.AT_REMOVEDIR); err != nil {
		b.debugf("%v", err)
	}
	return nil
}

// attachHostRoot puts the clone of the host's whole tree on the scratch
// directory, the root of a legacy-mode namespace (a normal one's is a new
// tmpfs, which replicateBase fills).
func (b *builder) attachHostRoot(h *hostSide, scratch *desc.FD) error {
	if err := b.setAttrs(h.root, unix.MS_SLAVE, false); err != nil {
		return err
	}
	return b.attach(h.root, scratch)
}

// openBaseHere opens the base snap's revision as mounted in the new
// namespace (open_tree clones only mounts of the caller's namespace): the
// revision resolved on the host, checked to be on the same device.
func (b *builder) openBaseHere() (*desc.FD, error) {
	base, err := trusted.Path(b.host.snapDir + "/" + b.base.Name + "/" + b.base.Revision)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(base.Fd(), &st); err != nil || st.Dev != b.base.Device {
		base.Close()
		return nil, fmt.Errorf("cannot use base snap %q: revision %s changed device while the namespace was made", b.base.Name, b.base.Revision)
	}
	return base.Rename(fmt.Sprintf("base snap %q", b.base.Name)), nil
}

// replicateBase gives the new root's tmpfs a mount point for every entry of
// the base snap's root, as snap-confine ≥ 2.59 does: a directory bound from
// the base recursively as a slave (but where the host's directories and
// /snap go), a file bound on an empty one, a symlink copied. The root stays
// a writable tmpfs, where snap-update-ns makes a layout's new top-level
// mount point without a writable mimic over "/".
func (b *builder) replicateBase(root, base *desc.FD, mergedUsr bool) error {
	names, err := trusted.Names(base)
	if err != nil {
		return fmt.Errorf("cannot list the root of base snap %q: %w", b.launch.Base, err)
	}
	slices.Sort(names)
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(base.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("cannot inspect /%s of base snap %q: %w", name, b.launch.Base, err)
		}
		switch typ := st.Mode & unix.S_IFMT; typ {
		case unix.S_IFDIR:
			if err := b.priv.MakeRootEntry(root, name, typ, ""); err != nil {
				return err
			}
			if policy.BoundOverBase("/"+name, mergedUsr) {
				continue
			}
			if err := b.bindFromBaseRoot(root, base, name, true); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := b.priv.MakeRootEntry(root, name, typ, ""); err != nil {
				return err
			}
			if err := b.bindFromBaseRoot(root, base, name, false); err != nil {
				return err
			}
		case unix.S_IFLNK:
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(base.Fd(), name, buf)
			if err != nil {
				return fmt.Errorf("cannot read the symlink /%s of base snap %q: %w", name, b.launch.Base, err)
			}
			if err := b.priv.MakeRootEntry(root, name, typ, string(buf[:n])); err != nil {
				return err
			}
		default:
			return fmt.Errorf("cannot bootstrap on base snap %q: /%s is neither a directory, a file nor a symlink", b.launch.Base, name)
		}
	}
	return nil
}

// bindFromBaseRoot binds the base's entry name (a directory, recursively,
// or a file) on the mount point of the same name in the new root, as a
// slave.
func (b *builder) bindFromBaseRoot(root, base *desc.FD, name string, dir bool) error {
	display := fmt.Sprintf("/%s of base snap %q", name, b.launch.Base)
	src, err := entryAt(base, name, dir)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", display, err)
	}
	defer src.Close()
	tree, err := b.clone(src.Rename(display), dir)
	if err != nil {
		return err
	}
	defer tree.Close()
	if err := b.setAttrs(tree, unix.MS_SLAVE, false); err != nil {
		return err
	}
	dst, err := entryAt(root, name, dir)
	if err != nil {
		return fmt.Errorf("cannot open the mount point of %s: %w", display, err)
	}
	defer dst.Close()
	return b.attach(tree, dst)
}

// populateRoot binds the host's directories, the snapd tools, /snap and a
// few files of the base's /etc (baseHere, in normal mode) into the new
// root, in snap-confine's order.
func (b *builder) populateRoot(root *desc.FD, h *hostSide, baseHere *desc.FD) error {
	for _, hb := range b.root.Binds {
		if err := b.bindHost(root, hb, h); err != nil {
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
		if err := b.bindHomedir(root, dir); err != nil {
			return fmt.Errorf("cannot bind home directory %s: %w", dir, err)
		}
	}
	for _, path := range b.root.EtcFromBase {
		if err := b.bindFromBase(root, baseHere, path); err != nil {
			return err
		}
	}
	if h.snapdTools != nil {
		if err := b.attachTreeAt(root, policy.SnapdToolsDir, h.snapdTools, true); err != nil {
			return err
		}
	}
	snap, err := trusted.Path(b.host.snapDir)
	if err != nil {
		return err
	}
	defer snap.Close()
	return b.attachAt(root, layout.SnapMountDirInSnap, snap, false)
}

// bindHomedir binds the host's home directory dir at the same place in the
// new root, made where missing.
func (b *builder) bindHomedir(root *desc.FD, dir string) error {
	src, err := trusted.HostDir(dir)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := b.ensureMountPoint(root, dir); err != nil {
		return err
	}
	return b.attachAt(root, dir, src, false)
}

// bindHost binds one host directory of the table into the new root.
func (b *builder) bindHost(root *desc.FD, hb policy.HostBind, h *hostSide) error {
	if hb.Propagation == policy.Shared {
		for _, at := range []string{hb.Path, hb.AltPath} {
			tree, ok := h.shared[at]
			if at == "" || !ok {
				b.debugf("skipping %s: not on the host", hb.Path)
				continue
			}
			target, err := b.openTarget(root, at, hb.Optional)
			if err == nil && target != nil {
				err = b.attach(tree.Rename(at), target)
				target.Close()
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	src, err := trusted.HostDir(hb.Path)
	if errors.Is(err, unix.ENOENT) && hb.Optional {
		b.debugf("skipping %s: not on the host", hb.Path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot bootstrap snap %q: the host has no usable %s: %w", b.launch.Instance.String(), hb.Path, err)
	}
	defer src.Close()
	return b.attachAt(root, hb.Path, src, hb.Optional)
}

// attachAt binds the directory src, recursively, at path inside the new root,
// as a slave.
func (b *builder) attachAt(root *desc.FD, path string, src *desc.FD, optional bool) error {
	tree, err := b.clone(src.Rename(path), true)
	if err != nil {
		return err
	}
	defer tree.Close()
	return b.attachTreeAt(root, path, tree, optional)
}

// attachTreeAt attaches a detached tree at path inside the new root, as a
// slave; read-only for the snapd tools.
func (b *builder) attachTreeAt(root *desc.FD, path string, tree *desc.FD, optional bool) error {
	target, err := b.openTarget(root, path, optional)
	if err != nil || target == nil {
		return err
	}
	defer target.Close()
	if err := b.setAttrs(tree, unix.MS_SLAVE, path == policy.SnapdToolsDir); err != nil {
		return err
	}
	return b.attach(tree, target)
}

// ensureMountPoint makes each missing directory of path (absolute, as seen
// from the new root) below root, one component at a time, following no
// symlink.
func (b *builder) ensureMountPoint(root *desc.FD, path string) error {
	cur := root
	defer func() {
		if cur != root {
			cur.Close()
		}
	}()
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		next, err := trusted.DirEntryAt(cur, name)
		if err == unix.ENOENT {
			if err := b.priv.MakeRootEntry(cur, name, unix.S_IFDIR, ""); err != nil {
				return err
			}
			next, err = trusted.DirEntryAt(cur, name)
		}
		if err != nil {
			return fmt.Errorf("cannot open %s in the snap's root: %w", name, err)
		}
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
func (b *builder) openTarget(root *desc.FD, path string, optional bool) (*desc.FD, error) {
	target, err := trusted.InRoot(root, path)
	if errors.Is(err, unix.ENOENT) && optional {
		b.debugf("skipping %s: base snap %q has no mount point for it", path, b.launch.Base)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot bootstrap on base snap %q: no mount point %s in it: %w", b.launch.Base, path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(target.Fd(), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		target.Close()
		return nil, fmt.Errorf("cannot bootstrap on base snap %q: %s in it is not a directory", b.launch.Base, path)
	}
	return target, nil
}

// bindFromBase binds the base snap's own copy of a path of /etc over the
// host's, when both exist with the same type.
func (b *builder) bindFromBase(root, base *desc.FD, path string) error {
	src, err := trusted.InRoot(base, path)
	if err != nil {
		return nil
	}
	defer src.Close()
	dst, err := trusted.InRoot(root, path)
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
	return b.bind(src.Rename(path+" of "+base.Name()), dst, unix.MS_SLAVE, false)
}

// pivot makes root the namespace's root, keeps the host's root at
// HostfsDir (created on the host, root:root 0755, as a private mount of its
// own so that the old root never propagates back), and detaches what the
// snap sees at its own paths.
func (b *builder) pivot(root *desc.FD, normal bool) error {
	varlib, err := trusted.InRoot(root, filepath.Dir(policy.HostfsDir))
	if err != nil {
		return fmt.Errorf("cannot bootstrap on base snap %q: no %s in it: %w", b.launch.Base, filepath.Dir(policy.HostfsDir), err)
	}
	hostfs, err := b.ensureRootDir(varlib, filepath.Base(policy.HostfsDir), 0o755)
	varlib.Close()
	if err != nil {
		return err
	}
	// A private mount of its own, so that the old root never
	// propagates back.
	err = b.privateSelf(hostfs)
	hostfs.Close()
	if err != nil {
		return err
	}
	if b.old != nil {
		if err := b.beforePivotOld(); err != nil {
			return err
		}
	}
	if err := b.priv.PivotRoot(root, strings.TrimPrefix(policy.HostfsDir, "/")); err != nil {
		return err
	}
	if b.old != nil {
		if err := b.afterPivotOld(); err != nil {
			return err
		}
	}
	b.debugf("pivoted into the root filesystem of base snap %q; the host's root is at %s", b.launch.Base, policy.HostfsDir)
	if normal {
		// The root was unbindable while it was assembled.
		slash, err := trusted.Root()
		if err != nil {
			return err
		}
		err = b.priv.MakePrivate(slash)
		slash.Close()
		if err != nil {
			return err
		}
	}
	for _, sub := range policy.HostfsDetach {
		if err := b.priv.Detach(policy.HostfsDir + "/" + sub); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return err
		}
	}
	return nil
}

// privateSelf binds the directory dir of the new root onto itself, as a
// private mount.
func (b *builder) privateSelf(dir *desc.FD) error {
	return b.bind(dir.Rename(policy.HostfsDir), dir, unix.MS_PRIVATE, false)
}

// setupPrivateDevpts gives the snap its own devpts instance, so that it
// cannot reach the host's terminals through /dev/pts.
func (b *builder) setupPrivateDevpts() error {
	pts, err := trusted.Path("/dev/pts")
	if err != nil {
		return err
	}
	defer pts.Close()
	dev, err := trusted.Path("/dev")
	if err != nil {
		return err
	}
	ptmx, err := trusted.EntryAt(dev, "ptmx")
	dev.Close()
	if err != nil {
		return fmt.Errorf("cannot open /dev/ptmx: %w", err)
	}
	defer ptmx.Close()
	return b.priv.MountDevpts(pts, ptmx)
}

// entryAt opens name below dir O_PATH without following a symlink; with
// isDir, only a directory.
func entryAt(dir *desc.FD, name string, isDir bool) (*desc.FD, error) {
	if isDir {
		return trusted.DirEntryAt(dir, name)
	}
	return trusted.EntryAt(dir, name)
}
