// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/tests/kernelsim"
	"github.com/snapns/snapns/tests/probe/report"
	"github.com/snapns/snapns/tests/sandbox"
)

// The device cgroup, on the sandbox's own cgroup2 hierarchy with a bpffs of
// each test's own at /sys/fs/bpf. The device outside the common set is a
// loop block device node made with mknod below /snap/probe/1, which every
// snap's root shows.

const (
	loopMinor = 250
	loopNode  = "/snap/probe/1/loop-node"
	loopID    = "b7:250"
	pinned    = devcgroup.BPFDir + "/snap_hello_app"
)

// deviceHierarchies are the worlds the device cgroup's actions are
// measured in: cgroup v2 with a bpffs, cgroup v2 without one (the launcher
// mounts it), the cgroup v1 devices controller (devicesv1_test.go). setup
// returns the cgroup v2 group to start the launch in ("" on v1).
var deviceHierarchies = []struct {
	name  string
	ops   []policy.Op
	setup func(t *testing.T) string
}{
	{"v2", []policy.Op{policy.OpOpenDeviceMap, policy.OpCreateDeviceMap, policy.OpReadDeviceMap, policy.OpUpdateDeviceMap, policy.OpLoadDeviceProgram, policy.OpAttachDeviceProgram}, deviceWorld},
	{"v2-without-bpffs", []policy.Op{policy.OpMountBPFFS}, func(t *testing.T) string {
		scope := deviceWorld(t)
		unmountBPFFS(t)
		return scope
	}},
	{"v1", []policy.Op{policy.OpCreateDeviceGroup, policy.OpChownDeviceGroupFile, policy.OpOpenDeviceGroup, policy.OpWriteDeviceRule, policy.OpAttachDeviceGroup}, func(t *testing.T) string {
		v1World(t)
		return ""
	}},
}

// deviceOps are the actions only a device cgroup uses.
var deviceOps = func() (ops []policy.Op) {
	for _, h := range deviceHierarchies {
		ops = append(ops, h.ops...)
	}
	return ops
}()

// unmountBPFFS takes every bpffs off /sys/fs/bpf, as on a host whose
// userland mounts none, leaving sysfs's own directory.
func unmountBPFFS(t *testing.T) {
	t.Helper()
	for i := 0; ; i++ {
		var sfs unix.Statfs_t
		if err := unix.Statfs(devcgroup.BPFFS, &sfs); err != nil {
			t.Fatal(err)
		}
		if uint32(sfs.Type) != unix.BPF_FS_MAGIC { // f_type is int32 on 32-bit architectures
			return
		}
		if err := unix.Unmount(devcgroup.BPFFS, unix.MNT_DETACH); err != nil || i == 10 {
			t.Fatalf("cannot unmount the bpffs on %s: %v", devcgroup.BPFFS, err)
		}
	}
}

var core24Once sync.Once

var scopeSeq atomic.Int64

// deviceWorld gives a test a fresh world, the core24 base, the loop node,
// a fresh bpffs at /sys/fs/bpf, and returns a new snap cgroup for
// snap.hello.app (snap.hello.app-<n>.scope) to launch in.
func deviceWorld(t *testing.T) string {
	t.Helper()
	world(t)
	return deviceSetup(t)
}

// deviceSetup is deviceWorld without the reset.
func deviceSetup(t *testing.T) string {
	t.Helper()
	deviceBase(t)
	if err := unix.Mount("bpf", devcgroup.BPFFS, "bpf", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700"); err != nil {
		t.Fatalf("cannot mount bpffs on %s: %v", devcgroup.BPFFS, err)
	}
	t.Cleanup(func() { unix.Unmount(devcgroup.BPFFS, unix.MNT_DETACH) })
	return snapScope(t, "snap.hello.app")
}

// deviceBase makes the core24 base (once) and the loop node.
func deviceBase(t *testing.T) {
	t.Helper()
	var baseErr error
	core24Once.Do(func() { baseErr = sandbox.MakeBase(sandbox.Base{Name: "core24", Revision: "1", Current: true}) })
	if baseErr != nil {
		t.Fatal(baseErr)
	}
	os.Remove(loopNode)
	if err := unix.Mknod(loopNode, unix.S_IFBLK|0o666, int(unix.Mkdev(7, loopMinor))); err != nil {
		t.Fatal(err)
	}
}

