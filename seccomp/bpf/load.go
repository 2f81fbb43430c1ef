// SPDX-License-Identifier: GPL-3.0-only

package bpf

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Filter is a program ready for the kernel, built before the moment it is
// loaded so that loading it allocates nothing and makes no call but
// seccomp(2).
type Filter struct {
	prog  []unix.SockFilter
	fprog unix.SockFprog
}

// NewFilter prepares prog for LoadOnThread.
func NewFilter(prog []unix.SockFilter) (*Filter, error) {
	// Parse has checked this for programs read from disk; repeat it for
	// callers who built prog themselves, since Len is a uint16 and a
	// silently truncated length would install a different program.
	if len(prog) == 0 || len(prog) > MaxInstructions {
		return nil, fmt.Errorf("cannot load seccomp filter: %d instructions (want 1 to %d)", len(prog), MaxInstructions)
	}
	f := &Filter{prog: prog}
	f.fprog = unix.SockFprog{Len: uint16(len(prog)), Filter: &f.prog[0]}
	return f, nil
}

// LoadOnThread installs the filter on the calling thread only, with
//
//	seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, &prog)
//
// as snap-confine does (or without the flag where the kernel lacks it),
// and returns the errno, 0 for success. The filter is permanent and binds
// what the thread execs next; it binds this thread alone (no TSYNC: execve
// keeps only this thread, and the runtime's other threads never run under
// it). From the first load on, this thread may make only what the filter
// allows: LoadOnThread makes nothing else, allocates nothing and is
// nosplit, and the caller keeps to raw syscalls until the exec. The kernel
// takes a filter only from a thread with CAP_SYS_ADMIN or no_new_privs.
func (f *Filter) LoadOnThread() unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_LOG, uintptr(unsafe.Pointer(&f.fprog)))
	if errno == unix.EINVAL {
		_, _, errno = unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&f.fprog)))
	}
	return errno
}

// Load prepares prog and installs it on the calling thread, whose goroutine
// the caller has locked to it (runtime.LockOSThread): NewFilter, then
// LoadOnThread.
func Load(prog []unix.SockFilter) error {
	f, err := NewFilter(prog)
	if err != nil {
		return err
	}
	if errno := f.LoadOnThread(); errno != 0 {
		return fmt.Errorf("cannot load seccomp filter: %w", errno)
	}
	return nil
}
