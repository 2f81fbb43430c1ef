// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"errors"
	"strings"
	"testing"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/stale"
)

// facts is a user's launch of snap.hello.app on core revision 1 (device
// 7:0) with a fresh preserved namespace, snapd's settings and a .bin2
// profile: the hot path. Each case changes what it is about.
func facts(t *testing.T) Facts {
	t.Helper()
	inst, err := naming.ParseInstance("hello")
	if err != nil {
		t.Fatal(err)
	}
	tag, err := naming.ParseSecurityTagFor("snap.hello.app", inst)
	if err != nil {
		t.Fatal(err)
	}
	fresh := info.Info{BaseSnapName: "core", BaseSnapRevision: "1", BaseSnapDevice: 7 << 8, HomedirsKnown: true, MountNSID: 42}
	return Facts{
		Launch:    Launch{Instance: inst, Tag: tag, Base: "core"},
		CallerUID: 1000,
		Host:      Host{Distro: host.Classic, DebianLike: true, SnapDir: layout.CanonicalSnapMountDir, Hierarchy: devcgroup.V2},
		Seccomp:   &Seccomp{Path: "/var/lib/snapd/seccomp/bpf/snap.hello.app.bin2", Format: "bin2", Programs: 2},
		Snap: &Snap{
			Base:      Base{Name: "core", Revision: "1", Device: 7 << 8},
			UpdateNS:  &UpdateNS{Path: "/usr/lib/snapd/snap-update-ns", Installed: true},
			Devices:   Devices{Tagged: tagged(), OwnCgroup: "/user.slice/snap.hello.app-1.scope"},
			Preserved: Preserved{Present: true, Identity: Identity{ID: 42}, Info: fresh, HaveInfo: true},
		},
	}
}

func tagged(devs ...devcgroup.Device) *[]devcgroup.Device { return &devs }

func TestDecideRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		install Install
		change  func(*Facts)
		want    string
	}{
		{"apparmor unknown", Setuid, func(f *Facts) { f.AppArmor.Err = errors.New("cannot tell whether AppArmor is enabled: x") }, "cannot tell whether AppArmor is enabled"},
		{"unconfined with apparmor", Setuid, func(f *Facts) { f.AppArmor.Enabled = true }, "is not confined by AppArmor"},
		{"unconfined with apparmor, file caps", FileCaps, func(f *Facts) { f.AppArmor.Enabled = true }, "is not confined by AppArmor"},
		{"not installed", Unprivileged, func(*Facts) {}, "installed neither setuid root nor with file capabilities"},
		{"seccomp", Setuid, func(f *Facts) { f.Seccomp.Err = errors.New("cannot use seccomp profile x: y") }, "cannot use seccomp profile"},
		{"removing", Setuid, func(f *Facts) { f.Snap.Removing = true }, "cannot launch snap hello: it is being removed"},
		{"base", Setuid, func(f *Facts) { f.Snap.Base = Base{Err: errors.New(`cannot use base snap "core": x`)} }, "cannot use base snap"},
		{"device settings", Setuid, func(f *Facts) { f.Snap.Devices.SettingsErr = errors.New("cannot use settings") }, "cannot use settings"},
		{"required device cgroup outside the snap's cgroup", Setuid, func(f *Facts) {
			f.Snap.Base.Name, f.Launch.Base = "core24", "core24"
			f.Snap.Preserved = Preserved{}
			f.Snap.Devices.Tagged = tagged()
			f.Snap.Devices.OwnCgroup = "/user.slice/session-1.scope"
		}, "/user.slice/session-1.scope is not a snap cgroup for tag snap.hello.app"},
		{"mount profile without snap-update-ns", Setuid, func(f *Facts) {
			f.Snap.Preserved = Preserved{}
			f.Snap.UpdateNS.Installed, f.Snap.UpdateNS.Profile = false, true
		}, "/var/lib/snapd/mount/snap.hello.fstab: /usr/lib/snapd/snap-update-ns is not installed"},
		{"user mount profile without snap-update-ns", Setuid, func(f *Facts) {
			f.Snap.UpdateNS.Installed, f.Snap.UpdateNS.UserProfile = false, true
		}, "snap.hello.user-fstab: /usr/lib/snapd/snap-update-ns is not installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts(t)
			tc.change(&f)
			p := Decide(f, tc.install)
			if p.Refusal == nil || !strings.Contains(p.Refusal.Error(), tc.want) || !strings.HasPrefix(p.Refusal.Error(), "cannot ") {
				t.Fatalf("Refusal = %v, want %q", p.Refusal, tc.want)
			}
			if p.Namespace.Action != NamespaceNone || p.Devices.Set || p.Need.Any() {
				t.Errorf("a refused plan still does something: %+v", p)
			}
		})
	}
	// Root may run the launcher unconfined, as snap-confine lets it.
	f := facts(t)
	f.AppArmor.Enabled = true
	if p := Decide(f, RootCaller); p.Refusal != nil || !p.AppArmor.Enforce || p.AppArmor.AppLabel != "snap.hello.app" || p.AppArmor.HelperLabel != "snap-update-ns.hello" {
		t.Errorf("root, unconfined, AppArmor enabled: %+v", p)
	}
}

