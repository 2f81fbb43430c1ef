// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/seccomp/profile"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/stale"
	"github.com/snapns/snapns/shared/trusted"
)

// A launch is a loop: the launcher asks the planner (planner.Decide) what
// to do with the facts it has, gathers what the plan needs next
// (Plan.Need), in the order it can (the seccomp profile in pid 1's
// namespace, the snap's facts under its lock, then what only some launches
// need), and asks again until the plan needs nothing more or refuses; then
// it executes the plan's steps, through the actions. snap-ns gathers the
// same facts without privilege and prints the same plan.

// session is one launch: the facts gathered for the planner, what the
// launcher opened to gather them and to execute the plan (closed, the
// locks last, before the handover), and what the handover takes from it.
// Each step gets what it needs from it by name: nothing of the launch is
// kept on the launcher.
type session struct {
	*launcher
	facts planner.Facts
	aa    gather.AppArmor // what AppArmor detection found, at start
	host  host            // pid 1's namespace, once the launcher is in it (enterHost)

	nsdir, lockdir *desc.FD   // /run/snapd/ns, /run/snapd/lock
	locks          []*desc.FD // the snap's lock, then the caller's per-user lock
	snapNS, userNS *desc.FD   // the preserved namespace and per-user layer found, nil for none
	baseDir        *desc.FD   // the base snap's revision, as resolved
	helper         helper     // snap-update-ns

	profile   bpf.Profile // the app's seccomp profile, loaded last
	cookie    string      // the snap's cookie for snapctl, "" if none
	cwdByPath bool        // the classic app got a namespace of its own: its directory is looked up again
}

// release closes what the launch opened, the locks last; pid 1's /proc
// stays for the handover.
func (s *session) release() {
	for _, d := range []*desc.FD{s.userNS, s.snapNS, s.nsdir, s.lockdir, s.host.ns, s.baseDir, s.helper.bin} {
		d.Close()
	}
	for i := len(s.locks) - 1; i >= 0; i-- {
		unlock(s.locks[i])
	}
	s.locks = nil
}

// close releases everything, /proc too.
func (s *session) close() {
	s.release()
	s.host.proc.Close()
}

// decideAndExecute is the loop above. It returns with every lock released
// and the main thread in the app's namespace.
func (s *session) decideAndExecute() error {
	defer s.release()
	for {
		p := planner.Decide(s.facts, s.priv.Mode())
		if p.Refusal != nil {
			return p.Refusal
		}
		if p.Need.Any() {
			if err := s.gather(p.Need); err != nil {
				return err
			}
			continue
		}
		if s.debug {
			for _, step := range p.Steps(s.facts) {
				s.debugf("plan: %s", step)
			}
		}
		return s.execute(p)
	}
}

// gather reads the facts need asks for.
func (s *session) gather(need planner.Need) error {
	f := &s.facts
	if need.Seccomp {
		if !s.launch.Classic {
			// The namespace work needs a thread with an fs_struct of
			// its own, in pid 1's namespace: everything from here on
			// is read there.
			if err := privop.UnshareFS(); err != nil {
				return err
			}
			if err := s.enterHost(); err != nil {
				return err
			}
			if err := s.gatherFeatures(); err != nil {
				return err
			}
		}
		s.profile, f.Seccomp = s.readSeccomp()
		// A hook keeps the SNAP_COOKIE snapd gave it, as with
		// snap-confine.
		if !s.launch.Tag.IsHook() {
			s.cookie = s.readCookie()
		}
	}
	if need.Snap {
		if err := s.gatherSnap(); err != nil {
			return err
		}
	}
	if need.TaggedDevices {
		if err := s.gatherDevices(); err != nil {
			return err
		}
	}
	if need.Occupancy {
		busy, why, err := gather.Occupied(layout.CgroupDir, s.launch.Instance)
		if err != nil {
			return err
		}
		f.Snap.Preserved.Occupancy = &planner.Occupancy{Busy: busy, Why: why}
	}
	if need.Inspection {
		mounts, err := s.inspectNamespace(s.snapNS)
		if err != nil {
			return err
		}
		f.Snap.Preserved.Mounts = &mounts
	}
	if need.UpdateNS {
		var err error
		if s.helper, err = s.openHelper(); err != nil {
			return err
		}
		u := &planner.UpdateNS{Path: s.helper.path, Installed: s.helper.bin != nil}
		u.Profile, u.UserProfile = gather.MountProfiles(s.launch.Instance)
		f.Snap.UpdateNS = u
	}
	return nil
}

