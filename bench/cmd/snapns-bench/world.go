// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

// world is what inside() learnt while building the sandbox, for the notes.
type world struct {
	snapdVersion string
	updateNS     string
	cpu          int
	loadBefore   string
}

// loadavg is /proc/loadavg's first three fields: how busy the machine was.
func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// inside builds the world as pid 1 of the sandbox, runs every phase and
// prints the table and the notes.
func inside() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Dir(self)
	staging := os.Getenv("SNAPNS_SANDBOX_STAGING")
	tree := os.Getenv(snapdEnv)
	pkg := filepath.Join(tree, "usr/lib/snapd")
	w := world{snapdVersion: sandbox.SnapdVersion(tree)}
	updateSrc := filepath.Join(pkg, "snap-update-ns")
	switch *updateNS {
	case "snapd":
		w.updateNS = "snapd " + w.snapdVersion + "'s snap-update-ns, for both tools"
	case "fake":
		updateSrc = filepath.Join(bin, "fakeupdatens")
		w.updateNS = "the test world's stand-in (tests/fakeupdatens), for both tools"
	default:
		return fmt.Errorf("unknown -update-ns %q (snapd or fake)", *updateNS)
	}
	files := []sandbox.File{
		{Src: filepath.Join(bin, "snap-confine"), Dst: oursDir + "/snap-confine", Mode: 0o755 | os.ModeSetuid},
		{Src: filepath.Join(bin, "snap-discard-ns"), Dst: oursDir + "/snap-discard-ns", Mode: 0o755},
		{Src: updateSrc, Dst: oursDir + "/snap-update-ns", Mode: 0o755},
		{Src: filepath.Join(pkg, "snap-confine"), Dst: refDir + "/snap-confine", Mode: 0o755 | os.ModeSetuid},
		{Src: filepath.Join(pkg, "snap-discard-ns"), Dst: refDir + "/snap-discard-ns", Mode: 0o755},
		{Src: updateSrc, Dst: refDir + "/snap-update-ns", Mode: 0o755},
		{Src: filepath.Join(pkg, "info"), Dst: refDir + "/info", Mode: 0o644},
		{Src: filepath.Join(staging, "true"), Dst: trueBin, Mode: 0o755},
		{Src: filepath.Join(staging, "mntns"), Dst: mntnsBin, Mode: 0o755},
		{Src: filepath.Join(bin, "gonsenter"), Dst: goNsenterBin, Mode: 0o755},
	}
	for _, f := range files {
		if _, err := os.Stat(f.Src); err != nil {
			return fmt.Errorf("%v (run `make bench`, which builds everything first)", err)
		}
	}
	if err := sandbox.Enter(files); err != nil {
		return err
	}
	// Two revisions of the base, each on its own loop device: a base
	// refresh is /snap/core/current moving between them.
	for _, rev := range []string{"1", "2"} {
		if err := sandbox.MakeBase(sandbox.Base{Name: "core", Revision: rev, Current: rev == "1"}); err != nil {
			return fmt.Errorf("cannot make the core base snap: %w", err)
		}
	}
	// A cgroup v2 hierarchy of the sandbox's own (the host's may be v1,
	// where snapd's snap-confine would join host freezer cgroups): both
	// tools look for the snap's processes in its tracking cgroups.
	cleanup, err := sandbox.EnterCgroupV2()
	if err != nil {
		return fmt.Errorf("cannot give the sandbox a cgroup v2 hierarchy: %w", err)
	}
	defer cleanup()
	for _, t := range []tool{snapns, snapd} {
		if err := profile(t.snap); err != nil {
			return err
		}
	}
	// snapd 2.57's snap-confine captures a new namespace from a helper
	// that stays in pid 1's namespace; on Linux 6.18 that bind mount needs
	// the new namespace's id to exceed pid 1's, so it must run on the CPU
	// handing out the highest ids. Ours is pinned the same way, for
	// fairness (it would otherwise retry on another CPU by itself).
	if w.cpu, err = sandbox.HighestNamespaceCPU(); err != nil || w.cpu < 0 {
		return fmt.Errorf("cannot find the CPU with the highest mount namespace ids: %v", err)
	}
	var one unix.CPUSet
	one.Set(w.cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return fmt.Errorf("cannot pin the bench to CPU %d: %w", w.cpu, err)
	}
	b := &bench{res: newResults()}
	if b.null, err = os.OpenFile("/dev/null", os.O_WRONLY, 0); err != nil {
		return err
	}
	if b.errLog, err = os.CreateTemp("/var/tmp", "launch-stderr-"); err != nil {
		return err
	}
	defer os.Remove(b.errLog.Name())
	w.loadBefore = loadavg()
	fmt.Printf("snapns-bench: snapns's snap-confine (%s) vs snapd %s's snap-confine (%s), %d rounds, pinned to CPU %d\n",
		oursDir, w.snapdVersion, refDir, *rounds, w.cpu)
	for _, phase := range []struct {
		name string
		fn   func(*bench) error
	}{
		{"hot, cold, refresh, discard, classic and floors", phaseMain},
		{"preserved per-user layers", phasePerUser},
		{"concurrent cold launches", phaseConcurrent},
		{"crowded /run/snapd/ns", phaseCrowded},
		{"parallel-instances CPU time", phaseParallelCPU},
	} {
		fmt.Fprintf(os.Stderr, "snapns-bench: %s...\n", phase.name)
		if err := phase.fn(b); err != nil {
			return fmt.Errorf("%s: %w", phase.name, err)
		}
	}
	fmt.Println()
	b.res.print(os.Stdout, rowNsenter, rowGoNsenter)
	fmt.Println()
	return notes(b, w)
}

