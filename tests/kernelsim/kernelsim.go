// SPDX-License-Identifier: GPL-3.0-only

// Package kernelsim makes the running kernel answer the processes the tests
// choose as an older kernel would, so that the launcher's fallbacks for
// kernels before 6.8 run for real on the test machine's kernel.
//
// A seccomp filter, installed before the launcher is executed (and kept
// across the exec, as every filter is), sends the few syscalls that tell an
// old kernel from a new one to a supervisor in the test process
// (SECCOMP_RET_USER_NOTIF), which answers each as the older kernel does:
// an error (ENOSYS for a syscall it lacks, ENOTTY for an ioctl, EINVAL for a
// flag), an emulation (statx without the attributes Linux 5.8 added), or
// "run it as it is" (SECCOMP_USER_NOTIF_FLAG_CONTINUE) for a call the old
// kernel would accept too. Exempt processes (the tests' observer app) are
// always let through.
//
// Nothing here is linked into the launcher: it is the test's side, and the
// launcher cannot tell it from an old kernel.
package kernelsim

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Feature is a kernel interface newer than Linux 5.4 that the launcher
// uses, named by what it is.
type Feature string

const (
	// MountAPI: open_tree(2), move_mount(2) (5.2) and mount_setattr(2)
	// (5.12) fail with ENOSYS, as on 5.10.
	MountAPI Feature = "mount-api"
	// Openat2: openat2(2) (5.6) fails with ENOSYS, as on 5.4.
	Openat2 Feature = "openat2"
	// StatxMountRoot: statx(2) answers as 5.4's did: no
	// STATX_ATTR_MOUNT_ROOT (5.8) in the attributes or their mask, and
	// nothing of the request mask newer than STATX_BTIME.
	StatxMountRoot Feature = "statx-mount-root"
	// MountNSID: the NS_GET_MNTNS_ID ioctl (6.8) fails with ENOTTY, as
	// on 6.1.
	MountNSID Feature = "mntns-id"
	// BPFPathFD: bpf(BPF_OBJ_PIN) and bpf(BPF_OBJ_GET) with
	// BPF_F_PATH_FD or a path_fd (6.5) fail with EINVAL, as on 6.1.
	BPFPathFD Feature = "bpf-path-fd"
	// MemlockCharge: bpf(BPF_MAP_CREATE) and bpf(BPF_PROG_LOAD) fail
	// with EPERM unless the caller's RLIMIT_MEMLOCK is at least
	// MemlockNeeded, as kernels before 5.11 charged BPF objects to it.
	MemlockCharge Feature = "memlock-charge"
)

// All are the features, in a fixed order.
var All = []Feature{MountAPI, Openat2, StatxMountRoot, MountNSID, BPFPathFD, MemlockCharge}

// MemlockNeeded is what the simulated pre-5.11 kernel wants of
// RLIMIT_MEMLOCK: more than Debian 11's default of 64 KiB, less than the
// 512 KiB snap-confine raises it to (a map and a program of the launcher's
// cost 11 and 2 pages there).
const MemlockNeeded = 128 << 10

// Parse reads a comma-separated list of features ("all" for every one).
func Parse(s string) ([]Feature, error) {
	if s == "all" {
		return All, nil
	}
	var out []Feature
	for _, f := range strings.Split(s, ",") {
		found := false
		for _, known := range All {
			if Feature(f) == known {
				out, found = append(out, known), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown kernel feature %q", f)
		}
	}
	return out, nil
}

// Join is the inverse of Parse.
func Join(fs []Feature) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f))
	}
	return strings.Join(s, ",")
}

// Kernel-side numbers the filter and the supervisor use.
const (
	nsGetMntnsID = unix.NS_GET_MNTNS_ID
	bpfMapCreate = unix.BPF_MAP_CREATE
	bpfProgLoad  = unix.BPF_PROG_LOAD
	bpfObjPin    = unix.BPF_OBJ_PIN
	bpfObjGet    = unix.BPF_OBJ_GET
)

// rule sends one syscall to the supervisor, or only when its argument arg
// has the low 32 bits value.
type rule struct {
	nr    uint32
	arg   int // -1: any
	value uint32
}

