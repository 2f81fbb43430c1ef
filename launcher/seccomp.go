package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// The app's seccomp profile is read in pid 1's namespace, before the snap's
// is joined, from what snapd compiled for its security tag:
//
//  1. <tag>.bin2 (snapd 2.64 and later): a header and two programs, deny
//     then allow in load order, or the unrestricted flag and nothing;
//  2. otherwise <tag>.bin (snapd 2.63 and earlier): one program, or the text
//     "@unrestricted"; a restricted one is followed by global.bin when
//     present, as snap-confine 2.57 loaded them;
//  3. neither there yet: snapd may still be writing it (a service snap
//     started in parallel with snapd at boot), so wait for one to appear,
//     as snap-confine does, for SNAP_CONFINE_MAX_PROFILE_WAIT seconds
//     (default 120, at most 3600). No lock is held while waiting, and the
//     caller's SIGINT, SIGTERM, SIGHUP or SIGQUIT end the wait.
//
// Every directory from / down to the profile must be root's and closed to
// group and other writes, and so must the file (snap-confine checks the
// same, so that nobody but root can choose what the kernel is given).

// maxProfileSize bounds a profile file: the header and two programs of at
// most bpf.MaxProgramSize each.
const maxProfileSize = bpf.Bin2HeaderSize + 2*bpf.MaxProgramSize

// Wait bounds, as snap-confine's.
const (
	defaultProfileWait = 120 * time.Second
	maxProfileWait     = 3600 * time.Second
	profilePoll        = 50 * time.Millisecond
)

// readProfile reads and checks the app's profile.
func (l *launcher) readProfile() (bpf.Profile, error) {
	bin2 := layout.SeccompName(l.plan.Tag)
	var wait *profileWait
	defer wait.stop()
	for {
		p, err := l.readProfileOnce()
		if !errors.Is(err, unix.ENOENT) {
			return p, err
		}
		if wait == nil {
			if wait, err = startProfileWait(maxProfileWait); err != nil {
				return bpf.Profile{}, err
			}
			l.debugf("waiting up to %s for %s/%s", wait.deadline.Sub(wait.start), layout.SeccompDir, bin2)
		}
		if err := wait.next(); err != nil {
			return bpf.Profile{}, fmt.Errorf("cannot find seccomp profile %s/%s: %w", layout.SeccompDir, bin2, err)
		}
	}
}

// readProfileOnce reads the profile in the order above; an error wrapping
// ENOENT means that neither format is there yet.
func (l *launcher) readProfileOnce() (bpf.Profile, error) {
	dir, err := trusted.OpenDir(layout.SeccompDir)
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot load the seccomp profile of %s: %w", l.plan.Tag, err)
	}
	defer unix.Close(dir)
	p, err := l.readProfileFile(dir, layout.SeccompName(l.plan.Tag), bpf.ParseBin2)
	if !errors.Is(err, unix.ENOENT) {
		return p, err
	}
	if p, err = l.readProfileFile(dir, layout.LegacySeccompName(l.plan.Tag), bpf.ParseBin); err != nil || p.Unrestricted {
		l.legacySnapd = err == nil
		return p, err
	}
	l.legacySnapd = true
	global, err := l.readProfileFile(dir, layout.GlobalSeccompName, bpf.ParseBin)
	switch {
	case err == nil:
		p.Programs = append(p.Programs, global.Programs...)
	case !errors.Is(err, unix.ENOENT):
		return bpf.Profile{}, err
	}
	return p, nil
}

// readProfileFile reads one profile file below dir with parse. A missing
// file is an error that wraps ENOENT.
func (l *launcher) readProfileFile(dir int, name string, parse func([]byte) (bpf.Profile, error)) (bpf.Profile, error) {
	display := "seccomp profile " + layout.SeccompDir + "/" + name
	data, err := trusted.ReadFileAt(dir, name, display, maxProfileSize)
	if err != nil {
		return bpf.Profile{}, err
	}
	p, err := parse(data)
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot use %s: %w", display, err)
	}
	l.debugf("read %s: unrestricted=%t, %d programs", display, p.Unrestricted, len(p.Programs))
	return p, nil
}

// profileWait is a bounded wait for a profile, cut short by the caller's
// signals.
type profileWait struct {
	start, deadline time.Time
	signals         chan os.Signal
}

// startProfileWait starts the wait with snap-confine's bound, which the
// caller may set (it only decides how long their own launch waits), at
// most max.
func startProfileWait(max time.Duration) (*profileWait, error) {
	limit := min(defaultProfileWait, max)
	if v, ok := os.LookupEnv("SNAP_CONFINE_MAX_PROFILE_WAIT"); ok {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs <= 0 {
			return nil, fmt.Errorf("cannot wait for the seccomp profile: SNAP_CONFINE_MAX_PROFILE_WAIT=%q is not a positive number of seconds", v)
		}
		limit = min(time.Duration(min(secs, 1<<30))*time.Second, max)
	}
	w := &profileWait{start: time.Now(), signals: make(chan os.Signal, 1)}
	w.deadline = w.start.Add(limit)
	signal.Notify(w.signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	return w, nil
}

// next waits for the next look, or fails when the time is up or a signal
// came.
func (w *profileWait) next() error {
	left := time.Until(w.deadline)
	if left <= 0 {
		return fmt.Errorf("not there after %s", w.deadline.Sub(w.start).Round(time.Second))
	}
	select {
	case sig := <-w.signals:
		return fmt.Errorf("waiting interrupted by %v", sig)
	case <-time.After(min(left, profilePoll)):
		return nil
	}
}

func (w *profileWait) stop() {
	if w != nil {
		signal.Stop(w.signals)
	}
}
