// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/tests/kernelsim"
	"github.com/snapns/snapns/tests/sandbox"
)

// The launcher on kernels older than this one (Linux 5.4 to 6.7), for
// real, on this kernel: tests/kernelsim makes the kernel answer our
// binaries as an older one would (a seccomp filter sends the syscalls
// that tell them apart to a supervisor, which answers ENOSYS, ENOTTY,
// EINVAL or EPERM, or emulates 5.4's statx), so the very binaries that
// ship take their fallbacks. Only the processes whose executable is one
// of ours (below /usr/lib/snapd*) see the older kernel; the harness and
// the probe app, which check what the launcher did, see the real one.
//
// Two ways:
//
//   - a launch with sim set runs under a wrapper (this test binary as
//     the helper "kernelsim-launch") that installs the filter, serves it,
//     and starts the launch with the caller's credentials;
//   - SNAPNS_E2E_KERNEL=<features> (or "all") runs the whole suite so:
//     the harness installs the filter on all its threads and a supervisor
//     process serves it (make test-fallbacks runs the relevant tests once
//     per feature this way).

// kernelEnv names the features the whole run simulates.
const kernelEnv = "SNAPNS_E2E_KERNEL"

// simulateLaunches, when set, makes every launch without sim of its own
// run on a kernel without these features.
var simulateLaunches []kernelsim.Feature

// ours tells whether a process runs one of our binaries: the ones that see
// the simulated kernel.
func ours(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && strings.HasPrefix(exe, "/usr/lib/snapd")
}

// simulateKernel runs the launch cmd on a kernel without fs, through the
// kernelsim-launch helper, which gets cmd's credentials to start it with.
func simulateKernel(cmd *exec.Cmd, fs []kernelsim.Feature) *exec.Cmd {
	w := exec.Command("/proc/self/exe", cmd.Args...)
	w.Env = append(append([]string{}, cmd.Env...), helperEnv+"=kernelsim-launch", "SNAPNS_KERNELSIM_FEATURES="+kernelsim.Join(fs), "SNAPNS_KERNELSIM_PATH="+cmd.Path, "SNAPNS_KERNELSIM_FILES="+strconv.Itoa(len(cmd.ExtraFiles)))
	w.Dir, w.ExtraFiles = cmd.Dir, cmd.ExtraFiles
	w.Stdin, w.Stdout, w.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	if sys := cmd.SysProcAttr; sys != nil {
		if c := sys.Credential; c != nil {
			var groups []string
			for _, g := range c.Groups {
				groups = append(groups, strconv.Itoa(int(g)))
			}
			w.Env = append(w.Env, fmt.Sprintf("SNAPNS_KERNELSIM_CRED=%d:%d:%s", c.Uid, c.Gid, strings.Join(groups, ",")))
		}
		w.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: sys.UseCgroupFD, CgroupFD: sys.CgroupFD}
	}
	return w
}

// runKernelSimLaunch is the kernelsim-launch helper: as root, install the
// filter on this locked thread, start the program from it (the filter and,
// for MountNSID, the CPU pin are inherited) with the caller's credentials
// and environment, serve the filter until it exits, exit as it did.
func runKernelSimLaunch(args []string) int {
	runtime.LockOSThread()
	fs, err := kernelsim.Parse(os.Getenv("SNAPNS_KERNELSIM_FEATURES"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 103
	}
	cmd := &exec.Cmd{Path: os.Getenv("SNAPNS_KERNELSIM_PATH"), Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	nfiles, _ := strconv.Atoi(os.Getenv("SNAPNS_KERNELSIM_FILES"))
	for i := 0; i < nfiles; i++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(3+i), "inherited"))
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SNAPNS_KERNELSIM_") && !strings.HasPrefix(kv, helperEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if cred := os.Getenv("SNAPNS_KERNELSIM_CRED"); cred != "" {
		var c syscall.Credential
		parts := strings.SplitN(cred, ":", 3)
		uid, _ := strconv.Atoi(parts[0])
		gid, _ := strconv.Atoi(parts[1])
		c.Uid, c.Gid = uint32(uid), uint32(gid)
		for _, g := range strings.Split(parts[2], ",") {
			if n, err := strconv.Atoi(g); err == nil {
				c.Groups = append(c.Groups, uint32(n))
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &c}
	}
	if err := prepareSimulation(fs, false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 104
	}
	listener, err := kernelsim.Install(fs, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 105
	}
	sup := &kernelsim.Supervisor{Features: fs, Exempt: func(pid int) bool { return !ours(pid) }}
	if os.Getenv("SNAPNS_KERNELSIM_LOG") == "1" {
		sup.Log = func(s string) { fmt.Fprintln(os.Stderr, "kernelsim: "+s) }
	}
	go sup.Serve(listener)
	if !kernelsim.Effective() {
		fmt.Fprintln(os.Stderr, "cannot simulate an older kernel: the filter does not take effect")
		return 108
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 106
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 107
	}
	return 0
}

