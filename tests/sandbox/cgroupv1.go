// SPDX-License-Identifier: GPL-3.0-only

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// hostDevicesMount is where EnterCgroupV1Devices mounts the host's v1
// devices hierarchy for itself, on the sandbox's root tmpfs (which no test
// resets).
const hostDevicesMount = "/.snapns-devices-host"

// ErrNoV1Devices says that the machine has no cgroup v1 devices controller
// to give the sandbox (a pure cgroup v2 host, where the controller is bound
// to the unified hierarchy); tests skip with it.
var ErrNoV1Devices = errors.New("the machine has no cgroup v1 devices hierarchy")

// EnterCgroupV1Devices gives the sandbox the view of a legacy or hybrid
// host whose device cgroup is the v1 devices controller: /sys/fs/cgroup a
// root-owned tmpfs (not cgroup2) with the devices controller mounted at
// /sys/fs/cgroup/devices. The hierarchy mounted there is the host's own,
// but rooted at a child group made for this run below the group the
// sandbox is in (normally the machine's root group): the sandbox's pid 1
// moves into that child, a thread enters a cgroup namespace rooted there
// and mounts it, so that every group a launch makes (snap.<tag>) is made
// inside the child and nothing above it can be named from inside the
// sandbox. The host's own groups are never written, except to move pid 1
// in and out of the child. It covers the cgroup2 mount of EnterCgroupV2
// until cleanup, which unmounts both, moves pid 1 back, and removes the
// child with every group made below it; it must run after every process
// started meanwhile has exited (those left are killed).
func EnterCgroupV1Devices() (cleanup func() error, err error) {
	orig, err := ownV1Group("devices")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(hostDevicesMount, 0o700); err != nil {
		return nil, err
	}
	if err := unix.Mount("cgroup", hostDevicesMount, "cgroup", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "devices"); err != nil {
		os.Remove(hostDevicesMount)
		return nil, fmt.Errorf("%w: cannot mount the devices controller: %v", ErrNoV1Devices, err)
	}
	origDir := filepath.Join(hostDevicesMount, orig)
	sub, err := newRunGroup(origDir)
	undo := func() {
		unix.Unmount(hostDevicesMount, unix.MNT_DETACH)
		os.Remove(hostDevicesMount)
	}
	if err != nil {
		undo()
		return nil, err
	}
	if err := moveIn(sub); err != nil {
		os.Remove(sub)
		undo()
		return nil, err
	}
	if err := InNewCgroupNS(func() error {
		if err := unix.Mount("tmpfs", "/sys/fs/cgroup", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755"); err != nil {
			return err
		}
		err := os.Mkdir("/sys/fs/cgroup/devices", 0o755)
		if err == nil {
			err = unix.Mount("cgroup", "/sys/fs/cgroup/devices", "cgroup", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "devices")
		}
		if err != nil {
			unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH)
		}
		return err
	}); err != nil {
		moveIn(origDir)
		os.Remove(sub)
		undo()
		return nil, fmt.Errorf("cannot mount the devices controller in the sandbox: %w", err)
	}
	return func() error {
		// A test may have taken the devices mount away (to put a
		// symlink or a plain directory there): the tmpfs goes anyway.
		if err := unix.Unmount("/sys/fs/cgroup/devices", unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("cannot unmount /sys/fs/cgroup/devices: %w", err)
		}
		if err := unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("cannot unmount /sys/fs/cgroup: %w", err)
		}
		if err := moveIn(origDir); err != nil {
			return err
		}
		if err := removeGroups(sub); err != nil {
			return err
		}
		undo()
		return nil
	}, nil
}

// ownV1Group returns this process's group in the v1 hierarchy of the
// controller ctrl, from /proc/self/cgroup ("<id>:<controllers>:<path>"),
// or ErrNoV1Devices when there is none.
func ownV1Group(ctrl string) (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 3)
		if len(fields) != 3 {
			continue
		}
		for _, c := range strings.Split(fields[1], ",") {
			if c == ctrl {
				return fields[2], nil
			}
		}
	}
	return "", fmt.Errorf("%w: no %s line in /proc/self/cgroup", ErrNoV1Devices, ctrl)
}
