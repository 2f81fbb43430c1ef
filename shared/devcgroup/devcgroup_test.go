// SPDX-License-Identifier: GPL-3.0-only

package devcgroup_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/devcgroup"
)

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       devcgroup.Settings
		err        string
	}{
		{"snapd-default", "self-managed=false\nnon-strict=false\n", devcgroup.Settings{}, ""},
		{"self-managed", "self-managed=true\nnon-strict=false\n", devcgroup.Settings{SelfManaged: true}, ""},
		{"non-strict", "self-managed=false\nnon-strict=true\n", devcgroup.Settings{NonStrict: true}, ""},
		{"empty", "", devcgroup.Settings{}, ""},
		{"comment-and-unknown", "# hi\nother=1\nnon-strict=true\n", devcgroup.Settings{NonStrict: true}, ""},
		{"first-wins", "self-managed=true\nself-managed=false\n", devcgroup.Settings{SelfManaged: true}, ""},
		{"only-true-is-true", "self-managed=TRUE\nnon-strict=1\n", devcgroup.Settings{}, ""},
		{"value-with-space", "self-managed=true \n", devcgroup.Settings{}, ""},
		{"no-final-newline", "self-managed=true", devcgroup.Settings{}, "does not end with a newline"},
		{"no-equals", "self-managed\n", devcgroup.Settings{}, "not a key=value"},
		{"empty-key", "=true\n", devcgroup.Settings{}, "empty key"},
		{"section", "[x]\n", devcgroup.Settings{}, "unexpected section"},
		{"nul", "self-managed=true\x00\n", devcgroup.Settings{}, "NUL"},
		{"too-long", strings.Repeat("#\n", 3000), devcgroup.Settings{}, "over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := devcgroup.ParseSettings([]byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name      string
		container bool
		s         devcgroup.Settings
		base      string
		want      devcgroup.Mode
	}{
		{"core24-required", false, devcgroup.Settings{}, "core24", devcgroup.Required},
		{"core26-required", false, devcgroup.Settings{}, "core26", devcgroup.Required},
		{"bare-required", false, devcgroup.Settings{}, "bare", devcgroup.Required},
		{"core-optional", false, devcgroup.Settings{}, "core", devcgroup.Optional},
		{"core16-optional", false, devcgroup.Settings{}, "core16", devcgroup.Optional},
		{"core18-optional", false, devcgroup.Settings{}, "core18", devcgroup.Optional},
		{"core20-optional", false, devcgroup.Settings{}, "core20", devcgroup.Optional},
		{"core22-optional", false, devcgroup.Settings{}, "core22", devcgroup.Optional},
		{"container", true, devcgroup.Settings{}, "core24", devcgroup.None},
		{"self-managed", false, devcgroup.Settings{SelfManaged: true}, "core24", devcgroup.None},
		{"non-strict", false, devcgroup.Settings{NonStrict: true}, "core24", devcgroup.None},
		{"old-snapd-core24", false, devcgroup.Settings{OldSnapd: true}, "core24", devcgroup.Optional},
		{"old-snapd-bare", false, devcgroup.Settings{OldSnapd: true}, "bare", devcgroup.Optional},
		{"old-snapd-container", true, devcgroup.Settings{OldSnapd: true}, "core24", devcgroup.None},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := devcgroup.Decide(tc.container, tc.s, tc.base); got != tc.want || why == "" {
				t.Fatalf("Decide = %v (%q), want %v", got, why, tc.want)
			}
		})
	}
}

func TestInContainer(t *testing.T) {
	for data, want := range map[string]bool{"": false, "\n": false, "lxc\n": true, "docker": true, "\nlxc\n": false} {
		if got := devcgroup.InContainer([]byte(data)); got != want {
			t.Errorf("InContainer(%q) = %t, want %t", data, got, want)
		}
	}
}

