package launcher

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/trusted"
)

// The device cgroup, as snap-confine 2.77 sets it up for a confined app
// (shared/devcgroup has the rules as data):
//
//  1. in pid 1's namespace, before any lock: inside a container (systemd's
//     /run/systemd/container) nothing; otherwise snapd's settings file
//     /var/lib/snapd/cgroup/snap.<instance>.device, waited for like the
//     seccomp profile (snapd writes it for every snap); self-managed or
//     non-strict: nothing; otherwise the mode the base requires;
//  2. under the per-snap lock: the devices udev tagged for the app (its
//     tag index /run/udev/tags/<tag>, each device's record in
//     /run/udev/data carrying the tag as a current tag); optional mode
//     with none: nothing; otherwise the cgroup v2 device program, its map
//     reset to the common set and those devices, attached to the
//     launcher's own cgroup, which must be the app's snap cgroup. The
//     process keeps it across the exec.
//
// Every file is opened below a trusted directory without following
// symlinks or blocking, and must be root's regular file.

// devicePlan is what step 1 decided.
type devicePlan struct {
	mode devcgroup.Mode
}

// Directories read (pid 1's namespace).
const (
	containerDir  = "/run/systemd"
	containerName = "container"
	cgroupV2Dir   = "/sys/fs/cgroup"
)

// decideDeviceCgroup is step 1.
func (l *launcher) decideDeviceCgroup() (devicePlan, error) {
	container, err := trusted.ReadFile(containerDir, containerName, 128)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return devicePlan{}, err
	}
	var settings devcgroup.Settings
	inContainer := devcgroup.InContainer(container)
	if !inContainer {
		if settings, err = l.readDeviceSettings(); err != nil {
			return devicePlan{}, err
		}
	}
	mode, why := devcgroup.Decide(inContainer, settings, l.plan.Base)
	l.debugf("%s", why)
	return devicePlan{mode: mode}, nil
}

// readDeviceSettings reads snapd's settings file of the instance, waiting
// for it as for the seccomp profile.
func (l *launcher) readDeviceSettings() (devcgroup.Settings, error) {
	name := devcgroup.SettingsName(l.plan.Instance.String())
	display := devcgroup.SettingsDir + "/" + name
	var wait *profileWait
	defer wait.stop()
	for {
		data, err := trusted.ReadFile(devcgroup.SettingsDir, name, devcgroup.MaxSettingsSize)
		if err == nil {
			s, err := devcgroup.ParseSettings(data)
			if err != nil {
				return s, fmt.Errorf("cannot use %s: %w", display, err)
			}
			return s, nil
		}
		if !errors.Is(err, unix.ENOENT) {
			return devcgroup.Settings{}, err
		}
		if l.legacySnapd {
			// A snapd that writes .bin profiles may be older than the
			// settings file (snapd 2.62 started writing it): nothing to
			// wait for, and its snap-confine set up a device cgroup only
			// for tagged devices, which the defaults give.
			l.debugf("no %s, and the seccomp profile is a .bin of snapd 2.63 or older: default settings", display)
			return devcgroup.Settings{}, nil
		}
		if wait == nil {
			if wait, err = startProfileWait(); err != nil {
				return devcgroup.Settings{}, err
			}
			l.debugf("waiting up to %s for %s", wait.deadline.Sub(wait.start), display)
		}
		if err := wait.next(); err != nil {
			return devcgroup.Settings{}, fmt.Errorf("cannot open %s: %w", display, err)
		}
	}
}

// extraNodes are the host's nodes snap-confine allows when they exist.
func extraNodes() []devcgroup.Device {
	var out []devcgroup.Device
	add := func(path string) bool {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
			return false
		}
		out = append(out, devcgroup.Device{Type: 'c', Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)})
		return true
	}
	for i := 0; i < devcgroup.MaxNvidia && add(fmt.Sprintf("/dev/nvidia%d", i)); i++ {
	}
	for _, path := range devcgroup.ExtraNodes {
		add(path)
	}
	return out
}

// setUpDeviceCgroup is step 2, under the per-snap lock.
func (l *launcher) setUpDeviceCgroup(p devicePlan) error {
	if p.mode == devcgroup.None {
		return nil
	}
	tag := l.plan.Tag.String()
	udevTag := devcgroup.UdevTag(tag)
	tagged, err := devcgroup.TaggedDevices(udevTag, func(name, why string) {
		l.debugf("skipping device %s: %s", name, why)
	})
	if err != nil {
		return fmt.Errorf("cannot set up the device cgroup of %s: %w", tag, err)
	}
	if len(tagged) == 0 && p.mode == devcgroup.Optional {
		l.debugf("no devices tagged with %s, skipping device cgroup setup", udevTag)
		return nil
	}
	l.debugf("setting up device cgroup, mode %q, %d tagged devices", p.mode, len(tagged))
	if err := l.deviceCgroupV2(tag, append(append(append([]devcgroup.Device{}, devcgroup.Common...), extraNodes()...), tagged...)); err != nil {
		return fmt.Errorf("cannot set up the device cgroup of %s: %w", tag, err)
	}
	return nil
}

