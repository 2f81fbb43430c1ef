// SPDX-License-Identifier: GPL-3.0-only

package devnum

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The encoding is the kernel's, as x/sys/unix has it for every
// architecture.
func TestAgreesWithUnix(t *testing.T) {
	for _, d := range [][2]uint32{{0, 0}, {7, 1}, {8, 255}, {259, 65536}, {4095, 1 << 20}, {1 << 12, 0}, {^uint32(0), ^uint32(0)}} {
		if got, want := Mkdev(d[0], d[1]), unix.Mkdev(d[0], d[1]); got != want {
			t.Errorf("Mkdev(%d, %d) = %#x, want %#x", d[0], d[1], got, want)
		}
		dev := unix.Mkdev(d[0], d[1])
		if Major(dev) != unix.Major(dev) || Minor(dev) != unix.Minor(dev) {
			t.Errorf("Major, Minor(%#x) = %d, %d; want %d, %d", dev, Major(dev), Minor(dev), unix.Major(dev), unix.Minor(dev))
		}
	}
}
