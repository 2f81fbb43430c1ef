// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/shared/trusted"
)

// The device cgroup, as snap-confine 2.77 sets it up for a confined app,
// as the plan says (SECURITY.md §4.5; the rules as data in
// shared/devcgroup): in pid 1's namespace, under the per-snap lock, the
// map and program of cgroup v2 or the devices group of v1, both shared by
// the app's running processes and so changed from what they hold (new
// rules first, then the old ones taken away), never emptied. Every file is
// opened below a trusted directory without following symlinks or
// blocking, and must be root's.

// deviceCgroup sets the device cgroup up as the plan says: in its
// hierarchy, allowing exactly its list.
func (s *session) deviceCgroup(d planner.DeviceStep) error {
	tag := s.launch.Tag.String()
	s.debugf("setting up device cgroup, mode %q, %d devices allowed (%d tagged), cgroup %s", d.Mode, len(d.Allow), d.Tagged, d.Hierarchy)
	cgroot, err := trusted.Path(devcgroup.CgroupDir)
	if err != nil {
		return err
	}
	defer cgroot.Close()
	if magic, err := trusted.FSMagic(cgroot); err != nil || devcgroup.HierarchyOf(magic) != d.Hierarchy {
		return fmt.Errorf("%s changed while the launch was decided", devcgroup.CgroupDir)
	}
	if d.Hierarchy == devcgroup.V1 {
		return s.deviceCgroupV1(cgroot, tag, d.Allow)
	}
	return s.deviceCgroupV2(cgroot, tag, s.facts.Snap.Devices.OwnCgroup, d.Allow)
}

// deviceCgroupV2 sets the map to the allow list and attaches the program
// to own, the launcher's own cgroup, which the planner found to be the
// app's snap cgroup.
func (s *session) deviceCgroupV2(cgroot *desc.FD, tag, own string, allow []devcgroup.Device) error {
	fd, err := resolve.Openat2(cgroot.Fd(), strings.TrimPrefix(own, "/"), &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV}, s.host.proc.Fd())
	if err != nil {
		return fmt.Errorf("cannot open %s%s: %w", devcgroup.CgroupDir, own, err)
	}
	cg := desc.New(fd, devcgroup.CgroupDir+own)
	defer cg.Close()

	var mem memlock
	m, err := s.deviceMap(tag, &mem)
	if err != nil {
		return errors.Join(err, mem.restore())
	}
	defer m.Close()
	// The map is shared by the app's running processes: it is changed
	// from what it holds, never emptied (devcgroup.MapSteps).
	keys, err := s.priv.ReadDeviceMap(m)
	if err != nil {
		return errors.Join(err, mem.restore())
	}
	for _, step := range devcgroup.MapSteps(keys, allow) {
		if err := s.priv.UpdateDeviceMap(m, step); err != nil {
			return errors.Join(err, mem.restore())
		}
	}
	prog, err := s.withMemlock(&mem, func() (*desc.FD, error) { return s.priv.LoadDeviceProgram(m, devcgroup.ObjectName(tag)) })
	if err := errors.Join(err, mem.restore()); err != nil {
		prog.Close()
		return err
	}
	defer prog.Close()
	if err := s.priv.AttachDeviceProgram(cg, prog); err != nil {
		return err
	}
	s.debugf("associated the app with device cgroup %s (%d devices allowed)", cg.Name(), len(allow))
	return nil
}

