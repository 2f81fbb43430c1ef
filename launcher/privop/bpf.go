// SPDX-License-Identifier: GPL-3.0-only

package privop

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
)

// The device cgroup of cgroup v2 (the launcher's devcgroup.go): a hash map
// pinned at /sys/fs/bpf/snap/<tag> in snapd's layout and a device program
// reading it. Without BPF_F_PATH_FD (before Linux 6.5, pathFD false) a map
// is pinned and got by the /proc/self/fd path of a descriptor, whose magic
// link reaches exactly its file.

// OpenDeviceMap gets the map pinned at entry, an O_PATH descriptor of the
// entry of the root-only /sys/fs/bpf/snap that the caller opened without
// following a symlink and checked to be a regular file of root's, through
// its /proc/self/fd magic link below proc (the verified /proc), so that
// the object fetched is exactly the entry checked. Safe: it only opens;
// the caller checks what the map is before using it.
func (p *Privileges) OpenDeviceMap(proc, entry *desc.FD, pathFD bool) (*desc.FD, error) {
	return p.bracketFD(policy.OpOpenDeviceMap, "open the device map "+entry.Name(), entry.Name(), func() (int, error) {
		if pathFD {
			return bpfObjGet("self/fd/"+strconv.Itoa(entry.Fd()), proc.Fd())
		}
		return bpfObjGet(fdPath(entry), -1)
	})
}

