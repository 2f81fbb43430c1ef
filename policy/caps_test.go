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
// capabilities. cap_sys_resource, which snapd's snap-confine holds for the
// same purpose, is raised only on kernels before 5.11, to lift
// RLIMIT_MEMLOCK above a low hard limit for the device map and program. A
// new action must make do with them, or this test and SECURITY.md change
// with it.
func TestFileCapabilitySetIsPinned(t *testing.T) {
	want := []string{"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_setgid", "cap_setuid", "cap_sys_admin", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_resource"}
	var got []string
	for _, c := range policy.Required() {
		got = append(got, "cap_"+c.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("policy.Required() = %v, want %v", got, want)
	}
}
