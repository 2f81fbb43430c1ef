// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// createAndPreserve makes the snap's new namespace with the plan's root
// and preserves it (preserve), its info file recording what it was built
// from.
func (s *session) createAndPreserve(root planner.Root) (*desc.FD, planner.Identity, error) {
	inst := s.launch.Instance
	hostID, err := mountNSID(s.host.ns)
	if err != nil {
		return nil, planner.Identity{}, fmt.Errorf("cannot get the id of pid 1's mount namespace: %w", err)
	}
	snap := s.facts.Snap
	b := &builder{session: s, root: root, base: snap.Base, homedirs: snap.Homedirs}
	in := info.Info{BaseSnapName: b.base.Name, BaseSnapRevision: b.base.Revision, BaseSnapDevice: b.base.Device, Homedirs: b.homedirs, HomedirsKnown: true}
	return s.preserve(s.nsdir, layout.MountNSName(inst), layout.InfoName(inst), in, func() (*desc.FD, planner.Identity, error) {
		// snap-update-ns compares the snap's desired profile with its
		// record of what the namespace holds; a record left by a
		// namespace that was never preserved (a launch killed after
		// snap-update-ns) would make it skip mounts the new one lacks.
		// A new record holds what the launcher made, as snap-confine
		// ≥ 2.59 writes it: in normal mode the tmpfs root, which
		// snap-update-ns must keep (x-snapd.origin=rootfs).
		fstab := layout.FstabName(inst)
		if root.Normal {
			if err := s.replaceRootFile(s.nsdir, fstab, []byte(layout.RootfsFstabEntry), layout.FstabFileMode); err != nil {
				return nil, planner.Identity{}, err
			}
		} else if err := s.priv.UnlinkRoot(s.nsdir, fstab, 0); err != nil {
			return nil, planner.Identity{}, err
		}
		return b.newNamespace(hostID)
	})
}

// preserve makes a namespace with build and preserves it on the capture
// target name, a root-owned file of /run/snapd/ns, recording it (its
// identity) in the info file infoName first: a launcher killed half-way
// leaves a preserved namespace with its info file, or a plain file ("not
// preserved").
func (s *session) preserve(nsdir *desc.FD, name, infoName string, in info.Info, build func() (*desc.FD, planner.Identity, error)) (*desc.FD, planner.Identity, error) {
	target, err := s.ensureRootFile(nsdir, name, unix.O_RDONLY, layout.MountNSFileMode)
	if err != nil {
		return nil, planner.Identity{}, err
	}
	defer target.Close()
	// Never stack a capture on a live namespace file: the caller found
	// none under this lock, so one here is an inconsistency.
	if magic, err := trusted.FSMagic(target); err != nil || magic == unix.NSFS_MAGIC {
		return nil, planner.Identity{}, fmt.Errorf("cannot use %s as a capture target: it is already a namespace", target.Name())
	}
	if err := checkRootOwned(target, unix.S_IFREG, layout.MountNSFileMode, s.priv.FixOwner); err != nil {
		return nil, planner.Identity{}, err
	}
	ns, id, err := build()
	if err != nil {
		return nil, planner.Identity{}, err
	}
	in.MountNSID, in.MountNSInode = id.ID, id.Inode
	if err = s.writeInfoFile(nsdir, infoName, in); err == nil {
		err = s.priv.Capture(ns, target)
	}
	if err != nil {
		ns.Close()
		return nil, planner.Identity{}, err
	}
	s.debugf("preserved mount namespace %s at %s", id, target.Name())
	return ns, id, nil
}

// newNamespace creates and populates a mount namespace on a throwaway thread
// and returns a descriptor of it and its id: no other goroutine ever runs in
// the half-made namespace, and no helper process is left behind.
func (b *builder) newNamespace(hostID uint64) (*desc.FD, planner.Identity, error) {
	r, err := onThrowawayThread("create the mount namespace", func() (madeNS, error) {
		ns, id, err := b.buildNamespace(hostID)
		return madeNS{ns, id}, err
	})
	return r.ns, r.id, err
}

// madeNS is a namespace made on a throwaway thread.
type madeNS struct {
	ns *desc.FD
	id planner.Identity
}

// onThrowawayThread runs fn on an OS thread of its own, never unlocked, so
// that the runtime destroys it when fn returns: what fn changes of the
// thread (mount namespace, CPU affinity, AppArmor exec label) reaches no
// other goroutine. fn starts with an fs_struct of its own (setns needs
// one). A panic in fn is an error.
func onThrowawayThread[T any](what string, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("cannot %s: internal error: %v", what, r)}
			}
		}()
		if err := privop.UnshareFS(); err != nil {
			done <- result{err: fmt.Errorf("cannot %s: %w", what, err)}
			return
		}
		v, err := fn()
		done <- result{v, err}
	}()
	r := <-done
	return r.v, r.err
}

