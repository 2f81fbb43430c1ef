// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"fmt"
	"strings"

	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/stale"
)

// Steps says what the plan does, one line per step in the launcher's
// order, for a person: `snap-ns explain` prints it, and the launcher's
// debug log prints the same lines for the plan it executes.
func (p Plan) Steps(f Facts) []string {
	if p.Refusal != nil {
		return []string{"refuse: " + p.Refusal.Error()}
	}
	var steps []string
	add := func(format string, args ...any) { steps = append(steps, fmt.Sprintf(format, args...)) }
	if need := p.Need.names(); need != "" {
		add("to be decided once gathered: %s", need)
	}
	inst := f.Launch.Instance
	snapDir := f.Host.SnapDir
	if snapDir == "" {
		snapDir = layout.CanonicalSnapMountDir
	}
	switch {
	case p.Seccomp.Path == "":
	case p.Seccomp.Programs == 0:
		add("seccomp: %s (%s) is unrestricted: no filter is loaded", p.Seccomp.Path, p.Seccomp.Format)
	default:
		add("seccomp: load %s (%s, %d programs)", p.Seccomp.Path, p.Seccomp.Format, p.Seccomp.Programs)
	}
	if f.Launch.Classic {
		if !p.Classic.NewNamespace {
			add("namespace: none: %s", p.Namespace.Why)
		} else {
			add("namespace: a new one for this launch (the parallel-instances feature is on), after the global set-up")
			if c := p.Classic; c.Own != "" {
				add("instance: the launcher binds %s/%s on %s/%s and %s/%s on %s/%s", snapDir, c.Own, snapDir, c.Mapped, layout.SnapDataDir, c.Own, layout.SnapDataDir, c.Mapped)
			}
		}
	} else if f.Snap != nil {
		switch d := p.Devices; {
		case d.Mode == devcgroup.None || !d.Set:
			add("device cgroup: none (%s)", d.Why)
		case d.Hierarchy == devcgroup.V1:
			add("device cgroup: %s; the app's v1 devices group %s/%s allows %d devices, %d of them tagged", d.Why, devcgroup.DevicesDir, devcgroup.V1GroupName(f.Launch.Tag.String()), len(d.Allow), d.Tagged)
		default:
			add("device cgroup: %s; the device program on the app's snap cgroup allows %d devices, %d of them tagged", d.Why, len(d.Allow), d.Tagged)
		}
		path := layout.NSDir + "/" + layout.MountNSName(inst)
		switch ns := p.Namespace; {
		case ns.Action == NamespaceJoin && ns.Vote != stale.Keep:
			add("namespace: join %s, stale (%s): %s", path, ns.Vote, ns.Why)
		case ns.Action == NamespaceJoin:
			add("namespace: join %s: %s", path, ns.Why)
		case ns.Action == NamespaceCreate:
			add("namespace: create and preserve at %s: %s", path, ns.Why)
		case ns.Action == NamespaceRebuild:
			add("namespace: discard %s, stale (%s): %s; then create and preserve a new one", path, ns.Vote, ns.Why)
		}
		if own, mapped, ok := layout.ParallelInstanceDirs(inst); ok {
			add("instance: snap-update-ns binds %s/%s on %s/%s and %s/%s on %s/%s in the snap's namespace", snapDir, own, snapDir, mapped, layout.SnapDataDir, own, layout.SnapDataDir, mapped)
		}
		if p.Namespace.Action == NamespaceCreate || p.Namespace.Action == NamespaceRebuild {
			steps = append(steps, p.Root.steps(f)...)
		}
		switch pu := p.PerUser; pu.Action {
		case PerUserNone:
		case PerUserJoin:
			add("per-user layer: join %s/%s: %s", layout.NSDir, layout.UserMountNSName(inst, f.CallerUID), pu.Why)
		default:
			discard := ""
			if pu.Discard {
				discard = "discard the preserved one, then "
			}
			add("per-user layer: %s%s", discard, pu.Why)
		}
	}
	if p.AppArmor.Enforce {
		add("apparmor: the app execs as %s, snap-update-ns as %s", p.AppArmor.AppLabel, p.AppArmor.HelperLabel)
	}
	return steps
}

// steps describes the root of a new namespace.
func (r Root) steps(f Facts) []string {
	if !r.Normal {
		return []string{"root: legacy mode: the host's own root, with its directories bound as before"}
	}
	var dirs []string
	for _, b := range r.Binds {
		dirs = append(dirs, b.Path)
	}
	out := []string{fmt.Sprintf("root: a tmpfs holding base %q revision %s's entries, with the host's %s", f.Snap.Base.Name, f.Snap.Base.Revision, strings.Join(dirs, ", "))}
	if len(f.Snap.Homedirs) > 0 {
		out = append(out, "root: the extra home directories "+strings.Join(f.Snap.Homedirs, ", "))
	}
	if len(r.EtcFromBase) > 0 {
		out = append(out, "root: the base's own "+strings.Join(r.EtcFromBase, ", "))
	}
	if r.SnapdTools {
		out = append(out, "root: snapd's tools (the launcher's directory) at /usr/lib/snapd")
	}
	if r.UpdateNS {
		out = append(out, "mounts: snap-update-ns applies the snap's mount profile")
	}
	return out
}

// names lists what is needed, in words.
func (n Need) names() string {
	var out []string
	for _, x := range []struct {
		need bool
		name string
	}{
		{n.Seccomp, "the seccomp profile"}, {n.Snap, "the snap's facts"}, {n.Inspection, "the preserved namespace's mounts"},
		{n.Occupancy, "whether the snap runs"}, {n.TaggedDevices, "the devices tagged for the app"}, {n.UpdateNS, "snap-update-ns"},
	} {
		if x.need {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ", ")
}
