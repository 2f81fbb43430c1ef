// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/stale"
)

// A launch is a loop: the launcher asks the planner (planner.Decide) what
// to do with the facts it has gathered, gathers what the plan says it
// needs next (Plan.Need), in the order it can (the seccomp profile in pid
// 1's mount namespace; the snap's facts under its lock, after the global
// set-up; then what only some launches need), and asks again, until the
// plan needs nothing more or refuses. Then it executes the plan's steps,
// through the actions, and nothing else: every decision is the planner's,
// on facts the launcher read itself, with its privileges, under its
// locks. snap-ns gathers the same facts without privilege and prints the
// same plan.

// session holds what the launcher opened while it gathered facts, for the
// steps that act on it; close releases everything, the locks last.
type session struct {
	hostNS         int   // pid 1's mount namespace
	nsdir, lockdir int   // /run/snapd/ns, /run/snapd/lock
	locks          []int // the snap's lock, then the caller's per-user lock
	snapNS, userNS int   // the preserved namespace and per-user layer found, -1 for none
	baseDir        *os.File
	helper         helper
}

func newSession() *session {
	return &session{hostNS: -1, nsdir: -1, lockdir: -1, snapNS: -1, userNS: -1, helper: helper{fd: -1}}
}

func (s *session) close() {
	for _, fd := range []int{s.userNS, s.snapNS, s.nsdir, s.lockdir, s.hostNS} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if s.baseDir != nil {
		s.baseDir.Close()
	}
	s.helper.close()
	for i := len(s.locks) - 1; i >= 0; i-- {
		unlock(s.locks[i])
	}
	*s = *newSession()
}

// decideAndExecute is the loop above. It returns with every lock released
// and the main thread in the app's namespace.
func (l *launcher) decideAndExecute() error {
	s := newSession()
	defer s.close()
	for {
		p := planner.Decide(l.facts, l.priv.Mode())
		if p.Refusal != nil {
			return p.Refusal
		}
		if p.Need.Any() {
			if err := l.gather(p.Need, s); err != nil {
				return err
			}
			continue
		}
		if l.debug {
			for _, step := range p.Steps(l.facts) {
				l.debugf("plan: %s", step)
			}
		}
		return l.execute(p, s)
	}
}

// gather reads the facts need asks for.
func (l *launcher) gather(need planner.Need, s *session) error {
	f := &l.facts
	if need.Seccomp {
		if !l.launch.Classic {
			// The namespace work needs a thread with an fs_struct of
			// its own, in pid 1's namespace: everything from here on
			// is read there.
			if err := privop.UnshareFS(); err != nil {
				return err
			}
			var err error
			if s.hostNS, err = l.reassociate(); err != nil {
				return err
			}
			if err := l.gatherFeatures(); err != nil {
				return err
			}
		}
		f.Seccomp = l.readSeccomp()
		// A hook keeps the SNAP_COOKIE snapd gave it, as with
		// snap-confine.
		if !l.launch.Tag.IsHook() {
			l.readCookie()
		}
	}
	if need.Snap {
		if err := l.gatherSnap(s); err != nil {
			return err
		}
	}
	if need.TaggedDevices {
		if err := l.gatherDevices(); err != nil {
			return err
		}
	}
	if need.Occupancy {
		busy, why, err := gather.Occupied(layout.CgroupDir, l.launch.Instance)
		if err != nil {
			return err
		}
		f.Snap.Preserved.Occupancy = &planner.Occupancy{Busy: busy, Why: why}
	}
	if need.Inspection {
		mounts, err := l.inspectNamespace(s.snapNS)
		if err != nil {
			return err
		}
		f.Snap.Preserved.Mounts = &mounts
	}
	if need.UpdateNS {
		var err error
		if s.helper, err = l.openHelper(); err != nil {
			return err
		}
		u := &planner.UpdateNS{Path: s.helper.path, Installed: s.helper.fd >= 0}
		u.Profile, u.UserProfile = gather.MountProfiles(l.launch.Instance)
		f.Snap.UpdateNS = u
	}
	return nil
}

