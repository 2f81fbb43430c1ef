// SPDX-License-Identifier: GPL-3.0-only

package privop

import (
	"fmt"
	"runtime/debug"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/desc"
)

// The handover (the launcher's handover.go has its order): Drop, the
// working directory (Fchdir, Chdir), then the last step, made ready
// beforehand (PrepareFinal) to run as raw syscalls on one thread (Exec).

// Drop sets the real, effective and saved gids and uids of every thread to
// the caller's real ones (ruid, rgid), leaving a non-root caller's threads
// nothing effective and nothing permitted but, when keepSeccomp (there is a
// seccomp program to load), OpExec's capabilities (a setuid launcher keeps
// them across the change of uid with PR_SET_KEEPCAPS); a root caller keeps
// root, its capabilities back on the calling thread only. Safe: it only
// gives privilege up; the stdlib calls act on every thread with cgo off,
// groups before the user id, which takes the privilege to change them.
func (p *Privileges) Drop(ruid, rgid int, keepSeccomp bool) error {
	keep := capSet{}
	if keepSeccomp && p.unprivilegedCaller() {
		keep = capsOf(policy.Ops[policy.OpExec].Caps)
	}
	keepCaps := p.mode == planner.Setuid && !keep.empty()
	err := p.bracket(policy.OpDrop, "drop privileges", func() (err error) {
		if p.mode == planner.RootCaller {
			// Root keeps root: no setuid bit gave it anything (its
			// threads have had its own ids since the exec), and
			// setting them again would be two stop-the-world calls
			// changing nothing. The launcher checks them all the same.
			return nil
		}
		if keepCaps {
			err = setKeepCaps(1)
		}
		if err == nil {
			err = syscall.Setresgid(rgid, rgid, rgid)
		}
		if err == nil {
			err = syscall.Setresuid(ruid, ruid, ruid)
		}
		if err == nil && p.unprivilegedCaller() {
			err = setCapsAllThreads(capSet{}, keep, capSet{})
		}
		if err == nil && keepCaps {
			err = setKeepCaps(0)
		}
		// The capabilities are lowered next from what is left.
		_, p.permitted, p.inheritable, _ = getCaps()
		return err
	})
	if err == nil && p.mode == planner.RootCaller {
		// Root's app runs as root, with root's capabilities effective
		// again (the exec would restore them too; the working directory
		// is entered before it): on this thread, the one that enters it
		// and execs. Every other thread keeps none.
		err = setThreadCaps(p.permitted, p.permitted, p.inheritable)
	}
	if err != nil || !p.unprivilegedCaller() {
		return err
	}
	return verifyDropped(keep)
}

// setKeepCaps sets PR_SET_KEEPCAPS on every thread.
func setKeepCaps(v uintptr) error {
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, v, 0); e != 0 {
		return e
	}
	return nil
}

// verifyDropped checks that the calling thread holds nothing but keep, and
// that only permitted: the last step raises it, uses it and drops it.
func verifyDropped(keep capSet) error {
	eff, prm, inh, err := getCaps()
	if err != nil {
		return fmt.Errorf("cannot drop privileges: cannot get capabilities: %w", err)
	}
	// The ambient set is always within permitted and inheritable, so it
	// is empty when inheritable is.
	if !eff.empty() || prm != keep || !inh.empty() {
		return fmt.Errorf("cannot drop privileges: capabilities remain (effective %s, permitted %s, inheritable %s)", eff.names(), prm.names(), inh.names())
	}
	return nil
}

// RootRegainable tries to take uid 0 back as the calling thread's
// effective uid, after Drop: it must fail. Safe: the thread-local x/sys
// call on purpose; should it succeed, the launcher stops there and never
// execs.
func RootRegainable() bool { return unix.Setresuid(-1, 0, -1) == nil }

// Fchdir makes the directory dir the process's working directory, and
// Chdir the directory at path. Safe: the launcher enters the caller's
// working directory, or the void directory, or "/", with the caller's
// own rights, after Drop.
func Fchdir(dir *desc.FD) error { return unix.Fchdir(dir.Fd()) }
func Chdir(path string) error   { return unix.Chdir(path) }

// Final is the last step of the handover, made ready beforehand so that
// running it allocates nothing and makes only raw syscalls.
type Final struct {
	path       *byte
	argv, envp []*byte
	umask      int
	filters    []*bpf.Filter // in load order
	hdr        unix.CapUserHeader
	raise      *[2]unix.CapUserData // nil: nothing to raise for the load
	drop       *[2]unix.CapUserData // nil: nothing to drop after it
	raiseMsg   string
	loadMsg    string
	dropMsg    string
	execMsg    string
	buf        [4096]byte
}

