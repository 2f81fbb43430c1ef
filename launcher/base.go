// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
)

// baseSnap is the plan's base snap, resolved once, on the host, before a
// namespace is made: /snap/<base>/current is read once, and everything after
// uses the descriptor of the revision it named, so a refresh that changes
// the link in the meantime cannot mix two revisions.
type baseSnap struct {
	name     string
	revision string
	fd       int    // /snap/<base>/<revision>, a mount point
	dev      uint64 // its device, recorded in the info file
}

func (b *baseSnap) close() {
	if b != nil && b.fd >= 0 {
		unix.Close(b.fd)
	}
}

// resolveBase opens <snap mount dir>/<base>/<revision> for the plan's
// base. The link must name a revision directly below <base>/ ("1", or
// "/snap/<base>/1"), and that revision must be a mount point: a base that is
// not mounted is not installed. As snap-confine does, a missing "core16"
// falls back to "core", and a missing "core" to "ubuntu-core": the base
// returned is the one used.
func (l *launcher) resolveBase() (*baseSnap, error) {
	snap, err := openDirPath(l.snapDir)
	if err != nil {
		return nil, fmt.Errorf("cannot use base snap %q: %w", l.plan.Base, err)
	}
	defer unix.Close(snap)
	name := l.plan.Base
	if fallback, ok := layout.BaseFallback(name); ok && !hasCurrent(snap, name) && hasCurrent(snap, fallback) {
		l.debugf("falling back to base snap %q instead of unavailable %q", fallback, name)
		name = fallback
	}
	display := l.snapDir + "/" + name
	dir, err := openDirAt(snap, name, display)
	if err != nil {
		return nil, fmt.Errorf("cannot use base snap %q: %w", name, err)
	}
	defer unix.Close(dir)
	buf := make([]byte, 256)
	n, err := unix.Readlinkat(dir, "current", buf)
	if err != nil {
		return nil, fmt.Errorf("cannot use base snap %q: cannot read %s/current: %w", name, display, err)
	}
	target := string(buf[:n])
	rev := strings.TrimPrefix(target, display+"/")
	if err := naming.ValidateRevision(rev); err != nil {
		return nil, fmt.Errorf("cannot use base snap %q: %s/current points to %q, not to a revision in %s: %w", name, display, target, display, err)
	}
	fd, err := unix.Openat(dir, rev, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot use base snap %q: cannot open %s/%s: %w", name, display, rev, err)
	}
	var st unix.Stat_t
	mounted, err := l.mountRoot(dir, fd)
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot inspect %s/%s: %w", display, rev, err)
	}
	if !mounted {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot use base snap %q: %s/%s is not a mount point", name, display, rev)
	}
	b := &baseSnap{name: name, revision: rev, fd: fd, dev: st.Dev}
	l.debugf("base snap %s: revision %s on device %d:%d", name, rev, unix.Major(st.Dev), unix.Minor(st.Dev))
	return b, nil
}

// hasCurrent reports whether the snap name has a current revision below
// the snap mount directory snap (what snap-confine's access(F_OK) of
// <dir>/<name>/current tells).
func hasCurrent(snap int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(snap, name+"/current", &st, 0) == nil
}
