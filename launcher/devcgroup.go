// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"github.com/snapns/snapns/planner"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/shared/trusted"
)

// The device cgroup, as snap-confine 2.77 sets it up for a confined app
// (shared/devcgroup has the rules as data):
//
// in pid 1's namespace, under the per-snap lock, once the base is known to
// be usable:
//
//  1. inside a container (systemd's /run/systemd/container) nothing;
//     otherwise snapd's settings file
//     /var/lib/snapd/cgroup/snap.<instance>.device, waited for as
//     snap-confine waits (at most 120 s, since the lock is held; snapd
//     writes it for every snap); self-managed or non-strict: nothing;
//     otherwise the mode the base requires;
//  2. the devices udev tagged for the app (its tag index
//     /run/udev/tags/<tag>, each device's record in /run/udev/data
//     carrying the tag as a current tag); optional mode with none:
//     nothing; otherwise, when /sys/fs/cgroup is cgroup2, the device
//     program, its map set to the common set and those devices,
//     attached to the launcher's own cgroup, which must be the app's snap
//     cgroup; else the v1 devices group named after the tag, set to
//     allow the same list, with the launcher moved into it. The process
//     keeps either across the exec. Map and group are shared by the
//     app's running processes, so they are changed from what they hold
//     (new rules first, then the old ones taken away), never emptied:
//     shared/devcgroup's MapSteps and V1Writes.
//
// Every file is opened below a trusted directory without following
// symlinks or blocking, and must be root's regular file.

// cgroupHierarchy tells which hierarchy the device cgroup uses, as
// snap-confine does: v2 when /sys/fs/cgroup is cgroup2, the v1 devices
// controller otherwise (legacy and hybrid hosts).
func (l *launcher) cgroupHierarchy() (devcgroup.Hierarchy, error) {
	cgroot, err := openDirPath(devcgroup.CgroupDir)
	if err != nil {
		return devcgroup.V1, err
	}
	defer unix.Close(cgroot)
	magic, err := fsMagic(cgroot)
	if err != nil {
		return devcgroup.V1, fmt.Errorf("cannot inspect %s: %w", devcgroup.CgroupDir, err)
	}
	return devcgroup.HierarchyOf(magic), nil
}

// deviceCgroup sets the device cgroup up as the plan says: in its
// hierarchy, allowing exactly its list.
func (l *launcher) deviceCgroup(d planner.DeviceStep) error {
	tag := l.launch.Tag.String()
	l.debugf("setting up device cgroup, mode %q, %d devices allowed (%d tagged), cgroup %s", d.Mode, len(d.Allow), d.Tagged, d.Hierarchy)
	cgroot, err := openDirPath(devcgroup.CgroupDir)
	if err != nil {
		return err
	}
	defer unix.Close(cgroot)
	if magic, err := fsMagic(cgroot); err != nil || devcgroup.HierarchyOf(magic) != d.Hierarchy {
		return fmt.Errorf("%s changed while the launch was decided", devcgroup.CgroupDir)
	}
	if d.Hierarchy == devcgroup.V1 {
		return l.deviceCgroupV1(cgroot, tag, d.Allow)
	}
	return l.deviceCgroupV2(cgroot, tag, l.facts.Snap.Devices.OwnCgroup, d.Allow)
}

// deviceCgroupV2 sets the map to the allow list and attaches the program
// to own, the launcher's own cgroup, which the planner found to be the
// app's snap cgroup.
func (l *launcher) deviceCgroupV2(cgroot int, tag, own string, allow []devcgroup.Device) error {
	cgfd, err := resolve.Openat2(cgroot, strings.TrimPrefix(own, "/"), &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV}, l.procfd)
	if err != nil {
		return fmt.Errorf("cannot open %s%s: %w", devcgroup.CgroupDir, own, err)
	}
	defer unix.Close(cgfd)

	var mem memlock
	mapfd, err := l.deviceMap(tag, &mem)
	if err != nil {
		return errors.Join(err, mem.restore())
	}
	defer unix.Close(mapfd)
	display := devcgroup.BPFDir + "/" + devcgroup.UdevTag(tag)
	// The map is shared by the app's running processes: it is changed
	// from what it holds, never emptied (devcgroup.MapSteps).
	keys, err := privop.DeviceMapKeys(mapfd)
	if err != nil {
		return errors.Join(fmt.Errorf("cannot read the device map %s: %w", display, err), mem.restore())
	}
	for _, step := range devcgroup.MapSteps(keys, allow) {
		if err := l.priv.UpdateDeviceMap(mapfd, step, display); err != nil {
			return errors.Join(err, mem.restore())
		}
	}
	prog, err := l.withMemlock(&mem, func() (int, error) { return l.priv.LoadDeviceProgram(mapfd, devcgroup.ObjectName(tag)) })
	if err := errors.Join(err, mem.restore()); err != nil {
		if prog >= 0 {
			unix.Close(prog)
		}
		return err
	}
	defer unix.Close(prog)
	if err := l.priv.AttachDeviceProgram(cgfd, prog, devcgroup.CgroupDir+own); err != nil {
		return err
	}
	l.debugf("associated the app with device cgroup %s (%d devices allowed)", devcgroup.CgroupDir+own, len(allow))
	return nil
}