// gatherFeatures reads snapd's feature flags.
func (s *session) gatherFeatures() error {
	var err error
	if s.facts.Features, err = gather.Features(); err != nil {
		return err
	}
	if s.facts.Features.Parallel {
		s.debugf("feature %s is on", layout.ParallelInstancesFeature)
	}
	if s.facts.Features.PerUser {
		s.debugf("feature %s is on", layout.PerUserFeature)
	}
	return nil
}

// gatherSnap does snap-confine's global set-up of pid 1's namespace, takes
// the snap's lock and the caller's per-user lock, in that order (SECURITY.md,
// locks), and reads the snap's facts under them.
func (s *session) gatherSnap() error {
	var err error
	if s.nsdir, s.lockdir, err = s.initRunDirs(); err != nil {
		return err
	}
	// The rest of snap-confine's global initialisation: the snap mount
	// directory shared, and with the parallel-instances feature /snap and
	// /var/snap shared mount points (parallel.go), for confined snaps too.
	if err := s.ensureSharedSnapMount(); err != nil {
		return err
	}
	if s.facts.Features.Parallel {
		if err := s.ensureSnapDirMounts(); err != nil {
			return err
		}
	}
	inst, uid := s.launch.Instance, uint32(s.caller.uid)
	names := []string{layout.LockName(inst)}
	if uid != 0 {
		names = append(names, layout.UserLockName(inst, uid))
	}
	for _, name := range names {
		lock, err := s.lock(s.lockdir, name)
		if err != nil {
			return err
		}
		s.locks = append(s.locks, lock)
	}

	h := &s.facts.Host
	h.Distro, h.DebianLike = gather.Distro()
	h.SnapDir = s.host.snapDir
	s.debugf("host is %s, snaps in %s", h.Distro, h.SnapDir)
	if h.InContainer, err = gather.InContainer(); err != nil {
		return err
	}
	if h.Hierarchy, err = gather.Hierarchy(); err != nil {
		return err
	}
	snap := &planner.Snap{Removing: gather.Removing(inst)}
	snap.Base, s.baseDir = gather.Base(s.host.proc, s.host.snapDir, s.launch.Base)
	if b := snap.Base; b.Err == nil {
		if b.Name != s.launch.Base {
			s.debugf("falling back to base snap %q instead of unavailable %q", b.Name, s.launch.Base)
		}
		s.debugf("base snap %s: revision %s on device %d:%d", b.Name, b.Revision, unix.Major(b.Device), unix.Minor(b.Device))
	}
	if snap.Homedirs, err = gather.Homedirs(); err != nil {
		return err
	}
	if !h.InContainer {
		snap.Devices.Settings, snap.Devices.SettingsErr = s.readDeviceSettings(s.facts.Seccomp)
	}
	if s.snapNS, snap.Preserved, err = s.preserved(layout.MountNSName(inst), layout.InfoName(inst)); err != nil {
		return err
	}
	if uid != 0 && s.facts.Features.PerUser {
		if s.userNS, snap.UserLayer, err = s.preserved(layout.UserMountNSName(inst, uid), layout.UserInfoName(inst, uid)); err != nil {
			return err
		}
	}
	s.facts.Snap = snap
	return nil
}

