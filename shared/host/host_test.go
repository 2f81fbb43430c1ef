// SPDX-License-Identifier: GPL-3.0-only

package host

import "testing"

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name      string
		osRelease string
		metaYaml  bool
		want      Distro
	}{
		{"debian", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", false, Classic},
		{"ubuntu-16.04-classic", "ID=ubuntu\nVERSION_ID=\"16.04\"\n", false, Classic},
		{"core16", "NAME=\"Ubuntu Core\"\nID=ubuntu-core\nVERSION_ID=\"16\"\n", false, Core16},
		{"core16-quoted-id", "ID=\"ubuntu-core\"\nVERSION_ID=16\n", false, Core16},
		{"core18", "ID=ubuntu-core\nVERSION_ID=\"18\"\n", false, CoreOther},
		{"snappy-variant", "ID=ubuntu\nVARIANT_ID=snappy\nVERSION_ID=\"16\"\n", false, Core16},
		{"classic-os-release-with-meta-snap-yaml", "ID=ubuntu\nVERSION_ID=\"20.04\"\n", true, CoreOther},
		{"core16-with-meta-snap-yaml", "ID=ubuntu\nVERSION_ID=16\n", true, Core16},
		{"empty", "", false, Classic},
		{"substring-is-not-enough", "ID=ubuntu-core-like\nVERSION_ID=\"160\"\n", false, Classic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify([]byte(tc.osRelease), tc.metaYaml); got != tc.want {
				t.Fatalf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		distro     Distro
		base       string
		normal     bool
		snapdTools bool
	}{
		{Classic, "core", true, false},
		{Classic, "core22", true, true},
		{Core16, "core", false, false},
		{Core16, "core18", true, true},
		{CoreOther, "core", true, true},
		{CoreOther, "core24", true, true},
	} {
		if got := NormalMode(tc.distro, tc.base); got != tc.normal {
			t.Errorf("NormalMode(%v, %s) = %t, want %t", tc.distro, tc.base, got, tc.normal)
		}
		if got := BindSnapdTools(tc.distro, tc.base); got != tc.snapdTools {
			t.Errorf("BindSnapdTools(%v, %s) = %t, want %t", tc.distro, tc.base, got, tc.snapdTools)
		}
	}
}

func TestDebianLike(t *testing.T) {
	for text, want := range map[string]bool{
		"ID=debian\n":     true,
		"ID=\"debian\"\n": true,
		"NAME=Ubuntu\nID=ubuntu\nID_LIKE=debian\n":  true,
		"ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n": false,
		"ID=fedora\n":     false,
		"":                false,
		"ID=debian-ish\n": false,
	} {
		if got := DebianLike([]byte(text)); got != want {
			t.Errorf("DebianLike(%q) = %t, want %t", text, got, want)
		}
	}
}