// profile installs the security tag's seccomp profile as snapd 2.57 writes
// it for an unconfined app: <tag>.bin holding "@unrestricted\n", which both
// tools read as "load no filter".
func profile(snap string) error {
	dir := "/var/lib/snapd/seccomp/bpf"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "snap."+snap+".app.bin"), []byte("@unrestricted\n"), 0o644); err != nil {
		return err
	}
	// snapd's device cgroup settings, which snapd writes for every snap
	// and snapns's launcher waits for (base core: no device cgroup).
	if err := os.MkdirAll("/var/lib/snapd/cgroup", 0o755); err != nil {
		return err
	}
	if err := os.WriteFile("/var/lib/snapd/cgroup/snap."+snap+".device", []byte("self-managed=false\nnon-strict=false\n"), 0o644); err != nil {
		return err
	}
	// The snap's cookie, which snapd writes for every snap at install and
	// both tools hand to the app as SNAP_COOKIE.
	if err := os.MkdirAll("/var/lib/snapd/cookie", 0o700); err != nil {
		return err
	}
	return os.WriteFile("/var/lib/snapd/cookie/snap."+snap, []byte("bench-cookie-"+snap), 0o600)
}

// notes prints how the run was made, and GODEBUG=inittrace=1 of our
// launcher for one hot launch as uid 1000.
func notes(b *bench, w world) error {
	var uname unix.Utsname
	unix.Uname(&uname)
	fmt.Println("notes:")
	fmt.Printf("  times in milliseconds, from fork to the app's exit as seen by the bench (Go os/exec); n samples per tool\n")
	fmt.Printf("  kernel %s; every launch pinned to CPU %d (both tools: snapd 2.57 cannot capture otherwise on 6.18)\n",
		unix.ByteSliceToString(uname.Release[:]), w.cpu)
	fmt.Printf("  snap-confine: Debian's snapd %s, setuid root in %s; snap-update-ns: %s\n", w.snapdVersion, refDir, w.updateNS)
	fmt.Printf("  load average %s before, %s after (%d CPUs online): other work on the machine shows as spread\n",
		w.loadBefore, loadavg(), runtime.NumCPU())
	fmt.Printf("  app: a static %d-byte exit_group(0) ELF (%s); base: core, a squashfs on a loop device; seccomp: @unrestricted .bin\n",
		len(trueApp()), trueBin)
	crowded := fmt.Sprintf(rowCrowded, *others)
	fmt.Printf("  crowding (%q over %q, medians of the same rounds): snapns %s, snap-confine %s\n",
		crowded, rowUncrowded, b.res.ratio(crowded, rowUncrowded, ours), b.res.ratio(crowded, rowUncrowded, theirs))
	parallel := fmt.Sprintf(rowParallelCPU, *parOthers)
	fmt.Printf("  parallel-instances on, CPU time (user+sys from wait4) of the hot root launch, %q over %q (medians of the same rounds): snapns %s, snap-confine %s\n",
		parallel, rowParallelNone, b.res.ratio(parallel, rowParallelNone, ours), b.res.ratio(parallel, rowParallelNone, theirs))
	fmt.Printf("  inittrace: the launcher's package initialiser executes it again without GODEBUG first (SECURITY.md §6):\n")
	fmt.Printf("  the trace is of the first image, up to that initialiser; the second image is not traced\n")
	fmt.Println()
	// The launcher with snapd's argv, as snap run calls it.
	const what = "snapns's snap-confine, hot launch as uid 1000, GODEBUG=inittrace=1"
	cmd := exec.Command(oursDir+"/snap-confine", snapns.tag(), trueBin)
	cmd.Env = append(launchEnv(snapns.snap), "GODEBUG=inittrace=1")
	asUser(cmd, userUID)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", what, err, stderr.String())
	}
	fmt.Printf("%s:\n", what)
	for _, line := range strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n") {
		fmt.Printf("  %s\n", line)
	}
	if err := syscallCounts(); err != nil {
		return err
	}
	return coldTimeline()
}

