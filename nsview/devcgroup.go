// SPDX-License-Identifier: GPL-3.0-only

package nsview

// DeviceCgroup is the device-cgroup decision a launch would make: the
// planner's, on the facts the launcher reads, read without privilege.
type DeviceCgroup struct {
	// Action is "none" (no device cgroup), "attach" (the device program
	// is attached to the app's snap cgroup, or the launcher joins the
	// app's v1 devices group), "wait" (snapd's settings file is not there
	// yet: the launcher waits for it, then refuses) or "refused".
	Action string `json:"action"`
	// Hierarchy is where the device cgroup would be set up: "v2" (the
	// device program, /sys/fs/cgroup is cgroup2) or "v1" (the devices
	// controller's group); empty when there is none.
	Hierarchy string `json:"hierarchy"`
	// Group is the v1 devices group the launcher would join
	// (/sys/fs/cgroup/devices/<security tag>); empty otherwise (on v2
	// the app's own snap cgroup is only known to the launch).
	Group string `json:"group"`
	// Mode is devcgroup.Mode: "none", "optional" or "required".
	Mode         string `json:"mode"`
	Reason       string `json:"reason"`
	InContainer  bool   `json:"in_container"`
	SettingsFile string `json:"settings_file"`
	// Settings is "read", "missing", "defaults" (missing, and a .bin
	// profile says snapd is older than the file) or "not read" (in a
	// container, or classic).
	Settings    string   `json:"settings"`
	SelfManaged bool     `json:"self_managed"`
	NonStrict   bool     `json:"non_strict"`
	UdevTag     string   `json:"udev_tag"`
	Tagged      []string `json:"tagged"`
	Skipped     []string `json:"skipped"`
	Problem     string   `json:"problem"`
}
