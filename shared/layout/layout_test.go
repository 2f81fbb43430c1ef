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
