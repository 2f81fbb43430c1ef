// SPDX-License-Identifier: GPL-3.0-only

// Package launcher is the privileged half of snapns, installed as snapd's
// snap-confine: it takes snap-confine's command line as untrusted input,
// gathers the facts of the launch itself, asks the planner what to do
// (planner.Decide, pure), executes only that plan through its closed set of
// actions (package privop), drops every privilege and execs the target.
//
// The promise: whoever runs it controls its argv, environment, descriptors,
// working directory, limits, signals and timing, and yet for every command
// line it does nothing the same user could not have had it do through an
// honest one (SECURITY.md §1). The main goroutine is locked to the main
// thread from init; the namespace work and the final exec happen on that
// thread, a new namespace on a throwaway one (create.go).
package launcher

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/nodump"
	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
)

func init() {
	// Before any of the launcher's own code: a caller who set one of the
	// Go runtime's variables has the launcher executed again without them,
	// so that they act on the runtime's start and on the initialisers of
	// the packages it imports (SECURITY.md §6), never on what it does.
	reexecWithoutRuntimeEnv(os.Args)
	// Then, while the process has the fewest threads (the lock below
	// starts the runtime's template thread): no thread keeps an effective
	// capability (privop).
	privop.EmptyEffectiveEverywhere()
	// The namespace work and the exec must happen on one known thread: a
	// mount namespace belongs to a thread, and execve keeps only the
	// calling thread. init runs on the main goroutine, so this pins it.
	runtime.LockOSThread()
}

// Version is set at build time.
var Version = "dev"

// launcher is one run of the launcher: who called it (caller), its
// privilege (privop), the validated command line and its own output. None
// of it changes once run has read it; what a launch learns and opens is a
// session's (launch.go).
type launcher struct {
	caller caller
	priv   *privop.Privileges // the launcher's privilege, and its actions
	launch planner.Launch
	target []string
	debug  bool

	// stderr holds what the launcher and its helper have to say until no
	// lock is held any more: the caller owns fd 2 and can make a write to
	// it block for as long as they like (a full pipe, a stopped
	// terminal), which must never happen while other users wait for a
	// lock.
	stderr []byte
}

// caller is who runs the launcher and what the process inherited from
// them besides the command line, read once at start.
type caller struct {
	uid, gid int
	groups   []int
	umask    int      // cleared at start, theirs again right before the exec
	cwd      string   // their working directory, "" if unknown
	cwdDir   *desc.FD // it, O_PATH, for classic launches; nil if none
	env      []string // their environment (callerEnv)
	secure   bool     // the kernel's AT_SECURE: the launch raised privilege
}

// readCaller reads the caller of this process. Its umask is cleared
// (every file the launcher creates gets exactly its mode) while every
// thread still shares the fs_struct. Its working directory is a path to
// re-enter after the namespace changed and, for classic launches, a
// descriptor.
func readCaller(classic bool) (caller, error) {
	secure := atSecure()
	c := caller{uid: unix.Getuid(), gid: unix.Getgid(), umask: privop.SetUmask(0), env: callerEnv(secure), secure: secure}
	if err := checkCallerIDs(c.uid, c.gid); err != nil {
		return c, err
	}
	var err error
	if c.groups, err = unix.Getgroups(); err != nil {
		return c, fmt.Errorf("cannot get supplementary groups: %w", err)
	}
	if wd, err := unix.Getwd(); err == nil {
		c.cwd = wd
	}
	if classic {
		if fd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			c.cwdDir = desc.New(fd, c.cwd)
		}
	}
	return c, nil
}

// maxDeferredStderr bounds what is kept for stderr; the rest is dropped.
const maxDeferredStderr = 64 << 10

// Main runs the launcher with the process's arguments and never returns on
// success: it execs the target. It returns the exit status on failure.
func Main(args []string) (status int) {
	if nodump.Err != nil {
		fail(fmt.Errorf("cannot make the launcher non-dumpable: %w", nodump.Err))
		return 1
	}
	l := &launcher{}
	defer func() {
		if r := recover(); r != nil {
			l.flushStderr()
			fail(fmt.Errorf("cannot launch: internal error: %v", r))
			status = 1
		}
	}()
	if err := l.run(args); err != nil {
		l.flushStderr()
		fail(err)
		return 1
	}
	return 0
}

// reexecWithoutRuntimeEnv executes the launcher again with the Go runtime's
// variables (policy.RuntimeEnv) renamed when the caller set any, before any
// of the launcher's code runs: the runtime has acted on them, and some
// (GODEBUG=schedtrace=1 with a blocked stderr) could stall the launcher
// while it holds a lock. The app gets them back (SECURITY.md §6); snapd
// sets none, so only such callers pay for the exec.
func reexecWithoutRuntimeEnv(args []string) {
	env, found := policy.SaveRuntimeEnv(callerEnv(atSecure()))
	if !found {
		return
	}
	err := privop.Reexec(args, env)
	fail(fmt.Errorf("cannot re-execute without the Go runtime's variables: %w", err))
	os.Exit(1)
}

