// SPDX-License-Identifier: GPL-3.0-only

// Command snapns-bench measures snapns's launch paths side by side with
// snapd's own snap-confine (Debian's snapd package, downloaded and unpacked,
// never installed), in one run, in the sandbox world of tests/sandbox: a
// private mount and PID namespace on a tmpfs root, so nothing touches the
// host. See bench/README.md for what is measured and how.
//
// It needs root (to build the sandbox) and the binaries of `make build`;
// run it as `make bench`.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

var (
	rounds     = flag.Int("rounds", 100, "rounds of every path (each round runs both tools)")
	concRounds = flag.Int("concurrent-rounds", 10, "rounds of the concurrent cold launches")
	concurrent = flag.Int("concurrent", 32, "launches started at once in a concurrent round")
	others     = flag.Int("others", 500, "preserved namespaces of other snaps in the crowded hot path")
	parOthers  = flag.Int("parallel-others", 1000, "preserved namespaces of other snaps in the parallel-instances CPU rows")
	repo       = flag.String("repo", "", "the repository, whose .cache/debs holds Debian's snapd package (default: the one bin/ is in)")
	updateNS   = flag.String("update-ns", "snapd", "snap-update-ns for both tools: snapd (the package's) or fake (tests/fakeupdatens)")
	debug      = flag.Bool("debug", false, "set SNAPD_DEBUG=1 on every launch (failures then show the debug log)")
)

// Inside the sandbox.
const (
	oursDir = "/usr/lib/snapd" // snapns: the launcher as setuid snap-confine, snap-discard-ns
	// Debian's snapd: setuid snap-confine, snap-update-ns, snap-discard-ns.
	// snap-confine 2.57 refuses to run from anywhere but a path matching
	// /usr/lib(exec)?/snapd/snap-confine (it finds its tools next to it).
	refDir   = "/usr/libexec/snapd"
	appDir   = "/snap/bench/1" // under /snap: the same path on the host and in every snap's root
	trueBin  = appDir + "/true"
	mntnsBin = appDir + "/mntns"
	// The Go floors (bench/cmd/gonsenter), outside every snap's root.
	goNsenterBin = "/usr/lib/snapns-bench/gonsenter"
	userUID      = 1000
	nsDir        = "/run/snapd/ns"
	features     = "/var/lib/snapd/features"
)

// snapdEnv carries the unpacked snapd package's host path into the sandbox.
const snapdEnv = "SNAPNS_BENCH_SNAPD"

func main() {
	flag.Parse()
	if sandbox.Inside() {
		runtime.LockOSThread() // see sandbox.Enter; the bench also pins this thread
		if err := inside(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot run the bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := outside(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot run the bench: %v\n", err)
		os.Exit(1)
	}
}

// outside gets snapd's package, writes the apps and starts the sandbox.
func outside() error {
	if os.Geteuid() != 0 {
		return errors.New("it needs root to build its sandbox (namespaces, mounts, setuid launchers); run `sudo make bench`")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := *repo
	if dir == "" {
		dir = filepath.Join(filepath.Dir(self), "..")
	}
	tree, err := sandbox.SnapdTree(dir, "bookworm")
	if err != nil {
		return err
	}
	staging, err := os.MkdirTemp("", "snapns-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	if err := os.WriteFile(filepath.Join(staging, "true"), trueApp(), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(staging, "mntns"), mntnsApp(), 0o755); err != nil {
		return err
	}
	os.Setenv(snapdEnv, tree)
	status, err := sandbox.Reexec(staging, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		return err
	}
	if status != 0 {
		return fmt.Errorf("the sandbox exited with status %d", status)
	}
	return nil
}

// tool is one side of the comparison: where its binaries are and the snap
// it launches (each tool its own snap, same base).
type tool struct{ name, dir, snap string }

var (
	snapns = tool{ours, oursDir, "ours"}
	snapd  = tool{theirs, refDir, "ref"}
)

func (t tool) tag() string { return "snap." + t.snap + ".app" }

// how says how to launch: as whom, classic or not, which app.
type how struct {
	uid     int
	classic bool
	app     string
	env     []string
}

func (t tool) launch(h how) *exec.Cmd {
	var args []string
	if h.classic {
		args = append(args, "--classic")
	}
	app := h.app
	if app == "" {
		app = trueBin
	}
	cmd := exec.Command(t.dir+"/snap-confine", append(args, t.tag(), app)...)
	cmd.Env = append(launchEnv(t.snap), h.env...)
	asUser(cmd, h.uid)
	return cmd
}

func (t tool) discard() *exec.Cmd {
	cmd := exec.Command(t.dir+"/snap-discard-ns", t.snap)
	cmd.Env = launchEnv(t.snap)
	return cmd
}

func launchEnv(snap string) []string {
	env := []string{"SNAP_INSTANCE_NAME=" + snap, "PATH=/usr/bin:/bin"}
	if *debug {
		env = append(env, "SNAPD_DEBUG=1")
	}
	return env
}

func asUser(cmd *exec.Cmd, uid int) {
	cmd.Dir = "/"
	if uid > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
			Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{uint32(uid)}}}
	}
}

