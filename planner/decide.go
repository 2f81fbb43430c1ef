// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"errors"
	"fmt"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/stale"
)

// Install is how the launcher got its privilege.
type Install int

const (
	// Unprivileged: neither setuid root nor file capabilities; only
	// classic launches without the parallel-instances feature work.
	Unprivileged Install = iota
	// Setuid: setuid root, run by a non-root caller.
	Setuid
	// FileCaps: file capabilities, run by a non-root caller.
	FileCaps
	// RootCaller: run by root.
	RootCaller
)

func (i Install) String() string {
	return [...]string{"unprivileged", "setuid root", "file capabilities", "root caller"}[i]
}

// Decide is the launch's decision: from the facts, what the launcher does,
// in snap-confine's order, or the line it refuses with. It reads nothing
// and changes nothing. When it needs a fact not yet gathered (Plan.Need),
// the caller gathers it and calls Decide again; a plan is executed only
// once it needs nothing more.
func Decide(f Facts, install Install) Plan {
	var p Plan
	p.AppArmor = AppArmorStep{
		Enforce:     f.AppArmor.Enabled,
		AppLabel:    naming.AppArmorLabel(f.Launch.Tag),
		HelperLabel: naming.UpdateNSAppArmorLabel(f.Launch.Instance),
	}
	elevated := install == Setuid || install == FileCaps
	switch {
	case f.AppArmor.Err != nil:
		return refuse(p, f.AppArmor.Err)
	case f.AppArmor.Enabled && !f.AppArmor.Confined && elevated:
		return refuse(p, errors.New("cannot launch: snap-confine has elevated privileges and is not confined by AppArmor, which is enabled: refusing, to avoid permission escalation attacks"))
	}
	if f.Launch.Classic {
		return decideClassic(f, install, p)
	}
	if install == Unprivileged {
		return refuse(p, errors.New("cannot launch: snap-confine is installed neither setuid root nor with file capabilities"))
	}
	if f.Seccomp == nil {
		p.Need.Seccomp = true
		return p
	}
	if f.Seccomp.Err != nil {
		return refuse(p, f.Seccomp.Err)
	}
	p.Seccomp = seccompStep(*f.Seccomp)
	if f.Snap == nil {
		p.Need.Snap = true
		return p
	}
	s := f.Snap
	if s.Removing {
		return refuse(p, fmt.Errorf("cannot launch snap %s: it is being removed", f.Launch.Instance))
	}
	if s.Base.Err != nil {
		return refuse(p, s.Base.Err)
	}
	var err error
	if p.Devices, err = decideDevices(f, &p.Need); err != nil {
		return refuse(p, err)
	}
	var need Need
	p.Namespace, need = DecideNamespace(f)
	p.Need.Inspection, p.Need.Occupancy = need.Inspection, need.Occupancy
	if p.Need.Any() {
		// The rest depends on what the namespace becomes.
		return p
	}
	if p.Namespace.Action == NamespaceCreate || p.Namespace.Action == NamespaceRebuild {
		p.Root = decideRoot(f)
		if s.UpdateNS != nil && !s.UpdateNS.Installed && s.UpdateNS.Profile {
			return refuse(p, fmt.Errorf("cannot apply the mount profile %s/%s: %s is not installed", layout.MountProfileDir, layout.MountProfileName(f.Launch.Instance), s.UpdateNS.Path))
		}
	}
	p.PerUser = DecidePerUser(f, p.Namespace)
	building := p.Namespace.Action == NamespaceCreate || p.Namespace.Action == NamespaceRebuild
	layering := p.PerUser.Action == PerUserCreate || p.PerUser.Action == PerUserEphemeral
	if (building || layering) && s.UpdateNS == nil {
		p.Need.UpdateNS = true
		return p
	}
	if layering && !s.UpdateNS.Installed && s.UpdateNS.UserProfile {
		return refuse(p, fmt.Errorf("cannot apply the mount profile %s/%s: %s is not installed", layout.MountProfileDir, layout.UserMountProfileName(f.Launch.Instance), s.UpdateNS.Path))
	}
	// snap-update-ns --user-mounts runs only for a snap with a per-user
	// profile, as snap-confine runs it.
	p.PerUser.UpdateNS = layering && s.UpdateNS.UserProfile
	return p
}

func refuse(p Plan, err error) Plan {
	return Plan{Refusal: err, AppArmor: p.AppArmor}
}