// buildNamespace runs on the throwaway thread, in snap-confine's order:
// what the bootstrap needs from pid 1's namespace, the new namespace, its
// root filesystem, the private /tmp and /dev/pts, snap-update-ns.
func (b *builder) buildNamespace(hostID uint64) (*desc.FD, planner.Identity, error) {
	// This thread may have been started from any thread of the process, in
	// any namespace: start from pid 1's namespace explicitly.
	if err := b.priv.JoinHostNS(b.host.ns); err != nil {
		return nil, planner.Identity{}, err
	}
	// Before Linux 5.12 the mounts are made with mount(2), from the new
	// namespace, which is not made slave until pivot_root
	// (bootstrap_old.go).
	oldAPI := !haveMountAPI()
	var h *hostSide
	if !oldAPI {
		var err error
		if h, err = b.prepareHostSide(); err != nil {
			return nil, planner.Identity{}, err
		}
		defer h.close()
	}
	// snap-update-ns is the host's, opened on the host before the pivot
	// (gather), as snap-confine does.
	id, err := b.unshareAbove(b.host.ns, hostID)
	if err != nil {
		return nil, planner.Identity{}, err
	}
	b.debugf("created mount namespace %s", id)
	if !oldAPI {
		err = b.makeRootSlave()
	} else {
		b.debugf("no open_tree or mount_setattr (Linux 5.12): the root filesystem is assembled with mount(2) in a staging area")
		if err = b.startOldMounts(); err == nil {
			defer b.old.close()
			if h, err = b.prepareHostSide(); err == nil {
				defer h.close()
			}
		}
	}
	if err != nil {
		return nil, planner.Identity{}, err
	}
	if err := b.bootstrap(h); err != nil {
		return nil, planner.Identity{}, err
	}
	if err := b.setupPrivateTmp(); err != nil {
		return nil, planner.Identity{}, err
	}
	if err := b.setupPrivateDevpts(); err != nil {
		return nil, planner.Identity{}, err
	}
	if err := b.runSnapUpdateNS(); err != nil {
		return nil, planner.Identity{}, err
	}
	ns, err := trusted.NS(b.host.proc, "thread-self/ns/mnt", "the new mount namespace")
	return ns, id, err
}

// makeRootSlave makes every mount of the calling thread's new namespace a
// slave, right after it unshared.
func (s *session) makeRootSlave() error {
	slash, err := trusted.Root()
	if err != nil {
		return err
	}
	defer slash.Close()
	return s.priv.MakeSlave(slash)
}

// unshareAbove creates a new mount namespace, a copy of from, whose id is
// above hostID (pid 1's namespace's; 0: no check) and returns its
// identity. Linux 6.18 hands out ids in per-CPU batches and will not
// capture a namespace whose id is not above the caller's (ARCHITECTURE.md
// §6): it is remade pinned to each allowed CPU in turn, and the affinity
// restored.
func (s *session) unshareAbove(from *desc.FD, hostID uint64) (planner.Identity, error) {
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		return planner.Identity{}, fmt.Errorf("cannot get the CPU affinity: %w", err)
	}
	var cpus []int
	for cpu := 0; cpu < len(orig)*64; cpu++ {
		if orig.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	pinned := false
	defer func() {
		if pinned {
			unix.SchedSetaffinity(0, &orig)
		}
	}()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if attempt > len(cpus) {
				return planner.Identity{}, fmt.Errorf("cannot create a mount namespace that can be preserved: on every allowed CPU the kernel gave an id not above %d", hostID)
			}
			var one unix.CPUSet
			one.Set(cpus[attempt-1])
			if err := unix.SchedSetaffinity(0, &one); err != nil {
				return planner.Identity{}, fmt.Errorf("cannot pin to CPU %d: %w", cpus[attempt-1], err)
			}
			pinned = true
		}
		if err := s.priv.Unshare(from); err != nil {
			return planner.Identity{}, err
		}
		ns, err := trusted.NS(s.host.proc, "thread-self/ns/mnt", "the new mount namespace")
		if err != nil {
			return planner.Identity{}, err
		}
		id, err := identify(ns)
		ns.Close()
		if err != nil {
			return planner.Identity{}, fmt.Errorf("cannot get the id of the new mount namespace: %w", err)
		}
		if id.ID > hostID || hostID == 0 {
			if pinned {
				if err := unix.SchedSetaffinity(0, &orig); err != nil {
					return planner.Identity{}, fmt.Errorf("cannot restore the CPU affinity: %w", err)
				}
				pinned = false
			}
			return id, nil
		}
		next := "no CPU left"
		if attempt < len(cpus) {
			next = fmt.Sprintf("retrying on CPU %d", cpus[attempt])
		}
		s.debugf("capture retry: new mount namespace id %s is not above pid 1's %d; %s", id, hostID, next)
	}
}

// writeInfoFile replaces the info file name in /run/snapd/ns atomically.
func (s *session) writeInfoFile(nsdir *desc.FD, name string, in info.Info) error {
	data, err := info.Format(in)
	if err != nil {
		return err
	}
	return s.replaceRootFile(nsdir, name, data, layout.InfoFileMode)
}

// replaceRootFile replaces name in /run/snapd/ns (nsdir) atomically with a
// root-owned file of mode holding data, through name.tmp.
func (s *session) replaceRootFile(nsdir *desc.FD, name string, data []byte, mode uint32) error {
	tmpName := name + ".tmp"
	f, err := s.ensureRootFile(nsdir, tmpName, unix.O_WRONLY|unix.O_TRUNC, mode)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := checkRootOwned(f, unix.S_IFREG, mode, s.priv.FixOwner); err != nil {
		return err
	}
	if err := s.priv.WriteRootFile(f, data); err != nil {
		return err
	}
	return s.priv.RenameRoot(nsdir, tmpName, name)
}
