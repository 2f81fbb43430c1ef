// SPDX-License-Identifier: GPL-3.0-only

package apparmor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapns/snapns/policy"
)

// The repository's apparmor/ files are what LauncherProfile makes
// for each layout (`make apparmor-files` rewrites them), so a packager who
// takes them gets the capabilities of policy.Required().
func TestApparmorFilesAreTheGeneratedProfiles(t *testing.T) {
	files, _ := filepath.Glob("../apparmor/*")
	if len(files) != len(ProfileLayouts) {
		t.Errorf("apparmor/ holds %d files, want one per layout (%d): run make apparmor-files", len(files), len(ProfileLayouts))
	}
	for _, dir := range ProfileLayouts {
		want, err := LauncherProfile(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("../../apparmor", ProfileFileName(dir)))
		if err != nil || string(got) != want {
			t.Errorf("apparmor/%s differs from LauncherProfile(%q) (%v): run make apparmor-files", ProfileFileName(dir), dir, err)
		}
	}
}

func TestLauncherProfile(t *testing.T) {
	for _, tc := range []struct{ dir, name string }{
		{"/usr/lib/snapd", "usr.lib.snapd.snap-confine.real"},
		{"/usr/libexec/snapd", "usr.libexec.snapd.snap-confine"},
		{"/usr/local/lib/snapd/", "usr.local.lib.snapd.snap-confine"},
	} {
		if got := ProfileFileName(tc.dir); got != tc.name {
			t.Errorf("ProfileFileName(%q) = %q, want %q", tc.dir, got, tc.name)
		}
		text, err := LauncherProfile(tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"abi <abi/3.0>,\n",
			"profile " + filepath.Clean(tc.dir) + "/snap-confine flags=",
			"#include if exists <local/" + tc.name + ">\n",
			"  " + filepath.Clean(tc.dir) + "/snap-confine mr,\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("the profile for %s lacks %q", tc.dir, want)
			}
		}
		// Exactly policy.Required()'s capabilities, then the optional
		// ones (raised only when held), then those only the setuid
		// install raises (cap_setuid and cap_setgid, to start
		// snap-update-ns as root).
		var caps, want []string
		for _, line := range strings.Split(text, "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(line), "capability "); ok {
				caps = append(caps, "cap_"+strings.TrimSuffix(c, ","))
			}
		}
		for _, c := range append(policy.Required(), append(OptionalCaps(), policy.CapSetuid, policy.CapSetgid)...) {
			want = append(want, "cap_"+c.String())
		}
		if got := strings.Join(caps, ","); got != strings.Join(want, ",") {
			t.Errorf("the profile's capabilities are %s, want policy.Required(), OptionalCaps() and the setuid install's: %s", got, strings.Join(want, ","))
		}
	}
	for _, bad := range []string{"lib/snapd", "/usr/lib/snap d", "/usr/{lib,libexec}/snapd", "/usr/lib/*"} {
		if _, err := LauncherProfile(bad); err == nil {
			t.Errorf("LauncherProfile(%q) made a profile", bad)
		}
	}
}
