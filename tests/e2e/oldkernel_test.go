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
			tids := []int{0}
			if allThreads {
				tids = nil
				tasks, err := os.ReadDir("/proc/self/task")
				if err != nil {
					return err
				}
				for _, task := range tasks {
					tid, _ := strconv.Atoi(task.Name())
					tids = append(tids, tid)
				}
			}
			for _, tid := range tids {
				if err := unix.SchedSetaffinity(tid, &one); err != nil {
					return fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
				}
			}
		}
	}
	if slices.Contains(fs, kernelsim.MemlockCharge) {
		lim := unix.Rlimit{Cur: 64 << 10, Max: 1 << 20}
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
// each build mounts anew (devpts, fake snap-update-ns's tmpfs on /mnt),
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
		if f[sep+1] == "devpts" || (f[4] == "/mnt" && f[3] == "/") {
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
				want := appMounts(launch{caps: in.caps}.mustRun(t).Mounts)
				setup()
				res := launch{caps: in.caps, sim: k.features, debug: true, env: []string{"SNAPNS_KERNELSIM_LOG=1"}}.run()
				if res.err != nil {
					t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
				}
				created := res.report
				for f, answer := range simulatedAnswers {
					if f == kernelsim.BPFPathFD || f == kernelsim.MemlockCharge {
						continue // no device cgroup here: TestOldKernelsConfineDevices
					}
					if slices.Contains(k.features, f) && !strings.Contains(res.stderr, answer) {
						t.Errorf("the launcher never met the simulated kernel's %q:\n%s", answer, res.stderr)
					}
				}
				if slices.Contains(k.features, kernelsim.MountAPI) && !strings.Contains(res.stderr, "assembled with mount(2)") {
					t.Errorf("the bootstrap did not take the mount(2) path:\n%s", res.stderr)
				}
				if !slices.Contains(created.Env, "SNAP_COOKIE=cookie") {
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
				if slices.Contains(k.features, kernelsim.MountNSID) {
					key = "mount-ns-inode="
				}
				if !strings.Contains(string(data), key) {
					t.Errorf("the info file records no %s:\n%s", key, data)
				}
				joined := launch{caps: in.caps, sim: k.features}.mustRun(t)
				if joined.MountNSID != created.MountNSID {
					t.Fatalf("the second launch did not join: %d, then %d", created.MountNSID, joined.MountNSID)
				}
				user := launch{caps: in.caps, sim: k.features, uid: userUID}.mustRun(t)
				again := launch{caps: in.caps, sim: k.features, uid: userUID}.mustRun(t)
				if user.MountNSID == created.MountNSID || again.MountNSID != user.MountNSID || nsID(t, "/run/snapd/ns/hello.1000.mnt") != user.MountNSID {
					t.Fatalf("the per-user layer was not kept: snap %d, layer %d, then %d", created.MountNSID, user.MountNSID, again.MountNSID)
				}
			})
		}
	}
}
