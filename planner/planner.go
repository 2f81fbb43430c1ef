// SPDX-License-Identifier: GPL-3.0-only

// Package planner is the unprivileged half of snapns: it turns a
// snap-confine-compatible invocation into a plan for the privileged launcher.
//
// It runs with the caller's privileges only, so nothing here is trusted by
// the launcher: the planner's job is to decide and to explain, the launcher's
// to re-check and act. A Go caller such as `snap run` can use it in-process:
//
//	inv, err := planner.ParseCommandLine(os.Args, os.Getenv)
//	p, err := planner.Plan(inv)
//	err = planner.Exec(planner.LauncherPath(), p, inv.Target(), os.Environ())
//
// The plan carries only what the launcher uses (shared/plan). What the
// planner expects the launcher to do (Expect) is for its debug log.
//
// The snap-confine command (planner/cmd/snap-confine) is exactly that.
package planner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/plan"
	"github.com/snapns/snapns/shared/stale"
)

// LauncherName is the launcher binary, found next to the planner's front.
const LauncherName = "snap-launch"

// Plan computes the plan for inv: what the launcher needs and nothing more.
// It reads nothing: every field comes from the command line and the
// environment. What the planner expects the launcher to do is Expect's.
func Plan(inv *plan.Invocation) (*plan.Plan, error) { return inv.Plan() }

// Namespace is what the planner expects the launcher to do with the snap's
// preserved mount namespace.
type Namespace string

const (
	// NamespaceNone: a classic snap, no namespace work.
	NamespaceNone Namespace = "none"
	// NamespaceJoin: a preserved namespace was found; it is joined unless
	// it is stale (Expectation.Staleness).
	NamespaceJoin Namespace = "join"
	// NamespaceCreate: none is preserved; one is created and preserved.
	NamespaceCreate Namespace = "create"
)

// PerUser is what the planner expects for the caller's per-user layer.
type PerUser string

const (
	// PerUserNone: root, or a classic snap: no per-user layer.
	PerUserNone PerUser = "none"
	// PerUserJoin: a preserved layer on top of the snap's current
	// namespace is joined.
	PerUserJoin PerUser = "join"
	// PerUserCreate: a new layer is made and preserved (feature on).
	PerUserCreate PerUser = "create"
	// PerUserEphemeral: a new layer is made for this launch only.
	PerUserEphemeral PerUser = "ephemeral"
)

// Expectation is what the planner, without privilege and without the locks,
// expects the launcher to do. It is for the debug log only and never reaches
// the launcher, which decides all of it again from its own facts under the
// per-snap lock: another launch may rebuild the namespace between planning
// and locking, and a plan that said so would then be out of date, not wrong.
type Expectation struct {
	Namespace Namespace
	// Staleness is the planner's view of the preserved namespace, for
	// NamespaceJoin: kept, or discarded and created again.
	Staleness stale.Decision
	// PerUser and PerUserReason are the expectation for the caller's
	// per-user layer, and why.
	PerUser       PerUser
	PerUserReason string
}

// Expect works out what the launcher is expected to do for p, for a caller
// with the given uid, from the state of the running system. It reads, never
// writes, and needs no privilege; an entry the launcher will refuse (a FIFO
// where the preserved namespace or system-params should be) is refused here
// with the same words.
func Expect(p *plan.Plan, uid uint32) (Expectation, error) {
	var e Expectation
	if p.Classic {
		e.Namespace = NamespaceNone
	} else {
		preserved, err := isPreserved(layout.NSDir, layout.MountNSName(p.Instance))
		if err != nil {
			return Expectation{}, err
		}
		e.Namespace = NamespaceCreate
		if preserved {
			e.Namespace = NamespaceJoin
			if e.Staleness, err = Staleness(p.Instance, p.Base); err != nil {
				return Expectation{}, err
			}
		}
	}
	e.PerUser, e.PerUserReason = perUser(p, e, uid)
	return e, nil
}

// perUser says what happens to the caller's per-user layer, and why.
func perUser(p *plan.Plan, e Expectation, uid uint32) (PerUser, string) {
	switch {
	case p.Classic:
		return PerUserNone, "classic snaps have no per-user layer"
	case uid == 0:
		return PerUserNone, "root's app runs in the snap's namespace itself"
	}
	if _, err := os.Lstat(layout.PerUserFeatureFile); err != nil {
		return PerUserEphemeral, "a new layer for this launch only: the per-user-mount-namespace feature is off"
	}
	if e.Namespace != NamespaceJoin || e.Staleness.Vote != stale.Keep {
		return PerUserCreate, "a new layer, preserved, on top of the snap's new namespace"
	}
	snapInfo, why1 := readInfoFile(layout.NSDir, layout.InfoName(p.Instance))
	userInfo, why2 := readInfoFile(layout.NSDir, layout.UserInfoName(p.Instance, uid))
	userNS, err := isPreserved(layout.NSDir, layout.UserMountNSName(p.Instance, uid))
	if why1 == "" && why2 == "" && err == nil && userNS && info.DerivedFrom(userInfo, snapInfo) {
		return PerUserJoin, "the preserved layer is on top of the snap's current namespace"
	}
	return PerUserCreate, "a new layer, preserved: none is preserved on top of the snap's current namespace"
}

