// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// The bootstrap where the new mount API is missing (open_tree and
// move_mount came with Linux 5.2, mount_setattr with 5.12): the same
// steps, on the same descriptors, with mount(2) of their /proc/self/fd/N
// magic links, as snap-confine and runc mount. SECURITY.md §4.7 says how
// the new API's guarantees are kept: a detached tree is a bind mount
// staged in a private, unbindable tmpfs on the new namespace's copy of
// /run/snapd/ns, and the namespace is made slave at pivot_root, so that
// the shared entries (/media, /run/netns), staged while its copies are
// still peers of the host's, stay in the host's peer groups.
// open_tree(OPEN_TREE_CLONE) is BindOld onto a new entry of the staging
// area, mount_setattr is PropagateOld (and RemountReadOnlyOld),
// move_mount is MoveOld (MS_MOVE).

// oldMounts is the staging area of one namespace's bootstrap.
type oldMounts struct {
	staging *desc.FD // the staging tmpfs, open
	next    int      // the name of the next staged entry
}

func (o *oldMounts) close() {
	if o != nil {
		o.staging.Close()
	}
}

// stagingDisplay names the staging area in messages.
const stagingDisplay = "the staging area (a tmpfs on the new namespace's " + layout.NSDir + ")"

// startOldMounts makes the staging area, in the new namespace, on the
// throwaway thread, right after unshare.
func (b *builder) startOldMounts() error {
	nsdir, err := trusted.Path(layout.NSDir)
	if err != nil {
		return err
	}
	// Private in pid 1's namespace already (initRunDirs), so its copy
	// is: made so again on the copy, whatever happened since.
	err = checkRootOwned(nsdir, unix.S_IFDIR, layout.NSDirMode, nil)
	if err == nil {
		err = b.priv.MakePrivate(nsdir.Rename("the new namespace's " + layout.NSDir))
	}
	if err == nil {
		err = b.priv.StageOld(nsdir)
	}
	nsdir.Close()
	if err != nil {
		return err
	}
	snapd, err := trusted.Path(layout.RunSnapdDir)
	if err != nil {
		return err
	}
	staging, err := b.priv.OpenRootOnly(snapd, "ns", dirFlags)
	snapd.Close()
	if err != nil {
		return err
	}
	staging.Rename(stagingDisplay)
	if magic, err := trusted.FSMagic(staging); err != nil || magic != unix.TMPFS_MAGIC {
		err = fmt.Errorf("cannot use %s: not the tmpfs just mounted", stagingDisplay)
	}
	if err == nil {
		err = checkRootOwned(staging, unix.S_IFDIR, 0o700, nil)
	}
	if err == nil {
		err = b.priv.PropagateOld(staging, unix.MS_UNBINDABLE)
	}
	if err != nil {
		staging.Close()
		return err
	}
	b.old = &oldMounts{staging: staging}
	return nil
}

// clone, setAttrs and attach are the bootstrap's three mount steps, with
// the new API (CloneTree, SetTreeAttrs, AttachTree) where the kernel has it.

