// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapns/snapns/tests/sandbox"
)

// snapd 2.77's own snap-update-ns (Debian sid's package, fetched into
// .cache/debs/sid like the 2.57 package, never installed) applies the
// layouts of the test snap in the namespace the launcher built: the real
// peer of the launcher's bootstrap, whose writable mimics depend on exactly
// how the root filesystem was assembled.

const (
	updateNS277Dir     = "/usr/lib/snapd-2.77"
	updateNS277TreeEnv = "SNAPNS_E2E_SNAPD_277"      // the unpacked package, on the host
	updateNS277SkipEnv = "SNAPNS_E2E_SNAPD_277_SKIP" // why there is none
)

// fetchSnapd277 runs outside the sandbox, as fetchSnapd does.
func fetchSnapd277() {
	tree, err := sandbox.SnapdTree(repoRoot, "sid")
	if err == nil {
		if v := sandbox.SnapdVersion(tree); !strings.HasPrefix(v, "2.77") {
			err = fmt.Errorf("Debian sid's snapd is %s, not 2.77.x", v)
		}
	}
	if err != nil {
		why := "SKIPPING the tests with snapd 2.77's snap-update-ns: " + strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintln(os.Stderr, "*** "+why+" ***")
		os.Setenv(updateNS277SkipEnv, why)
		return
	}
	abs, _ := filepath.Abs(tree)
	os.Setenv(updateNS277TreeEnv, abs)
}

func snapd277Files() []sandbox.File {
	tree := os.Getenv(updateNS277TreeEnv)
	if tree == "" {
		return nil
	}
	return []sandbox.File{
		{Src: filepath.Join(tree, "usr/lib/snapd/snap-update-ns"), Dst: updateNS277Dir + "/snap-update-ns", Mode: 0o755},
		{Src: filepath.Join(tree, "usr/lib/snapd/info"), Dst: updateNS277Dir + "/info", Mode: 0o644},
		{Src: filepath.Join(tree, "usr/lib/snapd/snap-confine.v2-only.caps"), Dst: updateNS277Dir + "/snap-confine.v2-only.caps", Mode: 0o644},
	}
}

// installUpdateNS277 makes snapd 2.77's snap-update-ns the one the launcher
// runs, or skips the test saying why it cannot.
func installUpdateNS277(t *testing.T) {
	t.Helper()
	if why := os.Getenv(updateNS277SkipEnv); why != "" {
		t.Skip(why)
	}
	data, err := os.ReadFile(updateNS277Dir + "/snap-update-ns")
	if err != nil {
		t.Fatal(err)
	}
	installHelper(t, data)
}

// writeMountProfile writes snapd's mount profile of an instance
// (/var/lib/snapd/mount/snap.<instance>.fstab), which snap-update-ns applies.
func writeMountProfile(t *testing.T, instance string, entries ...string) {
	t.Helper()
	if err := os.MkdirAll("/var/lib/snapd/mount", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/mount/snap."+instance+".fstab", []byte(strings.Join(entries, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLayoutsAreAppliedBySnapd277 runs a snap whose layouts need new mount
// points where the base snap has none: /opt/laid, below a directory the base
// lacks (on a read-only root that would take a writable mimic over "/"), and
// /usr/share/laid (a writable mimic over the base's /usr). snapd 2.77's
// snap-update-ns must apply both in the namespace the launcher made, for
// root and for a user, in both installs, and the app must see the snap's
// files there.
func TestLayoutsAreAppliedBySnapd277(t *testing.T) {
	for _, install := range installs {
		for _, uid := range []int{0, userUID} {
			t.Run(fmt.Sprintf("%s/uid%d", install.name, uid), func(t *testing.T) {
				world(t)
				installUpdateNS277(t)
				for dir, content := range map[string]string{"payload": "from the payload\n", "share": "from the share\n"} {
					if err := os.MkdirAll("/snap/hello/x1/"+dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile("/snap/hello/x1/"+dir+"/marker", []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				t.Cleanup(func() { os.RemoveAll("/snap/hello") })
				writeMountProfile(t, "hello",
					"/snap/hello/x1/payload /opt/laid none rbind,rw,x-snapd.origin=layout 0 0",
					"/snap/hello/x1/share /usr/share/laid none rbind,rw,x-snapd.origin=layout 0 0")
				for round := 0; round < 2; round++ { // create, then join
					r := launch{caps: install.caps, uid: uid, args: []string{"read", "/opt/laid/marker", "read", "/usr/share/laid/marker"}}.run()
					if r.err != nil {
						t.Fatalf("round %d: launch failed: %v\n%s", round, r.err, r.stderr)
					}
					if got := r.report.Read["/opt/laid/marker"]; got != "from the payload\n" {
						t.Errorf("round %d: /opt/laid/marker: %q (errors %v)", round, got, r.report.Errors)
					}
					if got := r.report.Read["/usr/share/laid/marker"]; got != "from the share\n" {
						t.Errorf("round %d: /usr/share/laid/marker: %q (errors %v)", round, got, r.report.Errors)
					}
				}
			})
		}
	}
}