// snapScope makes a transient-scope-like cgroup for tag.
func snapScope(t *testing.T, tag string) string {
	t.Helper()
	dir := fmt.Sprintf("/sys/fs/cgroup/%s-%d.scope", tag, scopeSeq.Add(1))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	return dir
}

// tagDevice puts the loop node in the fake udev database for
// snap.hello.app; current says whether the tag is still current.
func tagDevice(t *testing.T, current bool) {
	t.Helper()
	for _, dir := range []string{"/run/udev/tags/snap_hello_app", "/run/udev/data"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("/run/udev/tags/snap_hello_app/"+loopID, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	record := "E:DEVNAME=/dev/loop250\nG:snap_hello_app\nG:systemd\nQ:systemd\n"
	if current {
		record += "Q:snap_hello_app\n"
	}
	if err := os.WriteFile("/run/udev/data/"+loopID, []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
}

// opens runs the app and returns what opening /dev/null and the loop node
// gave it.
func opens(t *testing.T, l launch) (null, loop string) {
	t.Helper()
	r := opensReport(t, l)
	return r.Open["/dev/null"], r.Open[loopNode]
}

// opensReport runs the app, which opens /dev/null, a new pty (master and
// slave) and the loop node, and reads its own /proc/self/cgroup.
func opensReport(t *testing.T, l launch) *report.Report {
	t.Helper()
	l.args = []string{"open", "/dev/null", "openpty", "open", loopNode, "read", "/proc/self/cgroup"}
	return l.mustRun(t)
}

const denied = "error: operation not permitted"

// deviceCallers are who launches in the device cgroup tests: root, a user
// with the setuid launcher, a user with the file-capability one.
var deviceCallers = []struct {
	name string
	uid  int
	caps bool
}{{"root", 0, false}, {"user-setuid", userUID, false}, {"user-file-capabilities", userUID, true}}

func TestCore24AppGetsOnlyTheCommonDevices(t *testing.T) {
	for _, c := range deviceCallers {
		t.Run(c.name, func(t *testing.T) {
			scope := deviceWorld(t)
			r := opensReport(t, launch{flags: []string{"--base", "core24"}, uid: c.uid, caps: c.caps, cgroup: scope})
			if null, pty, loop := r.Open["/dev/null"], r.Open["pty"], r.Open[loopNode]; null != "ok" || pty != "ok" || loop != denied {
				t.Fatalf("/dev/null: %q, a pty: %q, loop node: %q; want ok, ok and %q", null, pty, loop, denied)
			}
			var st unix.Stat_t
			if err := unix.Lstat(pinned, &st); err != nil || st.Uid != 0 || st.Mode&0o777 != 0o600 {
				t.Fatalf("pinned map %s: %v, uid %d mode %o", pinned, err, st.Uid, st.Mode&0o777)
			}
			// Outside the device cgroup the node opens: the denial is the
			// cgroup's, not the node's.
			if fd, err := unix.Open(loopNode, unix.O_RDONLY|unix.O_NONBLOCK, 0); err != nil {
				t.Fatalf("the harness cannot open the loop node: %v", err)
			} else {
				unix.Close(fd)
			}
		})
	}
}

func TestTaggedDeviceIsAllowedAndDeniedAgainOnceUntagged(t *testing.T) {
	scope := deviceWorld(t)
	tagDevice(t, true)
	l := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope}
	if null, loop := opens(t, l); null != "ok" || loop != "ok" {
		t.Fatalf("tagged: /dev/null %q, loop node %q; want both ok", null, loop)
	}
	if keys := mapKeys(t, pinned); !strings.Contains(keys, "b 7:250") || !strings.Contains(keys, "c 1:3") {
		t.Fatalf("map holds %s", keys)
	}
	// The tag removed (udev keeps it in its index, not among the current
	// tags) and the cgroup set up again: the map is reset, not extended.
	tagDevice(t, false)
	if null, loop := opens(t, l); null != "ok" || loop != denied {
		t.Fatalf("untagged: /dev/null %q, loop node %q; want ok and %q", null, loop, denied)
	}
	if keys := mapKeys(t, pinned); strings.Contains(keys, "b 7:250") {
		t.Fatalf("map still holds the untagged device: %s", keys)
	}
}

func TestCore22WithATaggedDeviceGetsADeviceCgroup(t *testing.T) {
	scope := deviceWorld(t)
	tagDevice(t, true)
	core22(t)
	null, loop := opens(t, launch{flags: []string{"--base", "core22"}, cgroup: scope})
	if null != "ok" || loop != "ok" || !exists(pinned) {
		t.Fatalf("/dev/null %q, loop node %q, map pinned %t", null, loop, exists(pinned))
	}
}

func core22(t *testing.T) {
	t.Helper()
	if !exists("/snap/core22/current") {
		if err := sandbox.MakeBase(sandbox.Base{Name: "core22", Revision: "5", Current: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNoDeviceCgroupWhenSnapdSaysSoOrNothingIsTagged(t *testing.T) {
	for _, c := range []struct{ name, settings, base string }{
		{"self-managed", "self-managed=true\nnon-strict=false\n", "core24"},
		{"non-strict", "self-managed=false\nnon-strict=true\n", "core24"},
		{"core22-nothing-tagged", "self-managed=false\nnon-strict=false\n", "core22"},
	} {
		t.Run(c.name, func(t *testing.T) {
			scope := deviceWorld(t)
			core22(t)
			if err := writeDeviceSettings("hello", c.settings, true); err != nil {
				t.Fatal(err)
			}
			null, loop := opens(t, launch{flags: []string{"--base", c.base}, cgroup: scope})
			if null != "ok" || loop != "ok" {
				t.Fatalf("/dev/null %q, loop node %q; want both ok", null, loop)
			}
			if exists(pinned) || attachedPrograms(t, scope) != 0 {
				t.Fatalf("a device cgroup was set up")
			}
		})
	}
}

func TestInsideAContainerThereIsNoDeviceCgroup(t *testing.T) {
	scope := deviceWorld(t)
	if err := os.MkdirAll("/run/systemd", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/run/systemd/container", []byte("lxc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not even snapd's settings file is looked for.
	os.Remove("/var/lib/snapd/cgroup/snap.hello.device")
	null, loop := opens(t, launch{flags: []string{"--base", "core24"}, cgroup: scope, noDevice: true})
	if null != "ok" || loop != "ok" || exists(pinned) {
		t.Fatalf("/dev/null %q, loop node %q, map pinned %t", null, loop, exists(pinned))
	}
}

func TestARequiredDeviceCgroupOutsideTheAppsSnapCgroupIsRefused(t *testing.T) {
	deviceWorld(t)
	other := snapScope(t, "snap.hello.other")
	for _, dir := range []string{"", other} {
		msg := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: dir}.mustFail(t)
		if !strings.Contains(msg, "is not a snap cgroup for tag snap.hello.app") {
			t.Errorf("refused with %q", msg)
		}
	}
	if exists(pinned) {
		t.Errorf("the map was made for a refused launch")
	}
}

func TestHostileDeviceCgroupInputsAreRefused(t *testing.T) {
	for _, c := range []struct {
		name    string
		arrange func(t *testing.T)
		want    string
	}{
		{"settings-symlink", func(t *testing.T) {
			os.MkdirAll("/var/lib/snapd/cgroup", 0o755)
			os.WriteFile("/tmp/device", []byte("self-managed=true\n"), 0o644)
			if err := os.Symlink("/tmp/device", "/var/lib/snapd/cgroup/snap.hello.device"); err != nil {
				t.Fatal(err)
			}
		}, "too many levels of symbolic links"},
		{"settings-user-owned", func(t *testing.T) {
			writeDeviceSettings("hello", "self-managed=true\n", true)
			os.Chown("/var/lib/snapd/cgroup/snap.hello.device", userUID, userUID)
		}, "owned by uid 1000"},
		{"settings-fifo", func(t *testing.T) {
			os.MkdirAll("/var/lib/snapd/cgroup", 0o755)
			unix.Mkfifo("/var/lib/snapd/cgroup/snap.hello.device", 0o644)
		}, "not a regular file"},
		{"map-symlink", func(t *testing.T) {
			snapBPFDir(t)
			if err := os.Symlink("/sys/fs/bpf/snap/decoy", pinned); err != nil {
				t.Fatal(err)
			}
		}, "a symbolic link"},
		{"map-user-owned", func(t *testing.T) {
			pinMap(t, unix.BPF_MAP_TYPE_HASH, devcgroup.KeySize, devcgroup.ValueSize)
			if err := os.Chown(pinned, userUID, userUID); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 1000"},
		{"map-wrong-type", func(t *testing.T) {
			pinMap(t, unix.BPF_MAP_TYPE_ARRAY, 4, devcgroup.ValueSize)
		}, "not snapd's hash map"},
		{"map-wrong-key-size", func(t *testing.T) {
			pinMap(t, unix.BPF_MAP_TYPE_HASH, 8, devcgroup.ValueSize)
		}, "not snapd's hash map"},
	} {
		t.Run(c.name, func(t *testing.T) {
			scope := deviceWorld(t)
			os.RemoveAll("/var/lib/snapd/cgroup")
			c.arrange(t)
			for _, caps := range []bool{false, true} {
				msg := launch{flags: []string{"--base", "core24"}, uid: userUID, caps: caps, cgroup: scope, noDevice: true}.mustFail(t)
				if !strings.Contains(msg, c.want) {
					t.Errorf("caps=%t: refused with %q, want %q", caps, msg, c.want)
				}
				if n := attachedPrograms(t, scope); n != 0 {
					t.Errorf("caps=%t: %d programs attached", caps, n)
				}
			}
		})
	}
}

// TestDeviceCgroupStepsRaiseExactlyTheirCapabilities is
// TestEveryPrivilegedStepRaisesExactlyItsCapabilities for the device
// cgroup's actions, in each hierarchy: a first launch (the map or the
// group created, bpffs mounted), a second (the map or group opened and
// reset), with the hooked launcher in both install modes.
func TestDeviceCgroupStepsRaiseExactlyTheirCapabilities(t *testing.T) {
	for _, h := range deviceHierarchies {
		for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
			t.Run(h.name+"/"+mode.name, func(t *testing.T) {
				scope := h.setup(t)
				seen := map[int]bool{}
				for range 2 {
					res := launch{program: mode.dir + "/snap-confine", flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope}.run()
					if res.err != nil {
						t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
					}
					for _, line := range strings.Split(res.stderr, "\n") {
						var h hookLine
						if _, err := fmt.Sscanf(line, "CAPHOOK op=%d eff=%x prm=%x others=%x", &h.op, &h.eff, &h.prm, &h.others); err != nil {
							continue
						}
						want := capWord(raised(h.op, mode.name == "setuid")) & h.prm
						if h.eff != want || h.others != 0 {
							t.Errorf("%s: effective %s (others %s), policy grants %s", h.op, capNames(h.eff), capNames(h.others), capNames(want))
						}
						seen[int(h.op)] = true
					}
				}
				for _, op := range h.ops {
					if !seen[int(op)] {
						t.Errorf("%s was never observed", op)
					}
				}
			})
		}
	}
}

// snapBPFDir makes /sys/fs/bpf/snap as the launcher does.
func snapBPFDir(t *testing.T) {
	t.Helper()
	if err := writeDeviceSettings("hello", "self-managed=false\nnon-strict=false\n", true); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(devcgroup.BPFDir, 0o700); err != nil {
		t.Fatal(err)
	}
}

// The harness's own bpf(2) calls.

type testBPFAttr [128]byte

func testBPF(cmd int, a *testBPFAttr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(a)), unsafe.Sizeof(*a))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// pinMap pins a new map of the given shape at the app's map path.
func pinMap(t *testing.T, typ, keySize, valueSize uint32) {
	t.Helper()
	snapBPFDir(t)
	var a testBPFAttr
	n := binary.NativeEndian
	n.PutUint32(a[0:], typ)
	n.PutUint32(a[4:], keySize)
	n.PutUint32(a[8:], valueSize)
	n.PutUint32(a[12:], 16)
	fd, err := testBPF(unix.BPF_MAP_CREATE, &a)
	if err != nil {
		t.Fatalf("cannot create a map: %v", err)
	}
	defer unix.Close(fd)
	path, _ := unix.BytePtrFromString(pinned)
	a = testBPFAttr{}
	n.PutUint64(a[0:], uint64(uintptr(unsafe.Pointer(path))))
	n.PutUint32(a[8:], uint32(fd))
	_, err = testBPF(unix.BPF_OBJ_PIN, &a)
	runtime.KeepAlive(path)
	if err != nil {
		t.Fatalf("cannot pin a map: %v", err)
	}
}

// mapKeys lists the devices in the map pinned at path.
func mapKeys(t *testing.T, path string) string {
	t.Helper()
	p, _ := unix.BytePtrFromString(path)
	var a testBPFAttr
	n := binary.NativeEndian
	n.PutUint64(a[0:], uint64(uintptr(unsafe.Pointer(p))))
	fd, err := testBPF(unix.BPF_OBJ_GET, &a)
	runtime.KeepAlive(p)
	if err != nil {
		t.Fatalf("cannot get %s: %v", path, err)
	}
	defer unix.Close(fd)
	var out []string
	var key, next [devcgroup.KeySize]byte
	for first := true; ; first = false {
		a = testBPFAttr{}
		n.PutUint32(a[0:], uint32(fd))
		if !first {
			n.PutUint64(a[8:], uint64(uintptr(unsafe.Pointer(&key[0]))))
		}
		n.PutUint64(a[16:], uint64(uintptr(unsafe.Pointer(&next[0]))))
		if _, err := testBPF(unix.BPF_MAP_GET_NEXT_KEY, &a); err != nil {
			break
		}
		out = append(out, devcgroup.DeviceOfKey(next).String())
		key = next
	}
	return strings.Join(out, ",")
}

// attachedPrograms counts the device programs attached to the cgroup dir.
func attachedPrograms(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var a testBPFAttr
	n := binary.NativeEndian
	n.PutUint32(a[0:], uint32(fd))
	n.PutUint32(a[4:], unix.BPF_CGROUP_DEVICE)
	if _, err := testBPF(unix.BPF_PROG_QUERY, &a); err != nil {
		t.Fatalf("cannot query %s: %v", filepath.Base(dir), err)
	}
	return int(n.Uint32(a[24:]))
}

// TestDeviceCgroupActionsNeedEachOfTheirCapabilities is
// TestEveryActionNeedsEachOfItsCapabilities for the device cgroup's
// actions, in each hierarchy: with each capability of each withheld in
// turn (the test-only hook lowers it right after the action raised it),
// the first launch (which creates the map or the group) or the second
// (which opens it) fails.
func TestDeviceCgroupActionsNeedEachOfTheirCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			var table []string
			for _, h := range deviceHierarchies {
				for _, op := range h.ops {
					for _, c := range raised(op, mode.name == "setuid") {
						t.Run(fmt.Sprintf("%s-op%d-%s", h.name, op, c), func(t *testing.T) {
							scope := h.setup(t)
							broke := ""
							for i := range 2 {
								res := launch{program: mode.dir + "/snap-confine", flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope,
									env: []string{fmt.Sprintf("SNAPNS_TEST_WITHHOLD=%d:%d", op, c)}}.run()
								if res.err != nil {
									broke = fmt.Sprintf("launch %d: %s", i+1, strings.Join(nonHookLines(res.stderr), " "))
									break
								}
							}
							if broke == "" {
								t.Errorf("%s works without cap_%s", op, c)
							}
							table = append(table, fmt.Sprintf("  %-66s without cap_%-10s %s", op, c, broke))
						})
					}
				}
			}
			t.Logf("what breaks without each capability of each device cgroup action:\n%s", strings.Join(table, "\n"))
		})
	}
}

// snap-ns explain says what the launcher will decide of the device cgroup,
// and the launcher's debug log what it did.
func TestThePlannerAndTheLauncherExplainTheDeviceCgroupDecision(t *testing.T) {
	scope := deviceWorld(t)
	tagDevice(t, true)
	res := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope, debug: true}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	const expected = "device cgroup: device cgroup required for base core24; the device program on the app's snap cgroup allows"
	if x := snapNSExplain(t, userUID, "--base", "core24", "snap.hello.app"); !strings.Contains(strings.Join(x.Steps, "\n"), expected) {
		t.Errorf("snap-ns explain does not say %q: %q", expected, x.Steps)
	}
	for _, want := range []string{
		"DEBUG: snap-confine: plan: device cgroup: device cgroup required for base core24;",
		"associated the app with device cgroup /sys/fs/cgroup/snap.hello.app-",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the debug log does not say %q:\n%s", want, res.stderr)
		}
	}
}

