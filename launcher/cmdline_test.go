// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"strings"
	"testing"

	"github.com/snapns/snapns/shared/help"
)

// --help and --version print on standard output (the launcher writes
// parseArgs's text to fd 1 and exits 0), under either name, before anything
// else is looked at.
func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/usr/lib/snapd/snap-confine", "--help"}, help.SnapConfine.Help},
		{[]string{"/usr/lib/snapd/snap-confine", "-h"}, help.SnapConfine.Help},
		{[]string{"/usr/lib/snapd/snap-confine", "--classic", "--help"}, help.SnapConfine.Help},
		{[]string{"/usr/lib/snapd/snap-confine", "--version"}, "snap-confine " + Version + "\n"},
		{[]string{"/usr/lib/snapd/snap-launch", "--help"}, help.SnapLaunch.Help},
		{[]string{"/usr/lib/snapd/snap-launch", "--version"}, "snap-launch " + Version + "\n"},
	} {
		p, target, out, err := parseArgs(tc.args)
		if err != nil || p != nil || target != nil || out != tc.want {
			t.Errorf("parseArgs(%q) = %v, %v, %q, %v; want the text %q", tc.args, p, target, out, err, tc.want)
		}
	}
	if !strings.HasPrefix(help.SnapConfine.Help, "Usage: snap-confine ") {
		t.Errorf("snap-confine's help does not start with its usage")
	}
}
