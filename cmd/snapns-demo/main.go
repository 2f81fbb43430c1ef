// SPDX-License-Identifier: GPL-3.0-only

// Command snapns-demo shows the system working end to end without snapd: it
// builds the sandbox world of tests/sandbox (a new mount and PID namespace
// on a tmpfs root; the host is not touched), installs the launcher as a
// setuid-root snap-confine in it, and launches an app of a demo snap twice as
// an unprivileged user, printing what happened each time; it ends with
// what snap-ns (the operator's view) says of the namespaces left behind.
//
// It needs root (to build the sandbox) and the binaries of `make build`; run
// it as `make demo`.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/probe/report"

	"github.com/snapns/snapns/tests/sandbox"
)

// The embedded default: snap "hello", its app "hello", base "core", run by
// uid 1000. Flags change them.
var (
	instance = flag.String("snap", "hello", "snap instance name of the demo snap")
	app      = flag.String("app", "hello", "app name of the demo snap")
	uid      = flag.Int("uid", 1000, "unprivileged uid that launches the app")
)

const appPath = "/snap/demo/app" // the demo app inside the sandbox

func main() {
	flag.Parse()
	if sandbox.Inside() {
		runtime.LockOSThread() // see sandbox.Enter
		if err := inside(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot run the demo: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "cannot run the demo: it needs root to build its sandbox (namespaces, mounts, a setuid launcher)")
		os.Exit(1)
	}
	staging, err := os.MkdirTemp("", "snapns-demo-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot run the demo: %v\n", err)
		os.Exit(1)
	}
	if err := compileProfile(staging); err != nil {
		fmt.Fprintf(os.Stderr, "cannot run the demo: %v\n", err)
		os.RemoveAll(staging)
		os.Exit(1)
	}
	status, err := sandbox.Reexec(staging, os.Args[1:], os.Stdout, os.Stderr)
	os.RemoveAll(staging)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot run the demo: %v\n", err)
		os.Exit(1)
	}
	os.Exit(status)
}

// demoProfile is the demo app's seccomp profile, in snapd's source format:
// everything but uname(2) (so the demo can show the filter at work).
const demoProfile = "# the demo app may do anything but uname\n@complain\n~uname\n"

// compileProfile compiles demoProfile with bin/snap-seccomp, as snapd would
// with its own, before the sandbox is built.
func compileProfile(staging string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src := filepath.Join(staging, "profile.src")
	if err := os.WriteFile(src, []byte(demoProfile), 0o644); err != nil {
		return err
	}
	out, err := exec.Command(filepath.Join(filepath.Dir(self), "snap-seccomp"), "compile", src, filepath.Join(staging, "profile.bin2")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cannot compile the demo's seccomp profile (run make build first): %v: %s", err, out)
	}
	return nil
}

