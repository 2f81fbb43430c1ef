package bpf

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs prog as a seccomp filter on every thread of the calling
// process, with
//
//	seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)
//
// What the caller must know:
//
//   - The filter is permanent. It survives execve(2), so it binds the
//     program the process execs next (that is the point: the launcher loads
//     the app's filter last, right before the exec), and filters only
//     accumulate: a later filter can restrict more, never less.
//   - It binds every thread at once (TSYNC), so no thread of a Go process
//     (the runtime starts several) is left unfiltered to exec the app or to
//     be the one that runs a goroutine after a migration. Until the exec,
//     the filter also binds the caller's own Go code: it must allow what the
//     runtime needs (futex, mmap, rt_sig*, ...) or the process fails before
//     it gets there.
//   - The kernel accepts a filter only from a thread that has
//     CAP_SYS_ADMIN in its user namespace or has no_new_privs set. Load sets
//     neither: which of the two holds is the caller's security decision
//     (no_new_privs also stops the app from gaining privileges through
//     setuid binaries, which a snap app's policy may or may not want). Both
//     are per-thread attributes, so the caller sets them on the thread that
//     calls Load and keeps its goroutine locked to that thread
//     (runtime.LockOSThread) in between; with TSYNC the kernel then gives
//     no_new_privs to every other thread too.
//
// An error (one line, "cannot load seccomp filter: ...") means no thread got
// the filter: TSYNC is all or nothing.
func Load(prog []unix.SockFilter) error {
	// Parse has checked this for programs read from disk; repeat it for
	// callers who built prog themselves, since Len is a uint16 and a
	// silently truncated length would install a different program.
	if len(prog) == 0 || len(prog) > MaxInstructions {
		return fmt.Errorf("cannot load seccomp filter: %d instructions (want 1 to %d)", len(prog), MaxInstructions)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r1, _, errno := unix.Syscall(unix.SYS_SECCOMP,
		uintptr(unix.SECCOMP_SET_MODE_FILTER),
		uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC),
		uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("cannot load seccomp filter: %w", errno)
	}
	// With TSYNC, a positive return value is not success: it is the id of
	// a thread that could not be synchronised (it already runs a filter
	// that is not an ancestor of ours), and no thread got the new filter.
	if r1 != 0 {
		return fmt.Errorf("cannot load seccomp filter: thread %d cannot be synchronised to it", r1)
	}
	return nil
}
