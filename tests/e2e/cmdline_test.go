// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"strings"
	"testing"
)

// The launcher, installed as snap-confine, takes snapd's command line: it
// creates and joins the snap's namespace, a user's layer, a classic launch,
// the handover, in both installs.
func TestLauncherInstalledAsSnapConfineTakesSnapdsCommandLine(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			enablePerUser(t)
			if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
				t.Fatal(err)
			}
			created := launch{caps: in.caps, args: []string{"uname"}}.mustRun(t)
			if created.MountNSID == 0 || created.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
				t.Fatalf("root's app is not in the preserved namespace: %d", created.MountNSID)
			}
			if len(created.Errors) != 1 || created.Status["Seccomp_filters"] != "2" {
				t.Fatalf("the app's profile was not loaded: %v %v", created.Errors, created.Status)
			}
			if joined := (launch{caps: in.caps}).mustRun(t); joined.MountNSID != created.MountNSID {
				t.Fatalf("the second launch did not join: %d, then %d", created.MountNSID, joined.MountNSID)
			}
			user := launch{caps: in.caps, uid: userUID}.mustRun(t)
			if user.UIDs != [3]int{userUID, userUID, userUID} || user.MountNSID != nsID(t, "/run/snapd/ns/hello.1000.mnt") {
				t.Fatalf("uid 1000's app: uids %v, namespace %d", user.UIDs, user.MountNSID)
			}
			for _, c := range user.Caps {
				if c != "0000000000000000" && c != user.Caps["CapBnd"] {
					t.Fatalf("uid 1000's app holds capabilities: %v", user.Caps)
				}
			}
			if classic := (launch{caps: in.caps, uid: userUID, flags: []string{"--classic"}}).mustRun(t); classic.MountNSID == user.MountNSID {
				t.Fatal("the classic app runs in the snap's namespace")
			}
		})
	}
}

// snapd's command line is the privileged binary's untrusted input, and the
// only one: every crafted argv and environment is refused with one line,
// before anything is created, in both installs. This is what a forged plan
// could try when one was handed over (names outside snapd's rules, a tag of
// another snap, oversized and multi-line values, the wire format itself),
// through the channels that remain.
func TestCraftedCommandLinesAreRefusedAndCreateNothing(t *testing.T) {
	long := strings.Repeat("a", 64<<10)
	for _, in := range installs {
		for _, tc := range []struct {
			name string
			l    launch
			want string
		}{
			{"no tag", launch{argv: []string{}}, "security tag was not provided"},
			{"no executable", launch{argv: []string{"snap.hello.app"}}, "executable name was not provided"},
			{"empty executable", launch{argv: []string{"snap.hello.app", ""}}, "empty executable"},
			{"unknown option", launch{argv: []string{"--evil", "snap.hello.app", probe}}, "unrecognized command line option"},
			{"double dash", launch{argv: []string{"--", "snap.hello.app", probe}}, "unrecognized command line option"},
			{"no SNAP_INSTANCE_NAME", launch{env: []string{"SNAP_INSTANCE_NAME="}}, "SNAP_INSTANCE_NAME is not set"},
			{"tag of another snap", launch{tag: "snap.other.app"}, "snap.other.app"},
			{"tag of another instance", launch{tag: "snap.hello_x.app"}, "snap.hello_x.app"},
			{"hook of another instance", launch{instance: "hello_x", tag: "snap.hello.hook.configure"}, "snap.hello.hook.configure"},
			{"bad instance", launch{instance: "../x", tag: "snap.../x.app"}, "cannot"},
			{"instance with a newline", launch{instance: "hello\nx", tag: "snap.hello\nx.app"}, "cannot"},
			{"tag with a newline", launch{tag: "snap.hello.app\n"}, "cannot"},
			{"tag with a path", launch{tag: "snap.hello.app/../../x"}, "cannot"},
			{"oversized tag", launch{tag: "snap.hello." + long}, "cannot"},
			{"oversized instance", launch{instance: long, tag: "snap." + long + ".app"}, "cannot"},
			{"the wire format as the tag", launch{argv: []string{"snapns-plan 5\nclassic=false\ninstance=hello\nsecurity-tag=snap.hello.app\nbase=core\ndebug=false\nend\n", probe}}, "cannot"},
			{"a component's tag without SNAP_COMPONENT_NAME", launch{tag: "snap.hello+comp.hook.install"}, "SNAP_COMPONENT_NAME"},
			{"SNAP_COMPONENT_NAME of another snap", launch{tag: "snap.hello+comp.hook.install", env: []string{"SNAP_COMPONENT_NAME=other+comp"}}, "other+comp"},
			{"bad base", launch{flags: []string{"--base", "../core"}}, "base"},
			{"base with a newline", launch{flags: []string{"--base", "core\nx"}}, "base"},
			{"base of an instance", launch{flags: []string{"--base", "core_x"}}, "base"},
			{"oversized base", launch{flags: []string{"--base", long}}, "base"},
			{"base twice", launch{flags: []string{"--base", "core", "--base", "core18"}}, "only once"},
			{"base without a value", launch{argv: []string{"--base"}}, "requires an argument"},
		} {
			t.Run(in.name+"/"+tc.name, func(t *testing.T) {
				world(t)
				tc.l.caps, tc.l.uid = in.caps, userUID
				if msg := tc.l.mustFail(t); !strings.Contains(msg, tc.want) {
					t.Fatalf("unexpected error %q", msg)
				}
				nothingCreated(t)
			})
		}
	}
}

func TestLauncherInstalledAsSnapConfineReportsItsVersion(t *testing.T) {
	world(t)
	for _, in := range installs {
		out, err := launch{caps: in.caps, argv: []string{"--version"}, uid: userUID}.command().Output()
		if err != nil || !strings.HasPrefix(string(out), "snap-confine ") {
			t.Fatalf("%s: --version: %q, %v", in.name, out, err)
		}
	}
}
