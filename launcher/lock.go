// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
)

// lockTimeout bounds how long a launch waits for a lock. A holder can be
// stopped by its own user (SIGSTOP) or stuck behind snap-update-ns; waiting
// forever would let one user hang every other user's launches of the snap.
const lockTimeout = 30 * time.Second

// lock takes an exclusive flock(2) on name in the root-owned lock directory,
// creating the lock file (0600 root:root) when missing. The lock is released
// when the descriptor is closed, so a killed launcher never leaves one stuck.
func (s *session) lock(lockdir *desc.FD, name string) (*desc.FD, error) {
	f, err := s.ensureRootFile(lockdir, name, unix.O_RDWR, layout.LockFileMode)
	if err != nil {
		return nil, err
	}
	if err := checkRootOwned(f, unix.S_IFREG, layout.LockFileMode, s.priv.FixOwner); err != nil {
		f.Close()
		return nil, err
	}
	// Poll with a short backoff rather than block: a blocked flock cannot
	// be given a deadline without signals.
	deadline := time.Now().Add(lockTimeout)
	wait := 500 * time.Microsecond
	for {
		err := unix.Flock(f.Fd(), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			s.debugf("locked %s", f.Name())
			return f, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("cannot lock %s: %w", f.Name(), err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("cannot lock %s: still held by another process after %s", f.Name(), lockTimeout)
		}
		time.Sleep(wait)
		if wait < 20*time.Millisecond {
			wait *= 2
		}
	}
}

// unlock releases a lock taken by lock.
func unlock(f *desc.FD) {
	unix.Flock(f.Fd(), unix.LOCK_UN)
	f.Close()
}
