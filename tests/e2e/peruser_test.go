// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func enablePerUser(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll("/var/lib/snapd/features", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/features/per-user-mount-namespace", nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mountWithFile mounts a tmpfs on dir (made first) and writes dir/file.
func mountWithFile(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		return err
	}
	return os.WriteFile(dir+"/file", []byte(dir), 0o644)
}

func TestUsersGetDistinctLayersOnTheSnapNamespace(t *testing.T) {
	world(t)
	enablePerUser(t)
	snap := launch{}.mustRun(t) // root: the snap's namespace, no layer
	if exists("/run/snapd/ns/hello.0.mnt") {
		t.Fatal("root got a per-user namespace")
	}
	if snap.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
		t.Fatal("root's app does not run in the snap's namespace")
	}
	inNamespace(t, "/run/snapd/ns/hello.mnt", func() error { return mountWithFile("/mnt/per-snap") })
	read := []string{"read", "/mnt/per-snap/file", "read", "/mnt/user1000/file"}
	u1000 := launch{uid: 1000, args: read}.mustRun(t)
	u1001 := launch{uid: 1001, args: read}.mustRun(t)
	if u1000.MountNSID == u1001.MountNSID || u1000.MountNSID == snap.MountNSID || u1001.MountNSID == snap.MountNSID {
		t.Fatalf("namespaces not distinct: snap %d, 1000 %d, 1001 %d", snap.MountNSID, u1000.MountNSID, u1001.MountNSID)
	}
	for uid, r := range map[int]uint64{1000: u1000.MountNSID, 1001: u1001.MountNSID} {
		if got := nsID(t, fmt.Sprintf("/run/snapd/ns/hello.%d.mnt", uid)); got != r {
			t.Errorf("uid %d's layer is not preserved: file %d, app %d", uid, got, r)
		}
		checkOwnerMode(t, fmt.Sprintf("/run/snapd/lock/hello.%d.lock", uid), 0o600)
	}
	if u1000.Read["/mnt/per-snap/file"] != "/mnt/per-snap" || u1001.Read["/mnt/per-snap/file"] != "/mnt/per-snap" {
		t.Fatal("a mount of the snap's namespace is not visible in the per-user layers")
	}
	inNamespace(t, "/run/snapd/ns/hello.1000.mnt", func() error { return mountWithFile("/mnt/user1000") })
	again := launch{uid: 1000, args: read}.mustRun(t)
	if again.MountNSID != u1000.MountNSID || again.Read["/mnt/user1000/file"] != "/mnt/user1000" {
		t.Fatal("uid 1000's second launch did not join its per-user namespace")
	}
	other := launch{uid: 1001, args: read}.mustRun(t)
	root := launch{args: read}.mustRun(t)
	for who, r := range map[string]map[string]string{"uid 1001": other.Read, "root": root.Read} {
		if _, ok := r["/mnt/user1000/file"]; ok {
			t.Errorf("a mount made in uid 1000's layer is visible to %s", who)
		}
	}
}

func TestWithoutTheFeaturePerUserLayersAreEphemeral(t *testing.T) {
	world(t)
	// The first app runs until the second has run (startHeld).
	release := launch{uid: 1000}.startHeld(t)
	second := launch{uid: 1000}.mustRun(t)
	first := release()
	snap := nsID(t, "/run/snapd/ns/hello.mnt")
	if first.MountNSID == second.MountNSID || first.MountNSID == snap || second.MountNSID == snap {
		t.Fatalf("not a fresh layer per launch: %d, %d (snap %d)", first.MountNSID, second.MountNSID, snap)
	}
	if exists("/run/snapd/ns/hello.1000.mnt") {
		t.Fatal("an ephemeral layer was preserved")
	}
}

