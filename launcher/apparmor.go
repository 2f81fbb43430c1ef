// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/naming"
)

// AppArmor, as snap-confine uses it: the launcher finds out whether
// AppArmor is enabled and how it is itself confined, refuses to run with
// elevated privileges while unconfined on a system where AppArmor is
// enabled (an unprivileged user could otherwise run a copy of the launcher
// outside its profile), and makes the app and each helper transition to
// their labels at exec. The labels are derived from the command line's
// validated names (appLabel, helperLabel), never taken from the caller, so
// a caller cannot choose the profile an exec lands in.
//
// Detection fails closed: when it cannot complete (unreadable files,
// descriptor exhaustion), the launcher does not conclude that AppArmor is
// off.

// setExecLabel makes the calling thread's next exec transition to label,
// writing "exec <label>" to its exec attribute. It does nothing when
// AppArmor is not enabled; when it is, a failure is fatal.
func setExecLabel(aa gather.AppArmor, proc *desc.FD, label string) error {
	if !aa.Enabled {
		return nil
	}
	return privop.WriteExecLabel(proc, aa.ExecAttr, label)
}

// appLabel is the label the app execs under: its security tag's profile.
func (l *launcher) appLabel() string { return naming.AppArmorLabel(l.launch.Tag) }

// helperLabel is the label snap-update-ns execs under, for the launch's
// instance.
func (l *launcher) helperLabel() string { return naming.UpdateNSAppArmorLabel(l.launch.Instance) }

// detectAppArmor detects AppArmor (gather.DetectAppArmor) for the
// planner, which refuses to go on unconfined with elevated privileges
// where AppArmor is enabled. Detection fails closed: an error is the
// planner's refusal.
func (l *launcher) detectAppArmor() {
	err := func() error {
		proc, err := openProc()
		if err != nil {
			return err
		}
		defer proc.Close()
		sys, err := openDirPath("/sys")
		if err != nil {
			return fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
		}
		defer sys.Close()
		l.aa, err = gather.DetectAppArmor(sys, proc)
		return err
	}()
	l.facts.AppArmor = l.aa.Fact()
	l.facts.AppArmor.Err = err
	if err == nil && l.aa.Enabled {
		l.debugf("AppArmor: enabled; the launcher runs as %q (%s); the app execs as %q, snap-update-ns as %q", l.aa.Label, l.aa.Mode, l.appLabel(), l.helperLabel())
	} else if err == nil {
		l.debugf("AppArmor: not enabled in this kernel: no labels are set")
	}
}

// execLabel sets the calling thread's AppArmor exec label, through the
// verified /proc (opened again for classic plans, which never opened it).
func (l *launcher) execLabel(label string) error {
	if !l.aa.Enabled {
		return nil
	}
	proc := l.proc
	if proc == nil {
		var err error
		if proc, err = openProc(); err != nil {
			return err
		}
		defer proc.Close()
	}
	return setExecLabel(l.aa, proc, label)
}