// prepareSimulation sets what an old kernel needs of the processes that
// run on it, on the calling thread, or on every thread of the process when
// allThreads:
//
//   - without namespace ids, the launcher cannot see the order Linux 6.18
//     gives them (per-CPU batches; a capture fails unless the new
//     namespace's id is above the caller's), which older kernels do not
//     have: it is pinned to the CPU that hands out the highest ids, whose
//     namespaces are all newer than the sandbox's, as on those kernels;
//   - where BPF objects are charged to RLIMIT_MEMLOCK, the soft limit is
//     Debian 11's 64 KiB (the hard one 1 MiB, which the launcher may raise
//     the soft one to without CAP_SYS_RESOURCE, which this machine's
//     bounding set lacks).
func prepareSimulation(fs []kernelsim.Feature, allThreads bool) error {
	if slices.Contains(fs, kernelsim.MountNSID) {
		cpu, err := sandbox.HighestNamespaceCPU()
		if err != nil {
			return err
		}
		if cpu >= 0 {
			var one unix.CPUSet
			one.Set(cpu)
			if !allThreads {
				if err := unix.SchedSetaffinity(0, &one); err != nil {
					return fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
				}
			}
			// Every thread, until a pass finds them all pinned: the
			// runtime may start one from an unpinned thread meanwhile.
			for pass := 0; allThreads; pass++ {
				if pass == 100 {
					return fmt.Errorf("cannot pin every thread to CPU %d", cpu)
				}
				tasks, err := os.ReadDir("/proc/self/task")
				if err != nil {
					return err
				}
				changed := false
				for _, task := range tasks {
					tid, _ := strconv.Atoi(task.Name())
					var cur unix.CPUSet
					if unix.SchedGetaffinity(tid, &cur) == nil && cur == one {
						continue
					}
					if err := unix.SchedSetaffinity(tid, &one); err != nil && err != unix.ESRCH {
						return fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
					}
					changed = true
				}
				if !changed {
					break
				}
			}
		}
	}
	if slices.Contains(fs, kernelsim.MemlockCharge) {
		lim := unix.Rlimit{Cur: 64 << 10, Max: 1 << 20}
		// SNAPNS_KERNELSIM_MEMLOCK=<soft>:<hard> sets another.
		fmt.Sscanf(os.Getenv("SNAPNS_KERNELSIM_MEMLOCK"), "%d:%d", &lim.Cur, &lim.Max)
		if err := unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &lim, nil); err != nil {
			return fmt.Errorf("cannot set RLIMIT_MEMLOCK: %w", err)
		}
	}
	return nil
}