func TestParseUdevID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want devcgroup.Device
		ok   bool
	}{
		{"c189:1", devcgroup.Device{Type: 'c', Major: 189, Minor: 1}, true},
		{"b7:0", devcgroup.Device{Type: 'b', Major: 7, Minor: 0}, true},
		{"c0:0", devcgroup.Device{}, false},
		{"c1:4294967295", devcgroup.Device{}, false},
		{"c1:4294967296", devcgroup.Device{}, false},
		{"c01:3", devcgroup.Device{}, false},
		{"c-1:3", devcgroup.Device{}, false},
		{"c+1:3", devcgroup.Device{}, false},
		{"n3", devcgroup.Device{}, false},
		{"+usb:1-1", devcgroup.Device{}, false},
		{"c1:", devcgroup.Device{}, false},
		{"c1", devcgroup.Device{}, false},
		{"x1:3", devcgroup.Device{}, false},
	} {
		got, ok := devcgroup.ParseUdevID(tc.id)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseUdevID(%q) = %v, %t; want %v, %t", tc.id, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHasCurrentTag(t *testing.T) {
	db := "S:loop7\nI:123\nG:snap_hello_app\nG:systemd\nQ:snap_hello_app\nQ:systemd\nV:1\n"
	for _, tc := range []struct {
		name, data, tag string
		want            bool
	}{
		{"current", db, "snap_hello_app", true},
		{"other-tag", db, "snap_hello_other", false},
		{"tagged-not-current", "G:snap_hello_app\nQ:systemd\n", "snap_hello_app", false},
		{"prefix-only", "Q:snap_hello_app2\n", "snap_hello_app", false},
		{"no-newline", "Q:snap_hello_app", "snap_hello_app", true},
		{"empty-tag", "Q:\n", "", false},
		{"too-long", db + strings.Repeat("E:x=y\n", 20000), "snap_hello_app", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := devcgroup.HasCurrentTag([]byte(tc.data), tc.tag); got != tc.want {
				t.Fatalf("got %t, want %t", got, tc.want)
			}
		})
	}
}