// gatherFeatures reads snapd's feature flags.
func (l *launcher) gatherFeatures() error {
	var err error
	if l.facts.Features, err = gather.Features(); err != nil {
		return err
	}
	if l.facts.Features.Parallel {
		l.debugf("feature %s is on", layout.ParallelInstancesFeature)
	}
	if l.facts.Features.PerUser {
		l.debugf("feature %s is on", layout.PerUserFeature)
	}
	return nil
}

// gatherSnap does snap-confine's global set-up of pid 1's namespace, takes
// the snap's lock and the caller's per-user lock, in that order (SECURITY.md,
// locks), and reads the snap's facts under them.
func (l *launcher) gatherSnap(s *session) error {
	var err error
	if s.nsdir, s.lockdir, err = l.initRunDirs(); err != nil {
		return err
	}
	// The rest of snap-confine's global initialisation: the snap mount
	// directory shared, and with the parallel-instances feature /snap and
	// /var/snap shared mount points (parallel.go), for confined snaps too.
	if err := l.ensureSharedSnapMount(s.lockdir); err != nil {
		return err
	}
	if l.facts.Features.Parallel {
		if err := l.ensureSnapDirMounts(s.lockdir); err != nil {
			return err
		}
	}
	inst := l.launch.Instance
	lock, err := l.lock(s.lockdir, layout.LockName(inst), layout.LockDir+"/"+layout.LockName(inst))
	if err != nil {
		return err
	}
	s.locks = append(s.locks, lock)
	if l.ruid != 0 {
		name := layout.UserLockName(inst, uint32(l.ruid))
		lock, err := l.lock(s.lockdir, name, layout.LockDir+"/"+name)
		if err != nil {
			return err
		}
		s.locks = append(s.locks, lock)
	}

	h := &l.facts.Host
	h.Distro, h.DebianLike = gather.Distro()
	h.SnapDir = l.snapDir
	l.debugf("host is %s, snaps in %s", h.Distro, h.SnapDir)
	if h.InContainer, err = gather.InContainer(); err != nil {
		return err
	}
	if h.Hierarchy, err = l.cgroupHierarchy(); err != nil {
		return err
	}
	snap := &planner.Snap{Removing: gather.Removing(inst)}
	snap.Base, s.baseDir = gather.Base(l.procfd, l.snapDir, l.launch.Base)
	if b := snap.Base; b.Err == nil {
		if b.Name != l.launch.Base {
			l.debugf("falling back to base snap %q instead of unavailable %q", b.Name, l.launch.Base)
		}
		l.debugf("base snap %s: revision %s on device %d:%d", b.Name, b.Revision, unix.Major(b.Device), unix.Minor(b.Device))
	}
	if snap.Homedirs, err = gather.Homedirs(); err != nil {
		return err
	}
	if !h.InContainer {
		snap.Devices.Settings, snap.Devices.SettingsErr = l.readDeviceSettings()
	}
	if s.snapNS, snap.Preserved, err = l.preserved(s, layout.MountNSName(inst), layout.InfoName(inst)); err != nil {
		return err
	}
	if l.ruid != 0 && l.facts.Features.PerUser {
		uid := uint32(l.ruid)
		if s.userNS, snap.UserLayer, err = l.preserved(s, layout.UserMountNSName(inst, uid), layout.UserInfoName(inst, uid)); err != nil {
			return err
		}
	}
	l.facts.Snap = snap
	return nil
}