// deviceCgroupV1 is snap-confine's cgroup v1 set-up: the devices group
// named after the security tag, below the devices hierarchy at
// /sys/fs/cgroup/devices, set to the allow list (devcgroup.V1Writes), then
// the launcher moved into it. As with snap-confine there is no check
// of the launcher's own groups (the app gets a group of its own here).
// Every step stays below the verified hierarchy, and the group and its
// files must be root's cgroupfs entries: one a user made or was given is
// refused before anything is written.
func (l *launcher) deviceCgroupV1(cgroot int, tag string, allow []devcgroup.Device) error {
	devices, err := resolve.Openat2(cgroot, devcgroup.DevicesName, &unix.OpenHow{Flags: dirFlags, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}, l.procfd)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", devcgroup.DevicesDir, err)
	}
	defer unix.Close(devices)
	if magic, err := fsMagic(devices); err != nil || magic != unix.CGROUP_SUPER_MAGIC {
		return fmt.Errorf("%s is not a cgroup v1 hierarchy", devcgroup.DevicesDir)
	}
	if err := trusted.CheckDir(devices, devcgroup.DevicesDir); err != nil {
		return err
	}
	name := devcgroup.V1GroupName(tag)
	display := devcgroup.DevicesDir + "/" + name
	group, err := l.priv.OpenDeviceGroup(l.procfd, devices, name, unix.O_DIRECTORY|unix.O_RDONLY, display)
	if errors.Is(err, unix.ENOENT) {
		if group, err = l.createDeviceGroup(devices, name, display); errors.Is(err, unix.EEXIST) {
			group, err = l.priv.OpenDeviceGroup(l.procfd, devices, name, unix.O_DIRECTORY|unix.O_RDONLY, display)
		}
	}
	if err != nil {
		return err
	}
	defer unix.Close(group)
	if err := checkRootOwned(group, unix.S_IFDIR, 0o700, display, l.priv.FixOwner); err != nil {
		return err
	}
	// devices.deny, devices.allow, cgroup.procs, devices.list.
	names := []string{devcgroup.V1DenyFile, devcgroup.V1AllowFile, devcgroup.V1ProcsFile, devcgroup.V1ListFile}
	var files []int
	defer func() {
		for _, fd := range files {
			unix.Close(fd)
		}
	}()
	for i, name := range names {
		flags := unix.O_WRONLY
		if i == 3 {
			flags = unix.O_RDONLY
		}
		fd, err := l.priv.OpenDeviceGroup(l.procfd, group, name, flags, display+"/"+name)
		if err != nil {
			return err
		}
		files = append(files, fd)
		if err := trusted.RootOnly(fd, unix.S_IFREG); err != nil {
			return fmt.Errorf("cannot use %s/%s: %w", display, name, err)
		}
		if magic, err := fsMagic(fd); err != nil || magic != unix.CGROUP_SUPER_MAGIC {
			return fmt.Errorf("cannot use %s/%s: not a cgroup file", display, name)
		}
	}
	// The group is shared by the app's running processes: its rules are
	// changed from what it allows, never emptied first unless it allows
	// everything (devcgroup.V1Writes).
	buf := make([]byte, devcgroup.MaxV1ListSize+1)
	n, err := trusted.ReadFull(files[3], buf)
	if err == nil && n > devcgroup.MaxV1ListSize {
		err = fmt.Errorf("over %d bytes", devcgroup.MaxV1ListSize)
	}
	if err != nil {
		return fmt.Errorf("cannot read %s/%s: %w", display, devcgroup.V1ListFile, err)
	}
	writes, err := devcgroup.V1Writes(buf[:n], allow)
	if err != nil {
		return fmt.Errorf("cannot use %s: %w", display, err)
	}
	for _, w := range writes {
		fd, file := files[1], devcgroup.V1AllowFile
		if w.Deny {
			fd, file = files[0], devcgroup.V1DenyFile
		}
		if err := l.priv.WriteDeviceRule(fd, w.Line, display+"/"+file); err != nil {
			return err
		}
	}
	if err := l.priv.AttachDeviceGroup(files[2], display); err != nil {
		return err
	}
	l.debugf("associated the app with device cgroup %s (%d devices allowed)", display, len(allow))
	return nil
}