// sentinel is an ioctl request no kernel knows, which the filter always
// sends to the supervisor, which answers sentinelErrno: Effective's check
// that the simulation takes effect (it does not under an emulator such as
// qemu-user, whose own syscalls are the host architecture's).
const (
	sentinel      = 0x5a5a5a5a
	sentinelErrno = unix.ENOANO
)

// Effective reports whether the calling thread's syscalls reach a
// supervisor (Install, then Serve).
func Effective() bool {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, ^uintptr(0), sentinel, 0)
	return errno == sentinelErrno
}

func rulesOf(fs []Feature) []rule {
	rs := []rule{{unix.SYS_IOCTL, 1, sentinel}}
	for _, f := range fs {
		switch f {
		case MountAPI:
			rs = append(rs, rule{unix.SYS_OPEN_TREE, -1, 0}, rule{unix.SYS_MOVE_MOUNT, -1, 0}, rule{unix.SYS_MOUNT_SETATTR, -1, 0})
		case Openat2:
			rs = append(rs, rule{unix.SYS_OPENAT2, -1, 0})
		case StatxMountRoot:
			rs = append(rs, rule{unix.SYS_STATX, -1, 0})
		case MountNSID:
			rs = append(rs, rule{unix.SYS_IOCTL, 1, nsGetMntnsID & 0xffffffff})
		case BPFPathFD:
			rs = append(rs, rule{unix.SYS_BPF, 0, bpfObjPin}, rule{unix.SYS_BPF, 0, bpfObjGet})
		case MemlockCharge:
			rs = append(rs, rule{unix.SYS_BPF, 0, bpfMapCreate}, rule{unix.SYS_BPF, 0, bpfProgLoad})
		}
	}
	return rs
}

// program assembles the filter: every rule's syscall goes to the
// supervisor, everything else is allowed; a syscall of another
// architecture (the x32 or i386 ABI) is allowed too.
func program(rs []rule) []unix.SockFilter {
	const (
		offNr   = 0
		offArch = 4
	)
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
	}
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		stmt(ldAbs, offArch),
		jump(jeq, auditArch, 1, 0),
		stmt(ret, unix.SECCOMP_RET_ALLOW),
	}
	for _, r := range rs {
		if r.arg < 0 {
			// nr == r.nr ? notify : next rule
			prog = append(prog,
				stmt(ldAbs, offNr),
				jump(jeq, r.nr, 0, 1),
				stmt(ret, unix.SECCOMP_RET_USER_NOTIF),
			)
			continue
		}
		// nr == r.nr && low32(args[arg]) == r.value ? notify : next rule
		prog = append(prog,
			stmt(ldAbs, offNr),
			jump(jeq, r.nr, 0, 3),
			stmt(ldAbs, argLow(r.arg)),
			jump(jeq, r.value, 0, 1),
			stmt(ret, unix.SECCOMP_RET_USER_NOTIF),
		)
	}
	return append(prog, stmt(ret, unix.SECCOMP_RET_ALLOW))
}

// argLow is the offset of the low 32 bits of syscall argument i in struct
// seccomp_data (each argument is 64 bits, in the machine's byte order).
func argLow(i int) uint32 {
	off := uint32(16 + 8*i)
	one := uint16(1)
	if *(*byte)(unsafe.Pointer(&one)) == 0 {
		off += 4 // big-endian
	}
	return off
}

// Install installs the filter for fs on the calling thread, which must be
// locked to its goroutine (on every thread of the process when allThreads),
// and returns the listener descriptor a Supervisor serves. Without
// CAP_SYS_ADMIN it sets no_new_privs first, which the kernel requires (and
// which makes a later setuid exec unprivileged: the e2e tests install it as
// root). Waiting for the supervisor is killable only, so that the Go
// runtime's preemption signals do not restart every trapped syscall
// (since Linux 5.19).
func Install(fs []Feature, allThreads bool) (int, error) {
	if auditArch == 0 {
		return -1, fmt.Errorf("cannot simulate an older kernel on this architecture")
	}
	prog := program(rulesOf(fs))
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if !haveSysAdmin() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, fmt.Errorf("cannot set no_new_privs: %w", err)
		}
	}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if allThreads {
		flags |= unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	if errno == unix.EINVAL {
		// Before Linux 5.19 (make test-kernels' 5.10 guest)
		// there is no killable wait: a signal makes the trapped
		// syscall start again, and notify again, which the
		// supervisor answers as it did.
		flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
		fd, _, errno = unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	}
	if errno != 0 {
		return -1, fmt.Errorf("cannot install the kernel simulation filter: %w", errno)
	}
	// The kernel makes the listener without O_CLOEXEC: it must not
	// reach what the filtered process executes.
	unix.CloseOnExec(int(fd))
	return int(fd), nil
}

func haveSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}

// Supervisor answers the filter's notifications.
type Supervisor struct {
	Features []Feature
	// Exempt, when set, lets a process's calls through unchanged.
	Exempt func(pid int) bool
	// Log, when set, gets one line per answer.
	Log func(string)
}

// Serve answers notifications from listener until it fails (the listener
// was closed, or no process is left that could notify).
func (s *Supervisor) Serve(listener int) error {
	have := map[Feature]bool{}
	for _, f := range s.Features {
		have[f] = true
	}
	for {
		var req notif
		if err := ioctlPtr(listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
			if err == unix.EINTR || err == unix.ENOENT {
				continue
			}
			return err
		}
		resp := s.answer(have, &req)
		// ENOENT: the process is gone, or was interrupted and will
		// make the call again.
		if err := ioctlPtr(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil && err != unix.ENOENT {
			return err
		}
	}
}

// notif is struct seccomp_notif.
type notif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

// notifResp is struct seccomp_notif_resp.
type notifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *Supervisor) answer(have map[Feature]bool, req *notif) notifResp {
	pass := notifResp{id: req.id, flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	fail := func(e unix.Errno, why string) notifResp {
		s.logf("pid %d: %s: %v", req.pid, why, e)
		return notifResp{id: req.id, error: -int32(e)}
	}
	pid := int(req.pid)
	if uintptr(req.nr) == unix.SYS_IOCTL && uint32(req.args[1]) == sentinel {
		return notifResp{id: req.id, error: -int32(sentinelErrno)}
	}
	if s.Exempt != nil && s.Exempt(pid) {
		return pass
	}
	switch uintptr(req.nr) {
	case unix.SYS_OPEN_TREE, unix.SYS_MOVE_MOUNT, unix.SYS_MOUNT_SETATTR:
		if have[MountAPI] {
			return fail(unix.ENOSYS, "the new mount API")
		}
	case unix.SYS_OPENAT2:
		if have[Openat2] {
			return fail(unix.ENOSYS, "openat2")
		}
	case unix.SYS_IOCTL:
		if have[MountNSID] && uint32(req.args[1]) == nsGetMntnsID&0xffffffff {
			return fail(unix.ENOTTY, "NS_GET_MNTNS_ID")
		}
	case unix.SYS_STATX:
		if have[StatxMountRoot] {
			return s.statx(req)
		}
	case unix.SYS_BPF:
		switch req.args[0] {
		case bpfObjPin, bpfObjGet:
			if have[BPFPathFD] {
				// file_flags at 12, path_fd at 16 (union bpf_attr).
				var attr [20]byte
				size := min(req.args[2], uint64(len(attr)))
				if err := readMem(pid, req.args[1], attr[:size]); err != nil {
					return fail(unix.EFAULT, "reading bpf_attr")
				}
				n := binary.NativeEndian
				if n.Uint32(attr[12:])&unix.BPF_F_PATH_FD != 0 || n.Uint32(attr[16:]) != 0 {
					return fail(unix.EINVAL, "BPF_F_PATH_FD")
				}
			}
		case bpfMapCreate, bpfProgLoad:
			if have[MemlockCharge] {
				soft, err := memlockLimit(pid)
				if err != nil {
					return fail(unix.EPERM, err.Error())
				}
				if soft < MemlockNeeded {
					return fail(unix.EPERM, fmt.Sprintf("RLIMIT_MEMLOCK %d is below %d", soft, MemlockNeeded))
				}
			}
		}
	}
	return pass
}

func (s *Supervisor) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(fmt.Sprintf(format, args...))
	}
}

