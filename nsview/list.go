// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/stale"
	"github.com/snapns/snapns/shared/trusted"
)

// Listing is the answer of `snap-ns list`.
type Listing struct {
	Schema  string `json:"schema"`
	Command string `json:"command"`
	Dir     string `json:"dir"`
	// Namespaces are the per-snap namespaces and per-user layers, by
	// instance then uid.
	Namespaces []Namespace `json:"namespaces"`
	// Entries are what else is in Dir that the launcher would not have
	// made, or that cannot be used: reported, never followed.
	Entries []Entry `json:"entries"`
}

// Namespace is one <instance>.mnt or <instance>.<uid>.mnt.
type Namespace struct {
	Name     string  `json:"name"`
	Instance string  `json:"instance"`
	Kind     string  `json:"kind"` // "snap" or "user"
	UID      *uint32 `json:"uid"`  // the layer's user; null for a snap namespace
	// Preserved is false for the plain file that stands for "not
	// preserved" (a discarded namespace's placeholder).
	Preserved bool   `json:"preserved"`
	ID        uint64 `json:"id"` // NS_GET_MNTNS_ID; 0 when unknown
	IDProblem string `json:"id_problem"`
	Inode     uint64 `json:"inode"` // the namespace's inode, as in /proc/<pid>/ns/mnt
	dev       uint64 // nsfs's device, to match /proc/<pid>/ns/mnt
	// PIDs are the processes in it that the caller may see (all for
	// root), as lsns counts them.
	PIDs []int `json:"pids"`

	InfoFile    string   `json:"info_file"`
	InfoProblem string   `json:"info_problem"`
	Base        string   `json:"base"`
	Revision    string   `json:"revision"`
	Device      string   `json:"device"`
	Homedirs    []string `json:"homedirs"`
	ParentID    uint64   `json:"parent_id"`
	MadeBy      string   `json:"made_by"` // "snapns", "snap-confine" or "unknown"

	Stale  string `json:"stale"` // "keep", "should", "must" or "unknown"
	Reason string `json:"reason"`
	// Occupied tells whether the snap has processes in its tracking
	// cgroups; OccupiedBy says which group, OccupancyProblem why it could
	// not be told.
	Occupied         bool   `json:"occupied"`
	OccupiedBy       string `json:"occupied_by"`
	OccupancyProblem string `json:"occupancy_problem"`
	// NextLaunch is what the launcher would do with it now: "join",
	// "discard", "inspect" or "create" (a placeholder).
	NextLaunch string `json:"next_launch"`

	Built      string  `json:"built"` // RFC 3339; empty when unknown
	BuiltFrom  string  `json:"built_from"`
	AgeSeconds float64 `json:"age_seconds"`
}

// Entry is something in /run/snapd/ns worth an operator's attention.
type Entry struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	UID     uint32 `json:"uid"`
	Mode    string `json:"mode"`
	Problem string `json:"problem"`
}

// Made-by values: the info file tells who built a namespace, since snapd's
// snap-confine writes base-snap-name alone and snapns its facts too.
const (
	MadeBySnapns      = "snapns"
	MadeBySnapConfine = "snap-confine"
	MadeByUnknown     = "unknown"
)

// List describes dir (layout.NSDir) as of now.
func List(dir string, now time.Time) (*Listing, error) {
	l := &Listing{Schema: Schema, Command: "list", Dir: dir, Namespaces: []Namespace{}, Entries: []Entry{}}
	dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return l, nil // nothing preserved since boot
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", dir, err)
	}
	d := os.NewFile(uintptr(dirfd), dir)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", dir, err)
	}
	slices.Sort(names)
	used := map[string]bool{}
	occupancy := map[string]Namespace{}
	for _, name := range names {
		inst, uid, isUser, ok := parseNSName(name)
		if !ok {
			continue
		}
		used[name] = true
		n, entry := describeNS(dirfd, dir, name, inst, uid, isUser, now)
		if entry != nil {
			l.Entries = append(l.Entries, *entry)
			continue
		}
		if n.InfoFile != "" {
			used[n.InfoFile] = true
		}
		o, seen := occupancy[inst.String()]
		if !seen {
			o.Occupied, o.OccupiedBy, o.OccupancyProblem = occupied(inst)
			occupancy[inst.String()] = o
		}
		n.Occupied, n.OccupiedBy, n.OccupancyProblem = o.Occupied, o.OccupiedBy, o.OccupancyProblem
		l.Namespaces = append(l.Namespaces, n)
	}
	decideAll(dir, l.Namespaces)
	procs := processesByNamespace()
	for i := range l.Namespaces {
		n := &l.Namespaces[i]
		n.PIDs = []int{}
		if n.Preserved {
			n.PIDs = append(n.PIDs, procs[nsKey{n.dev, n.Inode}]...)
		}
	}
	for _, name := range names {
		if e := describeOther(dirfd, name, used[name]); e != nil {
			l.Entries = append(l.Entries, *e)
		}
	}
	return l, nil
}

