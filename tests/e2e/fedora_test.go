// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/snapns/snapns/policy"
)

// Fedora, Arch, openSUSE and CentOS mount snaps in /var/lib/snapd/snap
// (with /snap a symlink to it, or absent) and install snapd's tools in
// /usr/libexec/snapd; they build snap-confine for a merged /usr, where
// removable media are in /run/media. fedoraWorld lays the sandbox out so:
// the launcher (setuid and with file capabilities) and the
// test's snap-update-ns in /usr/libexec/snapd (Debian's snapd 2.57 moved
// aside meanwhile), and the sandbox's /snap moved to /var/lib/snapd/snap
// with /snap a symlink to it. Everything is put back afterwards.

const (
	fedoraDir     = "/usr/libexec/snapd"
	fedoraCapsDir = "/usr/libexec/snapd-caps"
	fedoraSnapDir = "/var/lib/snapd/snap"
)

func fedoraWorld(t *testing.T) {
	t.Helper()
	world(t)
	fedoraLayout(t)
}

// fedoraLayout is fedoraWorld without the reset.
func fedoraLayout(t *testing.T) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	aside := fedoraDir + ".debian"
	if exists(fedoraDir) {
		must(os.Rename(fedoraDir, aside))
	}
	t.Cleanup(func() {
		os.RemoveAll(fedoraDir)
		os.RemoveAll(fedoraCapsDir)
		if exists(aside) {
			os.Rename(aside, fedoraDir)
		}
	})
	launcher, err := os.ReadFile(snapConfine)
	must(err)
	updateNS, err := os.ReadFile(fakeUpdateNS)
	must(err)
	for _, dir := range []string{fedoraDir, fedoraCapsDir} {
		must(os.MkdirAll(dir, 0o755))
		must(os.WriteFile(dir+"/snap-confine", launcher, 0o755))
		must(os.WriteFile(dir+"/snap-update-ns", updateNS, 0o755))
	}
	must(os.Chmod(fedoraDir+"/snap-confine", 0o755|os.ModeSetuid))
	if out, err := exec.Command("setcap", policy.RequiredSetcap()+"=p", fedoraCapsDir+"/snap-confine").CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v %s", err, out)
	}
	must(os.Rename("/snap", fedoraSnapDir))
	t.Cleanup(func() {
		os.Remove("/snap")
		if err := os.Rename(fedoraSnapDir, "/snap"); err != nil {
			t.Errorf("cannot put /snap back: %v", err)
		}
	})
	must(os.Symlink(fedoraSnapDir, "/snap"))
}

// The whole life of a snap in the Fedora layout, in both installs, as root
// and as a user: the base resolved in /var/lib/snapd/snap, snap-update-ns
// run from next to the launcher, the namespace preserved and joined, and
// discarded and rebuilt after a refresh of its base; in the snap, /snap is
// the host's /var/lib/snapd/snap and /media its /run/media.
func TestFedoraLayout(t *testing.T) {
	for _, dir := range []string{fedoraDir, fedoraCapsDir} {
		for _, uid := range []int{0, userUID} {
			t.Run(fmt.Sprintf("%s/uid%d", dir, uid), func(t *testing.T) {
				fedoraWorld(t)
				if err := os.MkdirAll("/run/media/alice", 0o755); err != nil {
					t.Fatal(err)
				}
				app := launch{program: dir + "/snap-confine", uid: uid, debug: true,
					args: []string{"read", "/base-marker", "read", "/mnt/snap-update-ns.log", "stat", "/snap/core/1", "stat", "/media/alice", "stat", "/run/media/alice"}}
				first := app.run()
				if first.err != nil {
					t.Fatalf("launch failed: %v\n%s", first.err, first.stderr)
				}
				r := first.report
				if !strings.Contains(first.stderr, "snaps are mounted in /var/lib/snapd/snap") {
					t.Errorf("the launcher did not find the snaps in /var/lib/snapd/snap:\n%s", first.stderr)
				}
				if r.Read["/base-marker"] != "core 1\n" || r.Stat["/snap/core/1"] != hostStat(t, fedoraSnapDir+"/core/1") {
					t.Errorf("the app's base: %q, /snap/core/1 %s", r.Read["/base-marker"], r.Stat["/snap/core/1"])
				}
				if !strings.Contains(r.Read["/mnt/snap-update-ns.log"], "argv=snap-update-ns --from-snap-confine hello") {
					t.Errorf("snap-update-ns did not run from %s: %q", dir, r.Read["/mnt/snap-update-ns.log"])
				}
				if want := hostStat(t, "/run/media/alice"); r.Stat["/media/alice"] != want || r.Stat["/run/media/alice"] != want {
					t.Errorf("removable media: /media/alice %s, /run/media/alice %s, the host's %s", r.Stat["/media/alice"], r.Stat["/run/media/alice"], want)
				}
				snapNS := nsID(t, "/run/snapd/ns/hello.mnt")
				app.mustRun(t)
				if nsID(t, "/run/snapd/ns/hello.mnt") != snapNS {
					t.Error("the second launch did not keep the preserved namespace")
				}
				refresh(t, "core", "2")
				rebuilt := app.mustRun(t)
				if nsID(t, "/run/snapd/ns/hello.mnt") == snapNS || rebuilt.Read["/base-marker"] != "core 2\n" {
					t.Errorf("after the refresh: the same namespace %t, base %q", nsID(t, "/run/snapd/ns/hello.mnt") == snapNS, rebuilt.Read["/base-marker"])
				}
			})
		}
	}
}

// A parallel instance of a classic snap in the Fedora layout: with the
// parallel-instances feature, the host's snap mount directory and /var/snap
// are made shared mount points of themselves, and the classic app's
// namespace maps /var/lib/snapd/snap/hello_a onto /var/lib/snapd/snap/hello.
func TestFedoraLayoutClassicInstance(t *testing.T) {
	parallelWorld(t, true)
	fedoraLayout(t)
	r := launch{program: fedoraDir + "/snap-confine", instance: "hello_a", flags: []string{"--classic"}, uid: userUID, args: []string{"read", instSnap + "/content"}}.mustRun(t)
	if r.Read[instSnap+"/content"] != "instance a" {
		t.Errorf("hello_a reads %q (errors %v)", r.Read[instSnap+"/content"], r.Errors)
	}
	if !strings.Contains(mountLineOf(t, fedoraSnapDir), "shared:") {
		t.Errorf("%s is not a shared mount point: %q", fedoraSnapDir, mountLineOf(t, fedoraSnapDir))
	}
	detachAll(t, fedoraSnapDir)
}