// bench runs commands from the pinned main thread (children inherit its
// affinity) and records how long each took.
type bench struct {
	res    *results
	null   *os.File
	errLog *os.File
}

// run runs cmd to completion: stdout to /dev/null, stderr kept for the
// error (no copying goroutines: both are plain files).
func (b *bench) run(cmd *exec.Cmd) (time.Duration, error) {
	b.errLog.Truncate(0)
	b.errLog.Seek(0, 0)
	cmd.Stdout, cmd.Stderr = b.null, b.errLog
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		data, _ := os.ReadFile(b.errLog.Name())
		return d, fmt.Errorf("%s failed: %v\n%s", strings.Join(cmd.Args, " "), err, tail(string(data), 40))
	}
	return d, nil
}

// time runs cmd and records it under row for tool, with the minor page
// faults of the process (and of every process it waited for): on a virtual
// machine each fresh page costs microseconds, so they explain much of a
// launch's time.
func (b *bench) time(row, tool string, cmd *exec.Cmd) error {
	d, err := b.run(cmd)
	if err != nil {
		return err
	}
	var faults int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		faults = int64(ru.Minflt) // int32 on 32-bit architectures
	}
	b.res.add(row, tool, d, faults)
	return nil
}

// cpu runs cmd and records under row for tool the CPU time it used (user
// and system, from wait4's rusage: the launcher and, after its exec, the
// app), with its minor page faults.
func (b *bench) cpu(row, tool string, cmd *exec.Cmd) error {
	if _, err := b.run(cmd); err != nil {
		return err
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return fmt.Errorf("%s: no rusage", strings.Join(cmd.Args, " "))
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b.res.add(row, tool, used, int64(ru.Minflt))
	return nil
}

// mntns runs cmd (which must run mntnsBin) and returns the app's mount
// namespace, "mnt:[INODE]".
func mntns(cmd *exec.Cmd) (string, error) {
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s failed: %v\n%s", strings.Join(cmd.Args, " "), err, tail(stderr.String(), 40))
	}
	return out.String(), nil
}

// nsOf returns "mnt:[INODE]" for a preserved namespace file, or "" when
// path is not one.
func nsOf(path string) string {
	var sfs unix.Statfs_t
	var st unix.Stat_t
	if unix.Statfs(path, &sfs) != nil || sfs.Type != unix.NSFS_MAGIC || unix.Stat(path, &st) != nil {
		return ""
	}
	return fmt.Sprintf("mnt:[%d]", st.Ino)
}

// nsID returns the unique id (NS_GET_MNTNS_ID) of a preserved namespace,
// or 0 when path is not one.
func nsID(path string) uint64 {
	if nsOf(path) == "" {
		return 0
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	id, _ := unix.IoctlGetUint64(fd, unix.NS_GET_MNTNS_ID)
	return id
}

// expect checks where an app launched with h ran.
func expect(t tool, h how, want, what string) error {
	h.app = mntnsBin
	got, err := mntns(t.launch(h))
	if err != nil {
		return err
	}
	if want == "" || got != want {
		return fmt.Errorf("%s: the app ran in %q, expected %s (%q)", t.name, got, what, want)
	}
	return nil
}

// pair returns both tools, their order alternating by round.
func pair(round int) []tool {
	if round%2 == 0 {
		return []tool{snapns, snapd}
	}
	return []tool{snapd, snapns}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
