package policy_test

import (
	"slices"
	"testing"

	"github.com/snapns/snapns/policy"
)

// TestFileCapabilitySetIsSnapdsSeven pins the file-capability set to the
// seven capabilities snapd 2.70+ ships snap-confine with: a new operation
// must make do with them, or this test and SECURITY.md change with it.
func TestFileCapabilitySetIsSnapdsSeven(t *testing.T) {
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
