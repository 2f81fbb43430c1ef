// SPDX-License-Identifier: GPL-3.0-only

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

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/seccomp/profile"
)

// The app's seccomp profile is read in pid 1's namespace, in
// snap-confine's order and with its checks (seccomp/profile); when snapd
// has not written it yet (a service started with snapd at boot) it is
// waited for as snap-confine waits, SNAP_CONFINE_MAX_PROFILE_WAIT seconds
// (default 120, at most 3600), holding no lock, until the caller's SIGINT,
// SIGTERM, SIGHUP or SIGQUIT.

// Wait bounds, as snap-confine's.
const (
	defaultProfileWait = 120 * time.Second
	maxProfileWait     = 3600 * time.Second
	profilePoll        = 50 * time.Millisecond
)

// readSeccomp reads and checks the app's profile (readProfile), for the
// handover, and tells the planner what it holds.
func (l *launcher) readSeccomp() (bpf.Profile, *planner.Seccomp) {
	p, format, file, err := l.readProfile()
	return p, &planner.Seccomp{Path: file, Format: string(format), Programs: len(p.Programs), Unrestricted: p.Unrestricted, Err: err}
}

// readProfile reads and checks the app's profile, waiting for it.
func (l *launcher) readProfile() (bpf.Profile, profile.Format, string, error) {
	var wait *profileWait
	defer wait.stop()
	for {
		p, format, file, err := profile.Read(l.launch.Tag)
		if !errors.Is(err, unix.ENOENT) {
			if err == nil {
				l.debugf("read seccomp profile %s (%s): unrestricted=%t, %d programs", file, format, p.Unrestricted, len(p.Programs))
			}
			return p, format, file, err
		}
		if wait == nil {
			if wait, err = startProfileWait(maxProfileWait); err != nil {
				return bpf.Profile{}, format, file, err
			}
			l.debugf("waiting up to %s for %s", wait.deadline.Sub(wait.start), file)
		}
		if err := wait.next(); err != nil {
			return bpf.Profile{}, format, file, fmt.Errorf("cannot find seccomp profile %s: %w", file, err)
		}
	}
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
