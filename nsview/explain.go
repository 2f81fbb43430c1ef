// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"fmt"
	"strings"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/stale"
)

// Explanation is the answer of `snap-ns explain`.
type Explanation struct {
	Schema   string `json:"schema"`
	Command  string `json:"command"`
	Tag      string `json:"security_tag"`
	Instance string `json:"instance"`
	Base     string `json:"base"`
	Classic  bool   `json:"classic"`
	UID      uint32 `json:"uid"`
	// Verdict is one word: "join", "create", "rebuild", "classic" or
	// "refused".
	Verdict   string       `json:"verdict"`
	Namespace NSStep       `json:"namespace"`
	PerUser   UserStep     `json:"per_user"`
	Seccomp   Seccomp      `json:"seccomp"`
	AppArmor  AppArmor     `json:"apparmor"`
	Devices   DeviceCgroup `json:"device_cgroup"`
	Steps     []string     `json:"steps"`
	Refusals  []string     `json:"refusals"`
	Ignored   []Ignored    `json:"ignored"`
}

// NSStep is what happens to the snap's namespace.
type NSStep struct {
	Action string `json:"action"` // "join", "create", "none"
	Path   string `json:"path"`
	Stale  string `json:"stale"` // "keep", "should", "must"; "" unless join
	Reason string `json:"reason"`
}

// UserStep is what happens to the caller's per-user layer.
type UserStep struct {
	Action string `json:"action"` // "none", "join", "create", "ephemeral"
	Reason string `json:"reason"`
}

// AppArmor holds the labels the launcher derives from the names.
type AppArmor struct {
	App      string `json:"app"`
	UpdateNS string `json:"update_ns"`
}

// Ignored is a file the launcher passes over as if absent, and why.
type Ignored struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Explain says what a launch of tag with the given options by uid would do
// now, from the same reading of the system as the planner's (planner.Expect)
// and the launcher's order of seccomp files.
func Explain(tag naming.SecurityTag, base string, classic bool, uid uint32) (*Explanation, error) {
	if err := naming.ValidateSnapName(base); err != nil {
		return nil, fmt.Errorf("cannot use base %q: %w", base, err)
	}
	p := &cmdline.Invocation{Classic: classic, Instance: tag.Instance(), Tag: tag, Base: base}
	x := &Explanation{
		Schema: Schema, Command: "explain", Tag: tag.String(), Instance: p.Instance.String(), Base: base, Classic: classic, UID: uid,
		AppArmor: AppArmor{App: naming.AppArmorLabel(tag), UpdateNS: naming.UpdateNSAppArmorLabel(p.Instance)},
		Steps:    []string{}, Refusals: []string{}, Ignored: []Ignored{},
	}
	e, err := planner.Expect(p, uid)
	if err != nil {
		x.Refusals = append(x.Refusals, err.Error())
	}
	x.Namespace = NSStep{Action: string(e.Namespace), Path: layout.NSDir + "/" + layout.MountNSName(p.Instance)}
	if e.Namespace == planner.NamespaceJoin {
		x.Namespace.Stale, x.Namespace.Reason = VoteWord(e.Staleness.Vote), e.Staleness.Reason
	}
	x.PerUser = UserStep{Action: string(e.PerUser), Reason: e.PerUserReason}
	if !classic && uid != 0 {
		// The launcher refuses the launch at a hostile entry where the
		// user's layer is kept, as at the snap's.
		if _, err := planner.IsPreserved(layout.NSDir, layout.UserMountNSName(p.Instance, uid)); err != nil {
			x.Refusals = append(x.Refusals, err.Error())
		}
	}
	if !classic {
		for _, name := range []string{layout.InfoName(p.Instance), layout.UserInfoName(p.Instance, uid)} {
			if name == layout.UserInfoName(p.Instance, uid) && uid == 0 {
				continue
			}
			if _, why := planner.ReadInfoFile(layout.NSDir, name); why != "" && !strings.Contains(why, "no such file") {
				x.Ignored = append(x.Ignored, Ignored{File: layout.NSDir + "/" + name, Reason: why})
			}
		}
	}
	x.Seccomp = ReadSeccomp(tag)
	if !x.Seccomp.Usable {
		x.Refusals = append(x.Refusals, x.Seccomp.Problem)
	}
	if err == nil {
		x.Steps = strings.Split(strings.TrimSuffix(planner.Explain(p, e), "\n"), "\n")
	}
	x.Steps = append(x.Steps, seccompStep(x.Seccomp))
	if classic {
		x.Devices = DeviceCgroup{Action: "none", Mode: "none", Reason: "classic: the launcher sets up no device cgroup", Settings: "not read", Tagged: []string{}, Skipped: []string{}}
	} else {
		x.Devices = ReadDeviceCgroup(tag, base, x.Seccomp)
		if x.Devices.Action == "refused" || x.Devices.Action == "wait" {
			x.Refusals = append(x.Refusals, x.Devices.Problem)
		}
		x.Steps = append(x.Steps, deviceStep(x.Devices))
	}
	x.Verdict = verdict(x, e)
	return x, nil
}

// seccompStep says in one line what the launcher would load.
func seccompStep(s Seccomp) string {
	switch {
	case !s.Usable:
		return "seccomp: " + s.Problem
	case s.Unrestricted:
		return fmt.Sprintf("seccomp: %s (%s) is unrestricted: no filter is loaded", s.File, s.Format)
	case s.Format == "bin+global":
		return fmt.Sprintf("seccomp: load %s then %s/%s (%d programs, snapd 2.63 format)", s.File, layout.SeccompDir, layout.GlobalSeccompName, s.Programs)
	case s.Format == "bin":
		return fmt.Sprintf("seccomp: load %s (1 program, snapd 2.63 format, no global.bin)", s.File)
	}
	return fmt.Sprintf("seccomp: load %s (%d programs, deny then allow)", s.File, s.Programs)
}

func verdict(x *Explanation, e planner.Expectation) string {
	switch {
	case len(x.Refusals) > 0:
		return "refused"
	case x.Classic:
		return "classic"
	case e.Namespace == planner.NamespaceJoin && e.Staleness.Vote != stale.Keep:
		return "rebuild"
	}
	return string(e.Namespace)
}
