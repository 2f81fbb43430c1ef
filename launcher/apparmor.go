// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/naming"
)

// AppArmor, as snap-confine uses it: the launcher finds out whether
// AppArmor is enabled and how it is itself confined, refuses to run with
// elevated privileges while unconfined on a system where AppArmor is
// enabled (an unprivileged user could otherwise run a copy of the launcher
// outside its profile), and makes the app and each helper transition to
// their labels at exec. The labels are derived from the plan's validated
// names (appLabel, helperLabel); a plan carries none, so a caller cannot
// choose the profile an exec lands in.
//
// Detection fails closed: when it cannot complete (unreadable files,
// descriptor exhaustion), the launcher does not conclude that AppArmor is
// off.

// apparmor is what detection found.
type apparmor struct {
	enabled bool
	label   string // the launcher's own label; "unconfined" when it has none
	mode    string // "enforce", "complain", ... ; "" when unconfined
	// execAttr is the exec attribute of the calling thread, relative to
	// /proc: the LSM-specific file when the kernel has it, the legacy
	// shared one otherwise.
	execAttr string
}

// Attribute files, relative to /proc (the verified procfd) and /sys.
const (
	aaCurrentAttr       = "thread-self/attr/apparmor/current"
	aaExecAttr          = "thread-self/attr/apparmor/exec"
	aaLegacyCurrentAttr = "thread-self/attr/current"
	aaLegacyExecAttr    = "thread-self/attr/exec"
	aaSecurityfsDir     = "kernel/security/apparmor"
	aaEnabledParam      = "module/apparmor/parameters/enabled"
	aaMaxAttr           = 4096
)

// detectAppArmor reads sysfd (/sys) and procfd (/proc). AppArmor is enabled
// when securityfs has its directory and the module parameter says "Y"; a
// kernel without the directory has no AppArmor (as snap-confine decides).
// Any other failure is an error, never "disabled".
func detectAppArmor(sysfd, procfd int) (*apparmor, error) {
	aa := &apparmor{label: "unconfined"}
	var st unix.Stat_t
	err := unix.Fstatat(sysfd, aaSecurityfsDir, &st, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return aa, nil
	case err != nil:
		return nil, fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	}
	param, err := readAttr(sysfd, aaEnabledParam)
	switch {
	case errors.Is(err, unix.ENOENT):
		return aa, nil
	case err != nil:
		return nil, fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	case param == "N":
		return aa, nil
	case param != "Y":
		return nil, fmt.Errorf("cannot tell whether AppArmor is enabled: %s/%s is %q", "/sys", aaEnabledParam, param)
	}
	aa.enabled = true
	current, err := readAttr(procfd, aaCurrentAttr)
	aa.execAttr = aaExecAttr
	if errors.Is(err, unix.ENOENT) {
		current, err = readAttr(procfd, aaLegacyCurrentAttr)
		aa.execAttr = aaLegacyExecAttr
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the launcher's AppArmor label: %w", err)
	}
	aa.label, aa.mode = parseLabel(current)
	return aa, nil
}

// parseLabel splits "label (mode)" or "unconfined".
func parseLabel(current string) (label, mode string) {
	if l, m, ok := strings.Cut(current, " ("); ok && strings.HasSuffix(m, ")") {
		return l, strings.TrimSuffix(m, ")")
	}
	return current, ""
}

// readAttr reads a small kernel attribute file and trims its newline.
func readAttr(dirfd int, name string) (string, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, aaMaxAttr)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf[:n]), "\n\x00"), nil
}

// refuseUnconfined is snap-confine's check: with AppArmor enabled, a
// launcher with elevated privileges must itself be confined.
func (aa *apparmor) refuseUnconfined(elevated bool) error {
	if aa.enabled && elevated && aa.label == "unconfined" {
		return errors.New("cannot launch: snap-launch has elevated privileges and is not confined by AppArmor, which is enabled: refusing, to avoid permission escalation attacks")
	}
	return nil
}

// setExecLabel makes the calling thread's next exec transition to label,
// writing "exec <label>" to its exec attribute. It does nothing when
// AppArmor is not enabled; when it is, a failure is fatal.
func (aa *apparmor) setExecLabel(procfd int, label string) error {
	if !aa.enabled {
		return nil
	}
	return writeExecLabel(procfd, aa.execAttr, label)
}

// appLabel is the label the app execs under: its security tag's profile.
func (l *launcher) appLabel() string { return naming.AppArmorLabel(l.plan.Tag) }

// helperLabel is the label snap-update-ns execs under, for the plan's
// instance.
func (l *launcher) helperLabel() string { return naming.UpdateNSAppArmorLabel(l.plan.Instance) }

// checkAppArmor detects AppArmor and refuses to go on unconfined with
// elevated privileges where AppArmor is enabled.
func (l *launcher) checkAppArmor() error {
	procfd, err := openProc()
	if err != nil {
		return err
	}
	defer unix.Close(procfd)
	sysfd, err := openDirPath("/sys")
	if err != nil {
		return fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	}
	defer unix.Close(sysfd)
	if l.aa, err = detectAppArmor(sysfd, procfd); err != nil {
		return err
	}
	if !l.aa.enabled {
		l.debugf("AppArmor: not enabled in this kernel: no labels are set")
		return nil
	}
	l.debugf("AppArmor: enabled; the launcher runs as %q (%s); the app execs as %q, snap-update-ns as %q", l.aa.label, l.aa.mode, l.appLabel(), l.helperLabel())
	return l.aa.refuseUnconfined(l.mode == modeSetuid || l.mode == modeFileCaps)
}

// execLabel sets the calling thread's AppArmor exec label, through the
// verified /proc (opened again for classic plans, which never opened it).
func (l *launcher) execLabel(label string) error {
	if l.aa == nil || !l.aa.enabled {
		return nil
	}
	procfd := l.procfd
	if procfd < 0 {
		fd, err := openProc()
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		procfd = fd
	}
	return l.aa.setExecLabel(procfd, label)
}
