// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
)

// The handover, in the order it runs: the drop (privop's Drop: the
// caller's ids on every thread, every capability gone but CAP_SYS_ADMIN
// kept permitted for the seccomp load), verified; the caller's working
// directory; the app's environment (policy.TargetEnv) and AppArmor label;
// the last step made ready (privop.PrepareFinal), stderr flushed; then
// privop's Final.Exec, raw syscalls on this thread only.
func (s *session) handover() error {
	c := &s.caller
	if err := s.priv.Drop(c.uid, c.gid, len(s.profile.Programs) > 0); err != nil {
		return err
	}
	if err := c.verifyIDs(); err != nil {
		return err
	}
	c.restoreCwd(s.cwdByPath, s.debugf)
	var set []string
	if s.cookie != "" {
		set = []string{"SNAP_COOKIE=" + s.cookie, "SNAP_CONTEXT=" + s.cookie}
	}
	env := policy.TargetEnv(c.env, c.secure, s.launch.Classic, set...)
	// The exec label is written before the seccomp profile is loaded, as
	// snap-confine does: the app's profile need not allow writing it.
	if err := s.execLabel(s.appLabel()); err != nil {
		return err
	}
	fin, err := s.priv.PrepareFinal(s.target, env, c.umask, s.profile.Programs, s.launch.Tag.String())
	if err != nil {
		return err
	}
	s.debugf("executing %q", s.target)
	s.flushStderr()
	fin.Exec()
	panic("unreachable")
}

// verifyIDs checks, after the drop (privop's Drop: the caller's real
// uid and gid on every thread, every capability gone but the one the
// seccomp load needs, kept permitted), the calling thread's credentials:
// ids, groups (the caller's already: setuid execution does not change
// them; verified, not set), and that root cannot be regained.
func (c *caller) verifyIDs() error {
	ruid, euid, suid := unix.Getresuid()
	rgid, egid, sgid := unix.Getresgid()
	if ruid != c.uid || euid != c.uid || suid != c.uid {
		return fmt.Errorf("cannot drop privileges: uids are %d/%d/%d, want %d", ruid, euid, suid, c.uid)
	}
	if rgid != c.gid || egid != c.gid || sgid != c.gid {
		return fmt.Errorf("cannot drop privileges: gids are %d/%d/%d, want %d", rgid, egid, sgid, c.gid)
	}
	groups, err := unix.Getgroups()
	if err != nil {
		return fmt.Errorf("cannot drop privileges: cannot get groups: %w", err)
	}
	if !slices.Equal(groups, c.groups) {
		return fmt.Errorf("cannot drop privileges: groups are %v, want %v", groups, c.groups)
	}
	// A root caller runs the app as root, as with snap-confine. For any
	// other, the drop must be permanent: regaining uid 0 has to fail.
	if c.uid != 0 && privop.RootRegainable() {
		return fmt.Errorf("cannot drop privileges: uid 0 can still be regained")
	}
	return nil
}

// restoreCwd puts the app where the caller was: a classic app that kept
// the caller's namespace goes back to the very directory, by descriptor;
// in any other namespace the path is looked up again, as snap-confine
// does, falling back to snapd's void directory, then "/".
func (c *caller) restoreCwd(byPath bool, debugf func(string, ...any)) {
	if c.cwdDir != nil && !byPath {
		err := privop.Fchdir(c.cwdDir)
		c.cwdDir.Close()
		if err == nil {
			return
		}
	}
	if c.cwd != "" {
		fd, err := unix.Open(c.cwd, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			dir := desc.New(fd, c.cwd)
			err = privop.Fchdir(dir)
			dir.Close()
		}
		if err == nil {
			return
		}
		debugf("cannot remain in %s (%v), moving to the void directory", c.cwd, err)
	}
	if privop.Chdir(layout.VoidDir) != nil {
		privop.Chdir("/")
	}
}
