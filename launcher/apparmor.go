// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/trusted"
)

// AppArmor, as snap-confine uses it (SECURITY.md §4.4): detected (failing
// closed), a launcher unconfined with elevated privileges refused where it
// is enabled, and the app and each helper made to transition to labels
// derived from the validated names, never taken from the caller.

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
func (s *session) detectAppArmor() {
	err := func() error {
		proc, err := trusted.Proc()
		if err != nil {
			return err
		}
		defer proc.Close()
		sys, err := trusted.Path("/sys")
		if err != nil {
			return fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
		}
		defer sys.Close()
		s.aa, err = gather.DetectAppArmor(sys, proc)
		return err
	}()
	s.facts.AppArmor = s.aa.Fact()
	s.facts.AppArmor.Err = err
	if err == nil && s.aa.Enabled {
		s.debugf("AppArmor: enabled; the launcher runs as %q (%s); the app execs as %q, snap-update-ns as %q", s.aa.Label, s.aa.Mode, s.appLabel(), s.helperLabel())
	} else if err == nil {
		s.debugf("AppArmor: not enabled in this kernel: no labels are set")
	}
}

// execLabel sets the calling thread's AppArmor exec label, through the
// verified /proc of pid 1's namespace (opened for classic plans, which
// never moved there).
func (s *session) execLabel(label string) error {
	if !s.aa.Enabled {
		return nil
	}
	proc := s.host.proc
	if proc == nil {
		var err error
		if proc, err = trusted.Proc(); err != nil {
			return err
		}
		defer proc.Close()
	}
	return setExecLabel(s.aa, proc, label)
}
