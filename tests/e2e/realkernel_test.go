// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/tests/kernelsim"
)

// The kernel the tests run on may itself be older than the interfaces the
// launcher prefers: `make test-kernels` runs this suite in QEMU guests booted
// with Debian's 5.10, 6.1 and 6.12. There the launches take the fallbacks
// for real, as they do on this machine only where tests/kernelsim makes the
// kernel answer as an older one; a test that asserts on what a launch
// records or does asks kernelLacks, which knows both.

// kernelLacks tells whether this run's launches see a kernel without f:
// this whole run simulates one (SNAPNS_E2E_KERNEL), or the kernel the
// tests run on has not got it.
func kernelLacks(f kernelsim.Feature) bool {
	return wholeRunSimulates(f) || realKernelLacks()[f]
}

// realKernelLacks is what the running kernel lacks of kernelsim.All, asked
// once, the way the launcher asks (launcher/kernel.go, shared/resolve) where
// it can be: from the kernel's answer to a call it must refuse. The test
// binary is never under a simulation's filter (only our binaries are).
var realKernelLacks = sync.OnceValue(func() map[kernelsim.Feature]bool {
	lacks := map[kernelsim.Feature]bool{}
	_, _, e1 := unix.Syscall(unix.SYS_OPEN_TREE, ^uintptr(0), 0, 1<<31)
	_, _, e2 := unix.Syscall6(unix.SYS_MOUNT_SETATTR, ^uintptr(0), 0, 1<<31, 0, 0, 0)
	lacks[kernelsim.MountAPI] = e1 == unix.ENOSYS || e2 == unix.ENOSYS
	lacks[kernelsim.Openat2] = !resolve.HaveOpenat2()
	lacks[kernelsim.StatxMountRoot] = !haveStatxMountRoot()
	lacks[kernelsim.MountNSID] = !haveMountNSIDs()
	lacks[kernelsim.BPFPathFD] = !haveBPFPathFD()
	// Nothing refuses a call for it: a kernel before 5.11 charges BPF
	// maps to RLIMIT_MEMLOCK, one since to the memory cgroup.
	lacks[kernelsim.MemlockCharge] = kernelBefore(5, 11)
	return lacks
})

// haveStatxMountRoot tells whether statx reports STATX_ATTR_MOUNT_ROOT
// (Linux 5.8), in its attribute mask.
func haveStatxMountRoot() bool {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, "/", 0, unix.STATX_BASIC_STATS, &st); err != nil {
		return false
	}
	return st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// haveBPFPathFD tells whether bpf(2) takes BPF_F_PATH_FD (Linux 6.5): a
// BPF_OBJ_GET of the empty path relative to a bad descriptor is refused
// for the path (ENOENT) or the descriptor (EBADF) where it does, for the
// flag (EINVAL) where it does not.
func haveBPFPathFD() bool {
	empty := []byte{0}
	// union bpf_attr for BPF_OBJ_GET: pathname (u64), bpf_fd (u32),
	// file_flags (u32), path_fd (s32).
	var attr [24]byte
	*(*uint64)(unsafe.Pointer(&attr[0])) = uint64(uintptr(unsafe.Pointer(&empty[0])))
	*(*uint32)(unsafe.Pointer(&attr[12])) = unix.BPF_F_PATH_FD
	*(*int32)(unsafe.Pointer(&attr[16])) = -1
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	if errno == 0 {
		unix.Close(int(fd))
	}
	return errno == unix.ENOENT || errno == unix.EBADF
}

// kernelBefore tells whether the running kernel's release is older than
// major.minor.
func kernelBefore(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var maj, min int
	if n, _ := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &maj, &min); n != 2 {
		return false
	}
	return maj < major || maj == major && min < minor
}

// opRunsOn tells whether op runs on the kernel this run's launches see,
// from the kernels policy says it is for.
func opRunsOn(op policy.Op) bool {
	var f kernelsim.Feature
	switch k := policy.Ops[op].Kernels; {
	case k == "":
		return true
	case strings.HasSuffix(k, " 5.12"):
		f = kernelsim.MountAPI
	case strings.HasSuffix(k, " 5.11"):
		f = kernelsim.MemlockCharge
	default:
		panic("opRunsOn: no kernel feature for " + k)
	}
	if op.OnlyBefore() {
		return kernelLacks(f)
	}
	return !kernelLacks(f)
}

// raised is what the launcher raises for op on this kernel: policy's
// capabilities, and CAP_SYS_ADMIN for a bpf(2) action where the kernel
// refuses bpf(2) to callers without it (policy.Spec's GatedBPF).
func raised(op policy.Op, fullSet bool) []policy.Cap {
	return op.RaisedGated(fullSet, bpfGated())
}

// bpfGated tells whether this kernel refuses every bpf(2) call to a caller
// without CAP_SYS_ADMIN (before Linux 5.19, with
// kernel.unprivileged_bpf_disabled set), asked as the launcher asks it:
// BPF_OBJ_GET_INFO_BY_FD of no descriptor, from a thread with no
// capability.
var bpfGated = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled")
	if err != nil || strings.TrimSpace(string(data)) == "0" {
		return false
	}
	// Only kernels before 5.19 gate more than creation: ask one, from
	// a thread without capabilities.
	gated := make(chan bool)
	go func() {
		runtime.LockOSThread() // the thread dies with its capabilities gone
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if unix.Capget(&hdr, &data[0]) == nil {
			data[0].Effective, data[1].Effective = 0, 0
			unix.Capset(&hdr, &data[0])
		}
		var attr [16]byte
		*(*uint32)(unsafe.Pointer(&attr[0])) = ^uint32(0)
		_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
		gated <- errno == unix.EPERM
	}()
	return <-gated
})

// skipFdinfoOwnersOnly skips, loudly, a launch with file capabilities on a
// kernel without STATX_ATTR_MOUNT_ROOT (statx as Linux 5.4's, simulated
// here) where /proc/<pid>/fdinfo is its owner's alone: Linux before 5.14
// (since, PTRACE_MODE_READ reads it). There the launcher, non-dumpable, so
// that root owns its /proc files, and with no capability effective outside
// its actions, cannot read the mount ids it then needs ("cannot get a mount
// id: permission denied"): a launcher bug on Linux 5.4 to 5.7 installed
// with file capabilities, which only a kernel this old shows.
func skipFdinfoOwnersOnly(t *testing.T, caps bool, sim []kernelsim.Feature) {
	t.Helper()
	if !caps || !slices.Contains(sim, kernelsim.StatxMountRoot) {
		return
	}
	var st unix.Stat_t
	if unix.Stat("/proc/self/fdinfo/0", &st) != nil || st.Mode&0o044 != 0 {
		return
	}
	t.Skip("SKIPPING: KNOWN LAUNCHER BUG: on this kernel (before Linux 5.14) /proc/<pid>/fdinfo is its owner's 0400, and the launcher installed with file capabilities, non-dumpable, cannot read its own where statx has no STATX_ATTR_MOUNT_ROOT (Linux 5.4 to 5.7, simulated here): \"cannot get a mount id: permission denied\" (issue 21)")
}
