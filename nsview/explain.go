// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/seccomp/profile"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/stale"
	"github.com/snapns/snapns/shared/trusted"
)

// Explanation is the answer of `snap-ns explain`.
type Explanation struct {
	Schema   string `json:"schema"`
	Command  string `json:"command"`
	Tag      string `json:"security_tag"`
	Instance string `json:"instance"`
	Base     string `json:"base"`
	// BaseFrom says where Base came from: "option" (--base), "snap" (the
	// snap's own metadata), "namespace" (the preserved namespace's info
	// file) or "default" (snap-confine's, core).
	BaseFrom string `json:"base_from"`
	Classic  bool   `json:"classic"`
	UID      uint32 `json:"uid"`
	// Install is how the launcher is installed: "setuid", "file
	// capabilities", "root" (the caller is root) or "unprivileged".
	Install string `json:"install"`
	// Verdict is one word: "join", "create", "rebuild", "classic",
	// "inspect" (the launcher would first look inside the preserved
	// namespace, which snap-ns cannot) or "refused".
	Verdict   string       `json:"verdict"`
	Namespace NSStep       `json:"namespace"`
	PerUser   UserStep     `json:"per_user"`
	Seccomp   Seccomp      `json:"seccomp"`
	AppArmor  AppArmor     `json:"apparmor"`
	Devices   DeviceCgroup `json:"device_cgroup"`
	Steps     []string     `json:"steps"`
	Refusals  []string     `json:"refusals"`
	Ignored   []Ignored    `json:"ignored"`
	// Assumed are what snap-ns cannot know and the launch would find out.
	Assumed []string `json:"assumed"`
}

// NSStep is what happens to the snap's namespace.
type NSStep struct {
	Action string `json:"action"` // "join", "create", "rebuild", "none"
	Path   string `json:"path"`
	Stale  string `json:"stale"` // "keep", "should", "must"; "" when none is preserved
	Reason string `json:"reason"`
}

// UserStep is what happens to the caller's per-user layer.
type UserStep struct {
	Action string `json:"action"` // "none", "join", "create", "ephemeral"
	Reason string `json:"reason"`
}

// AppArmor holds the labels the launcher derives from the names.
type AppArmor struct {
	Enabled  bool   `json:"enabled"`
	App      string `json:"app"`
	UpdateNS string `json:"update_ns"`
}

// Ignored is a file the launcher passes over as if absent, and why.
type Ignored struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Explain says what a launch of tag by uid would do now: it gathers the
// launcher's facts without privilege, with the launcher's readers
// (shared/gather, seccomp/profile), and asks the planner, as the launcher
// does. base is --base ("" for the snap's own: its metadata, else its
// preserved namespace's, else snap-confine's default).
func Explain(tag naming.SecurityTag, base string, classic bool, uid uint32) (*Explanation, error) {
	inst := tag.Instance()
	x := &Explanation{
		Schema: Schema, Command: "explain", Tag: tag.String(), Instance: inst.String(), Classic: classic, UID: uid,
		AppArmor: AppArmor{App: naming.AppArmorLabel(tag), UpdateNS: naming.UpdateNSAppArmorLabel(inst)},
		Steps:    []string{}, Refusals: []string{}, Ignored: []Ignored{}, Assumed: []string{},
		Seccomp: Seccomp{Format: "not read"},
		Devices: DeviceCgroup{Action: "none", Mode: "none", Settings: "not read", UdevTag: devcgroup.UdevTag(tag.String()), Tagged: []string{}, Skipped: []string{}},
	}
	x.Base, x.BaseFrom = base, "option"
	if base == "" {
		x.Base, x.BaseFrom = snapBase(inst)
	}
	if err := naming.ValidateSnapName(x.Base); err != nil {
		return nil, fmt.Errorf("cannot use base %q: %w", x.Base, err)
	}
	e := &explainer{x: x, f: planner.Facts{
		Launch:    planner.Launch{Classic: classic, Instance: inst, Tag: tag, Base: x.Base},
		CallerUID: uid,
	}}
	var p planner.Plan
	for {
		p = planner.Decide(e.f, e.install())
		if p.Refusal != nil || !p.Need.Any() || !e.gather(p.Need) || e.err != nil {
			break
		}
	}
	e.finish(p)
	return x, nil
}

// explainer gathers the facts of one explanation.
type explainer struct {
	x       *Explanation
	f       planner.Facts
	inst    *planner.Install
	started bool
	// err is what failed a read that fails a launch too (a namespace
	// file that is neither a plain file nor a namespace): the launch's
	// line.
	err error
}

// fail records the first error that would fail the launch.
func (e *explainer) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// install tells how the launcher is installed, from the snap-confine
// next to snap-ns (or in either of snapd's directories).
func (e *explainer) install() planner.Install {
	if e.inst != nil {
		return *e.inst
	}
	i, how := installOf(e.f.CallerUID)
	e.inst, e.x.Install = &i, how
	if !e.started {
		e.started = true
		e.first()
	}
	return i
}

