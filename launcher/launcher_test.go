// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"strings"
	"testing"
)

// The ids the kernel and chown(2) use as "unchanged" and "no id" are refused
// before anything is done; the e2e test TestInvalidCallerIDsAreRefusedBeforeAnythingIsCreated
// runs a real caller as (uid_t)-2, which the kernel allows; (uid_t)-1 only
// reaches this check.
func TestCheckCallerIDs(t *testing.T) {
	// The uint32 values as this architecture's int: the same bits
	// (-1, -2, -3) where int is 32-bit.
	id := func(v int64) int { return int(v) }
	minus1, minus2 := id(1<<32-1), id(1<<32-2)
	for _, tc := range []struct {
		uid, gid int
		want     string
	}{
		{0, 0, ""},
		{1000, 1000, ""},
		{65534, 65534, ""},
		{id(1<<32 - 3), id(1<<32 - 3), ""},
		{minus1, 1000, "cannot launch for uid 4294967295"},
		{minus2, 1000, "cannot launch for uid 4294967294"},
		{1000, minus1, "cannot launch for gid 4294967295"},
		{1000, minus2, "cannot launch for gid 4294967294"},
		{-1, 1000, "cannot launch for uid 4294967295"}, // a 32-bit int
		{1000, -2, "cannot launch for gid 4294967294"},
		{minus2, minus1, "cannot launch for uid 4294967294"},
	} {
		err := checkCallerIDs(tc.uid, tc.gid)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("checkCallerIDs(%d, %d) = %v, want nil", tc.uid, tc.gid, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("checkCallerIDs(%d, %d) = %v, want one line starting %q", tc.uid, tc.gid, err, tc.want)
		}
	}
}