func inside() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Dir(self)
	files := []sandbox.File{
		{Src: filepath.Join(bin, "snap-confine"), Dst: "/usr/lib/snapd/snap-confine", Mode: 0o755 | os.ModeSetuid},
		{Src: filepath.Join(bin, "snap-ns"), Dst: "/usr/lib/snapd/snap-ns", Mode: 0o755},
		{Src: filepath.Join(bin, "probe"), Dst: appPath, Mode: 0o755},
		{Src: filepath.Join(os.Getenv("SNAPNS_SANDBOX_STAGING"), "profile.bin2"), Dst: "/var/lib/snapd/seccomp/bpf/snap." + *instance + "." + *app + ".bin2", Mode: 0o644},
	}
	for _, f := range files {
		if _, err := os.Stat(f.Src); err != nil {
			return fmt.Errorf("%v (run `make build` first)", err)
		}
	}
	if err := sandbox.Enter(files); err != nil {
		return err
	}
	if err := sandbox.MakeBase(sandbox.Base{Name: "core", Revision: "1", Current: true}); err != nil {
		return fmt.Errorf("cannot make the demo base snap: %w", err)
	}
	// The user's per-user layer is preserved too, so that both launches
	// show the same namespace: the snap's, with the user's layer on top.
	if err := os.MkdirAll("/var/lib/snapd/features", 0o755); err != nil {
		return err
	}
	if err := os.WriteFile("/var/lib/snapd/features/per-user-mount-namespace", nil, 0o644); err != nil {
		return err
	}
	// snapd's device cgroup settings, written for every snap (the
	// launcher waits for them): base core, nothing tagged, no device
	// cgroup.
	if err := os.MkdirAll("/var/lib/snapd/cgroup", 0o755); err != nil {
		return err
	}
	if err := os.WriteFile("/var/lib/snapd/cgroup/snap."+*instance+".device", []byte("self-managed=false\nnon-strict=false\n"), 0o644); err != nil {
		return err
	}
	tag := "snap." + *instance + "." + *app
	fmt.Printf("snapns demo: sandbox world ready (own mount and PID namespace, tmpfs root; the host is untouched)\n")
	fmt.Printf("  base snap core revision 1: a squashfs image on a loop device at /snap/core/1 (/snap/core/current -> 1)\n")
	fmt.Printf("  snap %q, app %q, launched by uid %d through /usr/lib/snapd/snap-confine (setuid root)\n", *instance, *app, *uid)
	fmt.Printf("  per-user mount namespaces are preserved (feature flag on): uid %d's app runs in its layer on top of the snap's namespace\n\n", *uid)
	var ids []uint64
	for i := 1; i <= 2; i++ {
		fmt.Printf("launch %d: SNAP_INSTANCE_NAME=%s snap-confine %s %s ...\n", i, *instance, tag, appPath)
		r, log, err := launchOnce(tag, i)
		for _, line := range log {
			fmt.Printf("  %s\n", line)
		}
		if err != nil {
			return fmt.Errorf("launch %d: %w", i, err)
		}
		fmt.Printf("  app: uid %d/%d/%d, groups %v, capabilities eff=%s prm=%s, mount namespace %s (id %d), cwd %s\n",
			r.UIDs[0], r.UIDs[1], r.UIDs[2], r.Groups, r.Caps["CapEff"], r.Caps["CapPrm"], r.MountNS, r.MountNSID, r.Cwd)
		fmt.Printf("  app's /: %q from /base-marker, root device %s (the base's: %s)\n",
			strings.TrimSpace(r.Read["/base-marker"]), devOf(r.Stat["/"]), hostDev("/snap/core/1"))
		fmt.Printf("  app's seccomp: mode %s, %s filter(s); its profile denies uname: %v\n\n",
			r.Status["Seccomp"], r.Status["Seccomp_filters"], r.Errors)
		ids = append(ids, r.MountNSID)
	}
	same := "yes"
	if ids[0] != ids[1] {
		same = "NO"
	}
	fmt.Printf("same mount namespace both times: %s (id %d, then %d)\n\n", same, ids[0], ids[1])
	listNSDir()
	fmt.Printf("\nthe app's private /tmp is kept on the host side at /tmp/snap-private-tmp/snap.%s/tmp:\n", *instance)
	entries, _ := os.ReadDir("/tmp/snap-private-tmp/snap." + *instance + "/tmp")
	for _, e := range entries {
		fmt.Printf("  %s\n", e.Name())
	}
	if same != "yes" {
		return fmt.Errorf("the second launch did not join the first launch's namespace")
	}
	// The operator's view of the same state, as uid 1000 sees it.
	for _, args := range [][]string{{"list"}, {"explain", tag}} {
		fmt.Printf("\n$ snap-ns %s    (as uid %d)\n", strings.Join(args, " "), *uid)
		if err := snapNS(args...); err != nil {
			return err
		}
	}
	return nil
}

// snapNS runs the installed snap-ns as the demo user, onto the demo's
// output.
func snapNS(args ...string) error {
	cmd := exec.Command("/usr/lib/snapd/snap-ns", args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "NO_COLOR=1"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(*uid), Gid: uint32(*uid), Groups: []uint32{uint32(*uid)}}}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot run snap-ns %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// launchOnce runs the demo app through snap-confine as the demo user and
// returns its report and the interesting lines of the debug log.
func launchOnce(tag string, n int) (*report.Report, []string, error) {
	cmd := exec.Command("/usr/lib/snapd/snap-confine", tag, appPath, "write", fmt.Sprintf("/tmp/launch-%d", n), "hello",
		"read", "/base-marker", "stat", "/", "uname")
	cmd.Env = []string{"SNAP_INSTANCE_NAME=" + *instance, "SNAPD_DEBUG=1", "HOME=/home/demo", "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(*uid), Gid: uint32(*uid), Groups: []uint32{uint32(*uid)}}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var log []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "DEBUG: ") {
			log = append(log, line) // an error or a helper's own words
			continue
		}
		for _, key := range []string{"command line:", "base snap", "host is", "created", "pivoted", "preserved", "joined", "capture retry", "mounted", "staleness"} {
			if strings.Contains(line, key) {
				log = append(log, strings.TrimPrefix(line, "DEBUG: "))
				break
			}
		}
	}
	if err != nil {
		return nil, log, err
	}
	var r report.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, log, err
	}
	return &r, log, nil
}

func listNSDir() {
	fmt.Println("files under /run/snapd/ns:")
	entries, _ := os.ReadDir("/run/snapd/ns")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		path := "/run/snapd/ns/" + name
		var sfs unix.Statfs_t
		unix.Statfs(path, &sfs)
		switch {
		case sfs.Type == unix.NSFS_MAGIC:
			f, _ := os.Open(path)
			id, _ := unix.IoctlGetUint64(int(f.Fd()), unix.NS_GET_MNTNS_ID)
			f.Close()
			fmt.Printf("  %-24s preserved mount namespace (nsfs), id %d\n", name, id)
		default:
			data, _ := os.ReadFile(path)
			fmt.Printf("  %-24s %q\n", name, data)
		}
	}
}

// devOf takes MAJOR:MINOR from the probe's MAJOR:MINOR:INODE.
func devOf(stat string) string {
	parts := strings.Split(stat, ":")
	if len(parts) < 2 {
		return stat
	}
	return parts[0] + ":" + parts[1]
}

func hostDev(path string) string {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
}
