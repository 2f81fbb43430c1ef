// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapns/snapns/tests/sandbox"
)

// snapd's own snap-device-helper, from Debian's snapd package (2.57.6 in
// Debian 12), downloaded with `apt-get download snapd` into the repository's
// git-ignored .cache/debs (shared with snapns-bench) and unpacked there with
// dpkg -x, never installed. It drives the cgroup v2 map: 2.57.6's
// cmd/libsnap-confine-private/device-cgroup-support.c opens the map pinned
// at /sys/fs/bpf/snap/<tag with dots as underscores> (SC_DEVICE_CGROUP_FROM_EXISTING,
// never creating one) and adds or deletes the packed key {u8 type; u32
// major; u32 minor}, value 1, when /sys/fs/cgroup is cgroup2; Debian builds
// it with ENABLE_BPF.

const (
	deviceHelper     = "/usr/lib/snapd/snap-device-helper"
	deviceHelperSkip = "snap-device-helper.skip" // why there is no helper (staging bin, then profileDir)
	deviceHelperInfo = "snap-device-helper.info" // the package's usr/lib/snapd/info
)

// stageDeviceHelper puts snapd's snap-device-helper into bin, or writes
// there why it cannot; outside the sandbox, before it is built.
func stageDeviceHelper(bin string) {
	skip := func(format string, args ...any) {
		why := fmt.Sprintf(format, args...)
		fmt.Fprintln(os.Stderr, "*** SKIPPING the test with snapd's snap-device-helper: "+why+" ***")
		os.WriteFile(filepath.Join(bin, deviceHelperSkip), []byte(why), 0o644)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		skip("%v", err)
		return
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		skip("cannot find the repository (and its .cache) from %s", root)
		return
	}
	tree, err := sandbox.SnapdTree(root, "bookworm")
	if err != nil {
		skip("%v", err)
		return
	}
	src := filepath.Join(tree, "usr/lib/snapd/snap-device-helper")
	if _, err := os.Stat(src); err != nil {
		skip("the snapd package has no snap-device-helper: %v", err)
		return
	}
	data, err := os.ReadFile(src)
	if err == nil {
		err = os.WriteFile(filepath.Join(bin, "snap-device-helper"), data, 0o755)
	}
	if err != nil {
		skip("%v", err)
		return
	}
	info, _ := os.ReadFile(filepath.Join(tree, "usr/lib/snapd/info"))
	os.WriteFile(filepath.Join(bin, deviceHelperInfo), info, 0o644)
}

// runDeviceHelper runs snapd's helper as udev's rule does (snapd 2.57.6
// interfaces/udev/spec.go: TAG=="<udev tag>", RUN+="snap-device-helper
// $env{ACTION} <udev tag> $devpath $major:$minor"), with the environment
// udev gives a RUN program, which later helpers read instead of the
// arguments (snapd 2.77 cmd/snap-device-helper/main.c: ACTION, MAJOR,
// MINOR, SUBSYSTEM; the four-argument call still accepted), in the
// sandbox's root namespaces, where /sys/fs/bpf is the test's bpffs.
func runDeviceHelper(t *testing.T, action, udevTag, devpath, major, minor string) {
	t.Helper()
	majmin := major + ":" + minor
	cmd := exec.Command(deviceHelper, action, udevTag, devpath, majmin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "SNAPD_DEBUG=1", "ACTION=" + action, "DEVPATH=" + devpath,
		"MAJOR=" + major, "MINOR=" + minor, "SUBSYSTEM=block", "TAGS=:" + udevTag + ":"}
	out, err := cmd.CombinedOutput()
	t.Logf("snap-device-helper %s %s %s %s:\n%s", action, udevTag, devpath, majmin, out)
	if err != nil {
		t.Fatalf("snap-device-helper %s failed: %v", action, err)
	}
}