// parseNSName recognises <instance>.mnt and <instance>.<uid>.mnt. Instance
// names hold no dot, so the two cannot be confused.
func parseNSName(name string) (inst naming.Instance, uid uint32, isUser, ok bool) {
	stem, found := strings.CutSuffix(name, ".mnt")
	if !found {
		return inst, 0, false, false
	}
	if i := strings.LastIndexByte(stem, '.'); i >= 0 {
		u, err := strconv.ParseUint(stem[i+1:], 10, 32)
		if err != nil || layout.UserMountNSName(mustInstance(stem[:i]), uint32(u)) != name {
			return inst, 0, false, false
		}
		inst, err = naming.ParseInstance(stem[:i])
		return inst, uint32(u), true, err == nil
	}
	inst, err := naming.ParseInstance(stem)
	return inst, 0, false, err == nil
}

// mustInstance is the instance named s, or the zero instance.
func mustInstance(s string) naming.Instance {
	inst, _ := naming.ParseInstance(s)
	return inst
}

// describeNS looks at one namespace file, or says why it is no namespace.
func describeNS(dirfd int, dir, name string, inst naming.Instance, uid uint32, isUser bool, now time.Time) (Namespace, *Entry) {
	n := Namespace{Name: name, Instance: inst.String(), Kind: "snap", MadeBy: MadeByUnknown, Homedirs: []string{}}
	if isUser {
		n.Kind, n.UID = "user", &uid
	}
	// As the launcher opens it (trusted.EntryAt): nothing is read and
	// nothing can block; a symlink is the link itself, reported below,
	// never its target.
	entry, err := trusted.EntryAt(desc.New(dirfd, dir), name)
	if err != nil {
		return n, &Entry{Name: name, Type: "unknown", Problem: fmt.Sprintf("cannot open %s/%s: %v", dir, name, err)}
	}
	defer entry.Close()
	fd := entry.Fd()
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		return n, &Entry{Name: name, Type: "unknown", Problem: fmt.Sprintf("cannot inspect %s/%s: %v", dir, name, err)}
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return n, &Entry{Name: name, Type: "unknown", Problem: fmt.Sprintf("cannot inspect %s/%s: %v", dir, name, err)}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		// The launcher's words for it (launcher openNSFile).
		return n, entryOf(name, &st, fmt.Sprintf("cannot use %s/%s: not a regular file nor a preserved namespace", dir, name))
	}
	n.Preserved = sfs.Type == unix.NSFS_MAGIC
	if !n.Preserved {
		if st.Uid != 0 {
			return n, entryOf(name, &st, fmt.Sprintf("a plain file owned by uid %d, not root: the launcher did not make it", st.Uid))
		}
		n.Stale, n.NextLaunch, n.Reason = "unknown", "create", "not preserved: a plain file stands in for a discarded namespace"
		return n, nil
	}
	n.Inode, n.dev = st.Ino, st.Dev
	n.ID, n.IDProblem = namespaceID(fd)
	n.InfoFile = layout.InfoName(inst)
	if isUser {
		n.InfoFile = layout.UserInfoName(inst, uid)
	}
	in, have, why := gather.Info(desc.New(dirfd, dir), n.InfoFile)
	n.InfoProblem = why
	if have {
		n.Base, n.Revision, n.ParentID = in.BaseSnapName, in.BaseSnapRevision, in.ParentMountNSID
		if in.BaseSnapDevice != 0 {
			n.Device = fmt.Sprintf("%d:%d", unix.Major(in.BaseSnapDevice), unix.Minor(in.BaseSnapDevice))
		}
		if in.Homedirs != nil {
			n.Homedirs = in.Homedirs
		}
		n.MadeBy = madeBy(in)
	}
	// Age: the info file is written when the namespace is preserved; an
	// nsfs inode's times say when the kernel made the inode, which
	// follows the namespace closely enough when there is no info file.
	var ist unix.Stat_t
	mtime, from := st.Mtim, "nsfs"
	if unix.Fstatat(dirfd, n.InfoFile, &ist, unix.AT_SYMLINK_NOFOLLOW) == nil && ist.Mode&unix.S_IFMT == unix.S_IFREG && ist.Uid == 0 {
		mtime, from = ist.Mtim, "info"
	}
	built := time.Unix(mtime.Unix())
	n.Built, n.BuiltFrom = built.UTC().Format(time.RFC3339), from
	n.AgeSeconds = max(0, now.Sub(built).Round(time.Second).Seconds())
	return n, nil
}

