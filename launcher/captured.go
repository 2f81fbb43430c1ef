// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
)

// A preserved namespace is joined (or entered for inspection) only when it
// is one that was captured there: whoever can bind a namespace file over
// /run/snapd/ns/<instance>.mnt or <instance>.<uid>.mnt (a bug in a root
// helper, a mistaken admin) must not be able to make the launcher run
// root's or another user's app in a mount table they chose. Two facts are
// checked on the descriptor that will be joined, so nothing can change
// between the check and the setns:
//
//   - its owning user namespace is pid 1's: a mount namespace made by an
//     unprivileged user (unshare -U -r -m), whose mounts that user controls,
//     is refused;
//   - its identity is the one the info file recorded when the launcher
//     captured it, for the per-snap namespace and for each per-user layer:
//     another snap's namespace, or another user's layer, bound over this
//     one's file, is refused. The identity is the kernel's id
//     (NS_GET_MNTNS_ID) since Linux 6.8, the nsfs inode before
//     (identify). Both tell apart any two namespaces alive at once, and
//     a namespace bound over the file is alive, as is the one the record
//     was made for unless someone unmounted it behind the launcher's back:
//     only then can an inode, unlike an id, have been handed on to the
//     namespace found there. A namespace whose info file records neither
//     (made by snapd's own snap-confine) is checked for its owner only.
//
// A namespace that fails either check is not ours: it is discarded and
// rebuilt, as a stale one would be.

// verifyCaptured checks ns as described above; recorded is the identity
// from the info file, zero for none. The error says why it is not the
// captured one.
func (s *session) verifyCaptured(ns *desc.FD, recorded planner.Identity) error {
	owner, err := ownerOf(ns)
	if err != nil {
		return fmt.Errorf("cannot get its owning user namespace: %w", err)
	}
	if owner != s.host.owner {
		return fmt.Errorf("it is owned by user namespace %d, not pid 1's %d", owner.ino, s.host.owner.ino)
	}
	switch {
	case recorded.ID != 0:
		id, err := mountNSID(ns)
		if err != nil {
			return fmt.Errorf("cannot get its id: %w", err)
		}
		if id != recorded.ID {
			return fmt.Errorf("its id %d is not the %d recorded when it was captured", id, recorded.ID)
		}
	case recorded.Inode != 0:
		var st unix.Stat_t
		if err := unix.Fstat(ns.Fd(), &st); err != nil {
			return fmt.Errorf("cannot get its inode: %w", err)
		}
		if st.Ino != recorded.Inode {
			return fmt.Errorf("its inode %d is not the %d recorded when it was captured", st.Ino, recorded.Inode)
		}
	}
	return nil
}

// nsOwner names a user namespace by its nsfs inode.
type nsOwner struct{ dev, ino uint64 }

// ownerOf returns the user namespace that owns the namespace ns.
func ownerOf(ns *desc.FD) (nsOwner, error) {
	fd, err := unix.IoctlRetInt(ns.Fd(), unix.NS_GET_USERNS)
	if err != nil {
		return nsOwner{}, err
	}
	defer desc.New(fd, "the owner of "+ns.Name()).Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nsOwner{}, err
	}
	return nsOwner{st.Dev, st.Ino}, nil
}