// preserved opens the preserved namespace name of /run/snapd/ns (-1 when
// there is none) and reads its facts: its info file, whether it is the one
// captured there (verifyCaptured), its identity.
func (l *launcher) preserved(s *session, name, infoName string) (int, planner.Preserved, error) {
	var pre planner.Preserved
	fd, err := gather.OpenNS(l.procfd, s.nsdir, name)
	if err != nil || fd < 0 {
		if err == nil {
			l.debugf("no preserved mount namespace at %s/%s", layout.NSDir, name)
		}
		return -1, pre, err
	}
	pre.Present = true
	display := layout.NSDir + "/" + infoName
	var why string
	if pre.Info, pre.HaveInfo, why = gather.Info(s.nsdir, infoName, display); !pre.HaveInfo {
		l.debugf("no usable info file: %s", why)
	}
	// Before anything else, and before an inspection enters it.
	if err := l.verifyCaptured(s.hostNS, fd, planner.Recorded(pre.Info)); err != nil {
		pre.NotOurs = err.Error()
		return fd, pre, nil
	}
	if pre.Identity, err = identify(fd); err != nil {
		unix.Close(fd)
		return -1, pre, fmt.Errorf("cannot get the id of %s/%s: %w", layout.NSDir, name, err)
	}
	return fd, pre, nil
}

// gatherDevices reads the devices udev tagged for the app, the host's
// extra nodes and, on cgroup v2, the launcher's own cgroup.
func (l *launcher) gatherDevices() error {
	d := &l.facts.Snap.Devices
	tag := l.launch.Tag.String()
	tagged, err := gather.TaggedDevices(devcgroup.UdevTag(tag), func(name, why string) {
		l.debugf("skipping device %s: %s", name, why)
	})
	if err != nil {
		return fmt.Errorf("cannot set up the device cgroup of %s: %w", tag, err)
	}
	d.Tagged, d.Extra = &tagged, gather.ExtraDevices()
	if l.facts.Host.Hierarchy == devcgroup.V2 {
		self, err := readProcFile(l.procfd, "self/cgroup", devcgroup.MaxCgroupFileSize)
		if err != nil {
			return err
		}
		if d.OwnCgroup, err = devcgroup.OwnCgroupV2(self); err != nil {
			return fmt.Errorf("cannot read /proc/self/cgroup: %w", err)
		}
	}
	return nil
}