// madeBy tells who wrote an info file: snapns records what the namespace
// was built from, snapd's snap-confine only the base's name.
func madeBy(in info.Info) string {
	if in.BaseSnapRevision != "" || in.BaseSnapDevice != 0 || in.HomedirsKnown || in.MountNSID != 0 || in.MountNSInode != 0 {
		return MadeBySnapns
	}
	return MadeBySnapConfine
}

// namespaceID reads the namespace id behind the O_PATH descriptor fd. The
// ioctl needs a descriptor that is open for real, so the nsfs file is
// reopened through the descriptor (the same inode, already checked to be
// nsfs: no path is looked up again); an nsfs file cannot block an open.
func namespaceID(fd int) (uint64, string) {
	rfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return 0, fmt.Sprintf("cannot open the namespace file: %v (needs root)", err)
		}
		return 0, fmt.Sprintf("cannot open the namespace file: %v", err)
	}
	defer unix.Close(rfd)
	id, err := unix.IoctlGetUint64(rfd, unix.NS_GET_MNTNS_ID)
	switch {
	case errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL):
		return 0, "cannot read the namespace id: NS_GET_MNTNS_ID needs Linux 6.8"
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
		return 0, fmt.Sprintf("cannot read the namespace id: %v (needs root)", err)
	case err != nil:
		return 0, fmt.Sprintf("cannot read the namespace id: %v", err)
	}
	return id, ""
}

// occupied runs the launcher's occupancy check for inst.
func occupied(inst naming.Instance) (bool, string, string) {
	busy, why, err := gather.Occupied(layout.CgroupDir, inst)
	if err != nil {
		return false, "", err.Error()
	}
	return busy, why, ""
}

// decideAll fills in staleness: snap namespaces first, since a per-user
// layer lives and dies with the snap namespace under it.
func decideAll(dir string, nss []Namespace) {
	snaps := map[string]*Namespace{}
	facts := map[string]planner.Facts{}
	nsdir, err := trusted.Path(dir)
	if err != nil {
		return
	}
	defer nsdir.Close()
	for i := range nss {
		if nss[i].Kind == "snap" && nss[i].Preserved {
			facts[nss[i].Instance] = decideSnap(nsdir, &nss[i])
			snaps[nss[i].Instance] = &nss[i]
		}
	}
	for i := range nss {
		if nss[i].Kind == "user" && nss[i].Preserved {
			decideUser(nsdir, &nss[i], snaps[nss[i].Instance], facts[nss[i].Instance])
		}
	}
}

// decideSnap is the planner's decision on a snap namespace, on the facts
// the launcher would gather, against its own base: the base the snap's next
// launch names is not known here (`snap-ns explain` finds it), so a change
// of base is not seen.
func decideSnap(nsdir *desc.FD, n *Namespace) planner.Facts {
	inst, _ := naming.ParseInstance(n.Instance)
	base := n.Base
	if base == "" {
		base = gatherDefaultBase
	}
	f := planner.Facts{Launch: planner.Launch{Instance: inst, Base: base}, Snap: &planner.Snap{}}
	f.Host.Distro, f.Host.DebianLike = gather.Distro()
	var err error
	if f.Host.SnapDir, err = gather.SnapMountDir(); err != nil {
		n.Stale, n.NextLaunch, n.Reason = "unknown", "refused", err.Error()
		return f
	}
	var dir *desc.FD
	f.Snap.Base, dir = gather.Base(procDir(), f.Host.SnapDir, base)
	dir.Close()
	if f.Snap.Homedirs, err = gather.Homedirs(); err == nil {
		err = f.Snap.Base.Err
	}
	if err != nil {
		n.Stale, n.NextLaunch, n.Reason = "unknown", "refused", err.Error()
		return f
	}
	pre := &f.Snap.Preserved
	pre.Present = true
	pre.Info, pre.HaveInfo, _ = gather.Info(nsdir, n.InfoFile)
	pre.Identity = n.identity(pre.Info)
	busy, why := n.Occupied, n.OccupiedBy
	if n.OccupancyProblem != "" {
		busy, why = true, n.OccupancyProblem
	}
	pre.Occupancy = &planner.Occupancy{Busy: busy, Why: why}
	step, need := planner.DecideNamespace(f)
	through := ""
	if need.Inspection {
		entries, pid, problem := mountsOf(n.Inode, n.dev)
		if problem != "" {
			n.Stale, n.NextLaunch = "unknown", "inspect"
			n.Reason = "the info file does not record what it was built from: the launcher inspects the namespace; " + problem
			return f
		}
		cur := f.Current()
		kept := []mountinfo.Entry{}
		for _, e := range entries {
			if stale.Relevant(e, cur) {
				kept = append(kept, e)
			}
		}
		pre.Mounts = &kept
		step, _ = planner.DecideNamespace(f)
		through = fmt.Sprintf(" through pid %d", pid)
	}
	n.Stale, n.Reason = VoteWord(step.Vote), step.Why+through
	n.NextLaunch = "join"
	if step.Action != planner.NamespaceJoin {
		n.NextLaunch = "discard"
	}
	return f
}

