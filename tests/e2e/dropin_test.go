// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"strings"
	"testing"
)

// dropIns are the launcher installed as snap-confine itself, setuid and
// with file capabilities: snapd's command line, one process per launch.
var dropIns = []struct{ name, program string }{
	{"setuid", dropInDir + "/snap-confine"},
	{"file-capabilities", dropInCapsDir + "/snap-confine"},
}

// Installed as snap-confine, the launcher takes snapd's command line and
// does what the planner's front and the launcher do together: create and
// join the snap's namespace, a user's layer, a classic launch, the handover.
func TestLauncherInstalledAsSnapConfineTakesSnapdsCommandLine(t *testing.T) {
	for _, in := range dropIns {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			enablePerUser(t)
			if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
				t.Fatal(err)
			}
			created := launch{program: in.program, args: []string{"uname"}}.mustRun(t)
			if created.MountNSID == 0 || created.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
				t.Fatalf("root's app is not in the preserved namespace: %d", created.MountNSID)
			}
			if len(created.Errors) != 1 || created.Status["Seccomp_filters"] != "2" {
				t.Fatalf("the app's profile was not loaded: %v %v", created.Errors, created.Status)
			}
			if joined := (launch{program: in.program}).mustRun(t); joined.MountNSID != created.MountNSID {
				t.Fatalf("the second launch did not join: %d, then %d", created.MountNSID, joined.MountNSID)
			}
			user := launch{program: in.program, uid: userUID}.mustRun(t)
			if user.UIDs != [3]int{userUID, userUID, userUID} || user.MountNSID != nsID(t, "/run/snapd/ns/hello.1000.mnt") {
				t.Fatalf("uid 1000's app: uids %v, namespace %d", user.UIDs, user.MountNSID)
			}
			for _, c := range user.Caps {
				if c != "0000000000000000" && c != user.Caps["CapBnd"] {
					t.Fatalf("uid 1000's app holds capabilities: %v", user.Caps)
				}
			}
			if classic := (launch{program: in.program, uid: userUID, flags: []string{"--classic"}}).mustRun(t); classic.MountNSID == user.MountNSID {
				t.Fatal("the classic app runs in the snap's namespace")
			}
		})
	}
}

// snapd's command line is untrusted input in the privileged binary: every
// refusal is one line, before anything is created.
func TestLauncherInstalledAsSnapConfineRefusesBadCommandLines(t *testing.T) {
	for _, in := range dropIns {
		for _, tc := range []struct {
			name string
			l    launch
			want string
		}{
			{"no tag", launch{argv: []string{}}, "security tag was not provided"},
			{"no executable", launch{argv: []string{"snap.hello.app"}}, "executable name was not provided"},
			{"unknown option", launch{argv: []string{"--evil", "snap.hello.app", probe}}, "unrecognized command line option"},
			{"tag of another snap", launch{tag: "snap.other.app"}, "snap.other.app"},
			{"bad instance", launch{instance: "../x", tag: "snap.../x.app"}, "cannot"},
			{"bad base", launch{flags: []string{"--base", "../core"}}, "base"},
		} {
			t.Run(in.name+"/"+tc.name, func(t *testing.T) {
				world(t)
				tc.l.program, tc.l.uid = in.program, userUID
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
	out, err := launch{program: dropInDir + "/snap-confine", argv: []string{"--version"}, uid: userUID}.command().Output()
	if err != nil || !strings.HasPrefix(string(out), "snap-confine ") {
		t.Fatalf("--version: %q, %v", out, err)
	}
}