// simulateWholeRun is called by TestMain inside the sandbox when
// SNAPNS_E2E_KERNEL is set: every thread of the harness gets the filter
// (and so does everything it starts), and a supervisor process, started
// before, serves it.
func simulateWholeRun() error {
	spec := os.Getenv(kernelEnv)
	if spec == "" {
		return nil
	}
	fs, err := kernelsim.Parse(spec)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	sup := exec.Command("/proc/self/exe")
	sup.Env = append(os.Environ(), helperEnv+"=kernelsim-supervisor")
	sup.Stdin, sup.Stdout, sup.Stderr = r, os.Stderr, os.Stderr
	if err := sup.Start(); err != nil {
		return err
	}
	r.Close()
	if err := prepareSimulation(fs, true); err != nil {
		return err
	}
	listener, err := kernelsim.Install(fs, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d\n", listener)
	w.Close()
	if !kernelsim.Effective() {
		return fmt.Errorf("the filter does not take effect")
	}
	fmt.Fprintf(os.Stderr, "*** every launch of this run sees a kernel without: %s ***\n", kernelsim.Describe(fs))
	return nil
}

// runKernelSimSupervisor is the kernelsim-supervisor helper: it takes the
// harness's listener (pid 1's descriptor, whose number comes on stdin) and
// serves it for the rest of the run.
func runKernelSimSupervisor() int {
	fs, err := kernelsim.Parse(os.Getenv(kernelEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 103
	}
	var fd int
	if _, err := fmt.Fscan(os.Stdin, &fd); err != nil {
		fmt.Fprintln(os.Stderr, "kernelsim supervisor:", err)
		return 104
	}
	pidfd, err := unix.PidfdOpen(os.Getppid(), 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernelsim supervisor:", err)
		return 105
	}
	listener, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernelsim supervisor:", err)
		return 106
	}
	unix.Close(pidfd)
	sup := &kernelsim.Supervisor{Features: fs, Exempt: func(pid int) bool { return !ours(pid) }}
	err = sup.Serve(listener)
	fmt.Fprintln(os.Stderr, "kernelsim supervisor:", err)
	return 0
}

// simulatedAnswers are what the supervisor logs (SNAPNS_KERNELSIM_LOG=1)
// when it answers the launcher as the older kernel: proof that the
// launcher met it.
var simulatedAnswers = map[kernelsim.Feature]string{
	kernelsim.MountAPI:       "the new mount API: function not implemented",
	kernelsim.Openat2:        "openat2: function not implemented",
	kernelsim.StatxMountRoot: "statx as Linux 5.4",
	kernelsim.MountNSID:      "NS_GET_MNTNS_ID: inappropriate ioctl for device",
	kernelsim.BPFPathFD:      "BPF_F_PATH_FD: invalid argument",
	kernelsim.MemlockCharge:  "is below 131072: operation not permitted",
}

// The kernels the dedicated tests below simulate: each fallback alone,
// then all of them (Linux 5.4, where each is missing).
var oldKernels = []struct {
	name     string
	features []kernelsim.Feature
}{
	{"no-mount-api", []kernelsim.Feature{kernelsim.MountAPI}},
	{"no-openat2", []kernelsim.Feature{kernelsim.Openat2}},
	{"no-statx-mount-root", []kernelsim.Feature{kernelsim.StatxMountRoot}},
	{"no-mntns-id", []kernelsim.Feature{kernelsim.MountNSID}},
	{"linux-5.4", kernelsim.All},
}

// appMounts is the app's mount table without what differs between two
// builds of the same namespace: mount ids, the devices of the instances
// each build mounts anew (the root's tmpfs, devpts, fake snap-update-ns's
// tmpfs on /mnt),
// and the order of mounts on different mount points (the order of those
// on one mount point, which stack, is kept).
func appMounts(lines []string) []string {
	var out []string
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		sep := slices.Index(f, "-")
		if sep < 0 || sep+3 > len(f) {
			continue
		}
		dev := f[2]
		if f[sep+1] == "devpts" || (f[4] == "/mnt" && f[3] == "/") || (f[4] == "/" && f[sep+1] == "tmpfs") {
			dev = "instance"
		}
		out = append(out, strings.Join(append([]string{f[4], f[3], dev, f[5]}, append(f[6:sep], f[sep+1:]...)...), " "))
	}
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Compare(strings.Fields(a)[0], strings.Fields(b)[0])
	})
	return out
}

