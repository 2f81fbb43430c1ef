package launcher

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/layout"
)

// execTarget restores the caller's working directory and execs the target
// with its argv intact and an environment built from policy. It runs after
// the drop, so the working directory is entered with the caller's own
// permissions: a directory the caller cannot reach is not reached.
func (l *launcher) execTarget() error {
	l.restoreCwd()
	env := policy.TargetEnv(l.env, l.plan.Classic)
	l.debugf("executing %q", l.target)
	err := syscall.Exec(l.target[0], l.target, env)
	return fmt.Errorf("cannot execute %s: %w", l.target[0], err)
}

// restoreCwd enters the caller's working directory again (setns moved this
// thread to the namespace's root), falling back to snapd's void directory
// and then to "/" when it does not exist in the snap's namespace or the
// caller cannot enter it.
func (l *launcher) restoreCwd() {
	if l.cwd != "" {
		err := unix.Chdir(l.cwd)
		if err == nil {
			return
		}
		l.debugf("cannot remain in %s (%v), moving to the void directory", l.cwd, err)
	}
	if unix.Chdir(layout.VoidDir) != nil {
		unix.Chdir("/")
	}
}