func TestDecideNamespace(t *testing.T) {
	inspected := func(entries ...mountinfo.Entry) *[]mountinfo.Entry { return &entries }
	for _, tc := range []struct {
		name   string
		change func(*Facts)
		want   NamespaceAction
		vote   stale.Vote
		need   Need
		why    string
	}{
		{"fresh", func(*Facts) {}, NamespaceJoin, stale.Keep, Need{}, "as now"},
		{"none preserved", func(f *Facts) { f.Snap.Preserved = Preserved{} }, NamespaceCreate, stale.Keep, Need{}, "no namespace is preserved"},
		{"not ours", func(f *Facts) { f.Snap.Preserved.NotOurs = "it is owned by user namespace 9" }, NamespaceRebuild, stale.Must, Need{}, "not the one captured there"},
		{"base changed", func(f *Facts) { f.Snap.Base.Name, f.Launch.Base = "core22", "core22" }, NamespaceRebuild, stale.Must, Need{}, "base changed"},
		{"refreshed, occupancy unknown", func(f *Facts) { f.Snap.Base.Revision = "2" }, NamespaceRebuild, stale.Should, Need{Occupancy: true}, "unless the snap still runs"},
		{"refreshed, idle", func(f *Facts) { f.Snap.Base.Revision = "2"; f.Snap.Preserved.Occupancy = &Occupancy{} }, NamespaceRebuild, stale.Should, Need{}, "refreshed"},
		{"refreshed, running", func(f *Facts) {
			f.Snap.Base.Revision = "2"
			f.Snap.Preserved.Occupancy = &Occupancy{Busy: true, Why: "pid 7"}
		}, NamespaceJoin, stale.Should, Need{}, "but the snap is running: pid 7"},
		{"homedirs", func(f *Facts) { f.Snap.Homedirs = []string{"/srv/homes"}; f.Snap.Preserved.Occupancy = &Occupancy{} }, NamespaceRebuild, stale.Should, Need{}, "homedirs changed"},
		{"snap-confine's, to inspect", func(f *Facts) { f.Snap.Preserved.Info = info.Info{BaseSnapName: "core"} }, NamespaceJoin, stale.Keep, Need{Inspection: true}, "to be inspected"},
		{"snap-confine's, inspected fresh", func(f *Facts) {
			f.Snap.Preserved.Info = info.Info{BaseSnapName: "core"}
			f.Snap.Preserved.Mounts = inspected(mountinfo.Entry{MountDir: "/usr", FSType: "squashfs", Major: 7})
		}, NamespaceJoin, stale.Keep, Need{}, "inspected"},
		{"snap-confine's, inspected stale", func(f *Facts) {
			f.Snap.Preserved.Info = info.Info{BaseSnapName: "core"}
			f.Snap.Preserved.Mounts = inspected(mountinfo.Entry{MountDir: "/usr", FSType: "squashfs", Major: 7, Minor: 1})
			f.Snap.Preserved.Occupancy = &Occupancy{}
		}, NamespaceRebuild, stale.Should, Need{}, "is not mounted"},
		{"legacy mode", func(f *Facts) { f.Host.Distro = host.Core16; f.Snap.Base.Revision = "9" }, NamespaceJoin, stale.Keep, Need{}, "legacy mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts(t)
			tc.change(&f)
			p := Decide(f, Setuid)
			if p.Refusal != nil {
				t.Fatal(p.Refusal)
			}
			if p.Namespace.Action != tc.want || p.Namespace.Vote != tc.vote || p.Need != tc.need || !strings.Contains(p.Namespace.Why, tc.why) {
				t.Errorf("Namespace = %+v, Need %+v; want %v (%v), need %+v, why with %q", p.Namespace, p.Need, tc.want, tc.vote, tc.need, tc.why)
			}
			building := (tc.want == NamespaceCreate || tc.want == NamespaceRebuild) && !p.Need.Any()
			if building != (p.Root.Binds != nil) {
				t.Errorf("Root = %+v for %v", p.Root, tc.want)
			}
		})
	}
}

