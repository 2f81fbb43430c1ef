// SPDX-License-Identifier: GPL-3.0-only

package naming

import "testing"

func TestAppArmorLabelsAreSnapds(t *testing.T) {
	for _, tc := range []struct{ tag, app, helper string }{
		{"snap.foo.app", "snap.foo.app", "snap-update-ns.foo"},
		{"snap.foo_x1.hook.install", "snap.foo_x1.hook.install", "snap-update-ns.foo_x1"},
		{"snap.network-manager.NetworkManager", "snap.network-manager.NetworkManager", "snap-update-ns.network-manager"},
	} {
		tag, err := ParseSecurityTag(tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppArmorLabel(tag); got != tc.app {
			t.Errorf("AppArmorLabel(%s) = %q, want %q", tc.tag, got, tc.app)
		}
		if got := UpdateNSAppArmorLabel(tag.Instance()); got != tc.helper {
			t.Errorf("UpdateNSAppArmorLabel(%s) = %q, want %q", tag.Instance(), got, tc.helper)
		}
	}
}
