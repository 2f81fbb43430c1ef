// SPDX-License-Identifier: GPL-3.0-only

package devcgroup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Changing the rules of an app whose processes may be running. The map
// (cgroup v2) and the devices group (v1) are the security tag's, shared by
// every running process of the app, whoever started it, and every launch
// sets them to its allow list. Emptying them first, as snap-confine does,
// refuses a running app its devices for a moment (EPERM on /dev/null while
// another user launches the same app); the steps below get from what is
// there to the allow list without ever taking away what both allow. They
// are computed here, without privilege, and the launcher's actions only
// carry them out in order.

// MapStep is one change of a device map: add Key, or delete it.
type MapStep struct {
	Key [KeySize]byte
	Add bool
}

// MapSteps takes a map holding the keys current to holding exactly the
// keys of allow: first every key to add, then every key to delete, so that
// a key both allow is in the map throughout. When the map could not hold
// the old keys and the new ones at once (MaxEntries), the deletions come
// first: they only close, a little earlier, devices the new list closes.
func MapSteps(current [][KeySize]byte, allow []Device) []MapStep {
	want := make(map[[KeySize]byte]bool, len(allow))
	var adds []MapStep
	for _, d := range allow {
		k := d.Key()
		if !want[k] {
			want[k] = true
			adds = append(adds, MapStep{Key: k, Add: true})
		}
	}
	have := make(map[[KeySize]byte]bool, len(current))
	var dels []MapStep
	for _, k := range current {
		if !have[k] && !want[k] {
			dels = append(dels, MapStep{Key: k})
		}
		have[k] = true
	}
	adds = slices.DeleteFunc(adds, func(s MapStep) bool { return have[s.Key] })
	if len(have)+len(adds) > MaxEntries {
		return append(dels, adds...)
	}
	return append(adds, dels...)
}

// V1ListFile is the devices group's list of what it allows: "a *:* rwm"
// while it allows every device, else one "<type> <major>:<minor> <access>"
// line per exception ("*" for any major or minor).
const V1ListFile = "devices.list"

// MaxV1ListSize bounds what the launcher reads of a devices.list: one
// line of about 16 bytes per device rule, and only root writes rules to
// the app's group.
const MaxV1ListSize = 1 << 20

// V1Write is one write to a devices group: Line to devices.deny (Deny) or
// to devices.allow.
type V1Write struct {
	Deny bool
	Line string
}

// V1Writes takes a devices group whose devices.list reads list to allowing
// exactly allow. A group that allows every device (a new group: a copy of
// its parent's rules, and nothing runs in it yet) first denies every
// device (V1DenyAll), then allows the list, as snap-confine does. A group
// that allows a list already gets the rules of allow first (a rule it has
// is not changed, or widened to rwm), then denies each rule of its list
// that allow has not, so that a device both allow is never denied
// meanwhile.
func V1Writes(list []byte, allow []Device) ([]V1Write, error) {
	var rules []V1Write
	want := map[string]bool{}
	for _, d := range allow {
		rule := d.V1Rule()
		if !want[deviceOf(rule)] {
			want[deviceOf(rule)] = true
			rules = append(rules, V1Write{Line: rule})
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(list), "\n"), "\n")
	if len(list) == 0 {
		lines = nil
	}
	var denies []V1Write
	for _, line := range lines {
		if err := checkV1ListLine(line); err != nil {
			return nil, fmt.Errorf("cannot understand %s line %q: %w", V1ListFile, line, err)
		}
		if line == "a *:* rwm" {
			return append([]V1Write{{Deny: true, Line: V1DenyAll}}, rules...), nil
		}
		if !want[deviceOf(line)] {
			denies = append(denies, V1Write{Deny: true, Line: line + "\n"})
		}
	}
	return append(rules, denies...), nil
}

// deviceOf is the "<type> <major>:<minor>" of a rule or list line.
func deviceOf(line string) string {
	if i := strings.LastIndexByte(strings.TrimSpace(line), ' '); i > 0 {
		return line[:i]
	}
	return line
}

// checkV1ListLine checks a devices.list line: "<a|b|c> <major|*>:<minor|*>
// <access>", access a non-empty part of "rwm".
func checkV1ListLine(line string) error {
	f := strings.Fields(line)
	if len(f) != 3 || strings.Join(f, " ") != line || len(f[0]) != 1 || !strings.Contains("abc", f[0]) {
		return fmt.Errorf("not a device rule")
	}
	maj, min, ok := strings.Cut(f[1], ":")
	for _, n := range []string{maj, min} {
		if _, err := strconv.ParseUint(n, 10, 32); !ok || (n != "*" && err != nil) {
			return fmt.Errorf("bad device numbers")
		}
	}
	if strings.Trim(f[2], "rwm") != "" {
		return fmt.Errorf("bad access")
	}
	return nil
}
