// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"fmt"

	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/naming"
)

// Facts is everything a launch's decisions depend on. The launcher gathers
// them itself, with its privileges and under its locks, from a command line
// it does not trust; snap-ns gathers the same without privilege to explain
// a launch. Nothing here is read by the planner: it is given.
//
// Facts come in the order the launcher can read them, and some cost a
// launch time that only some launches need: those are pointers, nil until
// gathered, and Decide says in Plan.Need which it wants next. The launcher
// gathers it and decides again, so every decision is Decide's, made on
// exactly the facts it asked for.
type Facts struct {
	Launch Launch
	// CallerUID is the caller's real uid, as the kernel reports it.
	CallerUID uint32
	AppArmor  AppArmor
	Features  Features
	// Seccomp is the app's profile, read in pid 1's mount namespace (nil
	// until gathered: Need.Seccomp).
	Seccomp *Seccomp
	// Host describes the machine; it is gathered with Snap.
	Host Host
	// Snap are the facts of the snap, read under its lock (nil until
	// gathered: Need.Snap).
	Snap *Snap
}

// Snap are the facts of the snap read under its lock, in pid 1's mount
// namespace.
type Snap struct {
	// Removing: snapd marked the snap as being removed
	// (/var/lib/snapd/inhibit/<instance>.remove).
	Removing bool
	Base     Base
	// Homedirs are snapd's extra home directories (system-params).
	Homedirs []string
	Devices  Devices
	// UpdateNS is snap-update-ns, nil until gathered (Need.UpdateNS: a
	// namespace or layer is to be made).
	UpdateNS *UpdateNS
	// Preserved is the snap's preserved namespace, UserLayer the caller's
	// preserved per-user layer on top of it (read under the caller's
	// per-user lock, taken after the snap's).
	Preserved Preserved
	UserLayer Preserved
}

// Launch is the validated command line: snapd's, or the plan of the
// launcher's front.
type Launch struct {
	Classic  bool
	Instance naming.Instance
	Tag      naming.SecurityTag
	// Base is the base the command line names (--base, "core" without).
	Base string
}

// AppArmor is what AppArmor detection found.
type AppArmor struct {
	// Enabled: the kernel enforces AppArmor.
	Enabled bool
	// Confined: the launcher runs under a profile of its own.
	Confined bool
	// Err: detection could not complete (it fails closed).
	Err error
}

// Host describes the machine.
type Host struct {
	Distro host.Distro
	// DebianLike: os-release's ID or ID_LIKE is "debian".
	DebianLike bool
	// SnapDir is where snaps are mounted (layout.ProbeSnapMountDir).
	SnapDir string
	// InContainer: systemd's container interface names a container.
	InContainer bool
	// Hierarchy is the cgroup hierarchy the device cgroup uses.
	Hierarchy devcgroup.Hierarchy
}

// Features are snapd's feature flags the launcher honours.
type Features struct {
	PerUser  bool // per-user-mount-namespace
	Parallel bool // parallel-instances
}

// Base is the base snap resolved on the host: the one the command line
// names or its fallback, with the revision current names and its device.
type Base struct {
	Name     string
	Revision string
	Device   uint64
	// Err says why no base can be used.
	Err error
}

// Seccomp summarises the app's seccomp profile as read.
type Seccomp struct {
	// Path and Format ("bin2", "bin", "bin+global") of what was read.
	Path, Format string
	// Programs is how many BPF programs it holds; Unrestricted that it
	// asks for none.
	Programs     int
	Unrestricted bool
	// Err says why it cannot be used.
	Err error
}

// Devices are the facts of the device cgroup.
type Devices struct {
	// Settings is snapd's settings file of the instance, as read (or the
	// defaults of a snapd that writes none); SettingsErr why it cannot be
	// used.
	Settings    devcgroup.Settings
	SettingsErr error
	// Tagged are the devices udev tagged for the app; nil until
	// gathered (Need.TaggedDevices).
	Tagged *[]devcgroup.Device
	// OwnCgroup is the launcher's own cgroup v2 path, gathered with
	// Tagged on cgroup v2 (the device program is attached there).
	OwnCgroup string
	// Extra are the host's nodes every app with a device cgroup may use
	// besides devcgroup.Common (NVIDIA, uhid, tun, where they exist).
	Extra []devcgroup.Device
}

// UpdateNS says what of snap-update-ns a new namespace needs.
type UpdateNS struct {
	// Path is snap-update-ns next to the launcher; Installed whether it is
	// there.
	Path      string
	Installed bool
	// Profile, UserProfile: snapd wrote the snap's mount profile, its
	// per-user one (/var/lib/snapd/mount).
	Profile, UserProfile bool
}

// Preserved is what is at a preserved namespace's file.
type Preserved struct {
	// Present: an nsfs file is there (nothing, or a plain file, is not).
	Present bool
	// NotOurs says why it is not the namespace captured there (its owner
	// is not pid 1's user namespace, or its id is not the recorded one);
	// "" when it is.
	NotOurs string
	// Identity is the live namespace's: what a per-user layer on top of
	// it must record as its parent.
	Identity Identity
	// Info is its info file, HaveInfo whether there was a usable one.
	Info     info.Info
	HaveInfo bool
	// Mounts are the entries of its own mount table an inspection looks
	// at (stale.Relevant), nil until gathered (Need.Inspection).
	Mounts *[]mountinfo.Entry
	// Occupancy says whether the snap still has processes, nil until
	// gathered (Need.Occupancy).
	Occupancy *Occupancy
}

// Occupancy is whether the snap has processes, and why it is thought so.
type Occupancy struct {
	Busy bool
	Why  string
}

// Identity tells a namespace from every other alive at the same time: the
// kernel's id (NS_GET_MNTNS_ID) since Linux 6.8, the inode of its nsfs file
// before (SECURITY.md, kernels before 6.8); the other is 0.
type Identity struct{ ID, Inode uint64 }

func (i Identity) String() string {
	if i.ID != 0 {
		return fmt.Sprintf("id %d", i.ID)
	}
	return fmt.Sprintf("inode %d", i.Inode)
}

// Recorded is the identity an info file records of its own namespace.
func Recorded(in info.Info) Identity { return Identity{in.MountNSID, in.MountNSInode} }

// RecordedParent is the identity a per-user layer's info file records of
// the snap namespace it was made on.
func RecordedParent(in info.Info) Identity {
	return Identity{in.ParentMountNSID, in.ParentMountNSInode}
}

// Matches tells whether a recorded identity names the live namespace i.
func (i Identity) Matches(recorded Identity) bool {
	return (recorded.ID != 0 && recorded.ID == i.ID) || (recorded.Inode != 0 && recorded.Inode == i.Inode)
}