// blockDevpath is the devpath (relative to /sys, as udev passes it) of some
// block device of the machine: the helper reads only its subsystem link,
// to tell a block device from a character one; the device number comes
// from $major:$minor.
func blockDevpath(t *testing.T) string {
	t.Helper()
	entries, _ := filepath.Glob("/sys/class/block/*")
	for _, e := range entries {
		real, err := filepath.EvalSymlinks(e)
		if err != nil {
			continue
		}
		if sub, err := filepath.EvalSymlinks(real + "/subsystem"); err == nil && filepath.Base(sub) == "block" {
			return strings.TrimPrefix(real, "/sys")
		}
	}
	t.Skip("SKIPPING: the machine has no block device in /sys/class/block for snap-device-helper's devpath")
	return ""
}

// snapd's helper updates what the launcher set up for a running app: the
// pinned map on cgroup v2, the app's devices group on cgroup v1 (2.57.6's
// device-cgroup-support.c opens /sys/fs/cgroup/devices/<security
// tag>/devices.allow and devices.deny, never creating the group, and
// writes "<type> <major>:<minor> rwm").
func TestSnapdsDeviceHelperUpdatesTheMapOfARunningApp(t *testing.T) {
	for _, h := range []struct {
		name    string
		setup   func(t *testing.T) string
		allowed func(t *testing.T) string
	}{
		{"v2", deviceWorld, func(t *testing.T) string { return mapKeys(t, pinned) }},
		{"v1", func(t *testing.T) string { v1World(t); return "" }, v1Rules},
	} {
		t.Run(h.name, func(t *testing.T) {
			if why, err := os.ReadFile(profileDir + "/" + deviceHelperSkip); err == nil {
				t.Skipf("SKIPPING: %s", why)
			}
			if !exists(deviceHelper) {
				t.Fatalf("no %s in the sandbox, and no reason given", deviceHelper)
			}
			info, _ := os.ReadFile(profileDir + "/" + deviceHelperInfo)
			version, _, _ := strings.Cut(string(info), "\n")
			t.Logf("snapd's snap-device-helper from Debian's package: %s", version)
			devpath := blockDevpath(t)
			helperUpdatesARunningApp(t, h.setup(t), devpath, h.allowed)
		})
	}
}

// helperUpdatesARunningApp starts a core24 app as uid 1000 (in the cgroup
// v2 group scope, unless empty) that tries the loop node before the
// helper's add, after it, and after its remove; allowed lists what the
// launcher's map or group allows.
func helperUpdatesARunningApp(t *testing.T, scope, devpath string, allowed func(t *testing.T) string) {
	sync, err := os.MkdirTemp("/snap/probe/1", "sync-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sync)
	if err := os.Chmod(sync, 0o777); err != nil {
		t.Fatal(err)
	}
	// The same node under three names: the probe reports an open per path.
	before, added, removed := loopNode, "/snap/probe/1/./loop-node", "/snap/probe/1//loop-node"
	l := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope, args: []string{
		"open", before, "write", sync + "/opened", "x",
		"await", sync + "/added", "open", added, "write", sync + "/reopened", "x",
		"await", sync + "/removed", "open", removed,
	}}
	done := make(chan result, 1)
	go func() { done <- l.run() }()
	await := func(name string) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !exists(filepath.Join(sync, name)); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the app did not get to %s", name)
			}
			select {
			case res := <-done:
				t.Fatalf("the app ended early: %v\n%s", res.err, res.stderr)
			default:
			}
		}
	}
	signal := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(sync, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	await("opened")
	runDeviceHelper(t, "add", "snap_hello_app", devpath, "7", "250")
	if keys := allowed(t); !strings.Contains(keys, "b 7:250") {
		t.Errorf("after the helper's add the launcher's device cgroup allows %s", keys)
	}
	signal("added")
	await("reopened")
	runDeviceHelper(t, "remove", "snap_hello_app", devpath, "7", "250")
	if keys := allowed(t); strings.Contains(keys, "b 7:250") || !strings.Contains(keys, "c 1:3") {
		t.Errorf("after the helper's remove the launcher's device cgroup allows %s", keys)
	}
	signal("removed")
	res := <-done
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	r := res.report
	if r.Open[before] != denied || r.Open[added] != "ok" || r.Open[removed] != denied || len(r.Errors) != 0 {
		t.Fatalf("loop node before the helper: %q, after its add: %q, after its remove: %q (want %q, ok, %q); errors %q",
			r.Open[before], r.Open[added], r.Open[removed], denied, denied, r.Errors)
	}
}