// On each older kernel a snap's namespace is made, preserved and joined,
// with a per-user layer preserved and joined, in both installs; and the
// app's mount table is the one the new mount API builds, mount for mount,
// propagation (peer groups and masters) included.
func TestOldKernelsBuildTheSameNamespace(t *testing.T) {
	for _, k := range oldKernels {
		for _, in := range installs {
			t.Run(k.name+"/"+in.name, func(t *testing.T) {
				skipFdinfoOwnersOnly(t, in.caps, k.features)
				setup := func() {
					world(t)
					installUpdateNS(t)
					enablePerUser(t)
					if err := os.MkdirAll("/var/lib/snapd/cookie", 0o700); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile("/var/lib/snapd/cookie/snap.hello", []byte("cookie"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				setup()
				launch{caps: in.caps, uid: userUID}.mustRun(t)
				want := appMounts(launch{caps: in.caps}.mustRun(t).Mounts)
				setup()
				// A user's first launch builds the snap's namespace
				// and the user's layer; root's joins the former.
				res := launch{caps: in.caps, uid: userUID, sim: k.features, debug: true, env: []string{"SNAPNS_KERNELSIM_LOG=1"}}.run()
				if res.err != nil {
					t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
				}
				user := res.report
				created := launch{caps: in.caps, sim: k.features}.mustRun(t)
				for f, answer := range simulatedAnswers {
					if f == kernelsim.BPFPathFD || f == kernelsim.MemlockCharge {
						continue // no device cgroup here: TestOldKernelsConfineDevices
					}
					// A kernel older than the interface answers
					// itself, not the simulation.
					if slices.Contains(k.features, f) && !realKernelLacks()[f] && !strings.Contains(res.stderr, answer) {
						t.Errorf("the launcher never met the simulated kernel's %q:\n%s", answer, res.stderr)
					}
				}
				if slices.Contains(k.features, kernelsim.MountAPI) && !strings.Contains(res.stderr, "assembled with mount(2)") {
					t.Errorf("the bootstrap did not take the mount(2) path:\n%s", res.stderr)
				}
				if !slices.Contains(user.Env, "SNAP_COOKIE=cookie") {
					t.Error("the app got no snap cookie")
				}
				if created.MountNSID == 0 || created.MountNSID != nsID(t, "/run/snapd/ns/hello.mnt") {
					t.Fatalf("root's app is not in the preserved namespace (%d)", created.MountNSID)
				}
				got := appMounts(created.Mounts)
				if !slices.Equal(got, want) {
					t.Errorf("the app's mounts differ from the new mount API's:\nwant:\n  %s\ngot:\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
				}
				data, err := os.ReadFile("/run/snapd/ns/snap.hello.info")
				if err != nil {
					t.Fatal(err)
				}
				key := "mount-ns-id="
				if slices.Contains(k.features, kernelsim.MountNSID) || kernelLacks(kernelsim.MountNSID) {
					key = "mount-ns-inode="
				}
				if !strings.Contains(string(data), key) {
					t.Errorf("the info file records no %s:\n%s", key, data)
				}
				again := launch{caps: in.caps, sim: k.features, uid: userUID}.mustRun(t)
				if user.MountNSID == created.MountNSID || again.MountNSID != user.MountNSID || nsID(t, "/run/snapd/ns/hello.1000.mnt") != user.MountNSID {
					t.Fatalf("the per-user layer was not kept: snap %d, layer %d, then %d", created.MountNSID, user.MountNSID, again.MountNSID)
				}
			})
		}
	}
}

// On kernels before 6.5 (no BPF_F_PATH_FD) and before 5.11 (BPF objects
// charged to RLIMIT_MEMLOCK, Debian 11's soft limit of 64 KiB) a core24
// app gets its device cgroup, in both installs: the map pinned and then
// opened by its /proc/self/fd path, root's 0600 in the root-only
// directory, the limit raised for the map and the program and the
// caller's given back to the app.
func TestOldKernelsConfineDevices(t *testing.T) {
	kernels := []struct {
		name     string
		features []kernelsim.Feature
	}{
		{"no-bpf-path-fd", []kernelsim.Feature{kernelsim.BPFPathFD}},
		{"memlock-charged", []kernelsim.Feature{kernelsim.MemlockCharge}},
		{"linux-5.4", kernelsim.All},
	}
	for _, k := range kernels {
		for _, c := range deviceCallers {
			t.Run(k.name+"/"+c.name, func(t *testing.T) {
				skipFdinfoOwnersOnly(t, c.caps, k.features)
				scope := deviceWorld(t)
				for _, run := range []string{"create", "open"} {
					l := launch{flags: []string{"--base", "core24"}, uid: c.uid, caps: c.caps, cgroup: scope, sim: k.features, debug: true, env: []string{"SNAPNS_KERNELSIM_LOG=1"}}
					l.args = []string{"open", "/dev/null", "openpty", "open", loopNode, "read", "/proc/self/limits"}
					res := l.run()
					if res.err != nil {
						t.Fatalf("%s: launch failed: %v\n%s", run, res.err, res.stderr)
					}
					r := res.report
					if null, pty, loop := r.Open["/dev/null"], r.Open["pty"], r.Open[loopNode]; null != "ok" || pty != "ok" || loop != denied {
						t.Fatalf("%s: /dev/null: %q, a pty: %q, loop node: %q; want ok, ok and %q", run, null, pty, loop, denied)
					}
					if attachedPrograms(t, scope) == 0 {
						t.Fatalf("%s: no device program attached", run)
					}
					for _, f := range []kernelsim.Feature{kernelsim.BPFPathFD, kernelsim.MemlockCharge} {
						if slices.Contains(k.features, f) && !realKernelLacks()[f] && !strings.Contains(res.stderr, simulatedAnswers[f]) {
							t.Errorf("%s: the launcher never met the simulated kernel's %q:\n%s", run, simulatedAnswers[f], res.stderr)
						}
					}
					if slices.Contains(k.features, kernelsim.MemlockCharge) {
						if !strings.Contains(res.stderr, "raising it from 65536:1048576 to 524288:1048576") {
							t.Errorf("%s: RLIMIT_MEMLOCK was not raised:\n%s", run, res.stderr)
						}
						if limits := memlockLine(r.Read["/proc/self/limits"]); limits != "65536 1048576" {
							t.Errorf("%s: the app's RLIMIT_MEMLOCK is %q, not the caller's 65536 1048576", run, limits)
						}
					}
				}
				var st unix.Stat_t
				if err := unix.Lstat(pinned, &st); err != nil || st.Uid != 0 || st.Mode&0o777 != 0o600 {
					t.Fatalf("pinned map %s: %v, uid %d mode %o", pinned, err, st.Uid, st.Mode&0o777)
				}
			})
		}
	}
}

// memlockLine returns the soft and hard "Max locked memory" of a
// /proc/<pid>/limits.
func memlockLine(limits string) string {
	for _, line := range strings.Split(limits, "\n") {
		if rest, ok := strings.CutPrefix(line, "Max locked memory"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return f[0] + " " + f[1]
			}
		}
	}
	return ""
}

// Where BPF objects are charged to RLIMIT_MEMLOCK and the caller's hard
// limit is below snap-confine's 512 KiB, only CAP_SYS_RESOURCE can raise
// it: a launcher that holds it (the setuid install where the bounding set
// has it) does, as snap-confine does; one that does not says why in one
// line, naming the capability.
func TestOldKernelWithALowHardMemlockLimit(t *testing.T) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var bnd uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:\t"); ok {
			bnd, _ = strconv.ParseUint(v, 16, 64)
		}
	}
	haveResource := bnd&(1<<unix.CAP_SYS_RESOURCE) != 0
	if !haveResource {
		t.Log("this machine's bounding set lacks cap_sys_resource: no launcher can raise the hard limit here, so both installs must refuse")
	}
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			scope := deviceWorld(t)
			l := launch{flags: []string{"--base", "core24"}, uid: userUID, caps: in.caps, cgroup: scope, sim: []kernelsim.Feature{kernelsim.MemlockCharge}, env: []string{"SNAPNS_KERNELSIM_MEMLOCK=65536:65536"}}
			if haveResource && !in.caps {
				l.mustRun(t)
				return
			}
			line := l.mustFail(t)
			if !strings.Contains(line, "cap_sys_resource") || !strings.Contains(line, "RLIMIT_MEMLOCK") {
				t.Fatalf("the refusal does not say why: %q", line)
			}
			t.Logf("refused: %s", line)
		})
	}
}