func TestPerUserLayerFollowsARebuiltSnapNamespace(t *testing.T) {
	world(t)
	enablePerUser(t)
	before := launch{uid: 1000, args: []string{"read", "/base-marker"}}.mustRun(t)
	oldSnap := nsID(t, "/run/snapd/ns/hello.mnt")
	refresh(t, "core", "2")
	res := launch{uid: 1000, debug: true, args: []string{"read", "/base-marker"}}.run()
	if res.err != nil {
		t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
	}
	after := res.report
	newSnap := nsID(t, "/run/snapd/ns/hello.mnt")
	if newSnap == oldSnap {
		t.Fatal("the snap's namespace was not rebuilt")
	}
	if after.MountNSID == before.MountNSID || after.Read["/base-marker"] != "core 2\n" {
		t.Fatalf("uid 1000 joined a layer of the discarded namespace: %q", after.Read["/base-marker"])
	}
	data, _ := os.ReadFile("/run/snapd/ns/snap.hello.1000.info")
	if !strings.Contains(string(data), nsRecorded(t, "parent-", "/run/snapd/ns/hello.mnt")) {
		t.Fatalf("the per-user info file does not name the new snap namespace %d: %q", newSnap, data)
	}
	// A layer whose recorded parent is not the snap's namespace is not
	// joined, even when the snap's namespace itself was kept.
	if err := os.WriteFile("/run/snapd/ns/snap.hello.1000.info", []byte("base-snap-name=core\nparent-mount-ns-id=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = launch{uid: 1000, debug: true}.run()
	if res.err != nil || res.report.MountNSID == after.MountNSID {
		t.Fatalf("a layer derived from another namespace was joined: %v\n%s", res.err, res.stderr)
	}
	if !strings.Contains(res.stderr, "per-user layer: discard the preserved one, then a new layer") {
		t.Errorf("the debug log does not say why:\n%s", res.stderr)
	}
}

func TestHostilePerUserNamespaceFilesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func() error
	}{
		{"fifo", func() error { return unix.Mkfifo("/run/snapd/ns/hello.1000.mnt", 0o600) }},
		{"symlink", func() error { return os.Symlink("/proc/1/ns/mnt", "/run/snapd/ns/hello.1000.mnt") }},
		{"directory", func() error { return os.Mkdir("/run/snapd/ns/hello.1000.mnt", 0o755) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world(t)
			enablePerUser(t)
			launch{}.mustRun(t)
			if err := tc.create(); err != nil {
				t.Fatal(err)
			}
			if msg := (launch{uid: 1000}).mustFail(t); !strings.Contains(msg, "hello.1000.mnt") {
				t.Fatalf("unexpected error %q", msg)
			}
		})
	}
}

func TestUserMountsRunAsTheCallerWithThreeCapabilities(t *testing.T) {
	world(t)
	installUpdateNS(t)
	if err := os.MkdirAll("/var/lib/snapd/mount", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/var/lib/snapd/mount/snap.hello.user-fstab", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := launch{uid: 1000, env: []string{"XDG_RUNTIME_DIR=/run/user/1000", "SNAP_REAL_HOME=/home/u", "FOO=bar"},
		args: []string{"read", "/var/tmp/user-mounts.log"}}.mustRun(t)
	log := r.Read["/var/tmp/user-mounts.log"]
	for _, want := range []string{
		"argv=snap-update-ns --from-snap-confine --user-mounts hello\n",
		"uids=1000/1000/1000\n",
		"env=SNAPD_DEBUG=0 XDG_RUNTIME_DIR=/run/user/1000 SNAP_REAL_HOME=/home/u\n",
		"CapEff:0000000000200003\n", "CapAmb:0000000000200003\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the per-user snap-update-ns log lacks %q:\n%s", want, log)
		}
	}
	if root := (launch{args: []string{"read", "/var/tmp/user-mounts.log"}}).mustRun(t); root.Read["/var/tmp/user-mounts.log"] != "" {
		t.Error("the per-user mounts reached root's app in the snap's namespace")
	}
}
