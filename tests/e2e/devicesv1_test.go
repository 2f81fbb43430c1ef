// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/tests/sandbox"
)

// The device cgroup on a legacy or hybrid host: /sys/fs/cgroup a tmpfs,
// the cgroup v1 devices controller at /sys/fs/cgroup/devices, rooted at a
// child group of the machine's made for the test (sandbox.EnterCgroupV1Devices).
// snap-confine 2.77 makes the app's group /sys/fs/cgroup/devices/<security
// tag>, writes "a" to its devices.deny, one "<type> <major>:<minor> rwm"
// per allowed device to its devices.allow, and its own pid to cgroup.procs.

const v1Group = devcgroup.DevicesDir + "/snap.hello.app"

// v1World gives a test a fresh world with the core24 base and the loop
// node, on the cgroup v1 devices controller; it skips, saying why, where
// the machine has no v1 devices hierarchy to lend.
func v1World(t *testing.T) {
	t.Helper()
	world(t)
	deviceBase(t)
	cleanup, err := sandbox.EnterCgroupV1Devices()
	if errors.Is(err, sandbox.ErrNoV1Devices) {
		t.Skipf("SKIPPING the cgroup v1 device cgroup test: %v", err)
	}
	if err != nil {
		t.Fatalf("cannot give the sandbox a cgroup v1 devices hierarchy: %v", err)
	}
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Errorf("cannot leave the cgroup v1 devices hierarchy: %v", err)
		}
	})
}

// v1Rules is the app group's devices.list ("" when there is no group).
func v1Rules(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(v1Group + "/devices.list")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// v1Untouched fails unless the app's group, if there is one, is as the
// kernel made it: nothing denied, nothing in it.
func v1Untouched(t *testing.T, what string) {
	t.Helper()
	if !exists(v1Group) {
		return
	}
	procs, _ := os.ReadFile(v1Group + "/cgroup.procs")
	if rules := v1Rules(t); rules != "a *:* rwm\n" || len(procs) != 0 {
		t.Errorf("%s: the group holds %q, processes %q", what, rules, procs)
	}
}

func TestV1Core24AppGetsOnlyTheCommonDevices(t *testing.T) {
	for _, c := range deviceCallers {
		t.Run(c.name, func(t *testing.T) {
			v1World(t)
			r := opensReport(t, launch{flags: []string{"--base", "core24"}, uid: c.uid, caps: c.caps})
			if null, pty, loop := r.Open["/dev/null"], r.Open["pty"], r.Open[loopNode]; null != "ok" || pty != "ok" || loop != denied {
				t.Fatalf("/dev/null: %q, a pty: %q, loop node: %q; want ok, ok and %q", null, pty, loop, denied)
			}
			if !strings.Contains(r.Read["/proc/self/cgroup"], "/snap.hello.app\n") {
				t.Errorf("the app is not in the devices group:\n%s", r.Read["/proc/self/cgroup"])
			}
			var st unix.Stat_t
			if err := unix.Lstat(v1Group, &st); err != nil || st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o700 {
				t.Errorf("group %s: %v, owner %d:%d mode %o", v1Group, err, st.Uid, st.Gid, st.Mode&0o7777)
			}
			rules := v1Rules(t)
			for _, want := range []string{"c 1:3 rwm", "c 5:2 rwm", "c 136:* rwm", "c 143:* rwm"} {
				if !strings.Contains(rules, want+"\n") {
					t.Errorf("devices.list lacks %q:\n%s", want, rules)
				}
			}
			if strings.Contains(rules, "a *:*") || strings.Contains(rules, "b 7:250") {
				t.Errorf("devices.list allows too much:\n%s", rules)
			}
			if fd, err := unix.Open(loopNode, unix.O_RDONLY|unix.O_NONBLOCK, 0); err != nil {
				t.Fatalf("the harness cannot open the loop node: %v", err)
			} else {
				unix.Close(fd)
			}
			if c.name == "user-setuid" {
				// snap-ns explain says which hierarchy the launcher used.
				if d := snapNSExplain(t, userUID, "--base", "core24", "snap.hello.app").Devices; d.Action != "attach" || d.Hierarchy != "v1" || d.Group != v1Group {
					t.Errorf("snap-ns explain: %+v", d)
				}
				if text := snapNSRun(t, userUID, "explain", "--base", "core24", "snap.hello.app"); !strings.Contains(text, "cgroup v1 "+v1Group) {
					t.Errorf("snap-ns explain does not name the v1 group:\n%s", text)
				}
			}
		})
	}
}

func TestV1TaggedDeviceIsAllowedAndDeniedAgainOnceUntagged(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			v1World(t)
			tagDevice(t, true)
			l := launch{flags: []string{"--base", "core24"}, uid: userUID, caps: in.caps}
			if null, loop := opens(t, l); null != "ok" || loop != "ok" {
				t.Fatalf("tagged: /dev/null %q, loop node %q; want both ok", null, loop)
			}
			if rules := v1Rules(t); !strings.Contains(rules, "b 7:250 rwm\n") || !strings.Contains(rules, "c 1:3 rwm\n") {
				t.Fatalf("devices.list holds %q", rules)
			}
			// Set up again with the tag no longer current: the group is
			// reset (deny all first), not extended.
			tagDevice(t, false)
			if null, loop := opens(t, l); null != "ok" || loop != denied {
				t.Fatalf("untagged: /dev/null %q, loop node %q; want ok and %q", null, loop, denied)
			}
			if rules := v1Rules(t); strings.Contains(rules, "b 7:250") || !strings.Contains(rules, "c 1:3 rwm\n") {
				t.Fatalf("devices.list after the reset holds %q", rules)
			}
		})
	}
}

