// SPDX-License-Identifier: GPL-3.0-only

package stale

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/mountinfo"
)

var (
	dev1 = unix.Mkdev(7, 1)
	dev2 = unix.Mkdev(7, 2)
)

func TestDecide(t *testing.T) {
	cur := Current{Base: "core", Revision: "2", Device: dev2, Homedirs: []string{"/srv/home"}, Normal: true}
	full := info.Info{BaseSnapName: "core", BaseSnapRevision: "2", BaseSnapDevice: dev2, Homedirs: []string{"/srv/home"}, HomedirsKnown: true}
	with := func(f func(*info.Info)) info.Info { in := full; f(&in); return in }
	for _, tc := range []struct {
		name    string
		in      info.Info
		have    bool
		cur     Current
		vote    Vote
		inspect bool
		reason  string
	}{
		{"fresh", full, true, cur, Keep, false, "as now"},
		{"base-changed", with(func(i *info.Info) { i.BaseSnapName = "core22" }), true, cur, Must, false, "changed from \"core22\""},
		{"base-changed-snapd-info", info.Info{BaseSnapName: "core18"}, true, cur, Must, false, "changed"},
		{"refreshed", with(func(i *info.Info) { i.BaseSnapRevision = "1" }), true, cur, Should, false, "revision 1 to 2"},
		{"same-revision-other-device", with(func(i *info.Info) { i.BaseSnapDevice = dev1 }), true, cur, Should, false, "device 7:1"},
		{"homedirs-changed", with(func(i *info.Info) { i.Homedirs = nil }), true, cur, Should, false, "homedirs"},
		{"snapd-info-needs-inspection", info.Info{BaseSnapName: "core"}, true, cur, Keep, true, ""},
		{"no-info-needs-inspection", info.Info{}, false, cur, Keep, true, ""},
		{"legacy-refresh-is-kept", with(func(i *info.Info) { i.BaseSnapRevision = "1" }), true, Current{Base: "core", Revision: "2", Device: dev2}, Keep, false, "legacy"},
		{"legacy-base-change-is-must", info.Info{BaseSnapName: "core18"}, true, Current{Base: "core"}, Must, false, "changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, inspect := Decide(tc.in, tc.have, tc.cur)
			if inspect != tc.inspect || (!inspect && (d.Vote != tc.vote || !strings.Contains(d.Reason, tc.reason))) {
				t.Fatalf("Decide = %+v, inspect %t; want %v (%q), inspect %t", d, inspect, tc.vote, tc.reason, tc.inspect)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	cur := Current{Base: "core", Revision: "2", Device: dev2, Homedirs: []string{"/srv/home"}, Normal: true}
	e := func(dir, fstype string, d uint64) mountinfo.Entry {
		return mountinfo.Entry{MountDir: dir, FSType: fstype, Major: unix.Major(d), Minor: unix.Minor(d)}
	}
	for _, tc := range []struct {
		name    string
		entries []mountinfo.Entry
		vote    Vote
	}{
		{"base-at-root", []mountinfo.Entry{e("/", "squashfs", dev2), e("/srv/home", "ext4", dev1)}, Keep},
		{"base-under-usr-with-tmpfs-root", []mountinfo.Entry{e("/", "tmpfs", dev2), e("/usr/lib", "squashfs", dev2), e("/srv/home", "ext4", dev1)}, Keep},
		{"old-base", []mountinfo.Entry{e("/", "squashfs", dev1), e("/srv/home", "ext4", dev1)}, Should},
		{"tmpfs-with-the-device-is-ignored", []mountinfo.Entry{e("/", "tmpfs", dev2), e("/srv/home", "ext4", dev1)}, Should},
		{"base-elsewhere-only", []mountinfo.Entry{e("/", "squashfs", dev1), e("/snap/core/2", "squashfs", dev2), e("/srv/home", "ext4", dev1)}, Should},
		{"homedir-missing", []mountinfo.Entry{e("/", "squashfs", dev2)}, Should},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := Inspect(tc.entries, cur); d.Vote != tc.vote {
				t.Fatalf("Inspect = %+v, want %v", d, tc.vote)
			}
		})
	}
}
