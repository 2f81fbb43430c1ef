// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// updateNSTimeout bounds snap-update-ns: it runs while the per-snap lock is
// held.
const updateNSTimeout = 30 * time.Second

// helper is snapd's snap-update-ns, opened next to the launcher's own
// executable (openHelper) and named by its path; bin is nil when it is
// not installed.
type helper struct {
	bin  *desc.FD
	path string
}

// runSnapUpdateNS runs snap-update-ns (openHelper's; nil bin: not
// installed) in the new namespace, forked from the throwaway thread, by
// the descriptor checked to be root's: nothing of the caller reaches it
// (its environment, a session of its own, /dev/null and a pipe as its
// standard descriptors, no inherited descriptor).
func (s *session) runSnapUpdateNS() error {
	h := s.helper
	if h.bin == nil {
		// Without a mount profile (the planner refuses a launch that
		// has one).
		s.debugf("%s is not installed and there is no mount profile", h.path)
		return nil
	}
	argv := []string{"snap-update-ns", "--from-snap-confine", s.launch.Instance.String()}
	// With file capabilities the launcher cannot become root (no
	// cap_setuid): snap-update-ns runs as the caller with snap-confine
	// 2.70's ambient capabilities. The setuid install runs it as root.
	var asCaller *syscall.Credential
	if s.priv.Mode() == planner.FileCaps {
		asCaller = s.callerCredential()
	}
	return s.runHelper(h, argv, s.helperEnv(false), asCaller)
}

// callerCredential is the caller's uid, gid and groups for a helper.
func (s *session) callerCredential() *syscall.Credential {
	groups := make([]uint32, len(s.caller.groups))
	for i, g := range s.caller.groups {
		groups[i] = uint32(g)
	}
	return &syscall.Credential{Uid: uint32(s.caller.uid), Gid: uint32(s.caller.gid), Groups: groups}
}

// runUserSnapUpdateNS runs snap-update-ns --user-mounts in a new per-user
// namespace (the plan runs it when the snap has a per-user mount profile,
// as snap-confine does), as the caller with only policy.UserHelperCaps.
func (s *session) runUserSnapUpdateNS() error {
	h := s.helper
	argv := []string{"snap-update-ns", "--from-snap-confine", "--user-mounts", s.launch.Instance.String()}
	return s.runHelper(h, argv, s.helperEnv(true), s.callerCredential())
}

// helperEnv is snap-confine's environment for snap-update-ns: SNAPD_DEBUG,
// and for --user-mounts the caller's XDG_RUNTIME_DIR and SNAP_REAL_HOME.
func (s *session) helperEnv(user bool) []string {
	env := []string{"SNAPD_DEBUG=0"}
	if s.debug {
		env = []string{"SNAPD_DEBUG=1"}
	}
	if user {
		for _, kv := range s.caller.env {
			if strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") || strings.HasPrefix(kv, "SNAP_REAL_HOME=") {
				env = append(env, kv)
			}
		}
	}
	return env
}

// runHelper runs snap-update-ns with argv and env, as root or as the caller.
func (s *session) runHelper(h helper, argv, env []string, asCaller *syscall.Credential) error {
	s.debugf("running %s %v", h.path, argv[1:])
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("cannot make a pipe for %s: %w", h.path, err)
	}
	out, in := desc.New(p[0], h.path+"'s output"), desc.New(p[1], h.path+"'s output")
	defer out.Close()
	defer in.Close()
	// Only the launcher's end is non-blocking: a helper's grandchild
	// holding the other end must not stall the read.
	unix.SetNonblock(out.Fd(), true)
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open /dev/null: %w", err)
	}
	null := desc.New(fd, "/dev/null")
	defer null.Close()
	// The helper transitions to snap-update-ns.<instance> at its exec: the
	// exec label set on this (forking, throwaway) thread is inherited by
	// the child.
	var pid int
	if err = s.execLabel(s.helperLabel()); err == nil {
		err = s.withInheritedFDsClosedOnExec(func() (err error) {
			pid, err = s.priv.StartSnapUpdateNS(h.bin, argv, env, null, in, asCaller)
			return err
		})
	}
	// The launcher keeps no write end: the pipe ends with the helper.
	in.Close()
	null.Close()
	if err != nil {
		return err
	}
	return s.waitHelper(pid, out, h.path, updateNSTimeout)
}

// openHelper opens snap-update-ns next to the launcher's own executable, as
// snap-confine finds its tools, for execution by descriptor; bin is nil
// when it is not installed.
func (s *session) openHelper() (helper, error) {
	dir, err := openToolsDir(s.host.proc)
	if err != nil {
		return helper{}, err
	}
	defer dir.Close()
	h := helper{path: dir.Path(layout.SnapUpdateNSName)}
	bin, err := trusted.EntryAt(dir, layout.SnapUpdateNSName)
	if err == unix.ENOENT {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("cannot open %s: %w", h.path, err)
	}
	if err := trusted.RootOnly(bin, unix.S_IFREG); err != nil {
		bin.Close()
		return h, fmt.Errorf("cannot run %s: %w", h.path, err)
	}
	h.bin = bin
	return h, nil
}