// deviceCgroupV2 checks the launcher's own cgroup first, so that nothing
// is changed for a launch that cannot be confined, then resets the map and
// attaches the program.
func (l *launcher) deviceCgroupV2(tag string, allow []devcgroup.Device) error {
	cgroot, err := openDirPath(cgroupV2Dir)
	if err != nil {
		return err
	}
	defer unix.Close(cgroot)
	if magic, err := fsMagic(cgroot); err != nil || magic != unix.CGROUP2_SUPER_MAGIC {
		// The cgroup v1 devices controller is not supported: a launch
		// that needs a device cgroup there is refused, never run
		// unconfined.
		return fmt.Errorf("%s is not cgroup2 (the cgroup v1 devices controller is not supported)", cgroupV2Dir)
	}
	self, err := readProcFile(l.procfd, "self/cgroup", devcgroup.MaxCgroupFileSize)
	if err != nil {
		return err
	}
	own, err := devcgroup.OwnCgroupV2(self)
	if err != nil {
		return fmt.Errorf("cannot read /proc/self/cgroup: %w", err)
	}
	if !devcgroup.IsSnapCgroup(own, tag) {
		return fmt.Errorf("%s is not a snap cgroup for tag %s", own, tag)
	}
	how := &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV}
	cgfd, err := unix.Openat2(cgroot, strings.TrimPrefix(own, "/"), how)
	if err != nil {
		return fmt.Errorf("cannot open %s%s: %w", cgroupV2Dir, own, err)
	}
	defer unix.Close(cgfd)

	mapfd, err := l.deviceMap(tag)
	if err != nil {
		return err
	}
	defer unix.Close(mapfd)
	display := devcgroup.BPFDir + "/" + devcgroup.UdevTag(tag)
	if err := l.fillDeviceMap(mapfd, allow, display); err != nil {
		return err
	}
	prog, err := l.loadDeviceProgram(mapfd, devcgroup.ObjectName(tag))
	if err != nil {
		return err
	}
	defer unix.Close(prog)
	if err := l.attachDeviceProgram(cgfd, prog, cgroupV2Dir+own); err != nil {
		return err
	}
	l.debugf("associated the app with device cgroup %s (%d devices allowed)", cgroupV2Dir+own, len(allow))
	return nil
}

// deviceMap opens the app's pinned map, checked to be in snapd's layout,
// or creates and pins an empty one.
func (l *launcher) deviceMap(tag string) (int, error) {
	fsdir, err := trusted.OpenDir("/sys/fs")
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsdir)
	bpffs, err := l.openRootOnly(fsdir, "bpf", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, devcgroup.BPFFS)
	if err != nil {
		return -1, err
	}
	defer unix.Close(bpffs)
	if magic, err := fsMagic(bpffs); err != nil || magic != unix.BPF_FS_MAGIC {
		return -1, fmt.Errorf("%s is not a bpffs mount", devcgroup.BPFFS)
	}
	if err := trusted.CheckDir(bpffs, devcgroup.BPFFS); err != nil {
		return -1, err
	}
	dir, err := l.mkdirRoot(bpffs, devcgroup.BPFDirName, 0o700, devcgroup.BPFDir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dir)
	if err := checkRootOwned(dir, unix.S_IFDIR, 0o700, devcgroup.BPFDir, l.fixOwnerMode); err != nil {
		return -1, err
	}
	name := devcgroup.UdevTag(tag)
	display := devcgroup.BPFDir + "/" + name
	mapfd, err := l.openDeviceMap(dir, name, display)
	if errors.Is(err, unix.ENOENT) {
		return l.createDeviceMap(dir, name, devcgroup.ObjectName(tag), display)
	} else if err != nil {
		return -1, err
	}
	typ, key, value, err := bpfMapInfo(mapfd)
	if err == nil && (typ != unix.BPF_MAP_TYPE_HASH || key != devcgroup.KeySize || value != devcgroup.ValueSize) {
		err = fmt.Errorf("map of type %d with %d-byte keys and %d-byte values, not snapd's hash map (%d, %d)", typ, key, value, devcgroup.KeySize, devcgroup.ValueSize)
	}
	if err != nil {
		unix.Close(mapfd)
		return -1, fmt.Errorf("cannot use %s: %w", display, err)
	}
	return mapfd, nil
}

// readProcFile reads a small file below the verified /proc.
func readProcFile(procfd int, name string, max int) ([]byte, error) {
	fd, err := unix.Openat(procfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open /proc/%s: %w", name, err)
	}
	defer unix.Close(fd)
	buf := make([]byte, max+1)
	n, err := trusted.ReadFull(fd, buf)
	if err != nil {
		return nil, fmt.Errorf("cannot read /proc/%s: %w", name, err)
	}
	return buf[:n], nil
}
