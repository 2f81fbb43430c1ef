// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/trusted"
)

// DeviceCgroup is the device-cgroup decision a launch would make
// (launcher/devcgroup.go: decideDeviceCgroup, then setUpDeviceCgroup), from
// the same files read the same way, without privilege.
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

// The directories the launcher reads (launcher/devcgroup.go).
const (
	containerDir  = "/run/systemd"
	containerName = "container"
)

// ReadDeviceCgroup decides as the launcher would for a strict launch of tag
// on base; sc is the seccomp profile found (a .bin one means a snapd older
// than the settings file, which the launcher then does not wait for).
func ReadDeviceCgroup(tag naming.SecurityTag, base string, sc Seccomp) DeviceCgroup {
	inst := tag.Instance().String()
	d := DeviceCgroup{
		SettingsFile: devcgroup.SettingsDir + "/" + devcgroup.SettingsName(inst),
		Settings:     "not read", UdevTag: devcgroup.UdevTag(tag.String()),
		Tagged: []string{}, Skipped: []string{},
	}
	refuse := func(err error) DeviceCgroup {
		d.Action, d.Problem = "refused", err.Error()
		return d
	}
	container, err := trusted.ReadFile(containerDir, containerName, 128)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return refuse(err)
	}
	d.InContainer = devcgroup.InContainer(container)
	var settings devcgroup.Settings
	if !d.InContainer {
		data, err := trusted.ReadFile(devcgroup.SettingsDir, devcgroup.SettingsName(inst), devcgroup.MaxSettingsSize)
		switch {
		case err == nil:
			d.Settings = "read"
			if settings, err = devcgroup.ParseSettings(data); err != nil {
				return refuse(fmt.Errorf("cannot use %s: %w", d.SettingsFile, err))
			}
			d.SelfManaged, d.NonStrict = settings.SelfManaged, settings.NonStrict
		case !errors.Is(err, unix.ENOENT):
			return refuse(err)
		case sc.Usable && (sc.Format == "bin" || sc.Format == "bin+global"):
			d.Settings, settings.OldSnapd = "defaults", true
		default:
			d.Settings, d.Action = "missing", "wait"
			d.Problem = fmt.Sprintf("cannot find %s: the launcher waits for it under the snap's lock up to 120 seconds (less if SNAP_CONFINE_MAX_PROFILE_WAIT says so), then refuses the launch", d.SettingsFile)
			return d
		}
	}
	mode, why := devcgroup.Decide(d.InContainer, settings, base)
	d.Mode, d.Reason = mode.String(), why
	if mode == devcgroup.None {
		d.Action = "none"
		return d
	}
	tagged, err := devcgroup.TaggedDevices(d.UdevTag, func(name, why string) {
		d.Skipped = append(d.Skipped, fmt.Sprintf("%s: %s", Quote(name), why))
	})
	if err != nil {
		return refuse(fmt.Errorf("cannot set up the device cgroup of %s: %w", tag, err))
	}
	for _, dev := range tagged {
		d.Tagged = append(d.Tagged, dev.String())
	}
	if len(tagged) == 0 && mode == devcgroup.Optional {
		d.Action = "none"
		d.Reason += ", and no devices are tagged with " + d.UdevTag
		return d
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(devcgroup.CgroupDir, &fs); err != nil {
		return refuse(fmt.Errorf("cannot set up the device cgroup of %s: cannot inspect %s: %w", tag, devcgroup.CgroupDir, err))
	}
	// f_type's width differs by architecture; magics are 32-bit.
	h := devcgroup.HierarchyOf(int64(uint32(fs.Type)))
	d.Action, d.Hierarchy = "attach", h.String()
	if h == devcgroup.V1 {
		d.Group = devcgroup.DevicesDir + "/" + devcgroup.V1GroupName(tag.String())
	}
	return d
}

// deviceStep says in one line what the launcher would do about devices.
func deviceStep(d DeviceCgroup) string {
	switch d.Action {
	case "refused", "wait":
		return "device cgroup: " + d.Problem
	case "none":
		return "device cgroup: none (" + d.Reason + ")"
	}
	how := "attach the device program to the app's snap cgroup (cgroup v2)"
	if d.Group != "" {
		how = "join the app's devices group " + d.Group + " (cgroup v1), reset to deny every device"
	}
	return fmt.Sprintf("device cgroup: %s; %s, allowing the common devices, the host's extra nodes and %d tagged with %s", d.Reason, how, len(d.Tagged), d.UdevTag)
}