func seccompStep(s Seccomp) SeccompStep {
	return SeccompStep{Path: s.Path, Format: s.Format, Programs: s.Programs}
}

// decideClassic: a classic app runs in the caller's namespace, unless the
// parallel-instances feature is on, when it gets a namespace of its own
// (after the global set-up) and an instance its directories mapped onto the
// snap's, as snap-confine 2.77 does. An unprivileged launcher loads no
// seccomp profile (it runs the app as it is).
func decideClassic(f Facts, install Install, p Plan) Plan {
	if install != Unprivileged {
		if f.Seccomp == nil {
			p.Need.Seccomp = true
			return p
		}
		if f.Seccomp.Err != nil {
			return refuse(p, f.Seccomp.Err)
		}
		p.Seccomp = seccompStep(*f.Seccomp)
	}
	p.Namespace = NamespaceStep{Action: NamespaceNone, Why: "classic confinement: no snap mount namespace"}
	if !f.Features.Parallel {
		return p
	}
	if install == Unprivileged {
		return refuse(p, fmt.Errorf("cannot set up the mount namespace of classic snap %s: snap-confine is installed neither setuid root nor with file capabilities", f.Launch.Instance))
	}
	p.Classic.NewNamespace = true
	p.Classic.Own, p.Classic.Mapped, _ = layout.ParallelInstanceDirs(f.Launch.Instance)
	return p
}

// decideDevices is the device cgroup, as snap-confine 2.77 decides it:
// nothing in a container, for a self-managed or non-strict snap; otherwise
// the mode of the base (snapd 2.61 and older: tagged devices only), then
// the devices udev tagged, and on cgroup v2 only in the app's own snap
// cgroup.
func decideDevices(f Facts, need *Need) (DeviceStep, error) {
	devs := f.Snap.Devices
	if !f.Host.InContainer && devs.SettingsErr != nil {
		return DeviceStep{}, devs.SettingsErr
	}
	mode, why := devcgroup.Decide(f.Host.InContainer, devs.Settings, f.Snap.Base.Name)
	d := DeviceStep{Mode: mode, Why: why, Hierarchy: f.Host.Hierarchy}
	if mode == devcgroup.None {
		return d, nil
	}
	if devs.Tagged == nil {
		need.TaggedDevices = true
		return d, nil
	}
	tagged := *devs.Tagged
	if mode == devcgroup.Optional && len(tagged) == 0 {
		d.Why += ", and no devices are tagged with " + devcgroup.UdevTag(f.Launch.Tag.String())
		return d, nil
	}
	tag := f.Launch.Tag.String()
	if d.Hierarchy == devcgroup.V2 && !devcgroup.IsSnapCgroup(devs.OwnCgroup, tag) {
		return d, fmt.Errorf("cannot set up the device cgroup of %s: %s is not a snap cgroup for tag %s", tag, devs.OwnCgroup, tag)
	}
	d.Set, d.Tagged = true, len(tagged)
	d.Allow = append(append(append([]devcgroup.Device{}, devcgroup.Common...), devs.Extra...), tagged...)
	return d, nil
}

// DecideNamespace is Decide's decision on the snap's namespace (which
// `snap-ns list` shows for every preserved one): join the preserved
// namespace unless it is not the one captured there or is stale
// (shared/stale: a change of base always discards it, a refreshed base or
// changed homedirs unless the snap still runs); otherwise make one.
// Facts.Snap must be there; need says what else it wants.
func DecideNamespace(f Facts) (step NamespaceStep, need Need) {
	step = decideNamespace(f, &need)
	return step, need
}

func decideNamespace(f Facts, need *Need) NamespaceStep {
	pre := f.Snap.Preserved
	if !pre.Present {
		return NamespaceStep{Action: NamespaceCreate, Why: "no namespace is preserved"}
	}
	if pre.NotOurs != "" {
		return NamespaceStep{Action: NamespaceRebuild, Vote: stale.Must, Why: "the preserved namespace is not the one captured there: " + pre.NotOurs}
	}
	cur := f.current()
	d, inspect := stale.Decide(pre.Info, pre.HaveInfo, cur)
	if inspect {
		if pre.Mounts == nil {
			need.Inspection = true
			return NamespaceStep{Action: NamespaceJoin, Why: "its info file does not record what it was built from: to be inspected"}
		}
		d = stale.Inspect(*pre.Mounts, cur)
	}
	if d.Vote == stale.Should {
		if pre.Occupancy == nil {
			need.Occupancy = true
			return NamespaceStep{Action: NamespaceRebuild, Vote: d.Vote, Why: d.Reason + ", unless the snap still runs"}
		}
		if pre.Occupancy.Busy {
			return NamespaceStep{Action: NamespaceJoin, Vote: d.Vote, Why: d.Reason + ", but the snap is running: " + pre.Occupancy.Why}
		}
	}
	if d.Vote == stale.Keep {
		return NamespaceStep{Action: NamespaceJoin, Vote: d.Vote, Why: d.Reason}
	}
	return NamespaceStep{Action: NamespaceRebuild, Vote: d.Vote, Why: d.Reason}
}