func TestCgroups(t *testing.T) {
	path, err := devcgroup.OwnCgroupV2([]byte("12:devices:/x\n0::/user.slice/snap.hello.app-42.scope\n"))
	if err != nil || path != "/user.slice/snap.hello.app-42.scope" {
		t.Fatalf("OwnCgroupV2 = %q, %v", path, err)
	}
	for _, bad := range []string{"", "1:name=systemd:/\n", "0::relative\n"} {
		if _, err := devcgroup.OwnCgroupV2([]byte(bad)); err == nil {
			t.Errorf("OwnCgroupV2(%q) succeeded", bad)
		}
	}
	for _, tc := range []struct {
		path, tag string
		want      bool
	}{
		{"/user.slice/snap.hello.app-42.scope", "snap.hello.app", true},
		{"/system.slice/snap.hello.app.service", "snap.hello.app", true},
		{"/snap.hello.app-1.scope", "snap.hello.app", true},
		{"/snap.hello.app-1.scope/sub", "snap.hello.app", false},
		{"/snap.hello.apple-1.scope", "snap.hello.app", false},
		{"/snap.hello.other-1.scope", "snap.hello.app", false},
		{"/snap.hello.app-1.slice", "snap.hello.app", false},
		{"/", "snap.hello.app", false},
		{"/user.slice", "snap.hello.app", false},
		{"/snap.hello_x.app-1.scope", "snap.hello_x.app", true},
		{"/snap.hello.app.scope", "snap.hello.app", true},
	} {
		if got := devcgroup.IsSnapCgroup(tc.path, tc.tag); got != tc.want {
			t.Errorf("IsSnapCgroup(%q, %q) = %t, want %t", tc.path, tc.tag, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := devcgroup.UdevTag("snap.hello_x.hook.configure"); got != "snap_hello_x_hook_configure" {
		t.Errorf("UdevTag = %q", got)
	}
	if got := devcgroup.ObjectName("snap.hello-world.a-very-long-app"); got != "s_hello_world_a" {
		t.Errorf("ObjectName = %q", got)
	}
	if got := devcgroup.SettingsName("hello_x"); got != "snap.hello_x.device" {
		t.Errorf("SettingsName = %q", got)
	}
}

func TestKeyLayoutIsSnapds(t *testing.T) {
	// struct {u8 type; u32 major; u32 minor} __attribute__((packed)), host order.
	d := devcgroup.Device{Type: 'c', Major: 189, Minor: devcgroup.MinorAny}
	k := d.Key()
	if k != [9]byte{'c', 189, 0, 0, 0, 0xff, 0xff, 0xff, 0xff} {
		t.Fatalf("key = %v", k)
	}
	if devcgroup.DeviceOfKey(k) != d {
		t.Fatal("DeviceOfKey(Key(d)) != d")
	}
	if d.String() != "c 189:*" {
		t.Errorf("String = %q", d.String())
	}
}

func TestCommonSetIsSnapConfines(t *testing.T) {
	var got []string
	for _, d := range devcgroup.Common {
		got = append(got, d.String())
	}
	want := "c 1:3,c 1:5,c 1:7,c 1:8,c 1:9,c 5:0,c 5:1,c 5:2,c 136:*,c 137:*,c 138:*,c 139:*,c 140:*,c 141:*,c 142:*,c 143:*"
	if strings.Join(got, ",") != want {
		t.Errorf("Common = %s", strings.Join(got, ","))
	}
}

// snap-confine 2.77 writes "<type> <major>:<minor> rwm" per device to a v1
// group's devices.allow, "*" for any minor; the group is the security tag.
func TestV1RulesAreSnapConfines(t *testing.T) {
	for _, tc := range []struct {
		d    devcgroup.Device
		want string
	}{
		{devcgroup.Device{Type: 'c', Major: 1, Minor: 3}, "c 1:3 rwm\n"},
		{devcgroup.Device{Type: 'b', Major: 7, Minor: 250}, "b 7:250 rwm\n"},
		{devcgroup.Device{Type: 'c', Major: 136, Minor: devcgroup.MinorAny}, "c 136:* rwm\n"},
		{devcgroup.Device{Type: 'c', Major: 4294967295, Minor: 4294967294}, "c 4294967295:4294967294 rwm\n"},
	} {
		if got := tc.d.V1Rule(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := devcgroup.V1GroupName("snap.hello.app"); got != "snap.hello.app" {
		t.Errorf("group %q", got)
	}
}

func TestHierarchyOf(t *testing.T) {
	for _, tc := range []struct {
		magic int64
		want  devcgroup.Hierarchy
	}{
		{unix.CGROUP2_SUPER_MAGIC, devcgroup.V2},
		{unix.TMPFS_MAGIC, devcgroup.V1}, // legacy and hybrid hosts
		{unix.CGROUP_SUPER_MAGIC, devcgroup.V1},
		{0, devcgroup.V1},
	} {
		if got := devcgroup.HierarchyOf(tc.magic); got != tc.want {
			t.Errorf("magic %#x: %s, want %s", tc.magic, got, tc.want)
		}
	}
}

func FuzzParseSettings(f *testing.F) {
	f.Add([]byte("self-managed=false\nnon-strict=false\n"))
	f.Add([]byte("# c\n=x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := devcgroup.ParseSettings(data)
		if err != nil && s != (devcgroup.Settings{}) && len(data) > devcgroup.MaxSettingsSize {
			t.Fatal("settings from an oversized file")
		}
		if err == nil && s.SelfManaged && !strings.Contains(string(data), "self-managed=true\n") {
			t.Fatal("self-managed without self-managed=true")
		}
	})
}

func FuzzUdev(f *testing.F) {
	f.Add("c189:1", []byte("G:snap_a_b\nQ:snap_a_b\n"), "snap_a_b")
	f.Add("+usb:1-1", []byte("Q:"), "")
	f.Fuzz(func(t *testing.T, id string, data []byte, tag string) {
		if d, ok := devcgroup.ParseUdevID(id); ok {
			if d.Type != 'c' && d.Type != 'b' || d.Minor == devcgroup.MinorAny || d.String() != strings.Replace(id, string(id[0]), string(id[0])+" ", 1) {
				t.Fatalf("ParseUdevID(%q) = %v", id, d)
			}
		}
		if devcgroup.HasCurrentTag(data, tag) && !strings.Contains(string(data), "Q:"+tag) {
			t.Fatalf("HasCurrentTag without Q:%s", tag)
		}
	})
}

func FuzzOwnCgroupV2(f *testing.F) {
	f.Add([]byte("0::/snap.a.b-1.scope\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := devcgroup.OwnCgroupV2(data); err == nil {
			if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\n\x00") {
				t.Fatalf("OwnCgroupV2 = %q", p)
			}
			devcgroup.IsSnapCgroup(p, "snap.a.b")
		}
	})
}