// mountTableCalls are the syscalls that change mounts or namespaces.
var mountTableCalls = []string{"mount", "umount2", "open_tree", "move_mount", "mount_setattr", "pivot_root", "fsopen", "fsmount", "fsconfig", "setns", "unshare"}

// syscallCounts prints what `strace -f -c` counts for one cold and one hot
// launch of each tool as root: every syscall, those that change mounts or
// namespaces, and capset.
func syscallCounts() error {
	fmt.Println("\nsyscalls of one launch as root, strace -f -c (snapns / snap-confine):")
	for _, path := range []string{"cold", "hot"} {
		var cols []string
		for _, t := range []tool{snapns, snapd} {
			if path == "cold" {
				if err := t.discard().Run(); err != nil {
					return fmt.Errorf("%s: cannot discard: %w", t.name, err)
				}
			}
			out, err := os.CreateTemp("", "strace-")
			if err != nil {
				return err
			}
			out.Close()
			defer os.Remove(out.Name())
			launch := t.launch(how{})
			cmd := exec.Command("strace", append([]string{"-f", "-c", "-o", out.Name()}, launch.Args...)...)
			cmd.Env, cmd.Dir = launch.Env, launch.Dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s under strace: %v: %s", t.name, err, msg)
			}
			data, err := os.ReadFile(out.Name())
			if err != nil {
				return err
			}
			total, mounts, capsets := 0, 0, 0
			var which []string
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) < 5 {
					continue
				}
				name := f[len(f)-1]
				calls, err := strconv.Atoi(f[3])
				if err != nil {
					continue
				}
				switch {
				case name == "total":
					total = calls
				case name == "capset":
					capsets = calls
				case slices.Contains(mountTableCalls, name):
					mounts += calls
					which = append(which, fmt.Sprintf("%s %d", name, calls))
				}
			}
			slices.Sort(which)
			cols = append(cols, fmt.Sprintf("%d calls, %d capset, %d to mounts and namespaces (%s)", total, capsets, mounts, strings.Join(which, ", ")))
		}
		fmt.Printf("  %s: snapns %s\n  %s  snap-confine %s\n", path, cols[0], strings.Repeat(" ", len(path)), cols[1])
	}
	return nil
}
