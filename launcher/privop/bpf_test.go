// SPDX-License-Identifier: GPL-3.0-only

package privop

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/tests/kernelsim"
)

// Before Linux 6.5 bpf(2) refuses BPF_F_PATH_FD: the device map is pinned
// and opened by its /proc/self/fd path instead, in the same root-only
// directory, and the object fetched is the one pinned.
func TestDeviceMapByPathWithoutPathFD(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root (mounts, bpf)")
	}
	simulated := kernelsim.Simulate(t, kernelsim.BPFPathFD)
	if err := ProbeBPFPathFD(); (err == unix.ENOENT || err == unix.EBADF) == simulated {
		t.Fatalf("ProbeBPFPathFD() = %v", err)
	}
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	proc := desc.New(fd, "/proc")
	defer proc.Close()
	dir := t.TempDir()
	// As the launcher unprivileged: nothing raised; the test runs as root.
	p := &Privileges{}
	kernelsim.OnPrivateThread(t, simulated, func() error {
		if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
			return err
		}
		defer unix.Unmount(dir, unix.MNT_DETACH)
		fd, err := unix.Open(dir, dirFlags, 0)
		if err != nil {
			return err
		}
		snap := desc.New(fd, dir)
		defer snap.Close()
		m, err := p.CreateDeviceMap(snap, "at", "fallback_test", true)
		if (err != nil) != simulated {
			t.Errorf("BPF_F_PATH_FD pin: %v", err)
		}
		m.Close()
		m, err = p.CreateDeviceMap(snap, "path", "fallback_test", false)
		if err != nil {
			t.Fatalf("pin by path: %v", err)
		}
		defer m.Close()
		fd, err = unix.Openat(snap.Fd(), "path", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatalf("the pin is not in the directory: %v", err)
		}
		entry := desc.New(fd, dir+"/path")
		defer entry.Close()
		got, err := p.OpenDeviceMap(proc, entry, false)
		if err != nil {
			t.Fatalf("get by path: %v", err)
		}
		defer got.Close()
		if mapID(t, got.Fd()) != mapID(t, m.Fd()) {
			t.Error("the map fetched by path is not the one pinned")
		}
		at, err := p.OpenDeviceMap(proc, entry, true)
		if (err != nil) != simulated {
			t.Errorf("BPF_F_PATH_FD get: %v", err)
		}
		at.Close()
		return nil
	})
}

// mapID is the kernel's id of a BPF map (bpf_map_info.id).
func mapID(t *testing.T, fd int) uint32 {
	t.Helper()
	var mi [80]byte
	var a bpfAttr
	a.u32(0, uint32(fd))
	a.u32(4, uint32(len(mi)))
	a.ptr(8, unsafe.Pointer(&mi[0]))
	if _, err := bpfSys(unix.BPF_OBJ_GET_INFO_BY_FD, &a); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(&mi)
	return binary.NativeEndian.Uint32(mi[4:])
}
