// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A container is one boot of the prepared tree under systemd-nspawn:
// systemd as its pid 1, snapd started by it. The tree is the lower layer of
// an overlay whose upper layer is the boot's own, so every boot starts from
// the same state and the cache is never written.
//
// The machine is left as it was: systemd-nspawn runs in a private mount
// namespace (the overlay, and a tmpfs at /run/systemd for nspawn's own
// state, since the machine's /run is not necessarily a tmpfs), in a cgroup
// v2 group of its own, removed with everything below it at the end.
// --register=no and --keep-unit because the machine's pid 1 need not be
// systemd (no machined, no scope units); SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
// gives the container a cgroup v2 tree on a hybrid machine too.
type container struct {
	name   string
	tmp    string // upper/, work/, merged/, boot.log
	upper  string
	keep   string    // where stop moves the upper layer to; "": removed
	helper *exec.Cmd // the boot helper, which execs systemd-nspawn
	done   chan error
	group  string // the cgroup v2 directory made for this boot
	leader int    // the container's pid 1, as the machine sees it
	logf   func(string, ...any)
}

// bind is a file of the machine bound read-only over one in the container.
type bind struct{ src, dst string }

type bootConfig struct {
	lowers []string // the overlay's lower layers, topmost first
	name   string
	binds  []bind
	cpu    int // pin the container to this CPU; -1: every CPU
	// prepare writes the boot's own files into the upper layer before it
	// is mounted.
	prepare func(upper string) error
}

// cgroupV2Root returns where the machine's cgroup v2 hierarchy is mounted:
// /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid).
func cgroupV2Root() (string, error) {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir, nil
		}
	}
	return "", errors.New("the machine has no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified (systemd in the container needs one)")
}

const groupPrefix = "snapd-suite-"

// newGroup makes a cgroup of this boot's own under root, after removing the
// empty ones that runs killed before their cleanup left.
func newGroup(root string) (string, error) {
	stale, _ := filepath.Glob(filepath.Join(root, groupPrefix+"*"))
	for _, dir := range stale {
		if populated(dir) {
			continue // a run beside this one
		}
		removeGroup(dir)
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", err
	}
	dir := filepath.Join(root, groupPrefix+hex.EncodeToString(suffix[:]))
	return dir, os.Mkdir(dir, 0o755)
}

// populated reads cgroup.events: whether any process runs in the group or
// below it.
func populated(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	return err == nil && bytes.Contains(data, []byte("populated 1"))
}

// removeGroup kills what still runs in dir and below (cgroup.kill, Linux
// 5.14) and removes the groups deepest first.
func removeGroup(dir string) error {
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
	for i := 0; populated(dir) && i < 100; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	var first error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil && first == nil {
			first = fmt.Errorf("cannot remove cgroup %s: %w", dirs[i], err)
		}
	}
	return first
}