// preserved opens the preserved namespace name of /run/snapd/ns (nil when
// there is none) and reads its facts: its info file, whether it is the one
// captured there (verifyCaptured), its identity.
func (s *session) preserved(name, infoName string) (*desc.FD, planner.Preserved, error) {
	var pre planner.Preserved
	ns, err := trusted.PreservedNS(s.host.proc, s.nsdir, name)
	if err != nil || ns == nil {
		if err == nil {
			s.debugf("no preserved mount namespace at %s", s.nsdir.Path(name))
		}
		return nil, pre, err
	}
	pre.Present = true
	var why string
	if pre.Info, pre.HaveInfo, why = gather.Info(s.nsdir, infoName); !pre.HaveInfo {
		s.debugf("no usable info file: %s", why)
	}
	// Before anything else, and before an inspection enters it.
	if err := s.verifyCaptured(ns, planner.Recorded(pre.Info)); err != nil {
		pre.NotOurs = err.Error()
		return ns, pre, nil
	}
	if pre.Identity, err = identify(ns); err != nil {
		ns.Close()
		return nil, pre, fmt.Errorf("cannot get the id of %s: %w", ns.Name(), err)
	}
	return ns, pre, nil
}

// gatherDevices reads the devices udev tagged for the app, the host's
// extra nodes and, on cgroup v2, the launcher's own cgroup.
func (s *session) gatherDevices() error {
	d := &s.facts.Snap.Devices
	tag := s.launch.Tag.String()
	tagged, err := gather.TaggedDevices(devcgroup.UdevTag(tag), func(name, why string) {
		s.debugf("skipping device %s: %s", name, why)
	})
	if err != nil {
		return fmt.Errorf("cannot set up the device cgroup of %s: %w", tag, err)
	}
	d.Tagged, d.Extra = &tagged, gather.ExtraDevices()
	if s.facts.Host.Hierarchy == devcgroup.V2 {
		self, err := trusted.ProcFile(s.host.proc, "self/cgroup", devcgroup.MaxCgroupFileSize)
		if err != nil {
			return err
		}
		if d.OwnCgroup, err = devcgroup.OwnCgroupV2(self); err != nil {
			return fmt.Errorf("cannot read /proc/self/cgroup: %w", err)
		}
	}
	return nil
}

