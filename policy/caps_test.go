// SPDX-License-Identifier: GPL-3.0-only

package policy_test

import (
	"slices"
	"testing"

	"github.com/snapns/snapns/policy"
)

// TestFileCapabilitySetIsPinned pins the
// file-capability set: the capabilities snapd 2.70+ ships snap-confine
// with, less fowner (nothing the launcher does needs it once it creates,
// opens and repairs root's entries as root), and setuid and setgid (which
// some distributions add too) to do so with filesystem ids of 0, never as
// the caller. cap_chown is there only for snap-update-ns's ambient set
// (UserHelperCaps); the launcher itself never raises it with file
// capabilities. A new action must make do with them, or this test and
// SECURITY.md change with it.
// TestFileCapabilitySetIsPinned: the file-capability set is within what
// every distribution's snapd package sets on snap-confine at each upgrade,
// snapd's cmd/snap-confine/snap-confine.v2-only.caps
// (cap_chown,cap_dac_override,cap_dac_read_search,cap_fowner,cap_sys_chroot,
// cap_sys_ptrace,cap_sys_admin,cap_sys_resource), less cap_sys_resource,
// which containers often lack in their bounding set.
func TestFileCapabilitySetIsPinned(t *testing.T) {
	want := []string{"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_sys_admin", "cap_sys_chroot", "cap_sys_ptrace"}
	var got []string
	for _, c := range policy.Required() {
		got = append(got, "cap_"+c.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("policy.Required() = %v, want %v", got, want)
	}
}
