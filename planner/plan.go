// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/stale"
)

// Plan is what a launch does, decided from Facts by Decide: every step the
// launcher takes, and why. The launcher executes it through its closed set
// of privileged actions; snap-ns and the debug log print it (Explain).
type Plan struct {
	// Refusal, when set, is the one line ("cannot ...") the launch fails
	// with; nothing else of the plan is done.
	Refusal error
	// Need lists the facts to gather before deciding again.
	Need      Need
	Namespace NamespaceStep
	PerUser   PerUserStep
	// Root is how a new namespace's root filesystem is built (Namespace
	// Create or Rebuild).
	Root     Root
	Seccomp  SeccompStep
	AppArmor AppArmorStep
	Devices  DeviceStep
	Classic  ClassicStep
}

// Need names the facts Decide wants before it can decide further, in the
// order the launcher can gather them: what it has decided so far stands
// (a refusal is final), and nothing is to be done until Need is empty.
type Need struct {
	// Seccomp: the app's seccomp profile (Facts.Seccomp), read in pid 1's
	// mount namespace.
	Seccomp bool
	// Snap: the snap's facts (Facts.Snap and Facts.Host), read under its
	// lock once the global set-up is done.
	Snap bool
	// Inspection: the preserved namespace's own mount table (its info
	// file does not say what it was built from: snapd's snap-confine
	// made it).
	Inspection bool
	// Occupancy: whether the snap still has processes (its namespace
	// should go after a refresh, unless it does).
	Occupancy bool
	// TaggedDevices: the devices udev tagged for the app (and, on cgroup
	// v2, the launcher's own cgroup).
	TaggedDevices bool
	// UpdateNS: whether snap-update-ns is installed (and, when it is not,
	// whether snapd wrote mount profiles it would have applied).
	UpdateNS bool
}

// Any reports whether a fact is still needed.
func (n Need) Any() bool { return n != Need{} }

// NamespaceAction is what is done with the snap's mount namespace.
type NamespaceAction int

const (
	// NamespaceNone: a classic snap's app runs in the caller's namespace
	// (or a new one of its own, ClassicStep).
	NamespaceNone NamespaceAction = iota
	// NamespaceJoin: the preserved namespace is joined.
	NamespaceJoin
	// NamespaceCreate: none is preserved; one is made and preserved.
	NamespaceCreate
	// NamespaceRebuild: the preserved one is discarded, then a new one is
	// made and preserved.
	NamespaceRebuild
)

func (a NamespaceAction) String() string {
	return [...]string{"none", "join", "create", "rebuild"}[a]
}

// NamespaceStep is the decision on the snap's namespace.
type NamespaceStep struct {
	Action NamespaceAction
	// Vote is the staleness vote on a preserved namespace.
	Vote stale.Vote
	Why  string
}

// PerUserAction is what is done with the caller's per-user layer.
type PerUserAction int

const (
	// PerUserNone: root, or a classic snap.
	PerUserNone PerUserAction = iota
	// PerUserJoin: the preserved layer on top of the snap's namespace.
	PerUserJoin
	// PerUserCreate: a new layer, preserved (the feature is on).
	PerUserCreate
	// PerUserEphemeral: a new layer for this launch only.
	PerUserEphemeral
)

func (a PerUserAction) String() string {
	return [...]string{"none", "join", "create", "ephemeral"}[a]
}

// PerUserStep is the decision on the caller's per-user layer.
type PerUserStep struct {
	Action PerUserAction
	// Discard: a preserved layer is there and must go first.
	Discard bool
	// UpdateNS: snap-update-ns --user-mounts applies the snap's per-user
	// mount profile in the new layer.
	UpdateNS bool
	Why      string
}

// Root is how a new namespace's root filesystem is built.
type Root struct {
	// Normal mode: a tmpfs holding the base's entries, with the host's
	// directories of Binds bound in; legacy mode (a core16 host running a
	// snap on "core") keeps the host's root.
	Normal bool
	Binds  []policy.HostBind
	// SnapdTools: the launcher's own directory is bound over
	// /usr/lib/snapd.
	SnapdTools bool
	// MergedUsr: Binds has /run/media at /media too, and BoundOverBase
	// says so.
	MergedUsr bool
	// EtcFromBase are the base's own entries of /etc bound over the
	// host's.
	EtcFromBase []string
	// HostGPU: the host's NVIDIA driver, when loaded, is made visible
	// below /var/lib/snapd/lib (a classic host), as snap-confine does;
	// policy/nvidia.go decides its files from what is found then.
	HostGPU bool
	// UpdateNS: snap-update-ns runs in the new namespace.
	UpdateNS bool
}

// SeccompStep is what is loaded before the app runs.
type SeccompStep struct {
	Path, Format string
	// Programs is how many BPF programs are loaded (0: unrestricted).
	Programs int
}

// AppArmorStep says under which labels the app and snap-update-ns exec.
type AppArmorStep struct {
	// Enforce: AppArmor is enabled, and the labels are set at exec.
	Enforce               bool
	AppLabel, HelperLabel string
}

// DeviceStep is the device cgroup decision.
type DeviceStep struct {
	Mode devcgroup.Mode
	Why  string
	// Set: a device cgroup is set up, in Hierarchy, allowing exactly
	// Allow.
	Set       bool
	Hierarchy devcgroup.Hierarchy
	Allow     []devcgroup.Device
	// Tagged is how many of Allow udev tagged for the app.
	Tagged int
}

// ClassicStep is what a classic snap's launch does with mount namespaces:
// nothing, unless the parallel-instances feature is on.
type ClassicStep struct {
	// NewNamespace: the app gets a mount namespace of its own, after the
	// global set-up.
	NewNamespace bool
	// Own is mapped onto Mapped below the snap mount directory and
	// /var/snap (a parallel instance).
	Own, Mapped string
}