// statx emulates Linux 5.4's statx(2) for the process: the supervisor
// makes the same call on a duplicate of the process's directory descriptor
// and writes the answer into the process's buffer without
// what 5.4 did not know.
func (s *Supervisor) statx(req *notif) notifResp {
	pid := int(req.pid)
	fail := func(e error) notifResp {
		errno, ok := e.(unix.Errno)
		if !ok {
			errno = unix.EFAULT
		}
		s.logf("pid %d: emulating statx: %v", pid, e)
		return notifResp{id: req.id, error: -int32(errno)}
	}
	path, err := readString(pid, req.args[1])
	if err != nil {
		return fail(err)
	}
	dirfd := int32(req.args[0])
	var fd int
	switch {
	case strings.HasPrefix(path, "/"):
		path = "/proc/" + strconv.Itoa(pid) + "/root" + path
		fd = unix.AT_FDCWD
	case dirfd == unix.AT_FDCWD:
		if fd, err = unix.Open("/proc/"+strconv.Itoa(pid)+"/cwd", unix.O_PATH|unix.O_CLOEXEC, 0); err != nil {
			return fail(err)
		}
		defer unix.Close(fd)
	default:
		// The process's descriptor, reopened through its magic link
		// (pid may be any thread: pidfd_getfd wants a leader).
		if fd, err = unix.Open("/proc/"+strconv.Itoa(pid)+"/fd/"+strconv.Itoa(int(dirfd)), unix.O_PATH|unix.O_CLOEXEC, 0); err != nil {
			return fail(err)
		}
		defer unix.Close(fd)
	}
	var stx unix.Statx_t
	if err := unix.Statx(fd, path, int(req.args[2]), int(req.args[3]), &stx); err != nil {
		return notifResp{id: req.id, error: -int32(err.(unix.Errno))}
	}
	// 5.4 knew STATX_BASIC_STATS and STATX_BTIME, and these attributes:
	// compressed, immutable, append, nodump, encrypted, automount.
	const known54Mask = unix.STATX_BASIC_STATS | unix.STATX_BTIME
	const known54Attrs = unix.STATX_ATTR_COMPRESSED | unix.STATX_ATTR_IMMUTABLE | unix.STATX_ATTR_APPEND |
		unix.STATX_ATTR_NODUMP | unix.STATX_ATTR_ENCRYPTED | unix.STATX_ATTR_AUTOMOUNT
	stx.Mask &= known54Mask
	stx.Attributes &= known54Attrs
	stx.Attributes_mask &= known54Attrs
	stx.Mnt_id = 0
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&stx)), unsafe.Sizeof(stx))
	if err := writeMem(pid, req.args[4], buf); err != nil {
		return fail(err)
	}
	s.logf("pid %d: statx as Linux 5.4", pid)
	return notifResp{id: req.id}
}

func readMem(pid int, addr uint64, buf []byte) error {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadAt(buf, int64(addr))
	return err
}

func writeMem(pid int, addr uint64, buf []byte) error {
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/mem", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(buf, int64(addr))
	return err
}

// readString reads a NUL-terminated string of at most PATH_MAX bytes.
func readString(pid int, addr uint64) (string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var out []byte
	buf := make([]byte, 256)
	for len(out) < unix.PathMax {
		n, err := f.ReadAt(buf, int64(addr)+int64(len(out)))
		if i := indexNUL(buf[:n]); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		if err != nil {
			// A read across the end of a mapping: byte by byte.
			if n == 0 && len(buf) > 1 {
				buf = buf[:1]
				continue
			}
			if n == 0 {
				return "", err
			}
		}
		out = append(out, buf[:n]...)
	}
	return "", unix.ENAMETOOLONG
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// memlockLimit returns the soft RLIMIT_MEMLOCK of pid.
func memlockLimit(pid int) (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_MEMLOCK, nil, &lim); err == nil {
		return lim.Cur, nil
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max locked memory"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 && fields[0] == "unlimited" {
				return ^uint64(0), nil
			}
			if len(fields) > 0 {
				return strconv.ParseUint(fields[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no memlock limit for pid %d", pid)
}

// Describe says which features are simulated, sorted, for messages.
func Describe(fs []Feature) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
