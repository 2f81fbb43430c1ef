package launcher

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/layout"
)

// appProfiles are the app's seccomp programs, read (in pid 1's namespace,
// before the snap's is joined) from the files snapd compiled: global.bin,
// when present, then the security tag's own, which must be there.
type appProfiles [][]unix.SockFilter

// maxProfileSize bounds a profile file: BPF_MAXINSNS instructions.
const maxProfileSize = bpf.MaxInstructions * bpf.InstructionSize

// readProfiles reads and checks the app's profiles. A file is refused if it
// is missing (the tag's), not a regular root-owned file, writable by group
// or others, or not a whole number of BPF instructions.
func (l *launcher) readProfiles() (appProfiles, error) {
	dir, err := openDirPath(layout.SeccompDir)
	if err != nil {
		return nil, fmt.Errorf("cannot load the seccomp profile of %s: %w", l.plan.Tag, err)
	}
	defer unix.Close(dir)
	var profiles appProfiles
	for _, f := range []struct {
		name     string
		optional bool
	}{{layout.GlobalSeccompName, true}, {layout.SeccompName(l.plan.Tag), false}} {
		display := layout.SeccompDir + "/" + f.name
		fd, err := unix.Openat(dir, f.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && f.optional {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot open seccomp profile %s: %w", display, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		switch {
		case err != nil:
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			err = errors.New("not a regular file")
		case st.Uid != 0:
			err = fmt.Errorf("owned by uid %d, not root", st.Uid)
		case st.Mode&0o022 != 0:
			err = fmt.Errorf("writable by group or others (mode %04o)", st.Mode&0o7777)
		case st.Size > maxProfileSize:
			err = fmt.Errorf("%d bytes is over the limit of %d", st.Size, maxProfileSize)
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("cannot use seccomp profile %s: %w", display, err)
		}
		buf := make([]byte, st.Size+1)
		n, err := unix.Read(fd, buf)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("cannot read seccomp profile %s: %w", display, err)
		}
		prog, err := bpf.Parse(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("cannot use seccomp profile %s: %w", display, err)
		}
		profiles = append(profiles, prog)
	}
	l.debugf("read %d seccomp profiles for %s", len(profiles), l.plan.Tag)
	return profiles, nil
}

// loadProfiles installs the app's profiles on every thread, right before
// the exec, with CAP_SYS_ADMIN the only capability effective (no_new_privs
// is not used: it would also stop the app's setuid helpers and AppArmor
// transitions, as snap-confine avoids). The filters survive exec and bind
// the app; nothing else of the launcher is filtered.
func (l *launcher) loadProfiles(profiles appProfiles) error {
	return l.privileged(policy.OpSeccomp, func() error {
		for _, prog := range profiles {
			if err := bpf.Load(prog); err != nil {
				return err
			}
		}
		return nil
	})
}

// keepCapsAllThreads sets or clears PR_SET_KEEPCAPS on every thread: a
// setuid launcher keeps its permitted set across the drop of its uid only
// long enough to load the app's seccomp profiles.
func keepCapsAllThreads(on bool) error {
	v := uintptr(0)
	if on {
		v = 1
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, v, 0); e != 0 {
		return e
	}
	return nil
}