// CreateDeviceMap creates an empty device map in snapd's layout, pins it as
// name in /sys/fs/bpf/snap (dir), failing if anything is there already,
// and gives the pinned file to root:root. Safe: the map is new and empty,
// the name a single component derived from a validated security tag, in a
// root-only directory of bpffs that no one else can search, so no one
// reaches the file before it is root's.
func (p *Privileges) CreateDeviceMap(dir *desc.FD, name, objName string, pathFD bool) (*desc.FD, error) {
	path := dir.Path(name)
	return p.bracketFD(policy.OpCreateDeviceMap, "create the device map "+path, path, func() (int, error) {
		fd, err := bpfMapCreate(unix.BPF_MAP_TYPE_HASH, devcgroup.KeySize, devcgroup.ValueSize, devcgroup.MaxEntries, objName)
		if err != nil {
			return -1, err
		}
		if pathFD {
			err = bpfObjPin(fd, name, dir.Fd())
		} else {
			err = bpfObjPin(fd, fdPath(dir)+"/"+name, -1)
		}
		if err == nil {
			err = unix.Fchownat(dir.Fd(), name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		return fd, nil
	})
}

// UpdateDeviceMap makes one change of devcgroup.MapSteps to the device map
// m: allows a device, or takes one away (a missing one is no error);
// the launcher makes them in order, additions first, so that a device
// allowed before and after is never missing for the app's running
// processes, whoever started them. Safe: m was checked to be a map of
// snapd's layout pinned in the root-only /sys/fs/bpf/snap under this
// app's name; the map is the app's own, set to its allow list under the
// per-snap lock, as snap-confine does; nothing but the descriptor's write
// access is used.
func (p *Privileges) UpdateDeviceMap(m *desc.FD, step devcgroup.MapStep) error {
	return p.bracket(policy.OpUpdateDeviceMap, "update the device map "+m.Name(), func() error {
		if step.Add {
			if err := bpfMapUpdate(m.Fd(), step.Key[:], []byte{1}); err != nil {
				return fmt.Errorf("cannot allow %s: %w", devcgroup.DeviceOfKey(step.Key), err)
			}
		} else if err := bpfMapDelete(m.Fd(), step.Key[:]); err != nil && err != unix.ENOENT {
			return fmt.Errorf("cannot delete %s: %w", devcgroup.DeviceOfKey(step.Key), err)
		}
		return nil
	})
}

// LoadDeviceProgram loads the device program (devcgroup.DeviceProgram)
// reading m. Safe: the program is fixed, only denies, and does nothing
// until attached.
func (p *Privileges) LoadDeviceProgram(m *desc.FD, objName string) (*desc.FD, error) {
	insns := devcgroup.DeviceProgram(m.Fd())
	return p.bracketFD(policy.OpLoadDeviceProgram, "load the device cgroup program", "the device cgroup program", func() (int, error) {
		return bpfProgLoad(unix.BPF_PROG_TYPE_CGROUP_DEVICE, insns, objName)
	})
}

// AttachDeviceProgram attaches prog to the cgroup cg, replacing the
// device program a previous launch attached there. Safe: cg is the
// launcher's own cgroup, checked to be cgroup2 and this app's own snap
// cgroup (snap.<tag>-<id>.scope or snap.<tag>.service), so only this app's
// processes lose device access; the program only denies.
func (p *Privileges) AttachDeviceProgram(cg, prog *desc.FD) error {
	return p.bracket(policy.OpAttachDeviceProgram, "attach the device cgroup program to "+cg.Name(), func() error {
		return bpfProgAttach(cg.Fd(), prog.Fd(), unix.BPF_CGROUP_DEVICE)
	})
}

// ProbeBPFPathFD asks bpf(2) for BPF_OBJ_GET of the empty path relative to
// no descriptor with BPF_F_PATH_FD: ENOENT or EBADF where the flag exists.
// Safe: a refused call changes nothing.
func ProbeBPFPathFD() error {
	empty := []byte{0}
	var a bpfAttr
	a.ptr(0, unsafe.Pointer(&empty[0]))
	a.u32(12, unix.BPF_F_PATH_FD)
	a.u32(16, ^uint32(0))
	_, err := bpfSys(unix.BPF_OBJ_GET, &a)
	runtime.KeepAlive(empty)
	return err
}

// ReadDeviceMap returns the keys of the device map m once its type and
// sizes are snapd's: the keys are read into buffers of snapd's key size,
// which a map with larger keys would overrun. Safe: it only reads, through
// the descriptor. It is an action because kernels before 5.19 with
// unprivileged BPF disabled refuse any bpf(2) call without CAP_SYS_ADMIN
// (policy.Spec's GatedBPF); elsewhere it raises nothing.
func (p *Privileges) ReadDeviceMap(m *desc.FD) ([][devcgroup.KeySize]byte, error) {
	var keys [][devcgroup.KeySize]byte
	err := p.bracket(policy.OpReadDeviceMap, "read the device map "+m.Name(), func() error {
		typ, key, value, err := deviceMapInfo(m)
		if err != nil {
			return err
		}
		if typ != unix.BPF_MAP_TYPE_HASH || key != devcgroup.KeySize || value != devcgroup.ValueSize {
			return fmt.Errorf("map of type %d with %d-byte keys and %d-byte values, not snapd's hash map (%d, %d)", typ, key, value, devcgroup.KeySize, devcgroup.ValueSize)
		}
		keys, err = deviceMapKeys(m)
		return err
	})
	return keys, err
}

// probeBPFGated asks for BPF_OBJ_GET_INFO_BY_FD of no descriptor: a
// kernel that lets the call through refuses the descriptor (EBADF), one
// that gates bpf(2) refuses the caller (EPERM; a seccomp filter's EPERM
// reads as gated too, and then raising changes nothing). Safe: it is
// made with no capability effective and changes nothing.
func probeBPFGated() bool {
	var a bpfAttr
	a.u32(0, ^uint32(0))
	_, err := bpfSys(unix.BPF_OBJ_GET_INFO_BY_FD, &a)
	return err == unix.EPERM
}

// deviceMapInfo returns a map's type, key size and value size.
func deviceMapInfo(m *desc.FD) (typ, keySize, valueSize uint32, err error) {
	var info [80]byte
	var a bpfAttr
	a.u32(0, uint32(m.Fd()))
	a.u32(4, uint32(len(info)))
	a.ptr(8, unsafe.Pointer(&info[0]))
	_, err = bpfSys(unix.BPF_OBJ_GET_INFO_BY_FD, &a)
	runtime.KeepAlive(&info)
	n := binary.NativeEndian
	return n.Uint32(info[0:]), n.Uint32(info[8:]), n.Uint32(info[12:]), err
}

// deviceMapKeys lists the keys of the device map m, one of snapd's.
func deviceMapKeys(m *desc.FD) ([][devcgroup.KeySize]byte, error) {
	mapfd := m.Fd()
	var keys [][devcgroup.KeySize]byte
	var key, next [devcgroup.KeySize]byte
	for first := true; ; first = false {
		if len(keys) > devcgroup.MaxEntries {
			return nil, fmt.Errorf("more than %d entries", devcgroup.MaxEntries)
		}
		var err error
		if first {
			err = bpfMapElem(unix.BPF_MAP_GET_NEXT_KEY, mapfd, nil, next[:], 0)
		} else {
			err = bpfMapElem(unix.BPF_MAP_GET_NEXT_KEY, mapfd, key[:], next[:], 0)
		}
		if err == unix.ENOENT {
			return keys, nil
		} else if err != nil {
			return nil, err
		}
		keys = append(keys, next)
		key = next
	}
}

// bpf(2), thin wrappers. bpf_attr is laid out by hand (linux/bpf.h); the
// buffer is larger than every command's part of it and zeroed.

type bpfAttr [128]byte

func (a *bpfAttr) u32(off int, v uint32)         { binary.NativeEndian.PutUint32(a[off:], v) }
func (a *bpfAttr) u64(off int, v uint64)         { binary.NativeEndian.PutUint64(a[off:], v) }
func (a *bpfAttr) ptr(off int, p unsafe.Pointer) { a.u64(off, uint64(uintptr(p))) }

func bpfSys(cmd int, a *bpfAttr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(a)), unsafe.Sizeof(*a))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func bpfMapCreate(typ, keySize, valueSize, maxEntries uint32, name string) (int, error) {
	var a bpfAttr
	a.u32(0, typ)
	a.u32(4, keySize)
	a.u32(8, valueSize)
	a.u32(12, maxEntries)
	copy(a[28:28+15], name)
	return bpfSys(unix.BPF_MAP_CREATE, &a)
}

// bpfObjPin is BPF_OBJ_PIN of fd at path, relative to dirfd with
// BPF_F_PATH_FD unless dirfd is -1 (before Linux 6.5: a /proc/self/fd path
// of the verified /proc).
func bpfObjPin(fd int, path string, dirfd int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	var a bpfAttr
	a.ptr(0, unsafe.Pointer(p))
	a.u32(8, uint32(fd))
	if dirfd >= 0 {
		a.u32(12, unix.BPF_F_PATH_FD)
		a.u32(16, uint32(dirfd))
	}
	_, err = bpfSys(unix.BPF_OBJ_PIN, &a)
	runtime.KeepAlive(p)
	return err
}

// bpfObjGet is BPF_OBJ_GET of path, read-write, close-on-exec, relative to
// dirfd with BPF_F_PATH_FD unless dirfd is -1.
func bpfObjGet(path string, dirfd int) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	var a bpfAttr
	a.ptr(0, unsafe.Pointer(p))
	if dirfd >= 0 {
		a.u32(12, unix.BPF_F_PATH_FD)
		a.u32(16, uint32(dirfd))
	}
	fd, err := bpfSys(unix.BPF_OBJ_GET, &a)
	runtime.KeepAlive(p)
	return fd, err
}