// Where /sys/fs/bpf is sysfs's bare directory (a userland that mounts no
// bpffs), the launcher mounts one there, as snap-confine 2.77 does, and the
// app is confined; anything else there is refused.
func TestBPFFSIsMountedWhereNoneIs(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			scope := deviceWorld(t)
			unmountBPFFS(t)
			null, loop := opens(t, launch{flags: []string{"--base", "core24"}, uid: userUID, caps: in.caps, cgroup: scope})
			var sfs unix.Statfs_t
			if err := unix.Statfs(devcgroup.BPFFS, &sfs); err != nil || uint32(sfs.Type) != unix.BPF_FS_MAGIC {
				t.Fatalf("%s is not a bpffs after the launch: %v, magic %#x", devcgroup.BPFFS, err, sfs.Type)
			}
			var st unix.Stat_t
			if err := unix.Stat(devcgroup.BPFFS, &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode&0o777 != 0o700 {
				t.Errorf("the bpffs root: %v, owner %d:%d mode %o", err, st.Uid, st.Gid, st.Mode&0o7777)
			}
			if null != "ok" || loop != denied || !exists(pinned) {
				t.Fatalf("/dev/null %q, loop node %q, map pinned %t", null, loop, exists(pinned))
			}
		})
	}
	t.Run("not-sysfs", func(t *testing.T) {
		scope := deviceWorld(t)
		if err := unix.Mount("tmpfs", devcgroup.BPFFS, "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatal(err)
		}
		msg := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope}.mustFail(t)
		if !strings.Contains(msg, "/sys/fs/bpf is neither a bpffs mount nor sysfs's directory") {
			t.Errorf("refused with %q", msg)
		}
		if n := attachedPrograms(t, scope); n != 0 {
			t.Errorf("%d programs attached", n)
		}
	})
}