// deviceCgroupV1 is snap-confine's cgroup v1 set-up: the devices group
// named after the security tag, below /sys/fs/cgroup/devices, set to the
// allow list (devcgroup.V1Writes), then the launcher moved into it; the
// group and its files must be root's cgroupfs entries, checked before
// anything is written.
func (s *session) deviceCgroupV1(cgroot *desc.FD, tag string, allow []devcgroup.Device) error {
	fd, err := resolve.Openat2(cgroot.Fd(), devcgroup.DevicesName, &unix.OpenHow{Flags: dirFlags, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}, s.host.proc.Fd())
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", devcgroup.DevicesDir, err)
	}
	devices := desc.New(fd, devcgroup.DevicesDir)
	defer devices.Close()
	if magic, err := trusted.FSMagic(devices); err != nil || magic != unix.CGROUP_SUPER_MAGIC {
		return fmt.Errorf("%s is not a cgroup v1 hierarchy", devcgroup.DevicesDir)
	}
	if err := trusted.CheckDir(devices); err != nil {
		return err
	}
	name := devcgroup.V1GroupName(tag)
	group, err := s.priv.OpenDeviceGroup(s.host.proc, devices, name, unix.O_DIRECTORY|unix.O_RDONLY)
	if errors.Is(err, unix.ENOENT) {
		if group, err = s.createDeviceGroup(devices, name); errors.Is(err, unix.EEXIST) {
			group, err = s.priv.OpenDeviceGroup(s.host.proc, devices, name, unix.O_DIRECTORY|unix.O_RDONLY)
		}
	}
	if err != nil {
		return err
	}
	defer group.Close()
	if err := checkRootOwned(group, unix.S_IFDIR, 0o700, s.priv.FixOwner); err != nil {
		return err
	}
	// Each file, opened below the group and checked to be root's
	// cgroupfs file before anything is written.
	var deny, allowFile, procs, list *desc.FD
	for _, f := range []struct {
		to    **desc.FD
		name  string
		flags int
	}{{&deny, devcgroup.V1DenyFile, unix.O_WRONLY}, {&allowFile, devcgroup.V1AllowFile, unix.O_WRONLY}, {&procs, devcgroup.V1ProcsFile, unix.O_WRONLY}, {&list, devcgroup.V1ListFile, unix.O_RDONLY}} {
		file, err := s.priv.OpenDeviceGroup(s.host.proc, group, f.name, f.flags)
		if err != nil {
			return err
		}
		defer file.Close()
		if err := trusted.RootOnly(file, unix.S_IFREG); err != nil {
			return fmt.Errorf("cannot use %s: %w", file.Name(), err)
		}
		if magic, err := trusted.FSMagic(file); err != nil || magic != unix.CGROUP_SUPER_MAGIC {
			return fmt.Errorf("cannot use %s: not a cgroup file", file.Name())
		}
		*f.to = file
	}
	// The group is shared by the app's running processes: its rules are
	// changed from what it allows, never emptied first unless it allows
	// everything (devcgroup.V1Writes).
	buf := make([]byte, devcgroup.MaxV1ListSize+1)
	n, err := trusted.ReadFull(list, buf)
	if err == nil && n > devcgroup.MaxV1ListSize {
		err = fmt.Errorf("over %d bytes", devcgroup.MaxV1ListSize)
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", list.Name(), err)
	}
	writes, err := devcgroup.V1Writes(buf[:n], allow)
	if err != nil {
		return fmt.Errorf("cannot use %s: %w", group.Name(), err)
	}
	for _, w := range writes {
		file := allowFile
		if w.Deny {
			file = deny
		}
		if err := s.priv.WriteDeviceRule(file, w.Line); err != nil {
			return err
		}
	}
	if err := s.priv.AttachDeviceGroup(procs); err != nil {
		return err
	}
	s.debugf("associated the app with device cgroup %s (%d devices allowed)", group.Name(), len(allow))
	return nil
}

// createDeviceGroup creates the app's devices group name in the devices
// hierarchy and gives it and each of its files (devcgroup.V1GroupFiles)
// to root:root, with mode 0700 and the files' own modes.
func (s *session) createDeviceGroup(devices *desc.FD, name string) (*desc.FD, error) {
	group, err := s.priv.CreateDeviceGroup(s.host.proc, devices, name)
	if err != nil {
		return nil, err
	}
	for _, f := range devcgroup.V1GroupFiles {
		if err == nil {
			err = s.priv.ChownDeviceGroupFile(group, f.Name, f.Mode)
		}
	}
	if err == nil {
		if err = s.priv.FixOwner(group, 0o700); err != nil {
			err = fmt.Errorf("cannot create %s: %w", group.Name(), err)
		}
	}
	if err != nil {
		group.Close()
		return nil, err
	}
	return group, nil
}

// deviceMap opens the app's pinned map, or creates and pins an empty one;
// an opened map is checked to be snapd's before its keys are read
// (privop's ReadDeviceMap).
func (s *session) deviceMap(tag string, mem *memlock) (*desc.FD, error) {
	fsdir, err := trusted.OpenDir("/sys/fs")
	if err != nil {
		return nil, err
	}
	defer fsdir.Close()
	bpffs, err := s.openBPFFS(fsdir)
	if err != nil {
		return nil, err
	}
	defer bpffs.Close()
	// As systemd mounts it (0700), or as Cilium and most guides do, with
	// the kernel's default 1777: /sys/fs/bpf/snap is made root's either
	// way (ensureRootDir).
	if err := trusted.CheckStickyDir(bpffs); err != nil {
		return nil, err
	}
	dir, err := s.ensureRootDir(bpffs, devcgroup.BPFDirName, 0o700)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	name := devcgroup.UdevTag(tag)
	pathFD := haveBPFPathFD()
	if !pathFD {
		s.debugf("bpf(2) has no BPF_F_PATH_FD (Linux 6.5): the device map is pinned and opened by its /proc/self/fd path")
	}
	m, err := s.openDeviceMap(dir, name, pathFD)
	if errors.Is(err, unix.ENOENT) {
		return s.withMemlock(mem, func() (*desc.FD, error) {
			return s.priv.CreateDeviceMap(dir, name, devcgroup.ObjectName(tag), pathFD)
		})
	}
	return m, err
}