// wholeRunSimulates tells whether this whole run's launches see a kernel
// without f (SNAPNS_E2E_KERNEL).
func wholeRunSimulates(f kernelsim.Feature) bool {
	fs, err := kernelsim.Parse(os.Getenv(kernelEnv))
	return err == nil && slices.Contains(fs, f)
}

// nsRecorded is the line an info file records of the namespace at path,
// as its own (prefix "") or as a layer's parent (prefix "parent-"): its id,
// or its nsfs inode where this run's launches see a kernel without ids
// (simulated, or older than 6.8).
func nsRecorded(t *testing.T, prefix, path string) string {
	t.Helper()
	if !kernelLacks(kernelsim.MountNSID) {
		return fmt.Sprintf("%smount-ns-id=%d\n", prefix, nsID(t, path))
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%smount-ns-inode=%d\n", prefix, st.Ino)
}

// runsHere tells whether op runs on the kernel this run's launches see:
// an action for older kernels only where the kernel (real or simulated
// for the whole run) lacks the interface it stands in for, an action of a
// newer interface only where it has it.
func runsHere(op policy.Op) bool { return opRunsOn(op) }

// oldKernelOps are the actions only older kernels use.
func oldKernelOps() (ops []policy.Op) {
	for op := range policy.Op(len(policy.Ops)) {
		if op.OnlyBefore() {
			ops = append(ops, op)
		}
	}
	return ops
}

// TestOldKernelStepsRaiseExactlyTheirCapabilities is
// TestEveryPrivilegedStepRaisesExactlyItsCapabilities on Linux 5.4: the
// life of a snap and a core24 app with its device cgroup, with the hooked
// launcher in both installs; each action runs with exactly the
// capabilities policy grants it (of those the launcher holds), every
// action for older kernels runs, and none of the newer mount API does.
func TestOldKernelStepsRaiseExactlyTheirCapabilities(t *testing.T) {
	simulateLaunches = kernelsim.All
	t.Cleanup(func() { simulateLaunches = nil })
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			skipFdinfoOwnersOnly(t, mode.dir == hookCapsDir, simulateLaunches)
			scope := deviceWorld(t)
			installUpdateNS(t)
			res := launch{program: mode.dir + "/snap-confine", flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope}.run()
			if res.err != nil {
				t.Fatalf("core24 launch failed: %v\n%s", res.err, res.stderr)
			}
			hooks := hookLines(res.stderr)
			more, broke := lifeOfASnap(t, mode.dir)
			if broke != "" {
				t.Fatal(broke)
			}
			seen := map[policy.Op]uint64{}
			for _, h := range append(hooks, more...) {
				want := capWord(raised(h.op, mode.name == "setuid")) & h.prm
				if h.eff != want || h.others != 0 {
					t.Errorf("%s: effective %s (others %s), policy grants %s", h.op, capNames(h.eff), capNames(h.others), capNames(want))
				}
				seen[h.op] = h.eff
			}
			for _, op := range oldKernelOps() {
				if _, ok := seen[op]; !ok {
					t.Errorf("%s was never observed on Linux 5.4", op)
				}
			}
			for op := range seen {
				if op.OnlySince() {
					t.Errorf("%s ran on Linux 5.4", op)
				}
			}
			var table []string
			for _, op := range oldKernelOps() {
				table = append(table, fmt.Sprintf("  %-55s %s", op, capNames(seen[op])))
			}
			t.Logf("the actions for older kernels, effective capabilities while each ran:\n%s", strings.Join(table, "\n"))
		})
	}
}