// identity is the namespace's, as far as snap-ns can read it: its id, its
// inode where the kernel has no ids, what its info file records where the
// id needs root.
func (n *Namespace) identity(in info.Info) planner.Identity {
	switch {
	case n.ID != 0:
		return planner.Identity{ID: n.ID}
	case strings.Contains(n.IDProblem, "Linux 6.8"):
		return planner.Identity{Inode: n.Inode}
	}
	return planner.Recorded(in)
}

// decideUser is the planner's decision on a per-user layer, given its snap
// namespace's.
func decideUser(nsdir *desc.FD, n *Namespace, snap *Namespace, f planner.Facts) {
	switch {
	case snap == nil:
		n.Stale, n.NextLaunch, n.Reason = "must", "discard", "the snap's namespace is not preserved"
		return
	case snap.NextLaunch != "join":
		n.Stale, n.NextLaunch, n.Reason = snap.Stale, "discard", "the snap's namespace under it goes: "+snap.Reason
		return
	}
	f.CallerUID, f.Features.PerUser = *n.UID, true
	layer := &f.Snap.UserLayer
	layer.Present = true
	layer.Info, layer.HaveInfo, _ = gather.Info(nsdir, n.InfoFile)
	layer.Identity = n.identity(layer.Info)
	step := planner.DecidePerUser(f, planner.NamespaceStep{Action: planner.NamespaceJoin})
	n.Stale, n.NextLaunch, n.Reason = "keep", "join", step.Why
	if step.Action != planner.PerUserJoin {
		n.Stale, n.NextLaunch = "must", "discard"
	}
}

// describeOther reports an entry that is not a namespace file when it is
// unexpected or unusable; used tells that a namespace claimed it (its info
// file), which is then reported only when it is not what the launcher
// writes.
func describeOther(dirfd int, name string, used bool) *Entry {
	if strings.HasSuffix(name, ".mnt") && used {
		return nil // a namespace file, described by describeNS
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // gone since the listing
		}
		return &Entry{Name: name, Type: "unknown", Problem: fmt.Sprintf("cannot inspect %s: %v", name, err)}
	}
	kind, known := knownFile(name)
	switch {
	case !known:
		return entryOf(name, &st, "not a file the launcher or snapd makes here")
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return entryOf(name, &st, fmt.Sprintf("a %s where the launcher keeps a regular file (%s): never followed nor opened", typeWord(st.Mode), kind))
	case st.Uid != 0:
		return entryOf(name, &st, fmt.Sprintf("%s owned by uid %d, not root: the launcher ignores it", kind, st.Uid))
	case kind == "info file" && !used:
		return entryOf(name, &st, "an info file without a preserved namespace")
	case kind == "temporary info file":
		return entryOf(name, &st, "left by an interrupted write of an info file")
	}
	return nil
}

// knownFile says what a file named name is in the on-disk contract.
func knownFile(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "snap.")
	if !ok {
		return "", false
	}
	for _, k := range []struct{ suffix, kind string }{
		{".info.tmp", "temporary info file"}, {".info", "info file"},
		{".user-fstab", "snap-update-ns record"}, {".fstab", "snap-update-ns record"},
	} {
		stem, ok := strings.CutSuffix(rest, k.suffix)
		if !ok {
			continue
		}
		if i := strings.LastIndexByte(stem, '.'); i >= 0 {
			if _, err := strconv.ParseUint(stem[i+1:], 10, 32); err != nil {
				return "", false
			}
			stem = stem[:i]
		} else if k.suffix == ".user-fstab" {
			return "", false
		}
		if _, err := naming.ParseInstance(stem); err != nil {
			return "", false
		}
		return k.kind, true
	}
	return "", false
}

func entryOf(name string, st *unix.Stat_t, problem string) *Entry {
	return &Entry{Name: name, Type: typeWord(st.Mode), UID: st.Uid, Mode: fmt.Sprintf("%04o", st.Mode&0o7777), Problem: problem}
}

// typeWord names a file type as ls -l would spell it out.
func typeWord(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	}
	return "unknown"
}
