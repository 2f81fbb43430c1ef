// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/trusted"
)

// Every path the launcher touches is walked one component at a time from a
// directory descriptor, never following a symlink, and what it finds is
// checked on the descriptor (owner, mode, type, filesystem), not on the path.

const dirFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_RDONLY

// checkRootOwned verifies, on the descriptor, that d is of the type fmtType,
// owned by root, and not writable by anyone else unless want allows it. When
// fix is set a root-owned entry whose group or mode differ from the contract
// (a launcher killed between creating it and handing it to root:root) is
// repaired; an entry owned by anyone but root is always refused, since only
// someone else could have made it.
func checkRootOwned(d *desc.FD, fmtType uint32, want uint32, fix func(d *desc.FD, mode uint32) error) error {
	var st unix.Stat_t
	if err := unix.Fstat(d.Fd(), &st); err != nil {
		return fmt.Errorf("cannot inspect %s: %w", d.Name(), err)
	}
	if st.Mode&unix.S_IFMT != fmtType {
		return fmt.Errorf("cannot use %s: not a %s", d.Name(), trusted.TypeName(fmtType))
	}
	if st.Uid != 0 {
		return fmt.Errorf("cannot use %s: owned by uid %d, not root", d.Name(), st.Uid)
	}
	mode := st.Mode & 0o7777
	if mode&0o022 != 0 && mode != want {
		return fmt.Errorf("cannot use %s: mode %04o is writable by others (want %04o)", d.Name(), mode, want)
	}
	if st.Gid == 0 && mode == want {
		return nil
	}
	if fix == nil {
		return fmt.Errorf("cannot use %s: owner %d:%d mode %04o (want 0:0 %04o)", d.Name(), st.Uid, st.Gid, mode, want)
	}
	if err := fix(d, want); err != nil {
		return fmt.Errorf("cannot use %s: %w", d.Name(), err)
	}
	return nil
}
