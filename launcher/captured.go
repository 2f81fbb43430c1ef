// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
)

// A preserved namespace is joined (or inspected) only when it is the one
// captured there: whoever can bind a namespace file over
// /run/snapd/ns/<instance>.mnt or <instance>.<uid>.mnt (a root helper's
// bug, a mistaken admin) must not make the launcher run root's or another
// user's app in a mount table they chose. On the descriptor that will be
// joined:
//
//   - its owning user namespace is pid 1's (not one a user made with
//     unshare -U -r -m, whose mounts they control);
//   - its identity (identify) is the one the info file recorded at the
//     capture: another snap's namespace or another user's layer bound over
//     the file is refused. A namespace whose info file records none (made
//     by snapd's own snap-confine) is checked for its owner only.
//
// One that fails either is not ours: it is discarded and rebuilt.

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