// snap-confine 2.77 raises RLIMIT_MEMLOCK to 512 KiB for kernels before
// 5.11, which charged BPF maps and programs to it; so does the launcher,
// but only where the kernel refuses them for it: on 5.11 and later, where
// memory cgroups are charged instead, it leaves the limit alone, and a
// caller whose limit is 0 still gets the device cgroup.
func TestTheDeviceCgroupNeedsNoMemlockLimit(t *testing.T) {
	if kernelLacks(kernelsim.MemlockCharge) {
		t.Skip("SKIPPING: this run's kernel charges BPF objects to RLIMIT_MEMLOCK (TestOldKernelWithALowHardMemlockLimit covers a low limit there)")
	}
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			scope := deviceWorld(t)
			l := launch{flags: []string{"--base", "core24"}, uid: userUID, caps: in.caps, cgroup: scope, args: []string{"open", "/dev/null", "open", loopNode}}
			cmd := l.command()
			cmd.Args = append([]string{"prlimit", "--memlock=0:0", "--", cmd.Path}, cmd.Args[1:]...)
			cmd.Path = "/usr/bin/prlimit"
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := runInCgroupNS(cmd, true); err != nil {
				t.Fatalf("launch failed with RLIMIT_MEMLOCK 0: %v\n%s", err, stderr.String())
			}
			var r report.Report
			if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
				t.Fatal(err)
			}
			if r.Open["/dev/null"] != "ok" || r.Open[loopNode] != denied || attachedPrograms(t, scope) == 0 {
				t.Fatalf("/dev/null %q, loop node %q", r.Open["/dev/null"], r.Open[loopNode])
			}
		})
	}
}