// hookLines are the capability hook's reports in stderr.
func hookLines(stderr string) []hookLine {
	var hooks []hookLine
	for _, line := range strings.Split(stderr, "\n") {
		var h hookLine
		if _, err := fmt.Sscanf(line, "CAPHOOK op=%d eff=%x prm=%x others=%x", &h.op, &h.eff, &h.prm, &h.others); err == nil {
			hooks = append(hooks, h)
		}
	}
	return hooks
}

// TestOldKernelActionsNeedEachOfTheirCapabilities is
// TestEveryActionNeedsEachOfItsCapabilities for the mount actions of older
// kernels: withheld one at a time, in both installs, the life of a snap on
// Linux 5.4 breaks. (RLIMIT_MEMLOCK's cap_sys_resource cannot be withheld
// on a machine whose bounding set lacks it:
// TestOldKernelWithALowHardMemlockLimit shows what breaks without it.)
func TestOldKernelActionsNeedEachOfTheirCapabilities(t *testing.T) {
	simulateLaunches = kernelsim.All
	t.Cleanup(func() { simulateLaunches = nil })
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			// Every launch would fail, each capability withheld or not.
			skipFdinfoOwnersOnly(t, mode.dir == hookCapsDir, simulateLaunches)
			var table []string
			for _, op := range oldKernelOps() {
				if op == policy.OpRaiseMemlock {
					continue
				}
				for _, c := range raised(op, mode.name == "setuid") {
					t.Run(fmt.Sprintf("op%d-%s", op, c), func(t *testing.T) {
						var broke string
						if op == policy.OpRemountReadOnlyOld {
							// Only a base other than core binds the
							// snapd tools read-only.
							scope := deviceWorld(t)
							res := launch{program: mode.dir + "/snap-confine", flags: []string{"--base", "core24"}, uid: userUID, cgroup: scope, env: []string{fmt.Sprintf("SNAPNS_TEST_WITHHOLD=%d:%d", op, c)}}.run()
							if res.err != nil {
								broke = "core24: " + strings.Join(nonHookLines(res.stderr), " ")
							}
						} else {
							_, broke = lifeOfASnap(t, mode.dir, fmt.Sprintf("SNAPNS_TEST_WITHHOLD=%d:%d", op, c))
						}
						if broke == "" {
							t.Errorf("%s works without cap_%s", op, c)
						}
						table = append(table, fmt.Sprintf("  %-50s without cap_%-10s %s", op, c, broke))
					})
				}
			}
			t.Logf("what breaks on Linux 5.4 without each capability of each action:\n%s", strings.Join(table, "\n"))
		})
	}
}