// inspectNamespace reads the mount table of the preserved namespace nsfd
// as a stream (mountinfo.Scan: any number of mounts, of any size, as users'
// mounts propagate into it), keeping only the entries an inspection looks
// at (stale.Relevant), on a throwaway thread that joins it
// (onThrowawayThread), so the rest of the launcher never leaves pid 1's
// namespace and nothing is forked.
func (l *launcher) inspectNamespace(nsfd int) ([]mountinfo.Entry, error) {
	cur := l.facts.Current()
	kept, err := onThrowawayThread("inspect the preserved namespace", func() ([]mountinfo.Entry, error) {
		if err := l.priv.Inspect(nsfd); err != nil {
			return nil, err
		}
		kept := []mountinfo.Entry{}
		return kept, l.scanMountTable("the preserved namespace's mountinfo", func(e mountinfo.Entry) error {
			if stale.Relevant(e, cur) {
				if len(kept) == maxInspected {
					return fmt.Errorf("more than %d mounts of the base or home directories", maxInspected)
				}
				kept = append(kept, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	l.debugf("inspected the preserved namespace: %d mounts of the base or home directories", len(kept))
	return kept, nil
}

// maxInspected bounds what an inspection keeps: only root mounts the base
// and home directories, a handful of times.
const maxInspected = 4096

// Device settings wait bounds, as snap-confine's: the settings file is
// waited for under the per-snap lock (DEVICES_FILE_MAX_WAIT, 120 s,
// whatever the environment says), so the caller may shorten the wait
// (SNAP_CONFINE_MAX_PROFILE_WAIT) but never hold the lock longer than
// snap-confine would.
const deviceSettingsMaxWait = 120 * time.Second

// readDeviceSettings reads snapd's settings file of the instance, waiting
// for it as snap-confine does. A snapd that writes .bin profiles may be
// older than the file (snapd 2.62 started writing it): then there is
// nothing to wait for, and its snap-confine set up a device cgroup only
// for tagged devices.
func (l *launcher) readDeviceSettings() (devcgroup.Settings, error) {
	display := devcgroup.SettingsDir + "/" + devcgroup.SettingsName(l.launch.Instance.String())
	var wait *profileWait
	defer wait.stop()
	for {
		settings, err := gather.DeviceSettings(l.launch.Instance)
		if !errors.Is(err, unix.ENOENT) {
			return settings, err
		}
		if l.legacySnapd() {
			l.debugf("no %s, and the seccomp profile is a .bin of snapd 2.63 or older: as snapd 2.61", display)
			return devcgroup.Settings{OldSnapd: true}, nil
		}
		if wait == nil {
			if wait, err = startProfileWait(deviceSettingsMaxWait); err != nil {
				return devcgroup.Settings{}, err
			}
			l.debugf("waiting up to %s for %s", wait.deadline.Sub(wait.start), display)
		}
		if err := wait.next(); err != nil {
			return devcgroup.Settings{}, fmt.Errorf("cannot open %s: %w", display, err)
		}
	}
}

// execute carries the plan out. A confined launch leaves the main thread
// in the app's namespace.
func (l *launcher) execute(p planner.Plan, s *session) error {
	if l.launch.Classic {
		return l.classicNamespace(p.Classic)
	}
	// The device cgroup is set up under the per-snap lock, before the
	// namespace, as snap-confine 2.77 does.
	if p.Devices.Set {
		if err := l.deviceCgroup(p.Devices); err != nil {
			return fmt.Errorf("cannot set up the device cgroup of %s: %w", l.launch.Tag, err)
		}
	}
	inst := l.launch.Instance
	snapNS, display := s.snapNS, "the preserved mount namespace "+layout.NSDir+"/"+layout.MountNSName(inst)
	snapID := l.facts.Snap.Preserved.Identity
	if p.Namespace.Action == planner.NamespaceRebuild {
		l.debugf("discarding the preserved mount namespace: %s", p.Namespace.Why)
		unix.Close(s.snapNS)
		s.snapNS, snapNS = -1, -1
		// Per-user layers go with it.
		unix.Close(s.userNS)
		s.userNS = -1
		if err := l.discard(s.nsdir, inst); err != nil {
			return err
		}
	}
	if p.Namespace.Action == planner.NamespaceRebuild || p.Namespace.Action == planner.NamespaceCreate {
		var err error
		if snapNS, snapID, err = l.createAndPreserve(s, p.Root); err != nil {
			return err
		}
		s.snapNS, display = snapNS, "the new mount namespace"
		l.ensureVoidDir()
	}
	// A non-root caller's app runs in a per-user layer on top of the
	// snap's namespace; root's runs in the snap's namespace itself.
	final := snapNS
	switch p.PerUser.Action {
	case planner.PerUserJoin:
		final, display = s.userNS, "the preserved per-user mount namespace "+layout.NSDir+"/"+layout.UserMountNSName(inst, uint32(l.ruid))
	case planner.PerUserEphemeral:
		nsfd, _, err := l.newUserNamespace(snapNS, 0, s.helper, p.PerUser.UpdateNS)
		if err != nil {
			return err
		}
		s.userNS, final, display = nsfd, nsfd, "a new, ephemeral per-user mount namespace (the per-user-mount-namespace feature is off)"
	case planner.PerUserCreate:
		if p.PerUser.Discard && s.userNS >= 0 {
			l.debugf("discarding the preserved per-user mount namespace: %s", p.PerUser.Why)
			unix.Close(s.userNS)
			s.userNS = -1
			if err := l.discardUserLayer(s.nsdir); err != nil {
				return err
			}
		}
		nsfd, err := l.createUserLayer(s, snapNS, snapID, p.PerUser.UpdateNS)
		if err != nil {
			return err
		}
		s.userNS, final, display = nsfd, nsfd, "the new per-user mount namespace "+layout.NSDir+"/"+layout.UserMountNSName(inst, uint32(l.ruid))
	}
	if err := l.priv.Join(final, display); err != nil {
		return err
	}
	l.debugf("joined %s", display)
	return nil
}
