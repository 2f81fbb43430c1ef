// SPDX-License-Identifier: GPL-3.0-only

// Package devnum encodes device numbers as the kernel's dev_t does for
// userspace (glibc's makedev, major and minor), without a syscall package,
// so that the planner's pure packages can compare devices.
package devnum

// Mkdev is the dev_t of major:minor.
func Mkdev(major, minor uint32) uint64 {
	return uint64(major&0xfff)<<8 | uint64(major&^0xfff)<<32 | uint64(minor&0xff) | uint64(minor&^0xff)<<12
}

// Major is dev's major number.
func Major(dev uint64) uint32 { return uint32(dev>>8&0xfff | dev>>32&^0xfff) }

// Minor is dev's minor number.
func Minor(dev uint64) uint32 { return uint32(dev&0xff | dev>>12&^0xff) }