func bpfMapElem(cmd int, fd int, key, value []byte, flags uint64) error {
	var a bpfAttr
	a.u32(0, uint32(fd))
	if key != nil {
		a.ptr(8, unsafe.Pointer(&key[0]))
	}
	if value != nil {
		a.ptr(16, unsafe.Pointer(&value[0]))
	}
	a.u64(24, flags)
	_, err := bpfSys(cmd, &a)
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return err
}

func bpfMapDelete(fd int, key []byte) error {
	return bpfMapElem(unix.BPF_MAP_DELETE_ELEM, fd, key, nil, 0)
}
func bpfMapUpdate(fd int, key, value []byte) error {
	return bpfMapElem(unix.BPF_MAP_UPDATE_ELEM, fd, key, value, unix.BPF_ANY)
}

// bpfProgLoad loads a program with the GPL licence (the helpers it calls
// need none, but snapd's says GPL too).
func bpfProgLoad(typ uint32, insns []byte, name string) (int, error) {
	license := []byte("GPL\x00")
	var a bpfAttr
	a.u32(0, typ)
	a.u32(4, uint32(len(insns)/8))
	a.ptr(8, unsafe.Pointer(&insns[0]))
	a.ptr(16, unsafe.Pointer(&license[0]))
	copy(a[48:48+15], name)
	// The verifier gives up with EAGAIN when a signal comes meanwhile
	// (a Go program gets some); libbpf tries 5 times, snap-confine twice.
	fd, err := bpfSys(unix.BPF_PROG_LOAD, &a)
	for attempt := 1; err == unix.EAGAIN && attempt < 5; attempt++ {
		fd, err = bpfSys(unix.BPF_PROG_LOAD, &a)
	}
	runtime.KeepAlive(insns)
	runtime.KeepAlive(license)
	return fd, err
}

// bpfProgAttach attaches prog to the cgroup cgfd with no flags: the one
// program of its type there, replacing any attached the same way.
func bpfProgAttach(cgfd, prog int, typ uint32) error {
	var a bpfAttr
	a.u32(0, uint32(cgfd))
	a.u32(4, uint32(prog))
	a.u32(8, typ)
	_, err := bpfSys(unix.BPF_PROG_ATTACH, &a)
	return err
}
