// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// perUserNamespace returns the namespace a non-root caller's app runs in: a
// per-user layer on top of the snap's namespace snapNS, where the snap's
// per-user mounts (snap-update-ns --user-mounts) live.
//
// With the per-user-mount-namespace feature the layer is preserved as
// <instance>.<uid>.mnt and joined next time, but only while it was derived
// from the snap's current namespace (its info file records that
// namespace's identity: id, or inode before Linux 6.8): a layer on top of
// a namespace that has since been
// discarded would run the app on a stale base. Without the feature, the
// layer is rebuilt on every launch (snapd's behaviour today).
//
// The uid is the launcher's own view of the caller (the real uid), never
// the plan's. It runs under the per-snap lock and takes the per-user lock,
// in that order (SECURITY.md, locks).
func (l *launcher) perUserNamespace(hostNS, nsdir, lockdir, snapNS int, f *buildFacts) (int, string, error) {
	inst := l.plan.Instance
	uid := uint32(l.ruid)
	name := layout.UserMountNSName(inst, uid)
	display := layout.NSDir + "/" + name
	lockName := layout.UserLockName(inst, uid)
	lock, err := l.lock(lockdir, lockName, layout.LockDir+"/"+lockName)
	if err != nil {
		return -1, "", err
	}
	defer unlock(lock)
	snapID, err := identify(snapNS)
	if err != nil {
		return -1, "", fmt.Errorf("cannot get the id of the snap's mount namespace: %w", err)
	}

	if f.perUser {
		fd, err := l.openPreservedUser(hostNS, nsdir, name, snapID)
		if err != nil || fd >= 0 {
			return fd, "the preserved per-user mount namespace " + display, err
		}
	}

	updateNS, err := l.openHelper()
	if err != nil {
		return -1, "", err
	}
	defer updateNS.close()
	if !f.perUser {
		nsfd, _, err := l.newUserNamespace(snapNS, 0, updateNS)
		return nsfd, "a new, ephemeral per-user mount namespace (the per-user-mount-namespace feature is off)", err
	}
	hostID, err := mountNSID(hostNS)
	if err != nil {
		return -1, "", fmt.Errorf("cannot get the id of pid 1's mount namespace: %w", err)
	}
	in := info.Info{BaseSnapName: f.base.name}
	snapID.record(&in.ParentMountNSID, &in.ParentMountNSInode)
	nsfd, err := l.preserve(nsdir, name, layout.UserInfoName(inst, uid), in, func() (int, nsIdentity, error) {
		return l.newUserNamespace(snapNS, hostID, updateNS)
	})
	return nsfd, "the new per-user mount namespace " + display, err
}

// openPreservedUser returns the preserved per-user namespace name when it
// is the one captured there (verifyCaptured) and was derived from the
// snap's namespace snapID, or -1. Any other is discarded here, under the
// locks.
func (l *launcher) openPreservedUser(hostNS, nsdir int, name string, snapID nsIdentity) (int, error) {
	display := layout.NSDir + "/" + name
	fd, err := l.openNSFile(nsdir, name)
	if err != nil || fd < 0 {
		return -1, err
	}
	infoName := layout.UserInfoName(l.plan.Instance, uint32(l.ruid))
	var recorded info.Info
	if data, err := trusted.ReadFileAt(nsdir, infoName, layout.NSDir+"/"+infoName, info.MaxSize); err == nil {
		if in, err := info.Parse(data); err == nil {
			recorded = in
		}
	}
	// A layer is always ours, so its info file always records its
	// identity: one without is not trusted either.
	own := recordedIdentity(recorded)
	err = l.verifyCaptured(hostNS, fd, own)
	switch {
	case err == nil && own == (nsIdentity{}):
		l.debugf("the preserved per-user mount namespace %s has no recorded id: discarding it", display)
	case err != nil:
		l.debugf("the preserved per-user mount namespace %s is not the one captured there: %v: discarding it", display, err)
	case derivedFrom(recorded, snapID):
		l.debugf("the preserved per-user mount namespace %s is on top of the snap's namespace %s", display, snapID)
		return fd, nil
	default:
		parent := nsIdentity{id: recorded.ParentMountNSID, ino: recorded.ParentMountNSInode}
		l.debugf("the preserved per-user mount namespace %s was derived from namespace %s, not the snap's %s: discarding it", display, parent, snapID)
	}
	unix.Close(fd)
	if err := l.unmountNSFile(nsdir, name); err != nil {
		return -1, err
	}
	for _, n := range []string{name, infoName} {
		if err := l.unlinkRoot(nsdir, n, 0, layout.NSDir+"/"+n); err != nil {
			return -1, err
		}
	}
	return -1, nil
}

// newUserNamespace makes a per-user namespace on top of snapNS on a
// throwaway thread: a copy of it, made recursively slave (the snap's mounts
// keep arriving, the user's never leave), with the snap's per-user mounts.
// hostID is 0 when the layer will not be captured.
func (l *launcher) newUserNamespace(snapNS int, hostID uint64, updateNS helper) (int, nsIdentity, error) {
	r, err := onThrowawayThread("create the per-user mount namespace", func() (madeNS, error) {
		id, err := l.unshareAbove(snapNS, hostID)
		if err == nil {
			err = l.makeRootRslave()
		}
		if err == nil {
			err = l.runUserSnapUpdateNS(updateNS)
		}
		if err != nil {
			return madeNS{}, err
		}
		nsfd, err := openNS(l.procfd, "thread-self/ns/mnt", "the new per-user mount namespace")
		return madeNS{nsfd, id}, err
	})
	if err != nil {
		return -1, nsIdentity{}, err
	}
	return r.nsfd, r.id, nil
}
