// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/devcgroup"
)

// explainDevices says what the planner expects of the device cgroup, from
// the files the launcher reads (launcher/devcgroup.go), read the same way:
// without following symlinks or blocking, root's regular files only.
func explainDevices(p *cmdline.Invocation) string {
	if container, err := readFile("/run/systemd/container", readFlags, 128, true); err == nil && devcgroup.InContainer(container) {
		_, why := devcgroup.Decide(true, devcgroup.Settings{}, p.Base)
		return "expected device cgroup: none: " + why
	}
	path := devcgroup.SettingsDir + "/" + devcgroup.SettingsName(p.Instance.String())
	data, err := readFile(path, readFlags, devcgroup.MaxSettingsSize, true)
	if errors.Is(err, unix.ENOENT) {
		return fmt.Sprintf("expected device cgroup: the launcher waits for %s, which snapd writes for every snap", path)
	} else if err != nil {
		return fmt.Sprintf("expected device cgroup: the launcher refuses the settings file: %v", err)
	}
	settings, err := devcgroup.ParseSettings(data)
	if err != nil {
		return fmt.Sprintf("expected device cgroup: the launcher refuses %s: %v", path, err)
	}
	mode, why := devcgroup.Decide(false, settings, p.Base)
	if mode == devcgroup.None {
		return "expected device cgroup: none: " + why
	}
	tag := devcgroup.UdevTag(p.Tag.String())
	tagged := 0
	entries, _ := os.ReadDir("/run/udev/tags/" + tag)
	for _, e := range entries {
		if _, ok := devcgroup.ParseUdevID(e.Name()); !ok {
			continue
		}
		if record, err := readFile("/run/udev/data/"+e.Name(), readFlags, devcgroup.MaxUdevDataSize, true); err == nil && devcgroup.HasCurrentTag(record, tag) {
			tagged++
		}
	}
	if mode == devcgroup.Optional && tagged == 0 {
		return fmt.Sprintf("expected device cgroup: none: %s, and no device is tagged with %s", why, tag)
	}
	return fmt.Sprintf("expected device cgroup: %s (%s), the common devices and %d tagged with %s, in the map %s/%s, attached to the app's snap cgroup", mode, why, tagged, tag, devcgroup.BPFDir, tag)
}