// snap-confine 2.77 waits for snapd's settings file under the snap's lock
// (sc_get_device_cgroup_setup after sc_lock_snap), at most 120 s whatever
// the environment asks; so does the launcher: the lock is held while it
// waits, and SNAP_CONFINE_MAX_PROFILE_WAIT can shorten the wait but not
// make it longer.
func TestDeviceSettingsAreWaitedForUnderTheSnapsLock(t *testing.T) {
	scope := deviceWorld(t)
	os.Remove("/var/lib/snapd/cgroup/snap.hello.device")
	done := make(chan result, 1)
	go func() {
		done <- launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope, noDevice: true, debug: true,
			env: []string{"SNAP_CONFINE_MAX_PROFILE_WAIT=3600"}, args: []string{"open", loopNode}}.run()
	}()
	held := false
	for deadline := time.Now().Add(30 * time.Second); !held && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		fd, err := unix.Open("/run/snapd/lock/hello.lock", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		held = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == unix.EWOULDBLOCK
		unix.Close(fd)
	}
	if err := writeDeviceSettings("hello", "self-managed=false\nnon-strict=false\n", true); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	if !held {
		t.Errorf("the snap's lock was not held while the launcher waited for the settings file")
	}
	if want := "waiting up to 2m0s for /var/lib/snapd/cgroup/snap.hello.device"; !strings.Contains(res.stderr, want) {
		t.Errorf("the debug log does not say %q:\n%s", want, res.stderr)
	}
	if res.report.Open[loopNode] != denied {
		t.Errorf("loop node: %q", res.report.Open[loopNode])
	}
}

