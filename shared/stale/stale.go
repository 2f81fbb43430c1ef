// SPDX-License-Identifier: GPL-3.0-only

// Package stale decides whether a preserved mount namespace may still be
// joined, with snap-confine's outcomes: keep it, discard it unless the snap
// still has processes ("should"), or discard it even then ("must").
//
// The planner uses it to decide and explain; the launcher runs the same
// decision again, under the per-snap lock, on facts it gathered itself, and
// never discards more than the facts justify. The threat it answers: a
// discard is destructive for every user of the snap (a stale decision that
// is too eager splits a running snap between two views of the filesystem).
package stale

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/snapns/snapns/shared/devnum"

	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/mountinfo"
)

// Vote is the outcome of a decision, ordered by how destructive it is.
type Vote int

const (
	// Keep: the namespace is fresh; join it.
	Keep Vote = iota
	// Should: the base was refreshed or the homedirs changed; discard and
	// rebuild, unless the snap still has processes.
	Should
	// Must: the snap now uses another base; discard and rebuild even while
	// the snap has processes.
	Must
)

func (v Vote) String() string {
	switch v {
	case Should:
		return "should"
	case Must:
		return "must"
	}
	return "no"
}

// Current is what a namespace for this launch would be built from now.
type Current struct {
	Base     string
	Revision string   // what /snap/<base>/current names
	Device   uint64   // the device of /snap/<base>/<revision>
	Homedirs []string // snapd's system-params homedirs=
	Normal   bool     // normal mode (false: legacy mode)
}

// Decision is a Vote with its reason, for the debug log and errors.
type Decision struct {
	Vote   Vote
	Reason string
}

// Decide decides from the namespace's info file (have is false when there is
// none) and the current facts, without entering the namespace. When the info
// file does not record what the namespace was built from (one written by
// snapd's snap-confine), needInspect is set and the caller decides with
// Inspect instead, except for a base change, which the name alone shows.
func Decide(in info.Info, have bool, cur Current) (d Decision, needInspect bool) {
	if have && in.BaseSnapName != cur.Base {
		return Decision{Must, fmt.Sprintf("the snap's base changed from %q to %q", in.BaseSnapName, cur.Base)}, false
	}
	if !cur.Normal {
		return Decision{Keep, "legacy mode: only a change of base makes the namespace stale"}, false
	}
	if !have || in.BaseSnapRevision == "" || in.BaseSnapDevice == 0 || !in.HomedirsKnown {
		return Decision{}, true
	}
	if in.BaseSnapRevision != cur.Revision {
		return Decision{Should, fmt.Sprintf("base %q was refreshed from revision %s to %s", cur.Base, in.BaseSnapRevision, cur.Revision)}, false
	}
	if in.BaseSnapDevice != cur.Device {
		return Decision{Should, fmt.Sprintf("base %q revision %s moved from device %s to %s", cur.Base, cur.Revision, dev(in.BaseSnapDevice), dev(cur.Device))}, false
	}
	if !slices.Equal(in.Homedirs, cur.Homedirs) {
		return Decision{Should, fmt.Sprintf("the homedirs changed from %q to %q", strings.Join(in.Homedirs, ","), strings.Join(cur.Homedirs, ","))}, false
	}
	// Every hot launch ends here: put together without fmt, whose first
	// use would cost the launch more than this whole decision.
	return Decision{Keep, "built from base " + strconv.Quote(cur.Base) + " revision " + cur.Revision + " on device " + dev(cur.Device) + ", as now"}, false
}

// Inspect decides from the namespace's own mount table, the way
// snap-confine does: the namespace is fresh when the base's device is
// mounted at /, /usr or below /usr (tmpfs entries ignored: a writable mimic
// of /usr keeps the base's entries bound inside it) and every homedir is a
// mount point in it.
func Inspect(entries []mountinfo.Entry, cur Current) Decision {
	in := NewInspection(cur)
	for _, e := range entries {
		in.Add(e)
	}
	return in.Decision()
}

// Inspection is Inspect one entry at a time, so that a mount table of any
// size can be read as a stream (mountinfo.Scan) and forgotten as it goes.
type Inspection struct {
	cur      Current
	base     bool            // the base is mounted at / or /usr
	homedirs map[string]bool // the homedirs found mounted
}

// NewInspection starts an inspection for cur.
func NewInspection(cur Current) *Inspection {
	return &Inspection{cur: cur, homedirs: map[string]bool{}}
}

// Add takes one entry of the namespace's mount table into account.
func (in *Inspection) Add(e mountinfo.Entry) {
	if holdsBase(e, in.cur) {
		in.base = true
	}
	if slices.Contains(in.cur.Homedirs, e.MountDir) {
		in.homedirs[e.MountDir] = true
	}
}

// Relevant tells whether the entry e can change what an inspection for cur
// decides: a reader of a namespace's mount table keeps only those, so that
// the facts it hands on stay small however many mounts users add.
func Relevant(e mountinfo.Entry, cur Current) bool {
	return holdsBase(e, cur) || slices.Contains(cur.Homedirs, e.MountDir)
}

func holdsBase(e mountinfo.Entry, cur Current) bool {
	return e.FSType != "tmpfs" && devnum.Mkdev(e.Major, e.Minor) == cur.Device && (e.MountDir == "/" || e.MountDir == "/usr" || strings.HasPrefix(e.MountDir, "/usr/"))
}

// Decision is what the entries added so far decide.
func (in *Inspection) Decision() Decision {
	cur := in.cur
	if !in.base {
		return Decision{Should, fmt.Sprintf("base %q revision %s (device %s) is not mounted at / or /usr in the namespace", cur.Base, cur.Revision, dev(cur.Device))}
	}
	for _, h := range cur.Homedirs {
		if !in.homedirs[h] {
			return Decision{Should, fmt.Sprintf("home directory %s is not mounted in the namespace", h)}
		}
	}
	return Decision{Keep, fmt.Sprintf("base %q revision %s is mounted in the namespace (inspected)", cur.Base, cur.Revision)}
}

func dev(d uint64) string {
	return strconv.FormatUint(uint64(devnum.Major(d)), 10) + ":" + strconv.FormatUint(uint64(devnum.Minor(d)), 10)
}
