// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"os"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestMain gives the test process root's effective capabilities back: the
// package's init empties every thread's effective set, as the launcher
// must, and some tests make their fixtures as root (files owned by others).
// Under the race detector (cgo) neither call is possible and init's failed:
// nothing was emptied.
func TestMain(m *testing.M) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) == nil && (data[0].Permitted != 0 || data[1].Permitted != 0) {
		for i := range data {
			data[i].Effective = data[i].Permitted
		}
		syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	}
	os.Exit(m.Run())
}
