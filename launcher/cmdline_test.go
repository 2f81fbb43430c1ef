// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"strings"
	"testing"

	"github.com/snapns/snapns/shared/help"
)

// --help and --version print on standard output (the launcher writes
// parseArgs's text to fd 1 and exits 0), under any name, before anything
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
		{[]string{"/usr/libexec/snapd/snap-confine", "--version"}, "snap-confine " + Version + "\n"},
		{[]string{"./some-copy", "--version"}, "snap-confine " + Version + "\n"},
	} {
		inv, out, err := parseArgs(tc.args)
		if err != nil || inv != nil || out != tc.want {
			t.Errorf("parseArgs(%q) = %v, %q, %v; want the text %q", tc.args, inv, out, err, tc.want)
		}
	}
	if !strings.HasPrefix(help.SnapConfine.Help, "Usage: snap-confine ") {
		t.Errorf("snap-confine's help does not start with its usage")
	}
}

// Whatever name it runs under, the launcher reads snap-confine's command
// line and nothing else: what was once a plan is a security tag it refuses.
func TestParseArgsTakesOnlySnapConfinesCommandLine(t *testing.T) {
	t.Setenv("SNAP_INSTANCE_NAME", "hello")
	t.Setenv("SNAPD_DEBUG", "1")
	for _, argv0 := range []string{"/usr/lib/snapd/snap-confine", "/usr/lib/snapd/snap-launch", "x"} {
		inv, out, err := parseArgs([]string{argv0, "--base", "core22", "snap.hello.app", "/bin/true", "-x"})
		if err != nil || out != "" {
			t.Fatalf("parseArgs under %s: %v, %q", argv0, err, out)
		}
		if inv.Base != "core22" || inv.Tag.String() != "snap.hello.app" || !inv.Debug || strings.Join(inv.Target(), " ") != "/bin/true -x" {
			t.Errorf("parseArgs under %s: %+v", argv0, *inv)
		}
		if _, _, err := parseArgs([]string{argv0, "snapns-plan 5\nclassic=false\n", "/bin/true"}); err == nil || !strings.HasPrefix(err.Error(), "cannot ") {
			t.Errorf("parseArgs under %s accepted a plan as its security tag: %v", argv0, err)
		}
	}
	if _, _, err := parseArgs([]string{"snap-confine", "snap.hello.app", ""}); err == nil || err.Error() != "cannot launch: empty executable" {
		t.Errorf("an empty executable: %v", err)
	}
}
