// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/snapns/snapns/policy"
)

// The strict-capability install (the launcher with file capabilities, not
// setuid) runs the same launches: a non-root caller keeps their ids
// throughout and ends with no capability at all.
func TestFileCapabilityInstallCreatesJoinsAndDrops(t *testing.T) {
	world(t)
	fi, err := os.Stat(capsDir + "/snap-confine")
	if err != nil || fi.Mode()&os.ModeSetuid != 0 {
		t.Fatalf("the file-capability launcher is setuid or missing: %v", err)
	}
	installUpdateNS(t)
	enablePerUser(t)
	first := launch{caps: true, uid: 1000, groups: []uint32{1000, 2000}, debug: true, args: []string{"write", "/tmp/x", "y", "read", "/mnt/snap-update-ns.log"}}.run()
	if first.err != nil {
		t.Fatalf("file-capability launch failed: %v\n%s", first.err, first.stderr)
	}
	if !strings.Contains(first.stderr, "install mode: file capabilities") {
		t.Errorf("the launcher did not run in file-capability mode:\n%s", first.stderr)
	}
	r := first.report
	if r.UIDs != [3]int{1000, 1000, 1000} || r.GIDs != [3]int{1000, 1000, 1000} || !slices.Equal(r.Groups, []int{1000, 2000}) {
		t.Fatalf("ids %v %v groups %v", r.UIDs, r.GIDs, r.Groups)
	}
	for _, c := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if r.Caps[c] != "0000000000000000" {
			t.Errorf("app has %s %s", c, r.Caps[c])
		}
	}
	if caller := (launch{program: probe, argv: []string{}, uid: 1000}).mustRun(t); r.Caps["CapBnd"] != caller.Caps["CapBnd"] {
		t.Errorf("app's bounding set %s, the caller's %s", r.Caps["CapBnd"], caller.Caps["CapBnd"])
	}
	// Without cap_setuid the launcher cannot make root: snap-update-ns
	// runs as the caller with ambient capabilities, as snapd 2.70 runs it.
	if !strings.Contains(r.Read["/mnt/snap-update-ns.log"], "uids=1000/1000/1000") {
		t.Errorf("snap-update-ns did not run as the caller: %q", r.Read["/mnt/snap-update-ns.log"])
	}
	checkOwnerMode(t, "/run/snapd/ns/snap.hello.info", 0o644)
	checkOwnerMode(t, "/run/snapd/lock/hello.lock", 0o600)
	checkOwnerMode(t, "/run/snapd/lock/hello.1000.lock", 0o600)
	checkOwnerMode(t, "/tmp/snap-private-tmp/snap.hello", os.ModeDir|0o700)
	again := launch{caps: true, uid: 1000, args: []string{"read", "/tmp/x"}}.mustRun(t)
	if again.MountNSID != r.MountNSID || again.Read["/tmp/x"] != "y" {
		t.Fatal("the second file-capability launch did not join the preserved per-user namespace")
	}
	root := launch{caps: true}.mustRun(t)
	if root.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
		t.Fatal("root's app does not run in the snap's namespace")
	}
	// A refresh discards and rebuilds, with file capabilities too.
	refresh(t, "core", "2")
	after := launch{caps: true, uid: 1000, args: []string{"read", "/base-marker"}}.mustRun(t)
	if after.Read["/base-marker"] != "core 2\n" {
		t.Fatal("the file-capability launcher did not rebuild a stale namespace")
	}
}

// Every capability of policy.Required() is needed: the launcher installed
// with the set minus any one of them refuses to run with a packaging error
// naming it.
func TestFileCapabilityInstallLackingACapabilityIsAPackagingError(t *testing.T) {
	world(t)
	dir := "/usr/lib/snapd-caps-minus"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(capsDir + "/snap-confine")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/snap-confine", data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, missing := range policy.Required() {
		var rest []string
		for _, c := range policy.Required() {
			if c != missing {
				rest = append(rest, "cap_"+c.String())
			}
		}
		if out, err := exec.Command("setcap", strings.Join(rest, ",")+"=p", dir+"/snap-confine").CombinedOutput(); err != nil {
			t.Fatalf("setcap: %v %s", err, out)
		}
		msg := launch{program: dir + "/snap-confine", uid: 1000}.mustFail(t)
		if !strings.Contains(msg, "lacks cap_"+missing.String()) {
			t.Errorf("without %s: %q", missing, msg)
		}
		nothingCreated(t)
	}
}

// TestSnapdsOwnCapabilityFileIsEnough installs the launcher as snapd's
// snap-confine with the capabilities snapd's own package sets on it at
// every upgrade (snap-confine.v2-only.caps, taken unchanged from Debian
// sid's snapd 2.77 package), on a machine whose bounding set may lack
// cap_sys_resource (this one's does, as many containers' do): root's and a
// user's launches create, join and discard as with the launcher's own set.
func TestSnapdsOwnCapabilityFileIsEnough(t *testing.T) {
	world(t)
	caps, err := os.ReadFile(updateNS277Dir + "/snap-confine.v2-only.caps")
	if err != nil {
		t.Skip("SKIPPING: no snapd 2.77 capability file to install with: " + os.Getenv(updateNS277SkipEnv))
	}
	dir := "/usr/lib/snapd-snapd-caps"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, err := os.ReadFile(capsDir + "/snap-confine")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/snap-confine", data, 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(string(caps))
	if out, err := exec.Command("setcap", text, dir+"/snap-confine").CombinedOutput(); err != nil {
		t.Fatalf("setcap %s: %v %s", text, err, out)
	}
	bnd, _ := os.ReadFile("/proc/self/status")
	t.Logf("snapd's capability file: %s; this machine's bounding set has cap_sys_resource: %t", text, hasBoundingCap(string(bnd), 24))
	installUpdateNS(t)
	for _, uid := range []int{userUID, 0, userUID} {
		r := launch{program: dir + "/snap-confine", uid: uid, debug: true}.run()
		if r.err != nil {
			t.Fatalf("uid %d: launch with snapd's capability file failed: %v\n%s", uid, r.err, r.stderr)
		}
		if uid != 0 && r.report.Caps["CapEff"] != "0000000000000000" {
			t.Errorf("the app kept capabilities: %v", r.report.Caps)
		}
	}
	refresh(t, "core", "2")
	if r := (launch{program: dir + "/snap-confine", uid: userUID, args: []string{"read", "/base-marker"}}).mustRun(t); r.Read["/base-marker"] != "core 2\n" {
		t.Errorf("after a refresh the app runs on %q", r.Read["/base-marker"])
	}
}

// hasBoundingCap reports whether a /proc/<pid>/status text's CapBnd has cap.
func hasBoundingCap(status string, cap uint) bool {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:\t"); ok {
			b, _ := strconv.ParseUint(v, 16, 64)
			return b&(1<<cap) != 0
		}
	}
	return false
}