// TestOldSnapdsCore24AppGetsADeviceCgroupOnlyForTaggedDevices: a snap
// installed by snapd 2.61 or older has a .bin profile and no device
// settings file; that snapd's snap-confine set a device cgroup up only for
// tagged devices, whatever the base. A core24 app with nothing tagged runs
// outside a snap cgroup (snapd then made none), without waiting for a
// settings file, and no map is made.
func TestOldSnapdsCore24AppGetsADeviceCgroupOnlyForTaggedDevices(t *testing.T) {
	deviceWorld(t)
	if err := installProfile("snap.hello.app", "unrestricted.bin"); err != nil {
		t.Fatal(err)
	}
	for _, caps := range []bool{false, true} {
		r := launch{flags: []string{"--base", "core24"}, uid: userUID, caps: caps, noDevice: true, debug: true, args: []string{"open", "/dev/null"}}.run()
		if r.err != nil {
			t.Fatalf("caps %t: launch failed: %v\n%s", caps, r.err, r.stderr)
		}
		if !strings.Contains(r.stderr, "device cgroup only for tagged devices: snapd 2.61 or older") {
			t.Errorf("the debug log does not say why:\n%s", r.stderr)
		}
		if r.report.Open["/dev/null"] != "ok" {
			t.Errorf("/dev/null: %s", r.report.Open["/dev/null"])
		}
	}
	if exists(pinned) {
		t.Errorf("a map was made with nothing tagged")
	}
}

