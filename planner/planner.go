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

// DefaultBase is the base snap used when --base is not given, as in
// snap-confine.
const DefaultBase = "core"

// LauncherName is the launcher binary, found next to the planner's front.
const LauncherName = "snap-launch"

// Invocation is one validated snap-confine command line.
type Invocation struct {
	// Version is set for `snap-confine --version`; the rest is then not
	// validated and must not be used.
	Version bool
	// Classic is --classic: no mount namespace work.
	Classic bool
	// Base is --base, or DefaultBase.
	Base string
	// Instance comes from SNAP_INSTANCE_NAME.
	Instance naming.Instance
	// Tag is the security tag; it belongs to Instance.
	Tag naming.SecurityTag
	// Executable and Args are the target.
	Executable string
	Args       []string
	// Debug is SNAPD_DEBUG or SNAP_CONFINE_DEBUG set to 1 or yes.
	Debug bool
}

// Target returns the target's argv: the executable, then its arguments, as
// snap-confine passes them to execv.
func (inv *Invocation) Target() []string {
	return append([]string{inv.Executable}, inv.Args...)
}

// ParseCommandLine parses snap-confine's argv and environment exactly as
// snap-confine does: option switches first (--version, --classic, --base
// BASE), then SECURITY-TAG and EXECUTABLE, then the executable's arguments,
// which are never parsed.
func ParseCommandLine(args []string, getenv func(string) string) (*Invocation, error) {
	inv := &Invocation{Debug: envTrue(getenv("SNAPD_DEBUG")) || envTrue(getenv("SNAP_CONFINE_DEBUG"))}
	i := 1
	base, baseGiven := DefaultBase, false
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch args[i] {
		case "--version":
			inv.Version = true
			return inv, nil
		case "--classic":
			inv.Classic = true
		case "--base":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("cannot parse arguments: the --base option requires an argument")
			}
			if baseGiven {
				return nil, fmt.Errorf("cannot parse arguments: the --base option can be used only once")
			}
			i++
			base, baseGiven = args[i], true
		default:
			return nil, fmt.Errorf("cannot parse arguments: unrecognized command line option: %q", args[i])
		}
	}
	if i >= len(args) {
		return nil, fmt.Errorf("cannot parse arguments: application or hook security tag was not provided")
	}
	if i+1 >= len(args) {
		return nil, fmt.Errorf("cannot parse arguments: executable name was not provided")
	}
	unsafeTag, executable := args[i], args[i+1]
	inv.Executable, inv.Args = executable, args[i+2:]

	unsafeInstance := getenv("SNAP_INSTANCE_NAME")
	if unsafeInstance == "" {
		return nil, fmt.Errorf("cannot run: SNAP_INSTANCE_NAME is not set")
	}
	var err error
	if inv.Instance, err = naming.ParseInstance(unsafeInstance); err != nil {
		return nil, err
	}
	if inv.Tag, err = naming.ParseSecurityTagFor(unsafeTag, inv.Instance); err != nil {
		return nil, err
	}
	if err := naming.ValidateSnapName(base); err != nil {
		return nil, fmt.Errorf("cannot use base snap: %w", err)
	}
	inv.Base = base
	return inv, nil
}

// envTrue reads a boolean environment variable as snap-confine does: "1" and
// "yes" are true, anything else false.
func envTrue(v string) bool { return v == "1" || v == "yes" }

