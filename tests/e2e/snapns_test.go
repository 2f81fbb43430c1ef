// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/nsview"
)

// snapNSRun runs snap-ns as uid (0: root) and returns its standard output;
// it fails the test on an error or a hang (a FIFO opened for reading would
// hang it forever).
func snapNSRun(t *testing.T, uid int, args ...string) string {
	t.Helper()
	out, status := snapNSRunStatus(t, uid, args...)
	if status != 0 {
		t.Fatalf("snap-ns %s as uid %d: exit status %d", strings.Join(args, " "), uid, status)
	}
	return out
}

// snapNSRunStatus is snapNSRun for a run that may exit 1 with its answer
// printed (explain's refusal, show without a mount table).
func snapNSRunStatus(t *testing.T, uid int, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, snapNS, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{uint32(uid)}}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && ctx.Err() == nil && stdout.Len() > 0 {
		return stdout.String(), 1
	}
	if err != nil {
		t.Fatalf("snap-ns %s as uid %d: %v (hung: %v)\nstderr: %s", strings.Join(args, " "), uid, err, ctx.Err() != nil, stderr.String())
	}
	return stdout.String(), 0
}

func snapNSList(t *testing.T, uid int) *nsview.Listing {
	t.Helper()
	var l nsview.Listing
	out := snapNSRun(t, uid, "list", "--json")
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("cannot decode snap-ns list --json: %v\n%s", err, out)
	}
	if l.Schema != "snap-ns/1" || l.Command != "list" {
		t.Fatalf("schema %q command %q", l.Schema, l.Command)
	}
	return &l
}