func TestV1NoDeviceGroupForCore22WithNothingTagged(t *testing.T) {
	v1World(t)
	core22(t)
	if null, loop := opens(t, launch{flags: []string{"--base", "core22"}, uid: userUID}); null != "ok" || loop != "ok" || exists(v1Group) {
		t.Fatalf("/dev/null %q, loop node %q, group made %t", null, loop, exists(v1Group))
	}
}

func TestV1HostileDeviceGroupsAreRefused(t *testing.T) {
	detach := func(t *testing.T) {
		if err := unix.Unmount(devcgroup.DevicesDir, unix.MNT_DETACH); err != nil {
			t.Fatal(err)
		}
	}
	mkgroup := func(t *testing.T) {
		if err := os.Mkdir(v1Group, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		arrange func(t *testing.T)
		want    string
	}{
		{"hierarchy-symlink", func(t *testing.T) {
			detach(t)
			os.Remove(devcgroup.DevicesDir)
			os.Mkdir("/sys/fs/cgroup/decoy", 0o755)
			if err := os.Symlink("decoy", devcgroup.DevicesDir); err != nil {
				t.Fatal(err)
			}
		}, "cannot open /sys/fs/cgroup/devices: not a directory"}, // the link is not followed
		{"hierarchy-not-cgroupfs", detach, "/sys/fs/cgroup/devices is not a cgroup v1 hierarchy"},
		{"hierarchy-user-owned", func(t *testing.T) {
			if err := os.Chown(devcgroup.DevicesDir, userUID, userUID); err != nil {
				t.Fatal(err)
			}
		}, "cannot trust /sys/fs/cgroup/devices: owned by uid 1000"},
		{"group-user-owned", func(t *testing.T) {
			mkgroup(t)
			if err := os.Chown(v1Group, userUID, userUID); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 1000, not root"},
		{"group-made-by-a-user", func(t *testing.T) {
			// The user is lent the hierarchy for a moment, makes the
			// group, and the hierarchy is root's again.
			if err := os.Chown(devcgroup.DevicesDir, userUID, userUID); err != nil {
				t.Fatal(err)
			}
			mkdir := exec.Command("mkdir", v1Group)
			mkdir.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
			if out, err := mkdir.CombinedOutput(); err != nil {
				t.Fatalf("uid 1000 cannot make the group: %v: %s", err, out)
			}
			if err := os.Chown(devcgroup.DevicesDir, 0, 0); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 1000, not root"},
		{"group-writable-by-others", func(t *testing.T) {
			mkgroup(t)
			if err := os.Chmod(v1Group, 0o777); err != nil {
				t.Fatal(err)
			}
		}, "is writable by others"},
		{"devices-allow-user-owned", func(t *testing.T) {
			mkgroup(t)
			if err := os.Chown(v1Group+"/devices.allow", userUID, userUID); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 1000, not root"},
		{"cgroup-procs-user-owned", func(t *testing.T) {
			mkgroup(t)
			if err := os.Chown(v1Group+"/cgroup.procs", userUID, userUID); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 1000, not root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v1World(t)
			c.arrange(t)
			for _, in := range installs {
				msg := launch{flags: []string{"--base", "core24"}, uid: userUID, caps: in.caps}.mustFail(t)
				if !strings.Contains(msg, c.want) {
					t.Errorf("%s: refused with %q, want %q", in.name, msg, c.want)
				}
				v1Untouched(t, in.name)
			}
		})
	}
}
