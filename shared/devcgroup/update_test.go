// SPDX-License-Identifier: GPL-3.0-only

package devcgroup

import (
	"strings"
	"testing"
)

// A map is updated by adding first and deleting after, so that a device
// both the old and the new list allow is never missing; only when the map
// could not hold both do the deletions come first.
func TestMapSteps(t *testing.T) {
	null, zero, loop := Device{'c', 1, 3}, Device{'c', 1, 5}, Device{'b', 7, 250}
	pty := Device{'c', 136, MinorAny}
	keys := func(ds ...Device) [][KeySize]byte {
		var ks [][KeySize]byte
		for _, d := range ds {
			ks = append(ks, d.Key())
		}
		return ks
	}
	words := func(steps []MapStep) string {
		var w []string
		for _, s := range steps {
			op := "del "
			if s.Add {
				op = "add "
			}
			w = append(w, op+DeviceOfKey(s.Key).String())
		}
		return strings.Join(w, ", ")
	}
	for _, tc := range []struct {
		name           string
		current, allow []Device
		want           string
	}{
		{"empty-map", nil, []Device{null, zero}, "add c 1:3, add c 1:5"},
		{"unchanged", []Device{null, zero}, []Device{zero, null}, ""},
		{"untagged", []Device{null, zero, loop}, []Device{null, zero}, "del b 7:250"},
		{"tagged", []Device{null, zero}, []Device{null, zero, loop}, "add b 7:250"},
		{"adds-before-deletes", []Device{null, loop}, []Device{null, pty, null}, "add c 136:*, del b 7:250"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := words(MapSteps(keys(tc.current...), tc.allow)); got != tc.want {
				t.Fatalf("MapSteps = %q, want %q", got, tc.want)
			}
		})
	}
	var full []Device
	for i := range uint32(MaxEntries) {
		full = append(full, Device{'c', 200, i})
	}
	steps := MapSteps(keys(full...), []Device{null})
	if len(steps) != MaxEntries+1 || steps[0].Add || !steps[len(steps)-1].Add {
		t.Fatalf("a full map: %d steps, the first an addition %t", len(steps), steps[0].Add)
	}
}

// A devices group is changed by allowing first and denying after; only a
// group that allows everything (new: its parent's copy, nothing in it)
// denies everything first, as snap-confine does.
func TestV1Writes(t *testing.T) {
	null, pty, loop := Device{'c', 1, 3}, Device{'c', 136, MinorAny}, Device{'b', 7, 250}
	words := func(ws []V1Write) string {
		var w []string
		for _, x := range ws {
			op := "allow "
			if x.Deny {
				op = "deny "
			}
			w = append(w, op+strings.TrimSuffix(x.Line, "\n"))
		}
		return strings.Join(w, ", ")
	}
	for _, tc := range []struct {
		name, list string
		allow      []Device
		want, err  string
	}{
		{"new-group", "a *:* rwm\n", []Device{null, pty}, "deny a, allow c 1:3 rwm, allow c 136:* rwm", ""},
		{"unchanged", "c 1:3 rwm\nc 136:* rwm\n", []Device{null, pty}, "allow c 1:3 rwm, allow c 136:* rwm", ""},
		{"untagged", "c 1:3 rwm\nb 7:250 rwm\n", []Device{null}, "allow c 1:3 rwm, deny b 7:250 rwm", ""},
		{"partial-access-kept-and-widened", "c 1:3 r\nc 5:1 rw\n", []Device{null}, "allow c 1:3 rwm, deny c 5:1 rw", ""},
		{"empty-list", "", []Device{loop}, "allow b 7:250 rwm", ""},
		{"garbage", "c 1:3 rwm\nhello\n", []Device{null}, "", "cannot understand devices.list line \"hello\""},
		{"bad-access", "c 1:3 rwx\n", []Device{null}, "", "bad access"},
		{"bad-numbers", "c x:3 rwm\n", []Device{null}, "", "bad device numbers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := V1Writes([]byte(tc.list), tc.allow)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("V1Writes = %q, %v; want an error with %q", words(ws), err, tc.err)
				}
				return
			}
			if err != nil || words(ws) != tc.want {
				t.Fatalf("V1Writes = %q, %v; want %q", words(ws), err, tc.want)
			}
		})
	}
}