// clone returns a copy of the mount tree at src (recursively when asked),
// named as src, to set attributes on and attach: a detached tree, or
// before 5.12 a bind mount staged in the staging area on an entry of
// src's type. The staged mount is checked to show src.
func (b *builder) clone(src *desc.FD, recursive bool) (*desc.FD, error) {
	if b.old == nil {
		return b.priv.CloneTree(src, recursive)
	}
	var st unix.Stat_t
	if err := unix.Fstat(src.Fd(), &st); err != nil {
		return nil, fmt.Errorf("cannot inspect %s: %w", src.Name(), err)
	}
	name := strconv.Itoa(b.old.next)
	b.old.next++
	var entry *desc.FD
	var err error
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		entry, err = b.priv.MkdirRoot(b.old.staging, name, 0o700)
	case unix.S_IFREG:
		if err = b.priv.CreateRootFile(b.host.proc, b.old.staging, name, 0o600); err == nil {
			entry, err = b.priv.OpenRootFile(b.old.staging, name, unix.O_PATH)
		}
	default:
		return nil, fmt.Errorf("cannot bind %s: neither a directory nor a regular file", src.Name())
	}
	if err != nil {
		return nil, err
	}
	err = b.priv.BindOld(src, entry, recursive)
	entry.Close()
	if err != nil {
		return nil, err
	}
	// The entry's name now leads to the mount on it.
	tree, err := b.priv.OpenRootOnly(b.old.staging, name, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	var got unix.Stat_t
	if err := unix.Fstat(tree.Fd(), &got); err != nil || got.Dev != st.Dev || got.Ino != st.Ino {
		tree.Close()
		return nil, fmt.Errorf("cannot use the staged %s: it is not what was bound", src.Name())
	}
	return tree.Rename(src.Name()), nil
}

// setAttrs sets the propagation of every mount of the tree (and makes it
// read-only when asked).
func (b *builder) setAttrs(tree *desc.FD, propagation uintptr, readonly bool) error {
	if b.old == nil {
		return b.priv.SetTreeAttrs(tree, propagation, readonly)
	}
	if err := b.priv.PropagateOld(tree, propagation|unix.MS_REC); err != nil {
		return err
	}
	if !readonly {
		return nil
	}
	// Only the top mount: every tree made read-only is a single one
	// (the snapd tools, cloned without AT_RECURSIVE).
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(tree.Fd(), &sfs); err != nil {
		return fmt.Errorf("cannot inspect %s: %w", tree.Name(), err)
	}
	return b.priv.RemountReadOnlyOld(tree, keptMountFlags(int64(sfs.Flags)))
}

// keptMountFlags turns a mount's statfs flags into the mount(2) flags a
// bind remount must pass to keep them.
func keptMountFlags(st int64) uintptr {
	var keep uintptr
	for _, f := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if st&f.st != 0 {
			keep |= f.ms
		}
	}
	if st&(unix.ST_NOATIME|unix.ST_RELATIME) == 0 {
		keep |= unix.MS_STRICTATIME
	}
	return keep
}

// attach attaches the tree on target.
func (b *builder) attach(tree, target *desc.FD) error {
	if b.old == nil {
		return b.priv.AttachTree(tree, target)
	}
	return b.priv.MoveOld(tree, target)
}

// bind binds src (not recursively) on dst in the new root with
// propagation, read-only when asked: clone, setAttrs, attach.
func (b *builder) bind(src, dst *desc.FD, propagation uintptr, readonly bool) error {
	tree, err := b.clone(src, false)
	if err != nil {
		return err
	}
	defer tree.Close()
	if err := b.setAttrs(tree, propagation, readonly); err != nil {
		return err
	}
	return b.attach(tree, dst)
}

// beforePivotOld makes the namespace's "/" slave: pivot_root refuses a
// shared one, and before 5.12 it was left shared so far (see above).
func (b *builder) beforePivotOld() error {
	slash, err := trusted.Root()
	if err != nil {
		return err
	}
	defer slash.Close()
	return b.priv.PropagateOld(slash, unix.MS_SLAVE)
}

// afterPivotOld makes the old root, now at HostfsDir, recursively slave,
// as the new API's namespace was from the start, then detaches the
// staging area from it (its descriptor stays open until the bootstrap
// ends: the scratch entry is removed through it, as with the new API).
func (b *builder) afterPivotOld() error {
	hostfs, err := trusted.Path(policy.HostfsDir)
	if err != nil {
		return err
	}
	err = b.priv.PropagateOld(hostfs, unix.MS_REC|unix.MS_SLAVE)
	hostfs.Close()
	if err != nil {
		return err
	}
	return b.priv.Detach(policy.HostfsDir + layout.NSDir)
}
