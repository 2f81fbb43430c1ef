// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"github.com/snapns/snapns/planner"
	"runtime/debug"
	"slices"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/layout"
)

// The handover, from the launcher's last privileged step to the app, in the
// order it runs:
//
//  1. drop: the caller's uid, gid and groups on every thread, every
//     capability gone but CAP_SYS_ADMIN kept permitted (never effective)
//     when a seccomp profile is to be loaded; verified;
//  2. the caller's working directory, entered with the caller's own rights;
//  3. the app's environment (policy.TargetEnv) and AppArmor exec label;
//  4. everything the last step needs, made ready: argv and envp, the
//     filters, the error messages; the caller's RLIMIT_NOFILE back, the Go
//     runtime's signal handlers replaced by the defaults execve would give,
//     the garbage collector off, stderr flushed;
//  5. the last step, raw syscalls on this thread only (finalStep.run):
//     CAP_SYS_ADMIN raised, the deny and allow programs loaded (snap-confine's
//     order), every capability dropped, execve. An error is written with
//     write(2) and ends the process with exit_group(2).
//
// Step 5 makes no other syscall, so the app's profile need allow only what
// snap-confine itself needs after loading it (capset, execve, write,
// exit_group): nothing the Go runtime does on other threads reaches this
// one, and none of its calls (futex, epoll_pwait, ...) run under the
// app's filter. Safe: every privilege is given up, and verified gone,
// before the caller's target runs, as the caller.
func (l *launcher) handover() error {
	if err := l.dropPrivileges(); err != nil {
		return err
	}
	l.restoreCwd()
	var set []string
	if l.cookie != "" {
		set = []string{"SNAP_COOKIE=" + l.cookie, "SNAP_CONTEXT=" + l.cookie}
	}
	env := policy.TargetEnv(l.env, l.secure, l.launch.Classic, set...)
	// The exec label is written before the seccomp profile is loaded, as
	// snap-confine does: the app's profile need not allow writing it.
	if err := l.execLabel(l.appLabel()); err != nil {
		return err
	}
	fin, err := l.prepareFinalStep(env)
	if err != nil {
		return err
	}
	restoreFileLimit()
	// No collection can start, so nothing stops the world or signals
	// this thread while it runs under the app's filter.
	debug.SetGCPercent(-1)
	unix.Umask(l.umask)
	l.debugf("executing %q", l.target)
	l.flushStderr()
	defaultSignalHandlers()
	fin.run()
	panic("unreachable")
}

// dropPrivileges permanently becomes the caller: real, effective and saved
// uid and gid are set to the caller's real ones on every thread
// (dropToCaller), and the result is verified on the thread that will
// exec. The supplementary groups are the caller's already (setuid execution
// does not change them) and are verified, not set.
//
// With file capabilities the ids already are the caller's and the drop
// empties the capability sets on every thread (setuid's change of euid
// does that by itself).
//
// One capability may outlive the drop: CAP_SYS_ADMIN, kept permitted (never
// effective) only to load the app's seccomp profile in the last step, which
// removes it. A setuid launcher keeps it across the change of uid with
// PR_SET_KEEPCAPS, on every thread, for the length of the drop.
func (l *launcher) dropPrivileges() error {
	keep := capSet{}
	if l.unprivilegedCaller() && len(l.profile.Programs) > 0 {
		keep = capsOf(policy.Ops[policy.OpSeccomp].Caps)
	}
	if err := l.dropToCaller(keep); err != nil {
		return err
	}
	if err := l.verifyIDs(); err != nil || !l.unprivilegedCaller() {
		return err
	}
	return verifyCaps(keep)
}

// unprivilegedCaller reports whether the launcher was given privilege that
// the caller does not have, which the app must not keep.
func (l *launcher) unprivilegedCaller() bool {
	return l.mode == planner.Setuid || l.mode == planner.FileCaps
}

// verifyIDs checks the calling thread's credentials after the drop: ids,
// groups, and that root cannot be regained.
func (l *launcher) verifyIDs() error {
	ruid, euid, suid := unix.Getresuid()
	rgid, egid, sgid := unix.Getresgid()
	if ruid != l.ruid || euid != l.ruid || suid != l.ruid {
		return fmt.Errorf("cannot drop privileges: uids are %d/%d/%d, want %d", ruid, euid, suid, l.ruid)
	}
	if rgid != l.rgid || egid != l.rgid || sgid != l.rgid {
		return fmt.Errorf("cannot drop privileges: gids are %d/%d/%d, want %d", rgid, egid, sgid, l.rgid)
	}
	groups, err := unix.Getgroups()
	if err != nil {
		return fmt.Errorf("cannot drop privileges: cannot get groups: %w", err)
	}
	if !slices.Equal(groups, l.groups) {
		return fmt.Errorf("cannot drop privileges: groups are %v, want %v", groups, l.groups)
	}
	if l.ruid == 0 {
		// A root caller runs the app as root, as with snap-confine.
		return nil
	}
	// The drop must be permanent: regaining uid 0 has to fail. This is
	// the thread-local x/sys call on purpose; should it succeed, the
	// launcher stops here and never execs.
	if err := unix.Setresuid(-1, 0, -1); err == nil {
		return fmt.Errorf("cannot drop privileges: uid 0 can still be regained")
	}
	return nil
}

