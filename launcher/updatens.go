package launcher

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/layout"
)

// updateNSTimeout bounds snap-update-ns: it runs while the per-snap lock is
// held, and its stderr is the caller's, which the caller may never read.
const updateNSTimeout = 30 * time.Second

// runSnapUpdateNS runs snapd's snap-update-ns, when it is installed, inside
// the new namespace (it runs on the throwaway thread, so the child is forked
// from that thread and inherits its namespace). The binary is opened without
// following symlinks, checked on the descriptor to be root-owned and not
// writable by others, and executed through that descriptor, so it cannot be
// swapped between the check and the exec. Its environment is built here,
// not inherited.
func (l *launcher) runSnapUpdateNS() error {
	fd, err := openHelper(layout.SnapUpdateNS)
	if err != nil || fd < 0 {
		return err
	}
	defer unix.Close(fd)
	argv := []string{"snap-update-ns", "--from-snap-confine", l.plan.Instance.String()}
	// snap-confine gives snap-update-ns exactly this environment.
	env := []string{"SNAPD_DEBUG=0"}
	if l.debug {
		env = []string{"SNAPD_DEBUG=1"}
	}
	return l.privileged(policy.OpSnapUpdateNS, func() error {
		l.debugf("running %s %v", layout.SnapUpdateNS, argv[1:])
		pid, err := syscall.ForkExec(fdPath(fd), argv, &syscall.ProcAttr{
			Env:   env,
			Files: []uintptr{0, 1, 2},
			Sys: &syscall.SysProcAttr{
				// Fully root, like snap-confine's helper: the
				// caller's uid must not be able to signal or
				// ptrace it while it changes mounts.
				Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}},
				Pdeathsig:  syscall.SIGKILL,
			},
		})
		if err != nil {
			return fmt.Errorf("cannot run %s: %w", layout.SnapUpdateNS, err)
		}
		return waitHelper(pid, layout.SnapUpdateNS, updateNSTimeout)
	})
}

// openHelper opens a helper binary for execution by descriptor. It returns
// -1 and no error when the helper is not installed.
func openHelper(path string) (int, error) {
	dir, name := filepath.Split(path)
	dirfd, err := openDirPath(dir)
	if err == nil {
		defer unix.Close(dirfd)
		var fd int
		fd, err = unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			return fd, checkHelper(fd, path)
		}
	}
	if errors.Is(err, unix.ENOENT) {
		return -1, nil
	}
	return -1, fmt.Errorf("cannot open %s: %w", path, err)
}

func checkHelper(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("cannot run %s: not a regular file", path)
	case st.Uid != 0:
		return fmt.Errorf("cannot run %s: owned by uid %d, not root", path, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("cannot run %s: writable by group or others (mode %04o)", path, st.Mode&0o7777)
	}
	return nil
}

// waitHelper waits for a helper with a deadline, killing it when the
// deadline passes, and turns its exit status into an error.
func waitHelper(pid int, path string, timeout time.Duration) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		defer unix.Close(pidfd)
		deadline := time.Now().Add(timeout)
		for {
			left := time.Until(deadline)
			if left <= 0 {
				unix.Kill(pid, unix.SIGKILL)
				break
			}
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
			if n > 0 || (err != nil && err != unix.EINTR) {
				break
			}
		}
	}
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
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
