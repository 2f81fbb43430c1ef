// SPDX-License-Identifier: GPL-3.0-only

package policy

import "strconv"

// Cap is a Linux capability, by its number in linux/capability.h. The
// launcher needs the numbers and names of a few, nothing else: they are
// spelled out here rather than taken from a library whose package
// initialisation would run (and read /proc) at every launch.
type Cap uint

// The capabilities the launcher's operations use.
const (
	CapChown          Cap = 0
	CapDacOverride    Cap = 1
	CapDacReadSearch  Cap = 2
	CapFowner         Cap = 3
	CapSetgid         Cap = 6
	CapSetuid         Cap = 7
	CapSysChroot      Cap = 18
	CapSysPtrace      Cap = 19
	CapSysAdmin       Cap = 21
	CapSysResource    Cap = 24
	capLastKnown      Cap = 40
	capNamesFirstFree     = capLastKnown + 1
)

// capNames are capability(7)'s names without the "cap_" prefix, by number.
var capNames = [capNamesFirstFree]string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
	"setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
	"lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
	"wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// String returns the capability's name without "cap_" ("sys_admin"), or its
// number for one newer than this list.
func (c Cap) String() string {
	if c < capNamesFirstFree {
		return capNames[c]
	}
	return strconv.Itoa(int(c))
}