// withInheritedFDsClosedOnExec runs fn (which starts a root helper) with
// close-on-exec set on every descriptor the caller passed without it, then
// clears it again: they reach the app, never the helper.
func (s *session) withInheritedFDsClosedOnExec(fn func() error) error {
	dir, err := trusted.DirAt(s.host.proc, "self/fd")
	if err != nil {
		return fmt.Errorf("cannot list descriptors: %w", err)
	}
	names, err := trusted.Names(dir)
	dir.Close()
	if err != nil {
		return fmt.Errorf("cannot list descriptors: %w", err)
	}
	// The launcher's own descriptors are all close-on-exec.
	var inherited []int
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd < 3 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			inherited = append(inherited, fd)
		}
	}
	for _, fd := range inherited {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			return fmt.Errorf("cannot hide descriptor %d from the helper: %w", fd, err)
		}
	}
	defer func() {
		for _, fd := range inherited {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
		}
	}()
	return fn()
}

// maxHelperOutput bounds what is kept of a helper's output.
const maxHelperOutput = 16 << 10

// helperOutput keeps the last maxHelperOutput bytes a helper wrote: its
// error, which ends its output, is what the caller needs to see.
type helperOutput struct {
	kept    []byte
	dropped int
}

func (o *helperOutput) add(b []byte) {
	o.kept = append(o.kept, b...)
	if over := len(o.kept) - maxHelperOutput; over > 0 {
		o.dropped += over
		o.kept = append(o.kept[:0], o.kept[over:]...)
	}
}

// text is what was kept, from the first whole line, after a line saying
// how much was left out.
func (o *helperOutput) text(path string) []byte {
	if o.dropped == 0 {
		return o.kept
	}
	rest, dropped := o.kept, o.dropped
	if i := bytes.IndexByte(rest, '\n'); i >= 0 && i+1 < len(rest) {
		rest, dropped = rest[i+1:], dropped+i+1
	}
	return append([]byte(fmt.Sprintf("(the first %d bytes of %s's output left out)\n", dropped, path)), rest...)
}

// maxDrainReads bounds the reads of a helper's output after it exited: a
// child it left behind could hold the pipe open and keep writing.
const maxDrainReads = 256

// waitHelper collects a helper's output from out until it exits, with a
// deadline after which it is killed, and turns its exit status into an
// error. The output is kept for stderr, shown once no lock is held.
func (s *session) waitHelper(pid int, out *desc.FD, path string, timeout time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		privop.KillHelper(pid)
		unix.Wait4(pid, nil, 0, nil)
		if err == unix.ENOSYS {
			return fmt.Errorf("cannot watch %s: the kernel has no pidfd_open (Linux 5.3; the launcher needs Linux %s or later)", path, policy.KernelFloor)
		}
		return fmt.Errorf("cannot watch %s: %w", path, err)
	}
	pidfd := desc.New(fd, path)
	defer pidfd.Close()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	var output helperOutput
	defer func() { s.deferStderr(output.text(path)) }()
	for exited, outOpen := false, true; !exited; {
		left := time.Until(deadline)
		if left <= 0 {
			privop.KillHelper(pid)
			break
		}
		fds := []unix.PollFd{{Fd: int32(pidfd.Fd()), Events: unix.POLLIN}}
		if outOpen {
			fds = append(fds, unix.PollFd{Fd: int32(out.Fd()), Events: unix.POLLIN})
		}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			privop.KillHelper(pid)
			break
		}
		if outOpen && fds[1].Revents != 0 {
			n, err := unix.Read(out.Fd(), buf)
			if n > 0 {
				output.add(buf[:n])
			}
			if n <= 0 && err != unix.EINTR && err != unix.EAGAIN {
				outOpen = false
			}
		}
		exited = fds[0].Revents != 0
	}
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	// Whatever the helper wrote last is still in the pipe; a read that
	// would wait (a child left behind holds the pipe) ends the drain.
	for i := 0; i < maxDrainReads; i++ {
		fds := []unix.PollFd{{Fd: int32(out.Fd()), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
			break
		}
		n, _ := unix.Read(out.Fd(), buf)
		if n <= 0 {
			break
		}
		output.add(buf[:n])
	}
	switch {
	case err != nil:
		return fmt.Errorf("cannot wait for %s: %w", path, err)
	case ws.Signaled() && ws.Signal() == unix.SIGKILL:
		return fmt.Errorf("cannot run %s: killed (deadline of %s or SIGKILL)", path, timeout)
	case ws.Signaled():
		return fmt.Errorf("cannot run %s: killed by %s", path, ws.Signal())
	case ws.ExitStatus() != 0:
		return fmt.Errorf("cannot run %s: exit status %d", path, ws.ExitStatus())
	}
	return nil
}