// openDeviceMap gets the map pinned at name in the root-only
// /sys/fs/bpf/snap (dir) through the O_PATH descriptor of the entry,
// checked to be root's regular file: the object fetched is the one checked.
func (s *session) openDeviceMap(dir *desc.FD, name string, pathFD bool) (*desc.FD, error) {
	entry, err := s.priv.OpenRootOnly(dir, name, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	defer entry.Close()
	if err := trusted.RootOnly(entry, unix.S_IFREG); err != nil {
		return nil, fmt.Errorf("cannot open the device map %s: %s is %w", entry.Name(), entry.Name(), err)
	}
	return s.priv.OpenDeviceMap(s.host.proc, entry, pathFD)
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

// withMemlock runs op, a creation of a BPF map or program, and when the
// kernel refuses it with EPERM (with CAP_SYS_ADMIN effective, only one
// charging RLIMIT_MEMLOCK does, before 5.11) raises the limit to
// memlockNeeded as snap-confine 2.77 does, the hard one too when the
// launcher holds CAP_SYS_RESOURCE, and runs op again; mem.restore puts the
// caller's limit back.
func (s *session) withMemlock(mem *memlock, op func() (*desc.FD, error)) (*desc.FD, error) {
	d, err := op()
	if !errors.Is(err, unix.EPERM) || mem.raised {
		return d, err
	}
	var cur unix.Rlimit
	if gerr := unix.Prlimit(0, unix.RLIMIT_MEMLOCK, nil, &cur); gerr != nil {
		return d, err
	}
	raised := unix.Rlimit{Cur: max(cur.Cur, memlockNeeded), Max: max(cur.Max, memlockNeeded)}
	if !s.priv.Holds(policy.CapSysResource) {
		raised = unix.Rlimit{Cur: max(cur.Cur, min(cur.Max, memlockNeeded)), Max: cur.Max}
	}
	if raised == cur {
		if cur.Cur >= memlockNeeded {
			return d, err // not the limit
		}
		return d, fmt.Errorf("%w (a kernel before 5.11 charges it to RLIMIT_MEMLOCK, whose hard limit of %d bytes is below %d, and the launcher lacks cap_sys_resource to raise it)", err, cur.Max, memlockNeeded)
	}
	s.debugf("the kernel charges BPF objects to RLIMIT_MEMLOCK (before Linux 5.11): raising it from %d:%d to %d:%d", cur.Cur, cur.Max, raised.Cur, raised.Max)
	if rerr := s.priv.RaiseMemlock(raised); rerr != nil {
		return d, fmt.Errorf("%w (%v)", err, rerr)
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
func (s *session) openBPFFS(fsdir *desc.FD) (*desc.FD, error) {
	open := func() (*desc.FD, int64, error) {
		dir, err := s.priv.OpenRootOnly(fsdir, "bpf", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err != nil {
			return nil, 0, err
		}
		magic, err := trusted.FSMagic(dir)
		if err != nil {
			dir.Close()
			return nil, 0, fmt.Errorf("cannot inspect %s: %w", devcgroup.BPFFS, err)
		}
		return dir, magic, nil
	}
	dir, magic, err := open()
	if err != nil || magic == unix.BPF_FS_MAGIC {
		return dir, err
	}
	defer dir.Close()
	if magic != unix.SYSFS_MAGIC {
		return nil, fmt.Errorf("%s is neither a bpffs mount nor sysfs's directory (filesystem magic %#x)", devcgroup.BPFFS, magic)
	}
	if err := trusted.CheckDir(dir); err != nil {
		return nil, err
	}
	s.debugf("%s is not a bpffs mount: mounting one", devcgroup.BPFFS)
	if err := s.priv.MountBPFFS(dir); err != nil {
		return nil, err
	}
	mounted, magic, err := open()
	if err == nil && magic != unix.BPF_FS_MAGIC {
		mounted.Close()
		return nil, fmt.Errorf("%s is not a bpffs mount after mounting one", devcgroup.BPFFS)
	}
	return mounted, err
}
