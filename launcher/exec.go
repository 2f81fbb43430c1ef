package launcher

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/layout"
)

// execTarget restores the caller's working directory and umask and execs the
// target with its argv intact and an environment built from policy. It runs
// after the drop, so the working directory is entered with the caller's own
// permissions: a directory the caller cannot reach is not reached.
func (l *launcher) execTarget() error {
	l.restoreCwd()
	var set []string
	if l.cookie != "" {
		set = []string{"SNAP_COOKIE=" + l.cookie, "SNAP_CONTEXT=" + l.cookie}
	}
	env := policy.TargetEnv(l.env, l.plan.Classic, set...)
	// The exec label is written before the seccomp profiles are loaded, as
	// snap-confine does: the app's profile need not allow writing it.
	if err := l.execLabel(l.plan.AppLabel); err != nil {
		return err
	}
	if len(l.profiles) > 0 {
		if err := l.loadProfiles(l.profiles); err != nil {
			return err
		}
	}
	if err := l.finishDrop(); err != nil {
		return err
	}
	l.debugf("executing %q", l.target)
	unix.Umask(l.umask)
	l.flushStderr()
	err := syscall.Exec(l.target[0], l.target, env)
	return fmt.Errorf("cannot execute %s: %w", l.target[0], err)
}

// restoreCwd puts the app where the caller was. A classic app never changed
// namespace and goes back to the very directory (by descriptor, so no path
// can be swapped under it). A confined app's namespace is another view:
// setns moved this thread to its root, and the caller's path is looked up
// again in it, as snap-confine does, falling back to snapd's void directory
// and then "/" when the path does not exist there or the caller cannot enter
// it.
func (l *launcher) restoreCwd() {
	if l.cwdfd >= 0 {
		err := unix.Fchdir(l.cwdfd)
		unix.Close(l.cwdfd)
		if err == nil {
			return
		}
	}
	if l.cwd != "" {
		fd, err := unix.Open(l.cwd, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Fchdir(fd)
			unix.Close(fd)
		}
		if err == nil {
			return
		}
		l.debugf("cannot remain in %s (%v), moving to the void directory", l.cwd, err)
	}
	if unix.Chdir(layout.VoidDir) != nil {
		unix.Chdir("/")
	}
}
