// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// A non-root caller's app runs in a per-user layer on top of the snap's
// namespace, holding the snap's per-user mounts (snap-update-ns
// --user-mounts): with the per-user-mount-namespace feature preserved as
// <instance>.<uid>.mnt and joined while its info file records the snap's
// current namespace as its parent, else rebuilt on every launch. The
// planner decides (DecidePerUser); it happens under the per-snap lock and
// the per-user lock, in that order (SECURITY.md §7).

// createUserLayer makes a new layer on top of snapNS (whose identity is
// snapID) and preserves it.
func (s *session) createUserLayer(snapNS *desc.FD, snapID planner.Identity, userMounts bool) (*desc.FD, error) {
	inst, uid := s.launch.Instance, uint32(s.caller.uid)
	hostID, err := mountNSID(s.host.ns)
	if err != nil {
		return nil, fmt.Errorf("cannot get the id of pid 1's mount namespace: %w", err)
	}
	in := info.Info{BaseSnapName: s.facts.Snap.Base.Name, ParentMountNSID: snapID.ID, ParentMountNSInode: snapID.Inode}
	ns, _, err := s.preserve(s.nsdir, layout.UserMountNSName(inst, uid), layout.UserInfoName(inst, uid), in, func() (*desc.FD, planner.Identity, error) {
		return s.newUserNamespace(snapNS, hostID, userMounts)
	})
	return ns, err
}

// discardUserLayer discards the caller's preserved layer, under the locks.
func (s *session) discardUserLayer() error {
	nsdir := s.nsdir
	inst, uid := s.launch.Instance, uint32(s.caller.uid)
	name := layout.UserMountNSName(inst, uid)
	if err := s.unmountNSFile(nsdir, name); err != nil {
		return err
	}
	for _, n := range []string{name, layout.UserInfoName(inst, uid)} {
		if err := s.priv.UnlinkRoot(nsdir, n, 0); err != nil {
			return err
		}
	}
	return nil
}

// newUserNamespace makes a per-user namespace on top of snapNS on a
// throwaway thread: a copy of it, made recursively slave (the snap's mounts
// keep arriving, the user's never leave), with the snap's per-user mounts.
// hostID is 0 when the layer will not be captured.
func (s *session) newUserNamespace(snapNS *desc.FD, hostID uint64, userMounts bool) (*desc.FD, planner.Identity, error) {
	r, err := onThrowawayThread("create the per-user mount namespace", func() (madeNS, error) {
		id, err := s.unshareAbove(snapNS, hostID)
		if err == nil {
			err = s.makeRootSlave()
		}
		if err == nil && userMounts {
			err = s.runUserSnapUpdateNS()
		}
		if err != nil {
			return madeNS{}, err
		}
		ns, err := trusted.NS(s.host.proc, "thread-self/ns/mnt", "the new per-user mount namespace")
		return madeNS{ns, id}, err
	})
	return r.ns, r.id, err
}