// boot starts the container and waits until its systemd has finished
// booting.
func boot(ctx context.Context, tools *hostTools, cfg bootConfig, logf func(string, ...any)) (*container, error) {
	nspawn, env, err := tools.nspawn()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "snapd-suite-")
	if err != nil {
		return nil, err
	}
	c := &container{name: cfg.name, tmp: tmp, upper: filepath.Join(tmp, "upper"), done: make(chan error, 1), logf: logf}
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			c.remove()
			return nil, err
		}
	}
	if cfg.prepare != nil {
		if err := cfg.prepare(c.upper); err != nil {
			c.remove()
			return nil, err
		}
	}
	root, err := cgroupV2Root()
	if err != nil {
		c.remove()
		return nil, err
	}
	if c.group, err = newGroup(root); err != nil {
		c.remove()
		return nil, fmt.Errorf("cannot make a cgroup for the container: %w", err)
	}
	groupFD, err := unix.Open(c.group, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		c.remove()
		return nil, err
	}
	defer unix.Close(groupFD)

	args := []string{
		"--quiet", "--boot", "--register=no", "--keep-unit", "--private-network",
		"--machine=" + cfg.name, "--directory=" + filepath.Join(tmp, "merged"),
		"--console=pipe", "--link-journal=no", "--resolv-conf=off", "--timezone=off",
		// No udev in the container: the loop devices snapd's mounts
		// need are the machine's, their nodes made at setup.
		"--bind=/dev/loop-control",
	}
	if cfg.cpu >= 0 {
		args = append(args, "--cpu-affinity="+strconv.Itoa(cfg.cpu))
	}
	for _, b := range cfg.binds {
		args = append(args, "--bind-ro="+b.src+":"+b.dst)
	}
	helperArgs := append([]string{strconv.Itoa(cfg.cpu), strings.Join(cfg.lowers, ":"), c.upper, filepath.Join(tmp, "work"), filepath.Join(tmp, "merged"), nspawn}, args...)
	c.helper = exec.Command(selfExe(), helperArgs...)
	c.helper.Env = append(append(os.Environ(), env...), helperEnv+"=boot", "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1")
	c.helper.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: unix.CLONE_NEWNS,
		UseCgroupFD:  true,
		CgroupFD:     groupFD,
		Pdeathsig:    syscall.SIGKILL,
	}
	bootLog, err := os.Create(filepath.Join(tmp, "boot.log"))
	if err != nil {
		c.remove()
		return nil, err
	}
	defer bootLog.Close()
	c.helper.Stdin = nil
	c.helper.Stdout, c.helper.Stderr = bootLog, bootLog
	if err := c.helper.Start(); err != nil {
		c.remove()
		return nil, fmt.Errorf("cannot start systemd-nspawn: %w", err)
	}
	go func() { c.done <- c.helper.Wait() }()
	if err := c.findLeader(ctx); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.waitBooted(ctx); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// helperBoot mounts the boot's overlay and a private /run/systemd, then
// execs systemd-nspawn: args are the CPU to pin to (-1: none), the lower
// layers (colon-separated, topmost first), upper, work, merged, then
// systemd-nspawn's path and arguments. It runs in a private mount
// namespace of its own (boot), so none of this reaches the machine.
func helperBoot(args []string) error {
	if len(args) < 6 {
		return fmt.Errorf("usage: boot CPU LOWER UPPER WORK MERGED NSPAWN ARGS...")
	}
	// The affinity is the thread's: it is set on the thread that execs.
	runtime.LockOSThread()
	if cpu, err := strconv.Atoi(args[0]); err == nil && cpu >= 0 {
		// systemd-nspawn and everything it starts, from the
		// container's own namespaces on, run on that CPU.
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			return fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
		}
	}
	args = args[1:]
	lower, upper, work, merged := args[0], args[1], args[2], args[3]
	run := "/run/systemd"
	if _, err := os.Stat(run); err != nil {
		run = "/run"
	}
	if err := unix.Mount("tmpfs", run, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("cannot mount a tmpfs on %s: %w", run, err)
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("cannot mount the container's overlay (%s) on %s: %w", opts, merged, err)
	}
	return syscall.Exec(args[4], args[4:], os.Environ())
}