// current is what a namespace built now would be built from.
// Facts.Snap must be there.
func (f Facts) current() stale.Current {
	b := f.Snap.Base
	return stale.Current{Base: b.Name, Revision: b.Revision, Device: b.Device, Homedirs: f.Snap.Homedirs, Normal: host.NormalMode(f.Host.Distro, f.Launch.Base)}
}

// Current is what a namespace built now would be built from: what a
// preserved one is compared with, and what a new one records.
func (f Facts) Current() stale.Current { return f.current() }

// decideRoot is how a new namespace's root is built: snap-confine's mode
// (legacy only for the core base on a core16 host, decided on the base the
// command line names), its tables (merged /usr where snaps are in
// /var/lib/snapd/snap), the launcher's tools where the base has none of
// its own, and the base's /etc entries.
func decideRoot(f Facts) Root {
	r := Root{Normal: host.NormalMode(f.Host.Distro, f.Launch.Base), UpdateNS: f.Snap.UpdateNS != nil && f.Snap.UpdateNS.Installed}
	if !r.Normal {
		r.Binds = policy.LegacyModeBinds
		return r
	}
	r.MergedUsr = f.Host.SnapDir == layout.AlternateSnapMountDir
	r.Binds = policy.NormalModeBinds(r.MergedUsr)
	r.SnapdTools = host.BindSnapdTools(f.Host.Distro, f.Snap.Base.Name)
	r.HostGPU = f.Host.Distro == host.Classic
	r.EtcFromBase = policy.BaseEtcFiles(f.Snap.Base.Name, f.Host.Distro == host.Classic && f.Host.DebianLike)
	return r
}

// DecidePerUser is Decide's decision on the caller's per-user layer, given
// the decision on the snap's namespace under it: root's app runs in the snap's namespace; a user's in a
// layer on top of it, rebuilt for every launch unless the
// per-user-mount-namespace feature is on, when the preserved layer is
// joined while it is the one captured there and was made on top of the
// snap namespace joined now.
func DecidePerUser(f Facts, ns NamespaceStep) PerUserStep {
	layer, snap := f.Snap.UserLayer, f.Snap.Preserved.Identity
	switch {
	case f.CallerUID == 0:
		return PerUserStep{Action: PerUserNone, Why: "root's app runs in the snap's namespace itself"}
	case !f.Features.PerUser:
		return PerUserStep{Action: PerUserEphemeral, Why: "a new layer for this launch only: the per-user-mount-namespace feature is off"}
	case !layer.Present:
		return PerUserStep{Action: PerUserCreate, Why: "a new layer, preserved: none is preserved"}
	case ns.Action != NamespaceJoin:
		return PerUserStep{Action: PerUserCreate, Discard: true, Why: "a new layer, preserved: the snap's namespace is made anew"}
	case layer.NotOurs != "":
		return PerUserStep{Action: PerUserCreate, Discard: true, Why: "a new layer, preserved: the preserved one is not the one captured there: " + layer.NotOurs}
	case Recorded(layer.Info) == (Identity{}):
		return PerUserStep{Action: PerUserCreate, Discard: true, Why: "a new layer, preserved: the preserved one records no identity of its own"}
	case !snap.Matches(RecordedParent(layer.Info)):
		return PerUserStep{Action: PerUserCreate, Discard: true, Why: fmt.Sprintf("a new layer, preserved: the preserved one was made on namespace %s, not the snap's %s", RecordedParent(layer.Info), snap)}
	}
	return PerUserStep{Action: PerUserJoin, Why: fmt.Sprintf("the preserved layer is on top of the snap's current namespace (%s)", snap)}
}
