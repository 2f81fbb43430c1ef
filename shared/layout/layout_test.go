// SPDX-License-Identifier: GPL-3.0-only

package layout_test

import (
	"testing"

	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
)

func TestParallelInstanceDirsMapsOnlyInstancesWithAKey(t *testing.T) {
	for _, tc := range []struct {
		instance    string
		own, mapped string
		ok          bool
	}{
		{"hello", "", "", false},
		{"hello_a", "hello_a", "hello", true},
		{"foo-bar_1234567890", "foo-bar_1234567890", "foo-bar", true},
	} {
		inst, err := naming.ParseInstance(tc.instance)
		if err != nil {
			t.Fatal(err)
		}
		own, mapped, ok := layout.ParallelInstanceDirs(inst)
		if own != tc.own || mapped != tc.mapped || ok != tc.ok {
			t.Errorf("ParallelInstanceDirs(%q) = %q, %q, %v; want %q, %q, %v", tc.instance, own, mapped, ok, tc.own, tc.mapped, tc.ok)
		}
	}
}

func TestSnapMountDirOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exists bool
		mode   uint32
		target string
		want   string
		err    bool
	}{
		{"absent", false, 0, "", "/var/lib/snapd/snap", false},
		{"directory", true, 0o040755, "", "/snap", false},
		{"absolute-link", true, 0o120777, "/var/lib/snapd/snap", "/var/lib/snapd/snap", false},
		{"relative-link", true, 0o120777, "var/lib/snapd/snap", "/var/lib/snapd/snap", false},
		{"other-link", true, 0o120777, "/home/user/snap", "", true},
		{"prefix-link", true, 0o120777, "/var/lib/snapd", "", true},
		{"regular-file", true, 0o100644, "", "", true},
		{"fifo", true, 0o010644, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := layout.SnapMountDirOf(tc.exists, tc.mode, tc.target)
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("SnapMountDirOf = %q, %v; want %q (error %t)", got, err, tc.want, tc.err)
			}
		})
	}
}