// PrepareFinal makes the last step ready: execute target (its path first)
// with env and the caller's umask, after loading the programs of the
// app's seccomp profile (of the security tag tag).
func (p *Privileges) PrepareFinal(target, env []string, umask int, programs [][]unix.SockFilter, tag string) (*Final, error) {
	execMsg := "cannot execute " + target[0]
	path, err := syscall.BytePtrFromString(target[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", execMsg, err)
	}
	argv, err := syscall.SlicePtrFromStrings(target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", execMsg, err)
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", execMsg, err)
	}
	f := &Final{
		path: path, argv: argv, envp: envp, umask: umask,
		hdr:      unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3},
		raiseMsg: "cannot raise cap_sys_admin to load the seccomp profile of " + tag,
		loadMsg:  "cannot load the seccomp profile of " + tag,
		dropMsg:  "cannot drop the last capability",
		execMsg:  execMsg,
	}
	for _, prog := range programs {
		filter, err := bpf.NewFilter(prog)
		if err != nil {
			return nil, err
		}
		f.filters = append(f.filters, filter)
	}
	if len(f.filters) > 0 && p.debugf != nil {
		p.debugf("privileged: %s", policy.OpExec)
	}
	if len(f.filters) > 0 && p.unprivilegedCaller() {
		sysAdmin := capsOf(policy.Ops[policy.OpExec].Caps)
		f.raise, f.drop = new([2]unix.CapUserData), new([2]unix.CapUserData)
		for i := range f.raise {
			f.raise[i] = unix.CapUserData{Effective: sysAdmin[i], Permitted: sysAdmin[i]}
		}
	}
	return f, nil
}

// Exec is the last step: the caller's RLIMIT_NOFILE and umask back, the
// garbage collector off (nothing stops the world or signals this thread
// under the app's filter), the runtime's signal handlers reset to what
// execve would give, then raw syscalls on this thread alone: CAP_SYS_ADMIN
// raised, the programs loaded (snap-confine's order), every capability
// dropped, execve; an error is written with write(2) and ends the process
// with exit_group(2). So the app's profile need allow only what
// snap-confine needs after loading it. It never returns. Safe: every
// privilege was given up (Drop) and verified gone but the one the load
// needs, which it drops before the caller's target runs, as the caller.
func (f *Final) Exec() {
	restoreFileLimit()
	debug.SetGCPercent(-1)
	unix.Umask(f.umask)
	defaultSignalHandlers()
	f.run()
}

// run makes the last step's raw syscalls.
//
//go:nosplit
func (f *Final) run() {
	if f.raise != nil {
		if errno := capset(&f.hdr, f.raise); errno != 0 {
			f.die(f.raiseMsg, errno)
		}
		if capHook != nil {
			// Test builds only: report the capabilities of the load,
			// before the first filter is in place.
			capHook(policy.OpExec)
		}
	}
	for _, filter := range f.filters {
		if errno := filter.LoadOnThread(); errno != 0 {
			f.die(f.loadMsg, errno)
		}
	}
	if f.drop != nil {
		if errno := capset(&f.hdr, f.drop); errno != 0 {
			f.die(f.dropMsg, errno)
		}
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(f.path)), uintptr(unsafe.Pointer(&f.argv[0])), uintptr(unsafe.Pointer(&f.envp[0])))
	f.die(f.execMsg, errno)
}

// die writes "msg: errno" as one line and ends the process, with the two
// syscalls snap-confine needs for the same.
//
//go:nosplit
func (f *Final) die(msg string, errno unix.Errno) {
	n := copy(f.buf[:len(f.buf)-1], msg)
	n += copy(f.buf[n:len(f.buf)-1], ": ")
	n += copy(f.buf[n:len(f.buf)-1], errno.Error())
	f.buf[n] = '\n'
	unix.RawSyscall(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&f.buf[0])), uintptr(n+1))
	unix.RawSyscall(unix.SYS_EXIT_GROUP, 1, 0, 0)
}

// capset sets the calling thread's capabilities, and only that thread's.
//
//go:nosplit
func capset(hdr *unix.CapUserHeader, data *[2]unix.CapUserData) unix.Errno {
	_, _, errno := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	return errno
}

// restoreFileLimit gives RLIMIT_NOFILE back the caller's soft limit, which
// the runtime restores only in syscall.Exec: one is made of a path that
// cannot exist (execve of "" fails with ENOENT and changes nothing).
func restoreFileLimit() {
	syscall.Exec("", nil, nil)
}

// defaultSignalHandlers sets every signal the Go runtime handles back to its
// default action, as execve would, leaving ignored ones ignored: the
// runtime's handlers would run under the app's filter and die there.
func defaultSignalHandlers() {
	type sigaction struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	const sigDfl, sigIgn = 0, 1
	var dfl sigaction
	for sig := uintptr(1); sig <= 64; sig++ {
		switch sig {
		case uintptr(unix.SIGKILL), uintptr(unix.SIGSTOP):
			continue
		case uintptr(unix.SIGHUP), uintptr(unix.SIGINT):
			// The only two the runtime leaves ignored when the caller
			// ignored them (nohup): looked at first, so that they are
			// never default, not even for an instant.
			var old sigaction
			if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, sig, 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 || old.handler == sigDfl || old.handler == sigIgn {
				continue
			}
		}
		// Every other one holds the runtime's handler: one call each.
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}