// verifyCaps checks that the calling thread holds nothing but keep, and
// that only permitted: the last step raises it, uses it and drops it.
func verifyCaps(keep capSet) error {
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

// restoreCwd puts the app where the caller was. A classic app never changed
// namespace and goes back to the very directory (by descriptor, so no path
// can be swapped under it). A confined app's namespace is another view:
// setns moved this thread to its root, and the caller's path is looked up
// again in it, as snap-confine does, falling back to snapd's void directory
// and then "/" when the path does not exist there or the caller cannot enter
// it.
func (l *launcher) restoreCwd() {
	if l.cwdfd >= 0 {
		err := unix.Fchdir(l.cwdfd)
		unix.Close(l.cwdfd)
		if err == nil {
			return
		}
	}
	if l.cwd != "" {
		fd, err := unix.Open(l.cwd, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Fchdir(fd)
			unix.Close(fd)
		}
		if err == nil {
			return
		}
		l.debugf("cannot remain in %s (%v), moving to the void directory", l.cwd, err)
	}
	if unix.Chdir(layout.VoidDir) != nil {
		unix.Chdir("/")
	}
}

// finalStep is the last step of the handover, made ready beforehand so that
// running it allocates nothing and makes only raw syscalls.
type finalStep struct {
	path       *byte
	argv, envp []*byte
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

// prepareFinalStep makes the last step ready for env.
func (l *launcher) prepareFinalStep(env []string) (*finalStep, error) {
	execMsg := "cannot execute " + l.target[0]
	path, err := syscall.BytePtrFromString(l.target[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", execMsg, err)
	}
	argv, err := syscall.SlicePtrFromStrings(l.target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", execMsg, err)
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", execMsg, err)
	}
	fin := &finalStep{
		path: path, argv: argv, envp: envp,
		hdr:      unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3},
		raiseMsg: "cannot raise cap_sys_admin to load the seccomp profile of " + l.launch.Tag.String(),
		loadMsg:  "cannot load the seccomp profile of " + l.launch.Tag.String(),
		dropMsg:  "cannot drop the last capability",
		execMsg:  execMsg,
	}
	for _, prog := range l.profile.Programs {
		f, err := bpf.NewFilter(prog)
		if err != nil {
			return nil, err
		}
		fin.filters = append(fin.filters, f)
	}
	if len(fin.filters) > 0 {
		l.debugf("privileged: %s", policy.OpSeccomp)
	}
	if len(fin.filters) > 0 && l.unprivilegedCaller() {
		sysAdmin := capsOf(policy.Ops[policy.OpSeccomp].Caps)
		fin.raise, fin.drop = new([2]unix.CapUserData), new([2]unix.CapUserData)
		for i := range fin.raise {
			fin.raise[i] = unix.CapUserData{Effective: sysAdmin[i], Permitted: sysAdmin[i]}
		}
	}
	return fin, nil
}

// run is the last step: raw syscalls on the calling thread, nothing else
// (see handover). It never returns.
//
//go:nosplit
func (f *finalStep) run() {
	if f.raise != nil {
		if errno := capset(&f.hdr, f.raise); errno != 0 {
			f.die(f.raiseMsg, errno)
		}
		if capHook != nil {
			// Test builds only: report the capabilities of the load,
			// before the first filter is in place.
			capHook(policy.OpSeccomp)
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
func (f *finalStep) die(msg string, errno unix.Errno) {
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

// restoreFileLimit gives RLIMIT_NOFILE back the soft limit the caller set:
// the Go runtime raises it at start and lowers it again only inside
// syscall.Exec, which the last step does not use. That Exec is the only way
// the runtime offers to restore it, so one is made of a path that cannot
// exist (execve of "" fails with ENOENT and changes nothing).
func restoreFileLimit() {
	syscall.Exec("", nil, nil)
}

// defaultSignalHandlers sets every signal the Go runtime handles back to its
// default action, as execve would, and leaves ignored ones ignored. From
// here to the exec a signal does to the launcher what it does to
// snap-confine (a C program with no handlers); the runtime's handlers would
// run on this thread under the app's filter and die there, their
// rt_sigreturn denied. These are not privileged calls.
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