// TestStickyBPFFSIsUsed: bpffs mounted by someone else with the kernel's
// default mode, 1777 (Cilium's and most guides' way), is used as /tmp is:
// /sys/fs/bpf/snap is made root's 0700 (staged, as everyone can look into
// the bpffs root) and the map root's 0600, even after another user made
// /sys/fs/bpf/snap first (moved aside, still theirs), in both installs.
func TestStickyBPFFSIsUsed(t *testing.T) {
	for _, in := range installs {
		for _, planted := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/planted=%t", in.name, planted), func(t *testing.T) {
				scope := deviceWorld(t)
				unmountBPFFS(t)
				if err := unix.Mount("bpf", devcgroup.BPFFS, "bpf", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
					t.Fatal(err)
				}
				var st unix.Stat_t
				if err := unix.Stat(devcgroup.BPFFS, &st); err != nil || st.Mode&0o7777 != 0o1777 {
					t.Fatalf("bpffs mounted with the kernel's default mode is %o, not 1777: %v", st.Mode&0o7777, err)
				}
				if planted {
					asUID(t, userUID+1, func() error { return os.Mkdir(devcgroup.BPFDir, 0o777) })
				}
				null, loop := opens(t, launch{flags: []string{"--base", "core24"}, uid: userUID, caps: in.caps, cgroup: scope})
				if null != "ok" || loop != denied {
					t.Fatalf("/dev/null %q, loop node %q", null, loop)
				}
				for path, mode := range map[string]uint32{devcgroup.BPFDir: unix.S_IFDIR | 0o700, pinned: unix.S_IFREG | 0o600} {
					if err := unix.Lstat(path, &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode != mode {
						t.Errorf("%s: %v, owner %d:%d mode %o", path, err, st.Uid, st.Gid, st.Mode)
					}
				}
				aside, _ := filepath.Glob(devcgroup.BPFFS + "/snapns-moved-aside-*")
				if planted && (len(aside) != 1 || unix.Lstat(aside[0], &st) != nil || st.Uid != userUID+1) {
					t.Errorf("the other user's directory was not kept aside, theirs: %v", aside)
				}
			})
		}
	}
}
