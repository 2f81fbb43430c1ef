package launcher

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
)

// dropPrivileges permanently becomes the caller: real, effective and saved
// uid and gid are set to the caller's real ones on every thread
// (sysDropToCaller), and the result is verified on the thread that will
// exec. The supplementary groups are the caller's already (setuid execution
// does not change them) and are verified, not set.
//
// With file capabilities the ids already are the caller's and the drop
// empties the capability sets on every thread (setuid's change of euid
// does that by itself).
func (l *launcher) dropPrivileges() error {
	if err := l.privileged(policy.OpDrop, func() error {
		if err := sysDropToCaller(l.ruid, l.rgid); err != nil {
			return err
		}
		if l.mode == modeFileCaps {
			if err := setCapsAllThreads(capSet{}, capSet{}, capSet{}); err != nil {
				return fmt.Errorf("cannot drop capabilities: %w", err)
			}
		}
		// What is left (nothing, unless the caller is root) is what the
		// rest of the launch works with.
		_, prm, inh, err := getCaps()
		if err != nil {
			return fmt.Errorf("cannot get capabilities: %w", err)
		}
		l.permitted, l.inheritable = prm, inh
		return l.verifyDropped()
	}); err != nil {
		return err
	}
	if l.mode == modeRoot {
		// Root's app runs as root, with root's capabilities effective
		// again (the exec would restore them too; the working directory
		// is entered before it).
		if err := setCapsAllThreads(l.permitted, l.permitted, l.inheritable); err != nil {
			return fmt.Errorf("cannot restore root's capabilities: %w", err)
		}
	}
	return nil
}

// verifyDropped checks the calling thread's credentials after the drop:
// ids, groups, capabilities, and that root cannot be regained.
func (l *launcher) verifyDropped() error {
	ruid, euid, suid := unix.Getresuid()
	rgid, egid, sgid := unix.Getresgid()
	if ruid != l.ruid || euid != l.ruid || suid != l.ruid {
		return fmt.Errorf("cannot drop privileges: uids are %d/%d/%d, want %d", ruid, euid, suid, l.ruid)
	}
	if rgid != l.rgid || egid != l.rgid || sgid != l.rgid {
		return fmt.Errorf("cannot drop privileges: gids are %d/%d/%d, want %d", rgid, egid, sgid, l.rgid)
	}
	groups, err := unix.Getgroups()
	if err != nil {
		return fmt.Errorf("cannot drop privileges: cannot get groups: %w", err)
	}
	if !slices.Equal(groups, l.groups) {
		return fmt.Errorf("cannot drop privileges: groups are %v, want %v", groups, l.groups)
	}
	if l.ruid == 0 {
		// A root caller runs the app as root, as with snap-confine.
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("cannot drop privileges: cannot get capabilities: %w", err)
	}
	for _, d := range data {
		if d.Effective != 0 || d.Permitted != 0 || d.Inheritable != 0 {
			return fmt.Errorf("cannot drop privileges: capabilities remain (%#x/%#x/%#x)", d.Effective, d.Permitted, d.Inheritable)
		}
	}
	// The drop must be permanent: regaining uid 0 has to fail. This is
	// the thread-local x/sys call on purpose; should it succeed, the
	// launcher stops here and never execs.
	if err := unix.Setresuid(-1, 0, -1); err == nil {
		return fmt.Errorf("cannot drop privileges: uid 0 can still be regained")
	}
	return nil
}
