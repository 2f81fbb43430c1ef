// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"

	"github.com/snapns/snapns/shared/trusted"
	"golang.org/x/sys/unix"
)

// Every path the launcher touches is walked one component at a time from a
// directory descriptor, never following a symlink, and what it finds is
// checked on the descriptor (owner, mode, type, filesystem), not on the path.

const dirFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_RDONLY

// openRoot opens "/" of the calling thread.
func openRoot() (int, error) {
	fd, err := unix.Open("/", dirFlags, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open /: %w", err)
	}
	return fd, nil
}

// openDirAt opens the directory name (one component) below dirfd.
func openDirAt(dirfd int, name, display string) (int, error) {
	fd, err := unix.Openat(dirfd, name, dirFlags, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open %s: %w", display, err)
	}
	return fd, nil
}

// openDirPath walks an absolute path from "/" one component at a time
// (trusted.OpenDir also checks that each is root's).
func openDirPath(path string) (int, error) { return trusted.Walk(path, nil) }

// checkRootOwned verifies, on the descriptor, that fd is of the type fmtType,
// owned by root, and not writable by anyone else unless want allows it. When
// fix is set a root-owned entry whose group or mode differ from the contract
// (a launcher killed between creating it and handing it to root:root) is
// repaired; an entry owned by anyone but root is always refused, since only
// someone else could have made it.
func checkRootOwned(fd int, fmtType uint32, want uint32, display string, fix func(fd int, mode uint32) error) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("cannot inspect %s: %w", display, err)
	}
	if st.Mode&unix.S_IFMT != fmtType {
		return fmt.Errorf("cannot use %s: not a %s", display, trusted.TypeName(fmtType))
	}
	if st.Uid != 0 {
		return fmt.Errorf("cannot use %s: owned by uid %d, not root", display, st.Uid)
	}
	mode := st.Mode & 0o7777
	if mode&0o022 != 0 && mode != want {
		return fmt.Errorf("cannot use %s: mode %04o is writable by others (want %04o)", display, mode, want)
	}
	if st.Gid == 0 && mode == want {
		return nil
	}
	if fix == nil {
		return fmt.Errorf("cannot use %s: owner %d:%d mode %04o (want 0:0 %04o)", display, st.Uid, st.Gid, mode, want)
	}
	if err := fix(fd, want); err != nil {
		return fmt.Errorf("cannot use %s: %w", display, err)
	}
	return nil
}

// fsMagic returns the filesystem magic of the file behind fd. f_type is
// int64 on most 64-bit architectures, int32 on 32-bit ones and uint32 on
// s390x; magics are 32-bit values, so they are read as uint32 everywhere
// (an int32 would sign-extend RAMFS_MAGIC and the like).
func fsMagic(fd int) (int64, error) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return 0, err
	}
	return int64(uint32(sfs.Type)), nil
}