// first gathers what the launcher reads before deciding anything.
func (e *explainer) first() {
	aa, err := detectAppArmor()
	e.f.AppArmor = aa.Fact()
	e.f.AppArmor.Err = err
	e.x.AppArmor.Enabled = aa.Enabled
	if aa.Enabled {
		// The launcher runs under its own profile once installed so;
		// snap-ns's own label says nothing of it.
		e.f.AppArmor.Confined = true
		e.assume("the launcher runs under its own AppArmor profile (it refuses to run elevated without one)")
	}
	if e.f.Features, err = gather.Features(); err != nil {
		e.fail(err)
	}
	// Where a classic instance is mapped, before the snap's facts.
	e.f.Host.SnapDir, _ = gather.SnapMountDir()
}

func (e *explainer) assume(s string) { e.x.Assumed = append(e.x.Assumed, s) }

// gather reads what need asks for; false when nothing more can be read.
func (e *explainer) gather(need planner.Need) bool {
	switch {
	case need.Seccomp:
		e.f.Seccomp = e.readSeccomp()
	case need.Snap:
		e.f.Host, e.f.Snap = e.readSnap()
	default:
		s := e.f.Snap
		progress := false
		if need.TaggedDevices {
			tagged, err := gather.TaggedDevices(e.x.Devices.UdevTag, func(name, why string) {
				e.x.Devices.Skipped = append(e.x.Devices.Skipped, fmt.Sprintf("%s: %s", Quote(name), why))
			})
			if err != nil {
				e.fail(fmt.Errorf("cannot set up the device cgroup of %s: %w", e.f.Launch.Tag, err))
			}
			s.Devices.Tagged, progress = &tagged, true
		}
		if need.Occupancy {
			busy, why, err := gather.Occupied(layout.CgroupDir, e.f.Launch.Instance)
			if err != nil {
				busy, why = true, err.Error()
			}
			s.Preserved.Occupancy, progress = &planner.Occupancy{Busy: busy, Why: why}, true
		}
		if need.Inspection {
			if mounts, ok := e.inspect(); ok {
				s.Preserved.Mounts, progress = &mounts, true
			}
		}
		return progress
	}
	return true
}

// readSeccomp reads the app's profile as the launcher does, without its
// wait: a missing profile is said to be waited for.
func (e *explainer) readSeccomp() *planner.Seccomp {
	p, format, file, err := profile.Read(e.f.Launch.Tag)
	s := &planner.Seccomp{Path: file, Format: string(format)}
	e.x.Seccomp = Seccomp{File: file, Format: string(format)}
	switch {
	case errors.Is(err, unix.ENOENT):
		e.x.Seccomp.Format = "missing"
		s.Err = fmt.Errorf("cannot find seccomp profile %s: the launcher waits for it up to SNAP_CONFINE_MAX_PROFILE_WAIT seconds (120 by default), then refuses the launch", file)
	case err != nil:
		s.Err = err
	default:
		s.Programs, s.Unrestricted = len(p.Programs), p.Unrestricted
		e.x.Seccomp.Usable, e.x.Seccomp.Unrestricted, e.x.Seccomp.Programs = true, p.Unrestricted, len(p.Programs)
	}
	if s.Err != nil {
		e.x.Seccomp.Problem = s.Err.Error()
	}
	return s
}

// readSnap reads the host's and the snap's facts, as the launcher does
// under the snap's lock.
func (e *explainer) readSnap() (planner.Host, *planner.Snap) {
	var h planner.Host
	s := &planner.Snap{}
	inst := e.f.Launch.Instance
	h.Distro, h.DebianLike = gather.Distro()
	var err error
	if h.SnapDir, err = gather.SnapMountDir(); err != nil {
		e.fail(err)
		return h, s
	}
	s.Removing = gather.Removing(inst)
	var dir *desc.FD
	s.Base, dir = gather.Base(procDir(), h.SnapDir, e.f.Launch.Base)
	dir.Close()
	if s.Homedirs, err = gather.Homedirs(); err != nil {
		e.fail(err)
	}
	e.readDevices(&h, s)
	s.UpdateNS = &planner.UpdateNS{Path: filepath.Join(launcherDir(), "snap-update-ns")}
	s.UpdateNS.Installed = exists(s.UpdateNS.Path)
	s.UpdateNS.Profile, s.UpdateNS.UserProfile = gather.MountProfiles(inst)
	s.Preserved = e.preserved(layout.MountNSName(inst), layout.InfoName(inst))
	if e.f.CallerUID != 0 {
		s.UserLayer = e.preserved(layout.UserMountNSName(inst, e.f.CallerUID), layout.UserInfoName(inst, e.f.CallerUID))
	}
	return h, s
}

