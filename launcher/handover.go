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
func (l *launcher) handover() error {
	if err := l.dropPrivileges(); err != nil {
		return err
	}
	l.restoreCwd()
	var set []string
	if l.cookie != "" {
		set = []string{"SNAP_COOKIE=" + l.cookie, "SNAP_CONTEXT=" + l.cookie}
	}
	env := policy.TargetEnv(l.env, l.secure, l.launch.Classic, set...)
	// The exec label is written before the seccomp profile is loaded, as
	// snap-confine does: the app's profile need not allow writing it.
	if err := l.execLabel(l.appLabel()); err != nil {
		return err
	}
	fin, err := l.priv.PrepareFinal(l.target, env, l.umask, l.profile.Programs, l.launch.Tag.String())
	if err != nil {
		return err
	}
	l.debugf("executing %q", l.target)
	l.flushStderr()
	fin.Exec()
	panic("unreachable")
}

// dropPrivileges permanently becomes the caller: real, effective and saved
// uid and gid are set to the caller's real ones on every thread
// (privop's Drop), and the result is verified on the thread that will
// exec. The supplementary groups are the caller's already (setuid execution
// does not change them) and are verified, not set.
//
// With file capabilities the ids already are the caller's and the drop
// empties the capability sets on every thread (setuid's change of euid
// does that by itself).
//
// One capability may outlive the drop: CAP_SYS_ADMIN, kept permitted (never
// effective) only to load the app's seccomp profile in the last step, which
// removes it.
func (l *launcher) dropPrivileges() error {
	if err := l.priv.Drop(l.ruid, l.rgid, len(l.profile.Programs) > 0); err != nil {
		return err
	}
	return l.verifyIDs()
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
	// A root caller runs the app as root, as with snap-confine. For any
	// other, the drop must be permanent: regaining uid 0 has to fail.
	if l.ruid != 0 && privop.RootRegainable() {
		return fmt.Errorf("cannot drop privileges: uid 0 can still be regained")
	}
	return nil
}

// restoreCwd puts the app where the caller was. A classic app never changed
// namespace and goes back to the very directory (by descriptor, so no path
// can be swapped under it). A confined app's namespace is another view:
// setns moved this thread to its root, and the caller's path is looked up
// again in it, as snap-confine does, falling back to snapd's void directory
// and then "/" when the path does not exist there or the caller cannot enter
// it.
func (l *launcher) restoreCwd() {
	if l.cwdDir != nil {
		err := privop.Fchdir(l.cwdDir)
		l.cwdDir.Close()
		if err == nil {
			return
		}
	}
	if l.cwd != "" {
		fd, err := unix.Open(l.cwd, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			dir := desc.New(fd, l.cwd)
			err = privop.Fchdir(dir)
			dir.Close()
		}
		if err == nil {
			return
		}
		l.debugf("cannot remain in %s (%v), moving to the void directory", l.cwd, err)
	}
	if privop.Chdir(layout.VoidDir) != nil {
		privop.Chdir("/")
	}
}