func listed(t *testing.T, l *nsview.Listing, name string) nsview.Namespace {
	t.Helper()
	for _, n := range l.Namespaces {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("%s is not listed: %+v", name, l)
	return nsview.Namespace{}
}

func snapNSExplain(t *testing.T, uid int, args ...string) *nsview.Explanation {
	t.Helper()
	var x nsview.Explanation
	out, status := snapNSRunStatus(t, uid, append([]string{"explain", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("cannot decode snap-ns explain --json: %v\n%s", err, out)
	}
	// Exit status 1 exactly when the launch would be refused.
	if refused := x.Verdict == "refused"; refused != (status == 1) {
		t.Errorf("snap-ns explain %v: verdict %s, exit status %d", args, x.Verdict, status)
	}
	return &x
}

// The namespaces our launcher made, as an unprivileged operator sees them:
// fresh, then stale after a base refresh while the snap runs (kept), then
// once it stops (discarded on the next launch), with the user's layer.
func TestSnapNsListsFreshStaleOccupiedAndPerUserNamespaces(t *testing.T) {
	world(t)
	enablePerUser(t)
	launch{}.mustRun(t)
	launch{uid: userUID}.mustRun(t)
	snapID, userID := listedID(t, "/run/snapd/ns/hello.mnt"), listedID(t, "/run/snapd/ns/hello.1000.mnt")

	l := snapNSList(t, userUID)
	if len(l.Entries) != 0 {
		t.Errorf("entries reported in a clean directory: %+v", l.Entries)
	}
	snap := listed(t, l, "hello.mnt")
	if snap.Kind != "snap" || snap.UID != nil || !snap.Preserved || snap.ID != snapID || (snap.IDProblem != "") == haveMountNSIDs() {
		t.Errorf("snap namespace: %+v (want id %d)", snap, snapID)
	}
	if snap.Base != "core" || snap.Revision != "1" || snap.Device != devOf(t, "/snap/core/1") || snap.MadeBy != "snapns" {
		t.Errorf("snap namespace facts: %+v", snap)
	}
	if snap.Stale != "keep" || snap.NextLaunch != "join" || snap.Occupied || snap.Built == "" || snap.AgeSeconds > 60 {
		t.Errorf("a fresh namespace: %+v", snap)
	}
	user := listed(t, l, "hello.1000.mnt")
	if user.Kind != "user" || user.UID == nil || *user.UID != userUID || user.ID != userID || (user.ParentID != snapID && user.ParentID != nsID(t, "/run/snapd/ns/hello.mnt")) {
		t.Errorf("per-user layer: %+v (want id %d on %d)", user, userID, snapID)
	}
	if user.Stale != "keep" || user.NextLaunch != "join" {
		t.Errorf("a fresh layer: %+v", user)
	}

	stop := runningApp(t, "hello")
	refresh(t, "core", "2")
	snap = listed(t, snapNSList(t, userUID), "hello.mnt")
	if snap.Stale != "should" || !snap.Occupied || snap.NextLaunch != "join" || !strings.Contains(snap.Reason, "refreshed from revision 1 to 2") {
		t.Errorf("a stale namespace of a running snap: %+v", snap)
	}
	stop()
	l = snapNSList(t, userUID)
	snap, user = listed(t, l, "hello.mnt"), listed(t, l, "hello.1000.mnt")
	if snap.Stale != "should" || snap.Occupied || snap.NextLaunch != "discard" {
		t.Errorf("a stale namespace of a stopped snap: %+v", snap)
	}
	if user.NextLaunch != "discard" {
		t.Errorf("the layer on a stale namespace: %+v", user)
	}
	// What snap-ns said is what the launcher does.
	if r := (launch{}).mustRun(t); r.MountNSID == snapID {
		t.Error("the launcher joined the namespace snap-ns said it would discard")
	}
	if snap := listed(t, snapNSList(t, 0), "hello.mnt"); snap.Stale != "keep" || snap.Revision != "2" {
		t.Errorf("the rebuilt namespace: %+v", snap)
	}
	text := snapNSRun(t, userUID, "list")
	if !strings.HasPrefix(text, "NAMESPACE ") || !strings.Contains(text, "hello.mnt") || strings.Contains(text, "\x1b") {
		t.Errorf("text listing:\n%s", text)
	}
}

// Entries anyone could have put in /run/snapd/ns before snapd made it are
// reported, never followed nor opened for reading, and do not stop the
// listing.
func TestSnapNsReportsHostileEntriesWithoutFollowingThem(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	dir := "/run/snapd/ns/"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/run/snapd/ns/hello.mnt", dir+"evil.mnt"))
	must(os.Symlink("/etc/passwd", dir+"snap.evil.info"))
	must(unix.Mkfifo(dir+"fifo.mnt", 0o666))
	must(unix.Mkfifo(dir+"snap.fifo.info", 0o666))
	must(os.Mkdir(dir+"dir.mnt", 0o755))
	must(os.WriteFile(dir+"user.mnt", nil, 0o600))
	must(os.Chown(dir+"user.mnt", userUID, userUID))
	must(os.WriteFile(dir+"snap.user.info", []byte("base-snap-name=core\n"), 0o644))
	must(os.Chown(dir+"snap.user.info", userUID, userUID))
	must(os.WriteFile(dir+"strange\nname", nil, 0o644))
	for _, uid := range []int{0, userUID} {
		l := snapNSList(t, uid)
		if len(l.Namespaces) != 1 || l.Namespaces[0].Name != "hello.mnt" || l.Namespaces[0].Stale != "keep" {
			t.Errorf("uid %d: namespaces %+v", uid, l.Namespaces)
		}
		got := map[string]string{}
		for _, e := range l.Entries {
			got[e.Name] = e.Type
		}
		for name, typ := range map[string]string{
			"evil.mnt": "symlink", "snap.evil.info": "symlink", "fifo.mnt": "fifo", "snap.fifo.info": "fifo",
			"dir.mnt": "directory", "user.mnt": "regular file", "snap.user.info": "regular file", "strange\nname": "regular file",
		} {
			if got[name] != typ {
				t.Errorf("uid %d: %q reported as %q, want %q", uid, name, got[name], typ)
			}
		}
	}
	text := snapNSRun(t, userUID, "list")
	if !strings.Contains(text, `"strange\nname"`) || !strings.Contains(text, "fifo.mnt") {
		t.Errorf("the text listing does not show the entries safely:\n%s", text)
	}
	// explain refuses where the launcher refuses, with its words.
	if err := installProfile("snap.fifo.app", "unrestricted.bin2"); err != nil {
		t.Fatal(err)
	}
	if err := writeDeviceSettings("fifo", "self-managed=false\nnon-strict=false\n", false); err != nil {
		t.Fatal(err)
	}
	x := snapNSExplain(t, 0, "snap.fifo.app")
	line := launch{instance: "fifo"}.mustFail(t)
	if x.Verdict != "refused" || len(x.Refusals) != 1 || x.Refusals[0] != line {
		t.Errorf("explain: %s %q; the launcher: %q", x.Verdict, x.Refusals, line)
	}
}

// explain says what the launcher then does, step by step: join, rebuild
// after a refresh, must after a change of base, the seccomp file and format,
// and every refusal in the launcher's words.
func TestSnapNsExplainSaysWhatTheLauncherDoes(t *testing.T) {
	world(t)
	enablePerUser(t)
	x := snapNSExplain(t, userUID, "snap.hello.app")
	if x.Verdict != "refused" || x.Seccomp.Format != "missing" {
		t.Errorf("no profile yet: %+v", x)
	}
	launch{}.mustRun(t)
	x = snapNSExplain(t, userUID, "snap.hello.app")
	if x.Schema != "snap-ns/1" || x.Verdict != "join" || x.Namespace.Stale != "keep" || x.PerUser.Action != "create" || x.UID != userUID {
		t.Errorf("a fresh namespace: %+v", x)
	}
	if x.Seccomp.Format != "bin2" || !x.Seccomp.Usable || !x.Seccomp.Unrestricted || x.AppArmor.App != "snap.hello.app" || x.AppArmor.UpdateNS != "snap-update-ns.hello" {
		t.Errorf("seccomp and AppArmor: %+v %+v", x.Seccomp, x.AppArmor)
	}
	launch{uid: userUID}.mustRun(t)
	if x = snapNSExplain(t, userUID, "snap.hello.app"); x.PerUser.Action != "join" {
		t.Errorf("a preserved layer: %+v", x.PerUser)
	}
	refresh(t, "core", "2")
	if x = snapNSExplain(t, userUID, "snap.hello.app"); x.Verdict != "rebuild" || x.Namespace.Stale != "should" {
		t.Errorf("after a refresh: %+v", x.Namespace)
	}
	ensureBase(t, "core18", "1")
	if x = snapNSExplain(t, 0, "--base", "core18", "snap.hello.app"); x.Verdict != "rebuild" || x.Namespace.Stale != "must" {
		t.Errorf("a change of base: %+v", x.Namespace)
	}
	if x = snapNSExplain(t, 0, "--classic", "snap.hello.app"); x.Verdict != "classic" || x.Namespace.Action != "none" {
		t.Errorf("classic: %+v", x.Namespace)
	}

	// The legacy format, restricted: one program, no global.bin.
	if err := installProfile("snap.hello.old", "deny-getpid.bin"); err != nil {
		t.Fatal(err)
	}
	if x = snapNSExplain(t, 0, "snap.hello.old"); x.Seccomp.Format != "bin" || x.Seccomp.Programs != 1 || !x.Seccomp.Usable {
		t.Errorf("a .bin profile: %+v", x.Seccomp)
	}
	// A profile someone else could have written is refused, in the
	// launcher's words.
	if err := installProfile("snap.hello.bad", "deny-uname.bin2"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(seccompDir+"/snap.hello.bad.bin2", 0o666); err != nil {
		t.Fatal(err)
	}
	x = snapNSExplain(t, userUID, "snap.hello.bad")
	line := launch{tag: "snap.hello.bad", uid: userUID, noProfile: true}.mustFail(t)
	if x.Verdict != "refused" || x.Seccomp.Usable || len(x.Refusals) != 1 || x.Refusals[0] != line {
		t.Errorf("explain: %s %q; the launcher: %q", x.Verdict, x.Refusals, line)
	}
	text := snapNSRun(t, userUID, "explain", "snap.hello.app")
	if first := strings.SplitN(text, "\n", 2)[0]; !strings.HasSuffix(first, ": rebuild") || !strings.Contains(text, "steps:\n  1. ") {
		t.Errorf("text explanation:\n%s", text)
	}
}

// baseIsRoot: core revision 1 is the root of the mount table.
// baseIsRoot reports whether the mount table is that of a snap root built
// on core revision 1: a tmpfs "/" with the base's /usr bound on it.
func baseIsRoot(t *testing.T, mounts []nsview.Mount) bool {
	t.Helper()
	root, usr := false, false
	for _, m := range mounts {
		root = root || m.MountPoint == "/" && m.FSType == "tmpfs"
		usr = usr || m.MountPoint == "/usr" && m.Device == devOf(t, "/snap/core/1") && m.Root == "/usr"
	}
	return root && usr
}

// show reads the mount table through a process in the namespace (as root
// without one, from inside it, entered on a throwaway thread); a
// namespace made by snapd's snap-confine (an info file with the base alone)
// is judged through one too, as the launcher would inspect it.
func TestSnapNsShowReadsTheNamespaceThroughAProcessInIt(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	var sh nsview.Shown
	if err := json.Unmarshal([]byte(snapNSRun(t, 0, "show", "--json", "hello")), &sh); err != nil {
		t.Fatal(err)
	}
	// No process in it: root enters it on a throwaway thread; a user is
	// told what would help.
	if sh.PID != 0 || !sh.Entered || sh.Problem != "" || !baseIsRoot(t, sh.Mounts) || sh.ID != listedID(t, "/run/snapd/ns/hello.mnt") {
		t.Errorf("root, no process in it: %+v", sh)
	}
	if text := snapNSRun(t, 0, "show", "hello"); !strings.Contains(text, "read from inside it") || !strings.Contains(text, "MOUNT POINT") {
		t.Errorf("root's text, no process in it:\n%s", text)
	}
	var ush nsview.Shown
	out, status := snapNSRunStatus(t, userUID, "show", "--json", "hello")
	if err := json.Unmarshal([]byte(out), &ush); err != nil {
		t.Fatal(err)
	}
	if status != 1 {
		t.Errorf("a user's show without a mount table exits %d, not 1", status)
	}
	if ush.PID != 0 || ush.Entered || !strings.Contains(ush.Problem, "root") || len(ush.Mounts) != 0 {
		t.Errorf("a user, no process in it: %+v", ush)
	}
	if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := listed(t, snapNSList(t, 0), "hello.mnt"); n.MadeBy != "snap-confine" || n.Stale != "unknown" || n.NextLaunch != "inspect" {
		t.Errorf("snap-confine's namespace without a process: %+v", n)
	}
	cmd := launch{args: []string{"sleep", "60"}}.command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		sh = nsview.Shown{}
		if err := json.Unmarshal([]byte(snapNSRun(t, 0, "show", "--json", "hello")), &sh); err != nil {
			t.Fatal(err)
		}
		if sh.PID != 0 || time.Now().After(deadline) {
			break
		}
	}
	if sh.PID == 0 || sh.Entered || sh.ID != listedID(t, "/run/snapd/ns/hello.mnt") {
		t.Fatalf("no mount table through the app: %+v", sh)
	}
	if !baseIsRoot(t, sh.Mounts) {
		t.Errorf("the base is not the namespace's root: %+v", sh.Mounts)
	}
	n := listed(t, snapNSList(t, 0), "hello.mnt")
	if n.Stale != "keep" || n.NextLaunch != "join" || !strings.Contains(n.Reason, "(inspected) through pid") {
		t.Errorf("snap-confine's namespace inspected through its process: %+v", n)
	}
	text := snapNSRun(t, 0, "show", "hello")
	if !strings.Contains(text, "MOUNT POINT") || !strings.Contains(text, "PROPAGATION") {
		t.Errorf("text table:\n%s", text)
	}
}

// explain gives the device-cgroup decision the launcher makes, from the
// same files: the base's mode, the tagged devices with a current tag,
// snapd's settings (self-managed; missing: wait; malformed: refused, in
// the launcher's words) and a container.
func TestSnapNsExplainSaysTheDeviceCgroupDecision(t *testing.T) {
	scope := deviceWorld(t)
	if err := installProfile("snap.hello.app", "unrestricted.bin2"); err != nil {
		t.Fatal(err)
	}
	if err := writeDeviceSettings("hello", "self-managed=false\nnon-strict=false\n", true); err != nil {
		t.Fatal(err)
	}
	x := snapNSExplain(t, userUID, "--base", "core24", "snap.hello.app")
	d := x.Devices
	if d.Action != "attach" || d.Mode != "required" || d.Settings != "read" || len(d.Tagged) != 0 || d.UdevTag != "snap_hello_app" || x.Verdict == "refused" {
		t.Errorf("core24, nothing tagged: %s %+v", x.Verdict, d)
	}
	if d = snapNSExplain(t, userUID, "snap.hello.app").Devices; d.Action != "none" || d.Mode != "optional" || !strings.Contains(d.Reason, "no devices are tagged") {
		t.Errorf("core, nothing tagged: %+v", d)
	}
	tagDevice(t, true)
	if d = snapNSExplain(t, userUID, "snap.hello.app").Devices; d.Action != "attach" || d.Mode != "optional" || len(d.Tagged) != 1 || d.Tagged[0] != "b 7:250" {
		t.Errorf("core, the loop node tagged: %+v", d)
	}
	// What snap-ns said is what the launcher does.
	if null, loop := opens(t, launch{uid: userUID, cgroup: scope}); null != "ok" || loop != "ok" || attachedPrograms(t, scope) == 0 {
		t.Errorf("the launcher: /dev/null %q, loop node %q, %d programs attached", null, loop, attachedPrograms(t, scope))
	}
	tagDevice(t, false)
	if d = snapNSExplain(t, userUID, "snap.hello.app").Devices; d.Action != "none" || len(d.Tagged) != 0 || len(d.Skipped) != 1 || !strings.Contains(d.Skipped[0], "no matching current tag") {
		t.Errorf("core, the tag no longer current: %+v", d)
	}
	if err := writeDeviceSettings("hello", "self-managed=true\n", true); err != nil {
		t.Fatal(err)
	}
	if d = snapNSExplain(t, userUID, "--base", "core24", "snap.hello.app").Devices; d.Action != "none" || !d.SelfManaged || d.Mode != "none" {
		t.Errorf("self-managed: %+v", d)
	}
	if err := writeDeviceSettings("hello", "self-managed=true", true); err != nil {
		t.Fatal(err)
	}
	x = snapNSExplain(t, userUID, "--base", "core24", "snap.hello.app")
	line := launch{flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope, noDevice: true}.mustFail(t)
	if x.Verdict != "refused" || x.Devices.Action != "refused" || len(x.Refusals) != 1 || x.Refusals[0] != line {
		t.Errorf("malformed settings: explain %s %q; the launcher: %q", x.Verdict, x.Refusals, line)
	}
	os.Remove("/var/lib/snapd/cgroup/snap.hello.device")
	if x = snapNSExplain(t, userUID, "snap.hello.app"); x.Verdict != "refused" || x.Devices.Action != "wait" || x.Devices.Settings != "missing" {
		t.Errorf("no settings file: %s %+v", x.Verdict, x.Devices)
	}
	if err := os.MkdirAll("/run/systemd", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/run/systemd/container", []byte("lxc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/run/systemd/container")
	if x = snapNSExplain(t, userUID, "--base", "core24", "snap.hello.app"); x.Verdict == "refused" || x.Devices.Action != "none" || !x.Devices.InContainer {
		t.Errorf("in a container: %s %+v", x.Verdict, x.Devices)
	}
	text := snapNSRun(t, userUID, "explain", "--base", "core24", "snap.hello.app")
	if !strings.Contains(text, "device cgroup") || !strings.Contains(text, "container") {
		t.Errorf("text explanation:\n%s", text)
	}
}