// readDevices reads the device cgroup's facts; a missing settings file is
// what the launcher waits for (then refuses), unless a .bin profile says
// snapd is older than the file.
func (e *explainer) readDevices(h *planner.Host, s *planner.Snap) {
	d := &e.x.Devices
	d.SettingsFile = devcgroup.SettingsDir + "/" + devcgroup.SettingsName(e.f.Launch.Instance.String())
	var err error
	if h.InContainer, err = gather.InContainer(); err != nil {
		e.fail(err)
		return
	}
	d.InContainer = h.InContainer
	if h.Hierarchy, err = gather.Hierarchy(); err != nil {
		e.fail(err)
		return
	}
	if h.Hierarchy == devcgroup.V2 {
		// The launcher checks its own cgroup, which snap run made for the
		// launch; snap-ns runs in another.
		s.Devices.OwnCgroup = "/" + devcgroup.UnitName(e.f.Launch.Tag.String()) + ".service"
		e.assume("on cgroup v2, the app runs in its own snap cgroup, as snap run puts it (the launcher refuses a device cgroup elsewhere)")
	}
	s.Devices.Extra = gather.ExtraDevices()
	if h.InContainer {
		return
	}
	settings, err := gather.DeviceSettings(e.f.Launch.Instance)
	switch legacy := e.f.Seccomp != nil && profile.Format(e.f.Seccomp.Format).Legacy(); {
	case err == nil:
		d.Settings, d.SelfManaged, d.NonStrict = "read", settings.SelfManaged, settings.NonStrict
		s.Devices.Settings = settings
	case !errors.Is(err, unix.ENOENT):
		s.Devices.SettingsErr = err
	case legacy:
		d.Settings, s.Devices.Settings.OldSnapd = "defaults", true
	default:
		d.Settings = "missing"
		s.Devices.SettingsErr = fmt.Errorf("cannot find %s: the launcher waits for it under the snap's lock up to 120 seconds (less if SNAP_CONFINE_MAX_PROFILE_WAIT says so), then refuses the launch", d.SettingsFile)
	}
}

// finish fills the explanation in from the plan.
func (e *explainer) finish(p planner.Plan) {
	x, f := e.x, e.f
	if p.Refusal == nil && e.err != nil {
		p = planner.Plan{Refusal: e.err, AppArmor: p.AppArmor}
	}
	x.Steps = append(x.Steps, p.Steps(f)...)
	if p.Refusal != nil {
		x.Refusals = append(x.Refusals, p.Refusal.Error())
	}
	x.Namespace = NSStep{Action: p.Namespace.Action.String(), Path: layout.NSDir + "/" + layout.MountNSName(f.Launch.Instance), Reason: p.Namespace.Why}
	if f.Snap != nil && f.Snap.Preserved.Present {
		x.Namespace.Stale = VoteWord(p.Namespace.Vote)
	}
	x.PerUser = UserStep{Action: p.PerUser.Action.String(), Reason: p.PerUser.Why}
	d := &x.Devices
	if f.Snap != nil {
		d.Mode, d.Reason = p.Devices.Mode.String(), p.Devices.Why
		if tagged := f.Snap.Devices.Tagged; tagged != nil {
			for _, dev := range *tagged {
				d.Tagged = append(d.Tagged, dev.String())
			}
		}
		if p.Devices.Set {
			d.Action, d.Hierarchy = "attach", p.Devices.Hierarchy.String()
			if p.Devices.Hierarchy == devcgroup.V1 {
				d.Group = devcgroup.DevicesDir + "/" + devcgroup.V1GroupName(f.Launch.Tag.String())
			}
		}
		if err := f.Snap.Devices.SettingsErr; err != nil && p.Refusal == err {
			d.Action, d.Problem = "refused", err.Error()
			if d.Settings == "missing" {
				d.Action = "wait"
			}
		}
	}
	switch {
	case p.Refusal != nil:
		x.Verdict = "refused"
	case f.Launch.Classic:
		x.Verdict = "classic"
	case p.Need.Inspection:
		x.Verdict = "inspect"
	default:
		x.Verdict = x.Namespace.Action
	}
}

// snapBase is the base snap run names for the instance: its metadata's
// base, else the one its preserved namespace was built on, else
// snap-confine's default.
func snapBase(inst naming.Instance) (string, string) {
	dir, err := gather.SnapMountDir()
	if err == nil {
		if data, err := os.ReadFile(filepath.Join(dir, inst.String(), "current", "meta", "snap.yaml")); err == nil {
			if base, ok := SnapYAMLBase(data); ok {
				return base, "snap"
			}
			return gatherDefaultBase, "snap"
		}
	}
	if dir, err := trusted.Path(layout.NSDir); err == nil {
		in, have, _ := gather.Info(dir, layout.InfoName(inst))
		dir.Close()
		if have {
			return in.BaseSnapName, "namespace"
		}
	}
	return gatherDefaultBase, "default"
}

// gatherDefaultBase is snap-confine's base when snap run names none (a
// snap without a base).
const gatherDefaultBase = "core"

// VoteWord is the word snap-ns prints for a staleness vote.
func VoteWord(v stale.Vote) string {
	switch v {
	case stale.Should:
		return "should"
	case stale.Must:
		return "must"
	}
	return "keep"
}