// A base other than core gets the launcher's directory bound read-only on
// /usr/lib/snapd: before 5.12 by a bind remount that keeps the mount's
// other flags, and the app's mount table is the new mount API's.
func TestOldKernelsBindTheSnapdToolsAsTheNewAPIDoes(t *testing.T) {
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			if !exists("/snap/core22/current") {
				if err := sandbox.MakeBase(sandbox.Base{Name: "core22", Revision: "5", Current: true}); err != nil {
					t.Fatal(err)
				}
			}
			l := launch{caps: in.caps, flags: []string{"--base", "core22"}, args: []string{"write", "/usr/lib/snapd/x", "y"}}
			want := l.mustRun(t)
			world(t)
			l.sim = []kernelsim.Feature{kernelsim.MountAPI}
			got := l.mustRun(t)
			if len(got.Errors) == 0 || !strings.Contains(got.Errors[0], "read-only") {
				t.Fatalf("/usr/lib/snapd is writable in the snap: %v", got.Errors)
			}
			if w, g := appMounts(want.Mounts), appMounts(got.Mounts); !slices.Equal(w, g) {
				t.Errorf("the app's mounts differ from the new mount API's:\nwant:\n  %s\ngot:\n  %s", strings.Join(w, "\n  "), strings.Join(g, "\n  "))
			}
		})
	}
}
