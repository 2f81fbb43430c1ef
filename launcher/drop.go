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
//
// One capability may outlive the drop: CAP_SYS_ADMIN, kept permitted (never
// effective) only to load the app's seccomp profiles right before the exec
// (finishDrop removes it). A setuid launcher keeps it across the change of
// uid with PR_SET_KEEPCAPS, on every thread, for the length of the drop.
func (l *launcher) dropPrivileges() error {
	unprivileged := l.mode == modeSetuid || l.mode == modeFileCaps
	keep := capSet{}
	if unprivileged && len(l.profiles) > 0 {
		keep = capsOf(policy.Ops[policy.OpSeccomp].Caps)
	}
	if err := l.privileged(policy.OpDrop, func() error {
		if l.mode == modeSetuid && !keep.empty() {
			if err := keepCapsAllThreads(true); err != nil {
				return fmt.Errorf("cannot keep capabilities across the drop: %w", err)
			}
		}
		if err := sysDropToCaller(l.ruid, l.rgid); err != nil {
			return err
		}
		if unprivileged {
			if err := setCapsAllThreads(capSet{}, keep, capSet{}); err != nil {
				return fmt.Errorf("cannot drop capabilities: %w", err)
			}
			if l.mode == modeSetuid && !keep.empty() {
				if err := keepCapsAllThreads(false); err != nil {
					return fmt.Errorf("cannot stop keeping capabilities: %w", err)
				}
			}
		}
		_, prm, inh, err := getCaps()
		if err != nil {
			return fmt.Errorf("cannot get capabilities: %w", err)
		}
		l.permitted, l.inheritable = prm, inh
		return l.verifyIDs()
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

// finishDrop removes what dropPrivileges kept for the seccomp load and
// verifies that a non-root caller's app gets no capability at all.
func (l *launcher) finishDrop() error {
	if l.mode != modeSetuid && l.mode != modeFileCaps {
		return nil
	}
	if err := setCapsAllThreads(capSet{}, capSet{}, capSet{}); err != nil {
		return fmt.Errorf("cannot drop the last capability: %w", err)
	}
	l.permitted, l.inheritable = capSet{}, capSet{}
	return verifyNoCaps()
}

// verifyIDs checks the calling thread's credentials after the drop: ids,
// groups, and that root cannot be regained.
func (l *launcher) verifyIDs() error {
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
	// The drop must be permanent: regaining uid 0 has to fail. This is
	// the thread-local x/sys call on purpose; should it succeed, the
	// launcher stops here and never execs.
	if err := unix.Setresuid(-1, 0, -1); err == nil {
		return fmt.Errorf("cannot drop privileges: uid 0 can still be regained")
	}
	return nil
}

// verifyNoCaps checks that the calling thread holds no capability.
func verifyNoCaps() error {
	eff, prm, inh, err := getCaps()
	if err != nil {
		return fmt.Errorf("cannot drop privileges: cannot get capabilities: %w", err)
	}
	// The ambient set is always within permitted and inheritable, so it
	// is empty when both are.
	if !eff.empty() || !prm.empty() || !inh.empty() {
		return fmt.Errorf("cannot drop privileges: capabilities remain (effective %s, permitted %s, inheritable %s)", eff.names(), prm.names(), inh.names())
	}
	return nil
}