// Explain describes a plan and what the planner expects of it for a human,
// one line per decision. The expectations are the planner's view only
// (Expectation).
func Explain(p *plan.Plan, e Expectation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "snap instance %s, security tag %s, base %s\n", p.Instance, p.Tag, p.Base)
	ns := layout.NSDir + "/" + layout.MountNSName(p.Instance)
	parallel := parallelInstancesEnabled()
	switch e.Namespace {
	case NamespaceNone:
		if parallel {
			b.WriteString("classic confinement with the parallel-instances feature: the app runs in a new mount namespace of its own, a copy of pid 1's, made for this launch\n")
		} else {
			b.WriteString("classic confinement: no mount namespace work, the app runs in the caller's namespace\n")
		}
	case NamespaceJoin:
		switch e.Staleness.Vote {
		case stale.Keep:
			fmt.Fprintf(&b, "expected: join the preserved mount namespace %s: %s\n", ns, e.Staleness.Reason)
		default:
			fmt.Fprintf(&b, "expected: discard (%s) the preserved mount namespace %s: %s\n", e.Staleness.Vote, ns, e.Staleness.Reason)
			fmt.Fprintf(&b, "then create a new one: %s\n", explainRoot(p.Base))
		}
	case NamespaceCreate:
		fmt.Fprintf(&b, "expected: create a mount namespace and preserve it at %s\n", ns)
		fmt.Fprintf(&b, "%s\n", explainRoot(p.Base))
		b.WriteString("then a private /tmp and /dev/pts, and snap-update-ns if installed\n")
	}
	if !p.Classic {
		b.WriteString("the launcher decides join, create or discard again from its own facts under the snap's lock; the plan carries none of this\n")
		b.WriteString(explainDevices(p) + "\n")
	}
	if line := explainParallel(p, parallel); line != "" {
		b.WriteString(line + "\n")
	}
	if e.PerUser != PerUserNone && e.PerUser != "" {
		fmt.Fprintf(&b, "expected per-user layer: %s (%s)\n", e.PerUser, e.PerUserReason)
	}
	fmt.Fprintf(&b, "AppArmor labels (where AppArmor is enabled, derived by the launcher from the names): the app execs as %s, snap-update-ns as %s\n",
		naming.AppArmorLabel(p.Tag), naming.UpdateNSAppArmorLabel(p.Instance))
	return b.String()
}

// parallelInstancesEnabled tells whether snapd's parallel-instances feature
// is on, as the launcher decides it: a regular file owned by root.
func parallelInstancesEnabled() bool {
	fi, err := os.Lstat(layout.FeaturesDir + "/" + layout.ParallelInstancesFeature)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0
}

// explainParallel says how a parallel instance's directories come to show
// under the snap's name ($SNAP and $SNAP_DATA are /snap/<snap>/<rev> and
// /var/snap/<snap>/<rev>), or "" for a snap without an instance key. For a
// confined snap snap-update-ns maps them from snapd's mount profile; for a
// classic one the launcher does, with the feature on, as snap-confine does.
func explainParallel(p *plan.Plan, featureOn bool) string {
	own, mapped, ok := layout.ParallelInstanceDirs(p.Instance)
	if !ok {
		return ""
	}
	binds := fmt.Sprintf("%[1]s/%[2]s on %[1]s/%[3]s and %[4]s/%[2]s on %[4]s/%[3]s", snapDir(), own, mapped, layout.SnapDataDir)
	switch {
	case !p.Classic:
		return fmt.Sprintf("parallel instance %s: snap-update-ns binds %s in the snap's namespace, from the x-snapd.origin=overname entries of %s/%s",
			own, binds, layout.MountProfileDir, layout.MountProfileName(p.Instance))
	case featureOn:
		return fmt.Sprintf("parallel instance %s of a classic snap: the launcher binds %s in the app's new namespace", own, binds)
	default:
		return fmt.Sprintf("parallel instance %s of a classic snap: nothing is mapped, the parallel-instances feature is off (%s/%s is not a regular file owned by root)",
			own, layout.FeaturesDir, layout.ParallelInstancesFeature)
	}
}