// findLeader finds the container's pid 1: systemd-nspawn's child in another
// pid namespace.
func (c *container) findLeader(ctx context.Context) error {
	own, _ := os.Readlink("/proc/self/ns/pid")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("systemd-nspawn ended before the container started (%v): %s", err, c.bootLog(15))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		for _, pid := range children(c.helper.Process.Pid) {
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns != own {
				c.leader = pid
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("cannot find the container's pid 1 after 30s: %s", c.bootLog(15))
}

// children lists the child processes of pid (every thread's).
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func (c *container) waitBooted(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	// The system bus and systemd's own socket appear a little after pid
	// 1 starts; systemctl fails until then.
	var state string
	for {
		out, _ := c.command(ctx, "systemctl", "is-system-running", "--wait").Output()
		state = strings.TrimSpace(string(out))
		if state == "running" || state == "degraded" {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the container did not finish booting in 120s (state %q): %s", state, c.bootLog(15))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if state == "degraded" {
		out, _ := c.command(ctx, "systemctl", "--failed", "--no-legend", "--plain").Output()
		c.logf("container %s booted degraded; failed units: %s", c.name, strings.Join(strings.Fields(string(out)), " "))
	}
	return nil
}

// command runs argv as root in the container's namespaces, directly (not
// through systemd): for the harness's own set-up and inspection.
func (c *container) command(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--target", strconv.Itoa(c.leader), "--all", "--"}, argv...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin", "HOME=/root", "LANG=C.UTF-8", "SNAPD_SUITE=1"}
	return cmd
}

// sh runs a shell command as root in the container and returns its
// standard output; an error carries the command, the status and stderr.
func (c *container) sh(ctx context.Context, script string) (string, error) {
	return c.exec(ctx, "sh", "-c", script)
}

func (c *container) exec(ctx context.Context, argv ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := c.command(ctx, argv...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// userUID is the container's unprivileged user (testdata/prepare.sh).
const (
	userName = "test"
	userUID  = 1000
)

// runOpts is how an app is started: as a service of the container's systemd
// (systemd-run), the way a login's processes are started, so that `snap
// run` finds itself in a cgroup of the container and can ask systemd for
// its tracking scope.
type runOpts struct {
	user  bool     // as the unprivileged user, with its session bus
	env   []string // more variables
	stdin string
}

// result is what a command printed and how it ended.
type result struct {
	stdout, stderr string
	err            error
	took           time.Duration
}

// runArgv is the command line of run, for a failure's report.
func (o runOpts) argv(argv []string) []string {
	full := []string{"systemd-run", "--quiet", "--pipe", "--wait", "--collect", "--service-type=exec"}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin", "LANG=C.UTF-8"}
	if o.user {
		full = append(full, "--uid="+userName, "--working-directory=/home/"+userName)
		env = append(env, fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", userUID),
			fmt.Sprintf("DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/%d/bus", userUID))
	} else {
		full = append(full, "--working-directory=/root")
	}
	for _, e := range append(env, o.env...) {
		full = append(full, "--setenv="+e)
	}
	return append(append(full, "--"), argv...)
}

func (c *container) run(ctx context.Context, o runOpts, argv ...string) result {
	var stdout, stderr bytes.Buffer
	cmd := c.command(ctx, o.argv(argv)...)
	cmd.Stdin = strings.NewReader(o.stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err, took: time.Since(start)}
}

// bootLog returns the last n lines of systemd-nspawn's output and the
// container's console.
func (c *container) bootLog(n int) string {
	data, _ := os.ReadFile(filepath.Join(c.tmp, "boot.log"))
	return lastLines(string(data), n)
}

// stop shuts the container down (systemd-nspawn turns SIGTERM into an
// orderly power-off), kills it after 60 seconds, and removes everything the
// boot made on the machine.
func (c *container) stop() error {
	var err error
	if c.helper != nil && c.helper.Process != nil {
		c.helper.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
			c.logf("container %s did not power off in 60s: killed", c.name)
			c.helper.Process.Kill()
			<-c.done
		}
	}
	if c.group != "" {
		err = removeGroup(c.group)
		// On a hybrid machine systemd-nspawn mirrors the container's
		// group in the named systemd v1 hierarchy.
		if legacy := filepath.Join("/sys/fs/cgroup/systemd", filepath.Base(c.group)); exists(legacy) {
			if lerr := removeV1Group(legacy); err == nil {
				err = lerr
			}
		}
	}
	c.remove()
	return err
}

// removeV1Group removes a v1 group and those below it, deepest first, after
// killing what runs there.
func removeV1Group(dir string) error {
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for _, d := range dirs {
		procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(f); err == nil {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	var first error
	for i := len(dirs) - 1; i >= 0; i-- {
		for try := 0; ; try++ {
			err := os.Remove(dirs[i])
			if err == nil || try == 50 {
				if err != nil && first == nil {
					first = fmt.Errorf("cannot remove cgroup %s: %w", dirs[i], err)
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return first
}

func (c *container) remove() {
	if c.keep != "" {
		if err := os.Rename(c.upper, c.keep); err != nil {
			c.logf("cannot keep the container's upper layer: %v", err)
		}
	}
	if os.Getenv("SNAPD_SUITE_KEEP") == "" {
		os.RemoveAll(c.tmp)
	} else {
		c.logf("kept %s (SNAPD_SUITE_KEEP)", c.tmp)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