// callerEnv is the environment the caller passed. In secure mode the
// runtime has put its own GOTRACEBACK in its copy; the caller's, if any,
// is taken from the initial environment block (/proc/self/environ, root's
// 0400 in a non-dumpable process: the file-capability install cannot read
// it, SECURITY.md §9). It only ever reaches the app.
func callerEnv(secure bool) []string {
	env := os.Environ()
	if secure {
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "GOTRACEBACK=") })
		if kv, ok := initialEnv("GOTRACEBACK="); ok {
			env = append(env, kv)
		}
	}
	return env
}

// maxEnviron bounds the initial environment block read (the kernel's own
// bound on argv and envp together is a quarter of the stack limit).
const maxEnviron = 8 << 20

// initialEnv returns the first entry of the process's initial environment
// block that starts with prefix.
func initialEnv(prefix string) (string, bool) {
	fd, err := unix.Open("/proc/self/environ", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer desc.New(fd, "/proc/self/environ").Close()
	buf := make([]byte, 0, 16<<10)
	for len(buf) < maxEnviron {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	for _, kv := range strings.Split(string(buf), "\x00") {
		if strings.HasPrefix(kv, prefix) {
			return kv, true
		}
	}
	return "", false
}

// fail writes err on stderr as exactly one line.
func fail(err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if !strings.HasPrefix(msg, "cannot ") {
		msg = "cannot launch: " + msg
	}
	writeStderr(msg + "\n")
}

func writeStderr(s string) {
	// Raw write: no buffering, nothing that could panic.
	unix.Write(2, []byte(s))
}

// deferStderr keeps b for stderr until flushStderr.
func (l *launcher) deferStderr(b []byte) {
	if room := maxDeferredStderr - len(l.stderr); room > 0 {
		l.stderr = append(l.stderr, b[:min(len(b), room)]...)
	}
}

// flushStderr writes what was kept for stderr. It is called only when the
// launcher holds no lock: before the exec, or on the way out after a
// failure.
func (l *launcher) flushStderr() {
	if len(l.stderr) > 0 {
		unix.Write(2, l.stderr)
		l.stderr = nil
	}
}

func (l *launcher) run(args []string) error {
	p, version, err := parseArgs(args)
	if err != nil {
		return err
	}
	if version != "" {
		unix.Write(1, []byte(version))
		return nil
	}
	l.launch = planner.Launch{Classic: p.Classic, Instance: p.Instance, Tag: p.Tag, Base: p.Base}
	l.target, l.debug = p.Target(), p.Debug
	if l.caller, err = readCaller(p.Classic); err != nil {
		return err
	}
	c := &l.caller
	l.debugf("launch: classic=%t instance=%s tag=%s base=%s", p.Classic, p.Instance, p.Tag, p.Base)
	l.debugf("caller: uid=%d gid=%d groups=%v euid=%d cwd=%q", c.uid, c.gid, c.groups, unix.Geteuid(), c.cwd)
	if l.priv, err = privop.Acquire(c.uid, l.debugLog()); err != nil {
		return err
	}
	s := &session{launcher: l, facts: planner.Facts{Launch: l.launch, CallerUID: uint32(c.uid)}}
	defer s.close()
	s.detectAppArmor()
	if p.Classic {
		// A classic app stays in the caller's namespace, where
		// snap-confine reads the flags too.
		if err := s.gatherFeatures(); err != nil {
			return err
		}
	}
	if err := s.decideAndExecute(); err != nil {
		return err
	}
	return s.handover()
}

// checkCallerIDs refuses a caller whose real uid or gid is (uid_t)-1 or
// -2 before anything is created: -1 is chown's and setresuid's "leave
// unchanged" (a drop to it would keep root's ids; the kernel never gives
// it, so this is defence in depth), -2 the "no id" next to it (NFS's
// nfsnobody). Compared as the kernel's 32-bit uid_t, whatever int's size.
func checkCallerIDs(uid, gid int) error {
	invalid := func(id int) bool { return uint32(id) == ^uint32(0) || uint32(id) == ^uint32(1) }
	if invalid(uid) {
		return fmt.Errorf("cannot launch for uid %d: not a valid user id", uint32(uid))
	}
	if invalid(gid) {
		return fmt.Errorf("cannot launch for gid %d: not a valid group id", uint32(gid))
	}
	return nil
}

// atSecure reports the kernel's AT_SECURE for this process: set for a
// setuid or file-capability launch that raised privilege, not for a root
// caller. The dynamic loader decides on it what to strip from the
// environment, so the launcher does too (policy.TargetEnv).
func atSecure() bool {
	const atSecureKey = 23 // AT_SECURE, linux/auxvec.h
	auxv, err := unix.Auxv()
	if err != nil {
		// Unknown: strip, as for the setuid launch it most likely is.
		return true
	}
	for _, kv := range auxv {
		if kv[0] == atSecureKey {
			return kv[1] != 0
		}
	}
	return true
}

// debugLog is debugf for privop, nil without a debug log.
func (l *launcher) debugLog() func(format string, args ...any) {
	if !l.debug {
		return nil
	}
	return l.debugf
}

func (l *launcher) debugf(format string, args ...any) {
	if !l.debug {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.deferStderr([]byte("DEBUG: " + Name + ": " + strings.ReplaceAll(msg, "\n", `\n`) + "\n"))
}