func TestDecidePerUser(t *testing.T) {
	layer := Preserved{Present: true, Identity: Identity{ID: 43}, Info: info.Info{BaseSnapName: "core", MountNSID: 43, ParentMountNSID: 42}, HaveInfo: true}
	for _, tc := range []struct {
		name    string
		change  func(*Facts)
		want    PerUserAction
		discard bool
	}{
		{"root", func(f *Facts) { f.CallerUID = 0 }, PerUserNone, false},
		{"feature off", func(*Facts) {}, PerUserEphemeral, false},
		{"feature on, none preserved", func(f *Facts) { f.Features.PerUser = true }, PerUserCreate, false},
		{"feature on, on top of the snap's", func(f *Facts) { f.Features.PerUser = true; f.Snap.UserLayer = layer }, PerUserJoin, false},
		{"on top of another", func(f *Facts) {
			f.Features.PerUser, f.Snap.UserLayer = true, layer
			f.Snap.UserLayer.Info.ParentMountNSID = 41
		}, PerUserCreate, true},
		{"snap namespace rebuilt", func(f *Facts) {
			f.Features.PerUser, f.Snap.UserLayer = true, layer
			f.Snap.Preserved.NotOurs = "x"
		}, PerUserCreate, true},
		{"not ours", func(f *Facts) { f.Features.PerUser, f.Snap.UserLayer = true, layer; f.Snap.UserLayer.NotOurs = "x" }, PerUserCreate, true},
		{"no recorded id", func(f *Facts) {
			f.Features.PerUser, f.Snap.UserLayer = true, layer
			f.Snap.UserLayer.Info.MountNSID = 0
		}, PerUserCreate, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts(t)
			tc.change(&f)
			p := Decide(f, Setuid)
			if p.Refusal != nil {
				t.Fatal(p.Refusal)
			}
			if p.PerUser.Action != tc.want || p.PerUser.Discard != tc.discard || p.PerUser.Why == "" {
				t.Errorf("PerUser = %+v, want %v (discard %t)", p.PerUser, tc.want, tc.discard)
			}
		})
	}
}

