// SPDX-License-Identifier: GPL-3.0-only

package gather

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
)

// AppArmor, as snap-confine finds it: enabled when securityfs has its
// directory and the module parameter says "Y" (a kernel without the
// directory has no AppArmor). Detection fails closed: when it cannot
// complete (unreadable files, descriptor exhaustion), it does not conclude
// that AppArmor is off.
type AppArmor struct {
	Enabled bool
	// Label is the calling thread's own label, "unconfined" when it has
	// none; Mode its mode ("enforce", "complain", ...), "" when
	// unconfined.
	Label, Mode string
	// ExecAttr is the calling thread's exec attribute, relative to /proc:
	// the LSM-specific file when the kernel has it, the legacy shared one
	// otherwise.
	ExecAttr string
}

// Fact is what the planner is told.
func (aa AppArmor) Fact() planner.AppArmor {
	return planner.AppArmor{Enabled: aa.Enabled, Confined: aa.Label != "unconfined"}
}

// Attribute files, relative to /proc and /sys.
const (
	aaCurrentAttr       = "thread-self/attr/apparmor/current"
	aaExecAttr          = "thread-self/attr/apparmor/exec"
	aaLegacyCurrentAttr = "thread-self/attr/current"
	aaLegacyExecAttr    = "thread-self/attr/exec"
	aaSecurityfsDir     = "kernel/security/apparmor"
	aaEnabledParam      = "module/apparmor/parameters/enabled"
	aaMaxAttr           = 4096
)

// DetectAppArmor reads sysfd (/sys) and procfd (/proc).
func DetectAppArmor(sys, proc *desc.FD) (AppArmor, error) {
	sysfd, procfd := sys.Fd(), proc.Fd()
	aa := AppArmor{Label: "unconfined"}
	var st unix.Stat_t
	err := unix.Fstatat(sysfd, aaSecurityfsDir, &st, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return aa, nil
	case err != nil:
		return aa, fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	}
	param, err := readAttr(sysfd, aaEnabledParam)
	switch {
	case errors.Is(err, unix.ENOENT):
		return aa, nil
	case err != nil:
		return aa, fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	case param == "N":
		return aa, nil
	case param != "Y":
		return aa, fmt.Errorf("cannot tell whether AppArmor is enabled: %s/%s is %q", "/sys", aaEnabledParam, param)
	}
	aa.Enabled = true
	current, err := readAttr(procfd, aaCurrentAttr)
	aa.ExecAttr = aaExecAttr
	if errors.Is(err, unix.ENOENT) {
		current, err = readAttr(procfd, aaLegacyCurrentAttr)
		aa.ExecAttr = aaLegacyExecAttr
	}
	if err != nil {
		return aa, fmt.Errorf("cannot read the launcher's AppArmor label: %w", err)
	}
	aa.Label, aa.Mode = ParseLabel(current)
	return aa, nil
}

// ParseLabel splits "label (mode)" or "unconfined".
func ParseLabel(current string) (label, mode string) {
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
