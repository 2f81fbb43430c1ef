// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/stale"
	"github.com/snapns/snapns/shared/trusted"
)

// buildFacts is what a namespace for this launch is built from, gathered
// once under the per-snap lock: it decides whether the preserved namespace
// is stale, and a new namespace is built from exactly these facts and
// records them in its info file.
type buildFacts struct {
	base   *baseSnap
	distro host.Distro
	debian bool // the host is Debian-like (host.DebianLike)
	// mergedUsr: removable media are in /run/media (policy.NormalModeBinds),
	// on the hosts that mount snaps in /var/lib/snapd/snap.
	mergedUsr bool
	normal    bool
	homedirs  []string
	perUser   bool // the per-user-mount-namespace feature is on
}

func (f *buildFacts) current() stale.Current {
	return stale.Current{Base: f.base.name, Revision: f.base.revision, Device: f.base.dev, Homedirs: f.homedirs, Normal: f.normal}
}

func (l *launcher) gatherFacts() (*buildFacts, error) {
	base, err := l.resolveBase()
	if err != nil {
		return nil, err
	}
	f := &buildFacts{base: base}
	f.distro, f.debian = classifyHost()
	f.mergedUsr = l.snapDir == layout.AlternateSnapMountDir
	f.normal = host.NormalMode(f.distro, l.plan.Base)
	l.debugf("host is %s: %s mode", f.distro, map[bool]string{true: "normal", false: "legacy"}[f.normal])
	if f.homedirs, err = readHomedirs(); err != nil {
		base.close()
		return nil, err
	}
	var st unix.Stat_t
	f.perUser = unix.Lstat(layout.PerUserFeatureFile, &st) == nil
	return f, nil
}

// readHomedirs reads the homedirs= setting of snapd's root-owned
// /var/lib/snapd/system-params; a missing file means none.
func readHomedirs() ([]string, error) {
	data, err := trusted.ReadFile(filepath.Dir(layout.SystemParams), filepath.Base(layout.SystemParams), info.MaxSize)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return info.SystemParamsHomedirs(data)
}

// checkStaleness decides, under the per-snap lock and from the launcher's
// own facts alone, whether the preserved namespace nsfd may be joined. A
// plan has no say (it carries no vote): a forged plan can neither discard a
// fresh namespace nor discard an occupied one after a mere refresh, and an
// honest one planned before a concurrent launch rebuilt the namespace is not
// refused for being out of date. Only the base a plan names counts, as
// snap-confine's --base does: a namespace built on another base must go.
func (l *launcher) checkStaleness(hostNS, nsdir, nsfd int, f *buildFacts) (keep bool, err error) {
	cur := f.current()
	in, have, err := l.readInfo(nsdir)
	if err != nil {
		return false, err
	}
	// Before anything else, and before the inspection enters it.
	if err := l.verifyCaptured(hostNS, nsfd, recordedIdentity(in)); err != nil {
		l.debugf("the preserved mount namespace is not the one captured there: %v: discarding it", err)
		return false, nil
	}
	d, inspect := stale.Decide(in, have, cur)
	if inspect {
		if d, err = l.inspectNamespace(nsfd, cur); err != nil {
			return false, err
		}
	}
	l.debugf("staleness: %s (%s)", d.Vote, d.Reason)
	if d.Vote == stale.Should {
		busy, why, err := stale.Occupied(layout.CgroupDir, l.plan.Instance)
		if err != nil {
			return false, err
		}
		if busy {
			l.debugf("stale but occupied (%s): kept", why)
			d = stale.Decision{Vote: stale.Keep, Reason: d.Reason + ", but the snap is running: " + why}
		}
	}
	return d.Vote == stale.Keep, nil
}

// readInfo reads the namespace's info file. A missing one, or anything but a
// root-owned regular file there, counts as "no info": the namespace is then
// inspected instead.
func (l *launcher) readInfo(nsdir int) (info.Info, bool, error) {
	name := layout.InfoName(l.plan.Instance)
	data, err := trusted.ReadFileAt(nsdir, name, layout.NSDir+"/"+name, info.MaxSize)
	if err != nil {
		l.debugf("no usable info file: %v", err)
		return info.Info{}, false, nil
	}
	in, err := info.Parse(data)
	if err != nil {
		l.debugf("ignoring the info file: %v", err)
		return info.Info{}, false, nil
	}
	return in, true, nil
}

// inspectNamespace decides from the mount table of the preserved namespace
// nsfd, read as a stream (mountinfo.Scan: any number of mounts, of any
// size, as users' mounts propagate into it) on a throwaway thread that
// joins it (onThrowawayThread), so the rest of the launcher never leaves
// pid 1's namespace and nothing is forked.
func (l *launcher) inspectNamespace(nsfd int, cur stale.Current) (stale.Decision, error) {
	in := stale.NewInspection(cur)
	entries, err := onThrowawayThread("inspect the preserved namespace", func() (int, error) {
		if err := l.inspect(nsfd); err != nil {
			return 0, err
		}
		n := 0
		return n, l.scanMountTable("the preserved namespace's mountinfo", func(e mountinfo.Entry) error {
			n++
			in.Add(e)
			return nil
		})
	})
	if err != nil {
		return stale.Decision{}, err
	}
	l.debugf("inspected the preserved namespace: %d mounts", entries)
	return in.Decision(), nil
}