// Plan computes the plan for inv from the state of the running system. It
// reads, never writes, and needs no privilege.
func Plan(inv *Invocation) (*plan.Plan, error) {
	p := &plan.Plan{
		Classic:  inv.Classic,
		Instance: inv.Instance,
		Tag:      inv.Tag,
		Base:     inv.Base,
		Debug:    inv.Debug,
	}
	switch {
	case inv.Classic:
		p.Namespace = plan.NamespaceNone
	case isPreserved(layout.NSDir + "/" + layout.MountNSName(inv.Instance)):
		p.Namespace = plan.NamespaceJoin
		d := Staleness(inv.Instance, inv.Base)
		if d.Vote != stale.Keep {
			p.Discard = d.Vote
		}
	default:
		p.Namespace = plan.NamespaceCreate
	}
	p.PerUser, _ = perUser(p, uint32(os.Getuid()))
	p.AppLabel, p.HelperLabel = plan.AppLabelFor(inv.Tag), plan.HelperLabelFor(inv.Instance)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// perUser says what happens to the caller's per-user layer, and why.
func perUser(p *plan.Plan, uid uint32) (plan.PerUser, string) {
	switch {
	case p.Classic:
		return plan.PerUserNone, "classic snaps have no per-user layer"
	case uid == 0:
		return plan.PerUserNone, "root's app runs in the snap's namespace itself"
	}
	if _, err := os.Lstat(layout.PerUserFeatureFile); err != nil {
		return plan.PerUserEphemeral, "a new layer for this launch only: the per-user-mount-namespace feature is off"
	}
	if p.Namespace != plan.NamespaceJoin || p.Discard != stale.Keep {
		return plan.PerUserCreate, "a new layer, preserved, on top of the snap's new namespace"
	}
	snapInfo, err1 := readInfo(p.Instance)
	userInfo, err2 := readInfoFile(layout.UserInfoName(p.Instance, uid))
	if err1 == nil && err2 == nil && snapInfo.MountNSID != 0 && userInfo.ParentMountNSID == snapInfo.MountNSID &&
		isPreserved(layout.NSDir+"/"+layout.UserMountNSName(p.Instance, uid)) {
		return plan.PerUserJoin, "the preserved layer is on top of the snap's current namespace"
	}
	return plan.PerUserCreate, "a new layer, preserved: none is preserved on top of the snap's current namespace"
}

// isPreserved tells whether path is a preserved namespace (an nsfs file). A
// plain file, no file or an unreadable one all mean "not preserved".
func isPreserved(path string) bool {
	var sfs unix.Statfs_t
	return unix.Statfs(path, &sfs) == nil && sfs.Type == unix.NSFS_MAGIC
}

// Explain describes a plan for a human, one line per decision.
func Explain(p *plan.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "snap instance %s, security tag %s, base %s\n", p.Instance, p.Tag, p.Base)
	ns := layout.NSDir + "/" + layout.MountNSName(p.Instance)
	parallel := parallelInstancesEnabled()
	switch p.Namespace {
	case plan.NamespaceNone:
		if parallel {
			b.WriteString("classic confinement with the parallel-instances feature: the app runs in a new mount namespace of its own, a copy of pid 1's, made for this launch\n")
		} else {
			b.WriteString("classic confinement: no mount namespace work, the app runs in the caller's namespace\n")
		}
	case plan.NamespaceJoin:
		d := Staleness(p.Instance, p.Base)
		switch p.Discard {
		case stale.Keep:
			fmt.Fprintf(&b, "join the preserved mount namespace %s: %s\n", ns, d.Reason)
		default:
			fmt.Fprintf(&b, "discard (%s) the preserved mount namespace %s: %s\n", p.Discard, ns, d.Reason)
			fmt.Fprintf(&b, "then create a new one: %s\n", explainRoot(p.Base))
		}
	case plan.NamespaceCreate:
		fmt.Fprintf(&b, "create a mount namespace and preserve it at %s\n", ns)
		fmt.Fprintf(&b, "%s\n", explainRoot(p.Base))
		b.WriteString("then a private /tmp and /dev/pts, and snap-update-ns if installed\n")
	}
	if line := explainParallel(p, parallel); line != "" {
		b.WriteString(line + "\n")
	}
	if p.PerUser != plan.PerUserNone {
		_, why := perUser(p, uint32(os.Getuid()))
		fmt.Fprintf(&b, "per-user layer: %s (%s)\n", p.PerUser, why)
	}
	fmt.Fprintf(&b, "AppArmor labels (where AppArmor is enabled): the app execs as %s, snap-update-ns as %s\n", p.AppLabel, p.HelperLabel)
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
	binds := fmt.Sprintf("%[1]s/%[2]s on %[1]s/%[3]s and %[4]s/%[2]s on %[4]s/%[3]s", layout.SnapMountDir, own, mapped, layout.SnapDataDir)
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
// whose info file does not say what it was built from can only be inspected
// by the launcher; the planner then votes to keep it and says so.
func Staleness(inst naming.Instance, base string) stale.Decision {
	cur := stale.Current{Base: base, Normal: true}
	osRelease, _ := os.ReadFile("/etc/os-release")
	_, metaErr := os.Lstat("/meta/snap.yaml")
	cur.Normal = host.NormalMode(host.Classify(osRelease, metaErr == nil), base)
	if rev, err := os.Readlink(layout.SnapMountDir + "/" + base + "/current"); err == nil {
		cur.Revision = filepath.Base(rev)
		var st unix.Stat_t
		if unix.Stat(layout.SnapMountDir+"/"+base+"/"+cur.Revision, &st) == nil {
			cur.Device = st.Dev
		}
	}
	if data, err := os.ReadFile(layout.SystemParams); err == nil {
		cur.Homedirs, _ = info.SystemParamsHomedirs(data)
	}
	in, err := readInfo(inst)
	d, inspect := stale.Decide(in, err == nil, cur)
	if inspect {
		return stale.Decision{Vote: stale.Keep, Reason: "its info file does not record what it was built from: the launcher inspects it"}
	}
	if d.Vote == stale.Should {
		if busy, why, err := stale.Occupied(layout.CgroupDir, inst); err == nil && busy {
			return stale.Decision{Vote: stale.Keep, Reason: d.Reason + ", but the snap is running (" + why + ")"}
		}
	}
	return d
}

func readInfo(inst naming.Instance) (info.Info, error) {
	return readInfoFile(layout.InfoName(inst))
}

func readInfoFile(name string) (info.Info, error) {
	data, err := os.ReadFile(layout.NSDir + "/" + name)
	if err != nil {
		return info.Info{}, err
	}
	return info.Parse(data)
}

// explainRoot says what the new namespace's root filesystem will be, as the
// launcher will decide it from the same host facts.
func explainRoot(base string) string {
	osRelease, _ := os.ReadFile("/etc/os-release")
	_, metaErr := os.Lstat("/meta/snap.yaml")
	distro := host.Classify(osRelease, metaErr == nil)
	if !host.NormalMode(distro, base) {
		return fmt.Sprintf("legacy mode (a %s host with base %s): the host's root filesystem, with /media and /run/netns shared", distro, base)
	}
	current := layout.SnapMountDir + "/" + base + "/current"
	rev, err := os.Readlink(current)
	if err != nil {
		return fmt.Sprintf("normal mode: base snap %s, but %s cannot be read (%v): the launch will fail", base, current, err)
	}
	return fmt.Sprintf("normal mode: pivot_root into base snap %s revision %s, host directories bound in (policy/bootstrap.go)", base, rev)
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