// inspectNamespace reads the preserved namespace's mount table as a
// stream (mountinfo.Scan: of any size), keeping what an inspection looks at
// (stale.Relevant), on a throwaway thread that joins it.
func (s *session) inspectNamespace(ns *desc.FD) ([]mountinfo.Entry, error) {
	cur := s.facts.Current()
	kept, err := onThrowawayThread("inspect the preserved namespace", func() ([]mountinfo.Entry, error) {
		if err := s.priv.Inspect(ns); err != nil {
			return nil, err
		}
		kept := []mountinfo.Entry{}
		return kept, s.scanMountTable("the preserved namespace's mountinfo", func(e mountinfo.Entry) error {
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
	s.debugf("inspected the preserved namespace: %d mounts of the base or home directories", len(kept))
	return kept, nil
}

// maxInspected bounds what an inspection keeps: only root mounts the base
// and home directories, a handful of times.
const maxInspected = 4096

// deviceSettingsMaxWait is snap-confine's DEVICES_FILE_MAX_WAIT: the file
// is waited for under the per-snap lock, so the caller may shorten the wait
// (SNAP_CONFINE_MAX_PROFILE_WAIT) but never make it longer.
const deviceSettingsMaxWait = 120 * time.Second

// readDeviceSettings reads snapd's settings file of the instance, waiting
// for it as snap-confine does. A snapd that writes .bin profiles (seccomp,
// the profile read before) may be older than the file (snapd 2.62 started
// writing it): then there is nothing to wait for, and its snap-confine
// set up a device cgroup only for tagged devices.
func (s *session) readDeviceSettings(seccomp *planner.Seccomp) (devcgroup.Settings, error) {
	display := devcgroup.SettingsDir + "/" + devcgroup.SettingsName(s.launch.Instance.String())
	var wait *profileWait
	defer wait.stop()
	for {
		settings, err := gather.DeviceSettings(s.launch.Instance)
		if !errors.Is(err, unix.ENOENT) {
			return settings, err
		}
		if seccomp != nil && profile.Format(seccomp.Format).Legacy() {
			s.debugf("no %s, and the seccomp profile is a .bin of snapd 2.63 or older: as snapd 2.61", display)
			return devcgroup.Settings{OldSnapd: true}, nil
		}
		if wait == nil {
			if wait, err = startProfileWait(deviceSettingsMaxWait); err != nil {
				return devcgroup.Settings{}, err
			}
			s.debugf("waiting up to %s for %s", wait.deadline.Sub(wait.start), display)
		}
		if err := wait.next(); err != nil {
			return devcgroup.Settings{}, fmt.Errorf("cannot open %s: %w", display, err)
		}
	}
}

// execute carries the plan out. A confined launch leaves the main thread
// in the app's namespace.
func (s *session) execute(p planner.Plan) error {
	if s.launch.Classic {
		return s.classicNamespace(p.Classic)
	}
	// The device cgroup is set up under the per-snap lock, before the
	// namespace, as snap-confine 2.77 does.
	if p.Devices.Set {
		if err := s.deviceCgroup(p.Devices); err != nil {
			return fmt.Errorf("cannot set up the device cgroup of %s: %w", s.launch.Tag, err)
		}
	}
	inst := s.launch.Instance
	snapNS := s.snapNS.Rename("the preserved mount namespace " + s.nsdir.Path(layout.MountNSName(inst)))
	snapID := s.facts.Snap.Preserved.Identity
	if p.Namespace.Action == planner.NamespaceRebuild {
		s.debugf("discarding the preserved mount namespace: %s", p.Namespace.Why)
		// Per-user layers go with it.
		s.snapNS.Close()
		s.userNS.Close()
		s.snapNS, s.userNS = nil, nil
		if err := s.discard(s.nsdir, inst); err != nil {
			return err
		}
	}
	if p.Namespace.Action == planner.NamespaceRebuild || p.Namespace.Action == planner.NamespaceCreate {
		var err error
		if s.snapNS, snapID, err = s.createAndPreserve(p.Root); err != nil {
			return err
		}
		snapNS = s.snapNS
		s.ensureVoidDir()
	}
	// A non-root caller's app runs in a per-user layer on top of the
	// snap's namespace; root's runs in the snap's namespace itself.
	final := snapNS
	userNS := s.nsdir.Path(layout.UserMountNSName(inst, uint32(s.caller.uid)))
	switch p.PerUser.Action {
	case planner.PerUserJoin:
		final = s.userNS.Rename("the preserved per-user mount namespace " + userNS)
	case planner.PerUserEphemeral:
		ns, _, err := s.newUserNamespace(snapNS, 0, p.PerUser.UpdateNS)
		if err != nil {
			return err
		}
		s.userNS, final = ns, ns.Rename("a new, ephemeral per-user mount namespace (the per-user-mount-namespace feature is off)")
	case planner.PerUserCreate:
		if p.PerUser.Discard && s.userNS != nil {
			s.debugf("discarding the preserved per-user mount namespace: %s", p.PerUser.Why)
			s.userNS.Close()
			s.userNS = nil
			if err := s.discardUserLayer(); err != nil {
				return err
			}
		}
		ns, err := s.createUserLayer(snapNS, snapID, p.PerUser.UpdateNS)
		if err != nil {
			return err
		}
		s.userNS, final = ns, ns.Rename("the new per-user mount namespace "+userNS)
	}
	if err := s.priv.Join(final); err != nil {
		return err
	}
	s.debugf("joined %s", final.Name())
	return nil
}