func TestDecideDevices(t *testing.T) {
	loop := devcgroup.Device{Type: 'b', Major: 7, Minor: 9}
	nvidia := devcgroup.Device{Type: 'c', Major: 195, Minor: 0}
	for _, tc := range []struct {
		name   string
		change func(*Facts)
		mode   devcgroup.Mode
		set    bool
		need   bool
		allow  int
	}{
		{"core, untagged unknown", func(f *Facts) { f.Snap.Devices.Tagged = nil }, devcgroup.Optional, false, true, 0},
		{"core, nothing tagged", func(f *Facts) { f.Snap.Devices.Tagged = tagged() }, devcgroup.Optional, false, false, 0},
		{"core, a device tagged", func(f *Facts) { f.Snap.Devices.Tagged = tagged(loop) }, devcgroup.Optional, true, false, len(devcgroup.Common) + 1},
		{"core24, nothing tagged", func(f *Facts) { f.Snap.Base.Name = "core24"; f.Snap.Devices.Tagged = tagged() }, devcgroup.Required, true, false, len(devcgroup.Common)},
		{"core24, extra nodes", func(f *Facts) {
			f.Snap.Base.Name, f.Snap.Devices.Tagged, f.Snap.Devices.Extra = "core24", tagged(loop), []devcgroup.Device{nvidia}
		}, devcgroup.Required, true, false, len(devcgroup.Common) + 2},
		{"core24 on v1, any cgroup", func(f *Facts) {
			f.Snap.Base.Name, f.Snap.Devices.Tagged = "core24", tagged()
			f.Host.Hierarchy, f.Snap.Devices.OwnCgroup = devcgroup.V1, ""
		}, devcgroup.Required, true, false, len(devcgroup.Common)},
		{"self-managed", func(f *Facts) { f.Snap.Devices.Settings.SelfManaged = true }, devcgroup.None, false, false, 0},
		{"container", func(f *Facts) { f.Host.InContainer = true; f.Snap.Devices.SettingsErr = errors.New("never read") }, devcgroup.None, false, false, 0},
		{"old snapd, core24", func(f *Facts) {
			f.Snap.Base.Name, f.Snap.Devices.Settings.OldSnapd, f.Snap.Devices.Tagged = "core24", true, nil
		}, devcgroup.Optional, false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts(t)
			tc.change(&f)
			p := Decide(f, FileCaps)
			if p.Refusal != nil {
				t.Fatal(p.Refusal)
			}
			d := p.Devices
			if d.Mode != tc.mode || d.Set != tc.set || p.Need.TaggedDevices != tc.need || len(d.Allow) != tc.allow || d.Why == "" {
				t.Errorf("Devices = %+v, need %t; want mode %v, set %t, need %t, %d allowed", d, p.Need.TaggedDevices, tc.mode, tc.set, tc.need, tc.allow)
			}
		})
	}
}

func TestDecideRoot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Facts)
		normal bool
		tools  bool
		merged bool
		etc    []string
	}{
		{"debian, core", func(*Facts) {}, true, false, false, []string{"/etc/nsswitch.conf"}},
		{"debian, core22", func(f *Facts) { f.Snap.Base.Name, f.Launch.Base = "core22", "core22" }, true, true, false, []string{"/etc/alternatives"}},
		{"fedora, core26", func(f *Facts) {
			f.Snap.Base.Name, f.Launch.Base, f.Host.DebianLike, f.Host.SnapDir = "core26", "core26", false, layout.AlternateSnapMountDir
		}, true, true, true, []string{"/etc/ssl", "/etc/ld.so.cache"}},
		{"core16 host, core", func(f *Facts) { f.Host.Distro = host.Core16 }, false, false, false, nil},
		{"core16 falling back to core", func(f *Facts) { f.Launch.Base = "core16"; f.Host.Distro = host.Core16 }, true, false, false, []string{"/etc/ssl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts(t)
			f.Snap.Preserved = Preserved{}
			tc.change(&f)
			p := Decide(f, Setuid)
			r := p.Root
			if p.Refusal != nil || r.Normal != tc.normal || r.SnapdTools != tc.tools || r.MergedUsr != tc.merged || !r.UpdateNS {
				t.Fatalf("Root = %+v (refusal %v)", r, p.Refusal)
			}
			for _, path := range tc.etc {
				if !contains(r.EtcFromBase, path) {
					t.Errorf("EtcFromBase %v lacks %s", r.EtcFromBase, path)
				}
			}
			media := false
			for _, b := range r.Binds {
				media = media || b.Path == "/run/media" && b.AltPath == "/media" && b.Propagation == policy.Shared
			}
			if media != tc.merged {
				t.Errorf("/run/media at /media: %t", media)
			}
		})
	}
}