// Staleness decides, as well as an unprivileged process can, whether the
// instance's preserved namespace is stale: from its info file and the host's
// facts, and the snap's cgroups when a refresh would discard it. A namespace
// whose info file does not say what it was built from (or is not a
// root-owned regular file: the launcher ignores such an entry too) can only
// be inspected by the launcher; the planner then expects it kept and says
// so. Its only error is a system-params the launcher will refuse as well.
func Staleness(inst naming.Instance, base string) (stale.Decision, error) {
	cur, err := CurrentFacts(base)
	if err != nil {
		return stale.Decision{}, err
	}
	in, why := readInfoFile(layout.NSDir, layout.InfoName(inst))
	d, inspect := stale.Decide(in, why == "", cur)
	if inspect {
		reason := "its info file does not record what it was built from: the launcher inspects it"
		if why != "" {
			reason = "no usable info file (" + why + "): the launcher inspects it"
		}
		return stale.Decision{Vote: stale.Keep, Reason: reason}, nil
	}
	if d.Vote == stale.Should {
		if busy, why, err := stale.Occupied(layout.CgroupDir, inst); err == nil && busy {
			return stale.Decision{Vote: stale.Keep, Reason: d.Reason + ", but the snap is running (" + why + ")"}, nil
		}
	}
	return d, nil
}

// CurrentFacts reads what a namespace built now on base would be built
// from, as the launcher reads it: the revision /snap/<base>/current names,
// that revision's device, snapd's homedirs and the mode. Its only error is
// a system-params the launcher will refuse as well.
func CurrentFacts(base string) (stale.Current, error) {
	cur := stale.Current{Base: base, Normal: normalMode(base)}
	dir := snapDir()
	if rev, err := os.Readlink(dir + "/" + base + "/current"); err == nil {
		cur.Revision = filepath.Base(rev)
		var st unix.Stat_t
		if unix.Stat(dir+"/"+base+"/"+cur.Revision, &st) == nil {
			cur.Device = st.Dev
		}
	}
	var err error
	if cur.Homedirs, err = readSystemParams(layout.SystemParams); err != nil {
		return stale.Current{}, err
	}
	return cur, nil
}

// normalMode tells whether a namespace on base is built on the base snap
// (normal mode) or on the host's root (legacy mode), as the launcher decides.
func normalMode(base string) bool {
	return host.NormalMode(classifyHost(), base)
}

// classifyHost is the launcher's classifyHost: /etc/os-release and the
// presence of /meta/snap.yaml.
func classifyHost() host.Distro {
	_, metaErr := os.Lstat("/meta/snap.yaml")
	return host.Classify(readOSRelease(), metaErr == nil)
}

// explainRoot says what the new namespace's root filesystem will be, as the
// launcher will decide it from the same host facts.
func explainRoot(base string) string {
	distro := classifyHost()
	if !host.NormalMode(distro, base) {
		return fmt.Sprintf("legacy mode (a %s host with base %s): the host's root filesystem, with /media and /run/netns shared", distro, base)
	}
	current := snapDir() + "/" + base + "/current"
	rev, err := os.Readlink(current)
	if err != nil {
		return fmt.Sprintf("normal mode: base snap %s, but %s cannot be read (%v): the launch will fail", base, current, err)
	}
	return fmt.Sprintf("normal mode: pivot_root into a tmpfs holding the entries of base snap %s revision %s, host directories bound in (policy/bootstrap.go)", base, rev)
}

// snapDir is the host's snap mount directory as the launcher probes it
// (layout.ProbeSnapMountDir), seen from the caller's namespace; /snap when
// the probe fails, which the launcher then refuses.
func snapDir() string {
	dir, err := layout.ProbeSnapMountDir()
	if err != nil {
		return layout.CanonicalSnapMountDir
	}
	return dir
}

// LauncherPath returns the path of snap-launch next to the running program.
func LauncherPath() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot locate %s: %w", LauncherName, err)
	}
	return filepath.Join(filepath.Dir(self), LauncherName), nil
}

// LauncherArgv returns the launcher's argv: its name, the encoded plan, then
// the target's argv untouched.
func LauncherArgv(p *plan.Plan, target []string) ([]string, error) {
	data, err := plan.Encode(p)
	if err != nil {
		return nil, err
	}
	return append([]string{LauncherName, string(data)}, target...), nil
}

// Exec replaces the calling process with the launcher. The Go runtime's
// variables travel under saved names (policy.SaveRuntimeEnv): the launcher's
// runtime, in secure mode, would otherwise act on them, or overwrite
// GOTRACEBACK, before the app could get them as the caller set them.
func Exec(launcherPath string, p *plan.Plan, target []string, env []string) error {
	argv, err := LauncherArgv(p, target)
	if err != nil {
		return err
	}
	env, _ = policy.SaveRuntimeEnv(env)
	err = syscall.Exec(launcherPath, argv, env)
	return fmt.Errorf("cannot execute %s: %w", launcherPath, err)
}