// createDeviceGroup creates the app's devices group name in the devices
// hierarchy and gives it and each of its files (devcgroup.V1GroupFiles)
// to root:root, with mode 0700 and the files' own modes.
func (l *launcher) createDeviceGroup(devices int, name, display string) (int, error) {
	group, err := l.priv.CreateDeviceGroup(l.procfd, devices, name, display)
	if err != nil {
		return -1, err
	}
	for _, f := range devcgroup.V1GroupFiles {
		if err := l.priv.ChownDeviceGroupFile(group, f.Name, f.Mode, display); err != nil {
			unix.Close(group)
			return -1, err
		}
	}
	if err := l.priv.FixOwner(group, 0o700); err != nil {
		unix.Close(group)
		return -1, fmt.Errorf("cannot create %s: %w", display, err)
	}
	return group, nil
}

// deviceMap opens the app's pinned map, checked to be in snapd's layout,
// or creates and pins an empty one.
func (l *launcher) deviceMap(tag string, mem *memlock) (int, error) {
	fsdir, err := trusted.OpenDir("/sys/fs")
	if err != nil {
		return -1, err
	}
	defer unix.Close(fsdir)
	bpffs, err := l.openBPFFS(fsdir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(bpffs)
	// As systemd mounts it (0700), or as Cilium and most guides do, with
	// the kernel's default 1777: /sys/fs/bpf/snap is made root's either
	// way (ensureRootDir).
	if err := trusted.CheckStickyDir(bpffs, devcgroup.BPFFS); err != nil {
		return -1, err
	}
	dir, err := l.ensureRootDir(bpffs, devcgroup.BPFDirName, 0o700, devcgroup.BPFDir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dir)
	name := devcgroup.UdevTag(tag)
	display := devcgroup.BPFDir + "/" + name
	pathFD := haveBPFPathFD()
	if !pathFD {
		l.debugf("bpf(2) has no BPF_F_PATH_FD (Linux 6.5): the device map is pinned and opened by its /proc/self/fd path")
	}
	mapfd, err := l.openDeviceMap(dir, name, pathFD, display)
	if errors.Is(err, unix.ENOENT) {
		return l.withMemlock(mem, func() (int, error) {
			return l.priv.CreateDeviceMap(dir, name, devcgroup.ObjectName(tag), pathFD, display)
		})
	} else if err != nil {
		return -1, err
	}
	typ, key, value, err := privop.DeviceMapInfo(mapfd)
	if err == nil && (typ != unix.BPF_MAP_TYPE_HASH || key != devcgroup.KeySize || value != devcgroup.ValueSize) {
		err = fmt.Errorf("map of type %d with %d-byte keys and %d-byte values, not snapd's hash map (%d, %d)", typ, key, value, devcgroup.KeySize, devcgroup.ValueSize)
	}
	if err != nil {
		unix.Close(mapfd)
		return -1, fmt.Errorf("cannot use %s: %w", display, err)
	}
	return mapfd, nil
}

// openDeviceMap opens the entry name of the root-only /sys/fs/bpf/snap
// (dirfd) without following a symlink, as an O_PATH descriptor, checks
// that it is a regular file owned by root, and gets the map pinned there
// through the descriptor, so that the object fetched is exactly the entry
// checked.
func (l *launcher) openDeviceMap(dirfd int, name string, pathFD bool, display string) (int, error) {
	entry, err := l.priv.OpenRootOnly(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW, "the device map "+display)
	if err != nil {
		return -1, err
	}
	defer unix.Close(entry)
	if err := trusted.RootOnly(entry, unix.S_IFREG); err != nil {
		return -1, fmt.Errorf("cannot open the device map %s: %s is %w", display, display, err)
	}
	return l.priv.OpenDeviceMap(l.procfd, entry, pathFD, display)
}

// memlockNeeded is the RLIMIT_MEMLOCK snap-confine 2.77 sets for the map
// and the program on kernels that charge them to it (before 5.11; there
// they cost 11 and 2 pages).
const memlockNeeded = 512 << 10

// memlock is the caller's RLIMIT_MEMLOCK while the launcher has raised it.
type memlock struct {
	raised bool
	old    unix.Rlimit
}

// withMemlock runs op, a creation of a BPF map or program; when the kernel
// refuses it with EPERM, which with CAP_SYS_ADMIN effective only a kernel
// charging it to RLIMIT_MEMLOCK does (before 5.11), it raises the limit to
// memlockNeeded, as snap-confine 2.77 does, and runs op again: the soft
// limit, and the hard one when the launcher holds CAP_SYS_RESOURCE (the
// setuid install, or a file-capability install given it); without, the
// soft limit goes up to the hard one only. Kernels that charge the memory
// cgroup instead never get here, and the caller's limit stays untouched
// (even 0). mem.restore puts the limit back.
func (l *launcher) withMemlock(mem *memlock, op func() (int, error)) (int, error) {
	fd, err := op()
	if !errors.Is(err, unix.EPERM) || mem.raised {
		return fd, err
	}
	var cur unix.Rlimit
	if gerr := unix.Prlimit(0, unix.RLIMIT_MEMLOCK, nil, &cur); gerr != nil {
		return fd, err
	}
	raised := unix.Rlimit{Cur: max(cur.Cur, memlockNeeded), Max: max(cur.Max, memlockNeeded)}
	if !l.priv.Holds(policy.CapSysResource) {
		raised = unix.Rlimit{Cur: max(cur.Cur, min(cur.Max, memlockNeeded)), Max: cur.Max}
	}
	if raised == cur {
		if cur.Cur >= memlockNeeded {
			return fd, err // not the limit
		}
		return fd, fmt.Errorf("%w (a kernel before 5.11 charges it to RLIMIT_MEMLOCK, whose hard limit of %d bytes is below %d, and the launcher lacks cap_sys_resource to raise it)", err, cur.Max, memlockNeeded)
	}
	l.debugf("the kernel charges BPF objects to RLIMIT_MEMLOCK (before Linux 5.11): raising it from %d:%d to %d:%d", cur.Cur, cur.Max, raised.Cur, raised.Max)
	if rerr := l.priv.RaiseMemlock(raised); rerr != nil {
		return fd, fmt.Errorf("%w (%v)", err, rerr)
	}
	mem.raised, mem.old = true, cur
	return op()
}

// restore gives the process the caller's RLIMIT_MEMLOCK back, which
// lowering needs no privilege for; the app inherits it.
func (mem *memlock) restore() error {
	if !mem.raised {
		return nil
	}
	if err := privop.LowerMemlock(mem.old); err != nil {
		return fmt.Errorf("cannot restore RLIMIT_MEMLOCK: %w", err)
	}
	mem.raised = false
	return nil
}

// openBPFFS opens /sys/fs/bpf (below fsdir, /sys/fs), mounting a bpffs
// there first when it is not one, as snap-confine 2.77 does on hosts
// whose userland did not mount it: only on sysfs's own directory, root's
// and writable by nobody else.
func (l *launcher) openBPFFS(fsdir int) (int, error) {
	open := func() (int, int64, error) {
		fd, err := l.priv.OpenRootOnly(fsdir, "bpf", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, devcgroup.BPFFS)
		if err != nil {
			return -1, 0, err
		}
		magic, err := fsMagic(fd)
		if err != nil {
			unix.Close(fd)
			return -1, 0, fmt.Errorf("cannot inspect %s: %w", devcgroup.BPFFS, err)
		}
		return fd, magic, nil
	}
	fd, magic, err := open()
	if err != nil || magic == unix.BPF_FS_MAGIC {
		return fd, err
	}
	defer unix.Close(fd)
	if magic != unix.SYSFS_MAGIC {
		return -1, fmt.Errorf("%s is neither a bpffs mount nor sysfs's directory (filesystem magic %#x)", devcgroup.BPFFS, magic)
	}
	if err := trusted.CheckDir(fd, devcgroup.BPFFS); err != nil {
		return -1, err
	}
	l.debugf("%s is not a bpffs mount: mounting one", devcgroup.BPFFS)
	if err := l.priv.MountBPFFS(fd); err != nil {
		return -1, err
	}
	mounted, magic, err := open()
	if err == nil && magic != unix.BPF_FS_MAGIC {
		unix.Close(mounted)
		return -1, fmt.Errorf("%s is not a bpffs mount after mounting one", devcgroup.BPFFS)
	}
	return mounted, err
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