func TestDecideClassic(t *testing.T) {
	key, err := naming.ParseInstance("hello_k")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		install  Install
		parallel bool
		instance bool
		newNS    bool
		refused  bool
	}{
		{"plain", Setuid, false, false, false, false},
		{"unprivileged", Unprivileged, false, false, false, false},
		{"parallel feature", FileCaps, true, false, true, false},
		{"parallel instance", FileCaps, true, true, true, false},
		{"parallel feature, unprivileged", Unprivileged, true, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts(t)
			f.Launch.Classic, f.Features.Parallel = true, tc.parallel
			if tc.instance {
				f.Launch.Instance = key
			}
			p := Decide(f, tc.install)
			if (p.Refusal != nil) != tc.refused || p.Classic.NewNamespace != tc.newNS || (p.Classic.Own != "") != tc.instance || p.Namespace.Action != NamespaceNone {
				t.Errorf("classic plan %+v (refusal %v)", p, p.Refusal)
			}
			if tc.instance && (p.Classic.Own != "hello_k" || p.Classic.Mapped != "hello") {
				t.Errorf("instance mapping %q on %q", p.Classic.Own, p.Classic.Mapped)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The launcher's loop: Decide asks for each lazy fact in the order the
// launcher can gather it, and decides nothing it has not got the facts for.
func TestDecideNeedsInOrder(t *testing.T) {
	full := facts(t)
	full.Snap.Devices.Tagged = nil
	full.Snap.Base.Revision = "2" // refreshed: occupancy is asked for
	updateNS := full.Snap.UpdateNS
	full.Snap.UpdateNS = nil // asked for once a namespace is to be made
	f := full
	f.Seccomp, f.Snap = nil, nil
	var asked []string
	for i := 0; i < 10; i++ {
		p := Decide(f, FileCaps)
		if p.Refusal != nil {
			t.Fatal(p.Refusal)
		}
		switch {
		case p.Need.Seccomp:
			asked, f.Seccomp = append(asked, "seccomp"), full.Seccomp
		case p.Need.Snap:
			if p.Seccomp.Path == "" {
				t.Errorf("the seccomp step is not decided once its facts are there")
			}
			snap := *full.Snap
			asked, f.Snap = append(asked, "snap"), &snap
		case p.Need.UpdateNS:
			asked, f.Snap.UpdateNS = append(asked, "update-ns"), updateNS
		case p.Need.TaggedDevices || p.Need.Occupancy:
			if p.Need.TaggedDevices {
				asked, f.Snap.Devices.Tagged = append(asked, "tagged"), tagged()
			}
			if p.Need.Occupancy {
				asked, f.Snap.Preserved.Occupancy = append(asked, "occupancy"), &Occupancy{}
			}
		default:
			if got := strings.Join(asked, " "); got != "seccomp snap tagged occupancy update-ns" {
				t.Errorf("asked for %s", got)
			}
			if p.Namespace.Action != NamespaceRebuild {
				t.Errorf("Namespace = %+v", p.Namespace)
			}
			return
		}
		if p.Namespace.Action != NamespaceNone && (p.Need.Seccomp || p.Need.Snap) {
			t.Errorf("a namespace decided without the snap's facts: %+v", p)
		}
	}
	t.Fatal("Decide never stopped asking")
}
