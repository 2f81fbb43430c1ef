// SPDX-License-Identifier: GPL-3.0-only

package e2e

// Parallel instances (snapd's parallel-instances feature): two instances,
// hello_a and hello_b, of one snap, hello, installed as snapd installs
// them. Each app must see its own instance's files at $SNAP
// (/snap/hello/1) and write to its own $SNAP_DATA (/var/snap/hello/1):
// snapd sets both from the snap name (snap/snapenv), and the instance's
// directories are mapped onto that name in the app's namespace, by
// snap-update-ns for a confined snap (the overname entries of its mount
// profile; here tests/fakeupdatens) and by the launcher for a classic snap
// with the feature on.

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/tests/probe/report"
)

// The instances' $SNAP and $SNAP_DATA, as snapd sets them for both.
const (
	instSnap     = "/snap/hello/1"
	instSnapData = "/var/snap/hello/1"
)

var instanceKeys = []string{"a", "b"}

// parallelWorld gives a test a fresh world (world) with hello_a and hello_b
// installed as snapd lays them out: /snap/hello_<key>/1 a mounted snap
// (ramfs, a file "content" saying which instance it is),
// /var/snap/hello_<key>/1 its data directory (the caller's, so that uid
// 1000's app can write there), the empty /snap/hello and /var/snap/hello
// snapd makes as mapping targets, and each instance's mount profile with
// snapd's overname entries. The feature flag is on when feature is set.
func parallelWorld(t *testing.T, feature bool) {
	t.Helper()
	// Registered before world's reset, so it runs after it, once the
	// preserved namespaces are gone.
	t.Cleanup(func() { removeInstances(t) })
	world(t)
	removeInstances(t)
	for _, key := range instanceKeys {
		inst := "hello_" + key
		rev := "/snap/" + inst + "/1"
		if err := os.MkdirAll(rev, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("ramfs", rev, "ramfs", 0, "mode=0755"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rev+"/content", []byte("instance "+key), 0o644); err != nil {
			t.Fatal(err)
		}
		data := "/var/snap/" + inst + "/1"
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(data, userUID, userUID); err != nil {
			t.Fatal(err)
		}
		profile := fmt.Sprintf("/snap/%[1]s /snap/hello none rbind,x-snapd.origin=overname 0 0\n"+
			"/var/snap/%[1]s /var/snap/hello none rbind,x-snapd.origin=overname 0 0\n", inst)
		if err := os.MkdirAll("/var/lib/snapd/mount", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("/var/lib/snapd/mount/snap."+inst+".fstab", []byte(profile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"/snap/hello", "/var/snap/hello"} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if feature {
		if err := os.MkdirAll("/var/lib/snapd/features", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("/var/lib/snapd/features/parallel-instances", nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// removeInstances undoes parallelWorld and the launcher's shared mount
// points of /snap and /var/snap (which the sandbox does not otherwise
// have), topmost first.
// detachAll unmounts every mount on dir. The launcher's bind of a
// directory on itself is a peer of the sandbox's root mount: made private
// first, its unmount does not propagate to the base snaps mounted below
// the original directory.
func detachAll(t *testing.T, dir string) {
	t.Helper()
	for i := 0; isMountPoint(dir); i++ {
		err := unix.Mount("none", dir, "", unix.MS_REC|unix.MS_PRIVATE, "")
		if err == nil {
			err = unix.Unmount(dir, unix.MNT_DETACH)
		}
		if err != nil || i > 10 {
			t.Fatalf("cannot unmount %s: %v", dir, err)
		}
	}
}

func removeInstances(t *testing.T) {
	t.Helper()
	detachAll(t, "/snap")
	detachAll(t, "/var/snap")
	for _, key := range instanceKeys {
		detachAll(t, "/snap/hello_"+key+"/1")
		for _, dir := range []string{"/snap/hello_" + key, "/var/snap/hello_" + key} {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, dir := range []string{"/snap/hello", "/var/snap/hello"} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
}

// isMountPoint tells whether path is the root of a mount in the test's
// namespace (pid 1's).
func isMountPoint(path string) bool {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, 0, &stx)
	return err == nil && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// pid1Mounts returns pid 1's mount table, one line per mount.
func pid1Mounts(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/1/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestParallelInstancesSeeTheirOwnFilesSideBySide(t *testing.T) {
	for _, confinement := range []string{"confined", "classic"} {
		for _, install := range []string{"setuid", "file-capabilities"} {
			for _, uid := range []int{0, userUID} {
				t.Run(fmt.Sprintf("%s/%s/uid-%d", confinement, install, uid), func(t *testing.T) {
					parallelWorld(t, true)
					var flags []string
					if confinement == "classic" {
						flags = []string{"--classic"}
					} else {
						installUpdateNS(t)
					}
					// hello_a writes its data, then sleeps while
					// hello_b starts, writes the same path in its
					// own view and exits; then hello_a reads back.
					a := launch{instance: "hello_a", flags: flags, uid: uid, caps: install == "file-capabilities",
						args: []string{"write", instSnapData + "/data", "from a", "sleep", "2",
							"read", instSnap + "/content", "read", instSnapData + "/data", "stat", instSnapData + "/only-b"}}
					b := launch{instance: "hello_b", flags: flags, uid: uid, caps: install == "file-capabilities",
						args: []string{"write", instSnapData + "/data", "from b", "write", instSnapData + "/only-b", "b",
							"read", instSnap + "/content", "read", instSnapData + "/data"}}
					var ra result
					var aDone time.Time
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						ra = a.run()
						aDone = time.Now()
					}()
					time.Sleep(300 * time.Millisecond)
					rb := b.mustRun(t)
					bDone := time.Now()
					wg.Wait()
					if ra.err != nil {
						t.Fatalf("hello_a failed: %v\n%s", ra.err, ra.stderr)
					}
					if !bDone.Before(aDone) {
						t.Fatal("hello_b did not run while hello_a was sleeping")
					}
					for _, c := range []struct {
						inst, got, want string
					}{
						{"hello_a", ra.report.Read[instSnap+"/content"], "instance a"},
						{"hello_a", ra.report.Read[instSnapData+"/data"], "from a"},
						{"hello_b", rb.Read[instSnap+"/content"], "instance b"},
						{"hello_b", rb.Read[instSnapData+"/data"], "from b"},
					} {
						if c.got != c.want {
							t.Errorf("%s reads %q, want %q (errors a %v, b %v)", c.inst, c.got, c.want, ra.report.Errors, rb.Errors)
						}
					}
					if s := ra.report.Stat[instSnapData+"/only-b"]; !strings.HasPrefix(s, "error:") {
						t.Errorf("hello_a sees hello_b's data: %s", s)
					}
					if len(ra.report.Errors) != 0 || len(rb.Errors) != 0 {
						t.Errorf("the apps hit errors: a %v, b %v", ra.report.Errors, rb.Errors)
					}
					// On the host: each instance's own data directory.
					for path, want := range map[string]string{
						"/var/snap/hello_a/1/data":   "from a",
						"/var/snap/hello_b/1/data":   "from b",
						"/var/snap/hello_b/1/only-b": "b",
					} {
						if data, err := os.ReadFile(path); err != nil || string(data) != want {
							t.Errorf("host's %s holds %q (%v), want %q", path, data, err, want)
						}
					}
					if entries, _ := os.ReadDir("/var/snap/hello"); len(entries) != 0 || exists("/snap/hello/1") {
						t.Errorf("the mapping reached the host: /var/snap/hello holds %v", entries)
					}
					if ra.report.MountNSID == rb.MountNSID || ra.report.MountNSID == pid1NSID(t) {
						t.Errorf("hello_a runs in namespace %d, hello_b in %d, pid 1 is in %d", ra.report.MountNSID, rb.MountNSID, pid1NSID(t))
					}
					if ra.report.UIDs != [3]int{uid, uid, uid} {
						t.Errorf("hello_a runs with uids %v", ra.report.UIDs)
					}
					if confinement == "confined" {
						// Namespace files, info files and locks
						// are named after the instance.
						for _, inst := range []string{"hello_a", "hello_b"} {
							if nsID(t, "/run/snapd/ns/"+inst+".mnt") == 0 {
								t.Errorf("/run/snapd/ns/%s.mnt is not a preserved namespace", inst)
							}
							checkOwnerMode(t, "/run/snapd/ns/snap."+inst+".info", 0o644)
							checkOwnerMode(t, "/run/snapd/lock/"+inst+".lock", 0o600)
						}
						if exists("/run/snapd/ns/hello.mnt") {
							t.Error("an instance's launch preserved a namespace for the snap name")
						}
					}
				})
			}
		}
	}
}

func TestClassicInstanceWithoutTheFeatureIsNotMapped(t *testing.T) {
	parallelWorld(t, false)
	before := pid1Mounts(t)
	r := launch{instance: "hello_a", flags: []string{"--classic"}, uid: userUID, args: []string{"read", instSnap + "/content"}}.mustRun(t)
	if r.MountNSID != pid1NSID(t) {
		t.Errorf("classic app runs in namespace %d, not pid 1's %d", r.MountNSID, pid1NSID(t))
	}
	if _, ok := r.Read[instSnap+"/content"]; ok {
		t.Errorf("the classic instance sees %s without the feature", instSnap)
	}
	if exists("/run/snapd") {
		t.Error("a classic launch without the feature initialised /run/snapd")
	}
	if after := pid1Mounts(t); after != before {
		t.Errorf("a classic launch without the feature changed pid 1's mounts:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestClassicSnapWithTheParallelInstancesFeatureGetsANamespaceOfItsOwn: snap-confine's
// global initialisation for a classic snap too, once, and a new namespace
// per launch, where nothing is mapped for a snap without an instance key.
func TestClassicSnapWithTheParallelInstancesFeatureGetsANamespaceOfItsOwn(t *testing.T) {
	parallelWorld(t, true)
	if err := os.WriteFile("/snap/hello/marker", []byte("hello itself"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The first app runs until the second has run (startHeld).
	classic := launch{instance: "hello", flags: []string{"--classic"}, uid: userUID, args: []string{"read", "/snap/hello/marker"}}
	release := classic.startHeld(t)
	second := classic.mustRun(t)
	var ids []uint64
	for _, r := range []*report.Report{release(), second} {
		if r.MountNSID == pid1NSID(t) {
			t.Fatal("the classic app runs in pid 1's mount namespace")
		}
		if r.Read["/snap/hello/marker"] != "hello itself" {
			t.Errorf("the classic snap without a key does not see its own /snap/hello: %v", r.Errors)
		}
		ids = append(ids, r.MountNSID)
	}
	if ids[0] == ids[1] {
		t.Errorf("two classic launches share a namespace: %d (pid 1's is %d)", ids[0], pid1NSID(t))
	}
	if exists("/run/snapd/ns/hello.mnt") {
		t.Error("a classic snap's namespace was preserved")
	}
	if !isMountPoint("/run/snapd/ns") {
		t.Error("/run/snapd/ns is not a mount point after a classic launch with the feature")
	}
	// /snap and /var/snap became shared mount points of pid 1's namespace,
	// once, however many launches.
	count := map[string]int{}
	for _, line := range strings.Split(pid1Mounts(t), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || (f[4] != "/snap" && f[4] != "/var/snap") {
			continue
		}
		count[f[4]]++
		if !strings.HasPrefix(f[6], "shared:") {
			t.Errorf("%s is not shared in pid 1's namespace: %s", f[4], line)
		}
	}
	if count["/snap"] != 1 || count["/var/snap"] != 1 {
		t.Errorf("mounts on /snap and /var/snap in pid 1's namespace: %v, want one each", count)
	}
}

func TestClassicInstanceStartsInTheCallersDirectoryAsMapped(t *testing.T) {
	parallelWorld(t, true)
	// The caller is in the host's (empty) /snap/hello; the app must
	// start in the directory of that name in its namespace: hello_b's.
	r := launch{instance: "hello_b", flags: []string{"--classic"}, uid: userUID, dir: "/snap/hello", args: []string{"read", "1/content"}}.mustRun(t)
	if r.Cwd != "/snap/hello" || r.Read["1/content"] != "instance b" {
		t.Errorf("the app starts in %q and reads %q from 1/content there (errors %v), want /snap/hello of hello_b", r.Cwd, r.Read["1/content"], r.Errors)
	}
}

func TestHostileInstanceDirectoriesAreRefusedBeforeAnythingIsMounted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func() error
		want  string
	}{
		{"symlink at /snap/hello", func() error {
			if err := os.Remove("/snap/hello"); err != nil {
				return err
			}
			return os.Symlink("/snap/hello_b", "/snap/hello")
		}, "/snap/hello is a symbolic link"},
		{"user-owned /var/snap/hello", func() error { return os.Chown("/var/snap/hello", userUID, userUID) }, "/var/snap/hello is owned by uid 1000, not root"},
		{"missing /snap/hello", func() error { return os.Remove("/snap/hello") }, "/snap/hello does not exist"},
		{"missing /var/snap/hello_a", func() error { return os.RemoveAll("/var/snap/hello_a") }, "/var/snap/hello_a does not exist"},
		{"file at /var/snap/hello", func() error {
			if err := os.Remove("/var/snap/hello"); err != nil {
				return err
			}
			return os.WriteFile("/var/snap/hello", nil, 0o644)
		}, "/var/snap/hello is not a directory"},
		{"world-writable /snap/hello_a", func() error { return os.Chmod("/snap/hello_a", 0o777) }, "/snap/hello_a is writable by group or others"},
		{"user-owned /var/snap", func() error { return os.Chown("/var/snap", userUID, userUID) }, "/var/snap is owned by uid 1000, not root"},
	} {
		for _, install := range []string{"setuid", "file-capabilities"} {
			t.Run(tc.name+"/"+install, func(t *testing.T) {
				parallelWorld(t, true)
				t.Cleanup(func() { os.Chown("/var/snap", 0, 0) })
				if err := tc.setup(); err != nil {
					t.Fatal(err)
				}
				before := pid1Mounts(t)
				line := launch{instance: "hello_a", flags: []string{"--classic"}, uid: userUID, caps: install == "file-capabilities"}.mustFail(t)
				if !strings.HasPrefix(line, "cannot map snap instance hello_a onto hello: ") || !strings.Contains(line, tc.want) {
					t.Errorf("refused with %q, want it to say %q", line, tc.want)
				}
				if after := pid1Mounts(t); after != before {
					t.Errorf("pid 1's mounts changed:\nbefore\n%s\nafter\n%s", before, after)
				}
				if exists("/run/snapd") {
					t.Error("a refused launch initialised /run/snapd")
				}
			})
		}
	}
}

// The launcher's debug log says what it did for a parallel instance, and
// snap-ns explain what it will do.
func TestParallelInstanceDecisionIsInTheDebugLog(t *testing.T) {
	parallelWorld(t, true)
	installUpdateNS(t)
	for _, tc := range []struct {
		name    string
		flags   []string
		wants   []string
		explain string
	}{
		{"classic", []string{"--classic"}, []string{
			"DEBUG: snap-confine: feature parallel-instances is on",
			"DEBUG: snap-confine: parallel instance: bound /snap/hello_a on /snap/hello",
			"DEBUG: snap-confine: parallel instance: bound /var/snap/hello_a on /var/snap/hello",
		}, "instance: the launcher binds /snap/hello_a on /snap/hello and /var/snap/hello_a on /var/snap/hello"},
		{"confined", nil, []string{
			"fake snap-update-ns: mapped /snap/hello_a on /snap/hello",
		}, "instance: snap-update-ns binds /snap/hello_a on /snap/hello and /var/snap/hello_a on /var/snap/hello in the snap's namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := launch{instance: "hello_a", flags: tc.flags, uid: userUID, debug: true}.run()
			if res.err != nil {
				t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("the debug log does not say %q:\n%s", w, res.stderr)
				}
			}
			x := snapNSExplain(t, userUID, append(tc.flags, "snap.hello_a.app")...)
			if !strings.Contains(strings.Join(x.Steps, "\n"), tc.explain) {
				t.Errorf("snap-ns explain does not say %q: %q", tc.explain, x.Steps)
			}
		})
	}
}

// parallelOps are the actions only the parallel-instances feature uses.
var parallelOps = []policy.Op{policy.OpMakeShared, policy.OpClassicUnshare, policy.OpMakeSlave, policy.OpBindInstanceDir}

// TestParallelInstanceStepsRaiseExactlyTheirCapabilities is
// TestEveryPrivilegedStepRaisesExactlyItsCapabilities for the operations of
// the parallel-instances feature: a classic instance's launch, then a
// confined one's, with the hooked launcher in both install modes.
func TestParallelInstanceStepsRaiseExactlyTheirCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			parallelWorld(t, true)
			installUpdateNS(t)
			seen := map[policy.Op]bool{}
			for _, flags := range [][]string{{"--classic"}, nil} {
				res := launch{program: mode.dir + "/snap-confine", instance: "hello_a", flags: flags, uid: userUID}.run()
				if res.err != nil {
					t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
				}
				for _, line := range strings.Split(res.stderr, "\n") {
					var op int
					var eff, prm uint64
					if _, err := fmt.Sscanf(line, "CAPHOOK op=%d eff=%x prm=%x", &op, &eff, &prm); err != nil {
						continue
					}
					want := capWord(raised(policy.Op(op), mode.name == "setuid")) & prm
					if eff != want {
						t.Errorf("%s: effective %s, policy grants %s", policy.Op(op), capNames(eff), capNames(want))
					}
					seen[policy.Op(op)] = true
				}
			}
			for _, op := range append([]policy.Op{policy.OpJoinHostNS, policy.OpMakePrivate}, parallelOps...) {
				if !seen[op] {
					t.Errorf("%s was never observed", op)
				}
			}
		})
	}
}

// Each capability of each action only the parallel-instances feature uses
// is needed: withheld (the test build lowers it right after the action
// raised it), a launch of a parallel instance, classic or confined, fails.
func TestParallelInstanceActionsNeedEachOfTheirCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			var table []string
			for _, op := range parallelOps {
				for _, c := range raised(op, mode.name == "setuid") {
					t.Run(fmt.Sprintf("op%d-%s", op, c), func(t *testing.T) {
						var broke []string
						for _, flags := range [][]string{{"--classic"}, nil} {
							parallelWorld(t, true)
							installUpdateNS(t)
							res := launch{program: mode.dir + "/snap-confine", instance: "hello_a", flags: flags, uid: userUID, env: []string{fmt.Sprintf("SNAPNS_TEST_WITHHOLD=%d:%d", op, c)}}.run()
							if res.err != nil {
								broke = append(broke, strings.Join(nonHookLines(res.stderr), " "))
							}
						}
						if len(broke) == 0 {
							t.Errorf("%s works without cap_%s", op, c)
						}
						table = append(table, fmt.Sprintf("  %-45s without cap_%-14s %s", op, c, strings.Join(broke, "; ")))
					})
				}
			}
			t.Logf("what breaks without each capability of each parallel-instance action:\n%s", strings.Join(table, "\n"))
		})
	}
}
