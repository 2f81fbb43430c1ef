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

// The handover, from the launcher's last privileged step to the app, in the
// order it runs:
//
//  1. drop: the caller's uid, gid and groups on every thread, every
//     capability gone but CAP_SYS_ADMIN kept permitted (never effective)
//     when a seccomp profile is to be loaded; verified;
//  2. the caller's working directory, entered with the caller's own rights;
//  3. the app's environment (policy.TargetEnv) and AppArmor exec label;
//  4. everything the last step needs, made ready: argv and envp, the
//     filters, the error messages (privop.PrepareFinal); stderr flushed;
//  5. the last step (privop's Final.Exec): the caller's RLIMIT_NOFILE and
//     umask back, the Go runtime's signal handlers replaced by the
//     defaults execve would give, the garbage collector off, then raw
//     syscalls on this thread only: CAP_SYS_ADMIN raised, the deny and
//     allow programs loaded (snap-confine's order), every capability
//     dropped, execve.
//
// Every privilege is given up, and verified gone, before the caller's
// target runs, as the caller.
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

// restoreCwd puts the app where the caller was. A classic app that kept
// the caller's namespace goes back to the very directory (by descriptor,
// so no path can be swapped under it). A confined app's namespace, or a
// classic app's own (byPath), is another view: the caller's path is
// looked up again in it, as snap-confine does, falling back to snapd's
// void directory and then "/" when the path does not exist there or the
// caller cannot enter it.
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
