// SPDX-License-Identifier: GPL-3.0-only

// Package sandbox builds the test world (docs/ARCHITECTURE.md): a new mount and PID
// namespace whose root is a tmpfs, so that /run/snapd, /snap, /var/lib/snapd
// and /tmp are the sandbox's own and nothing is created on, or mounted over,
// the host's filesystems.
//
// The world: the caller process becomes pid 1 of a new PID namespace (so
// /proc/1/ns/mnt is the sandbox's own namespace, readable by the launcher),
// "/" is made rprivate, a tmpfs is pivot_root-ed into, /usr is an overlay
// over the host's /usr with a tmpfs upper layer (so /usr/lib/snapd can hold
// the built binaries, with a setuid-root launcher on a mount without
// nosuid), /etc is a read-only bind of the host's, /dev and /sys are
// recursive binds, /proc and /run are fresh mounts, and /tmp, /var, /snap,
// /home and /mnt are fresh directories of the root tmpfs. Nothing propagates back: every host mount is private in here.
//
// Use: a program calls Reexec, which starts /proc/self/exe again in new
// namespaces with InsideEnv set; that child calls Enter, then does its work
// as pid 1 of the sandbox. When it exits, the kernel tears every mount and
// process of the sandbox down.
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
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

// InsideEnv is set in the environment of the process started by Reexec.
const InsideEnv = "SNAPNS_SANDBOX_INSIDE"

// stagingEnv carries the host directory that holds the files to install.
const stagingEnv = "SNAPNS_SANDBOX_STAGING"

// Inside reports whether this process is the sandbox's pid 1.
func Inside() bool { return os.Getenv(InsideEnv) == "1" && os.Getpid() == 1 }

// Reexec runs /proc/self/exe with args as pid 1 of a new mount and PID
// namespace and returns its exit status. staging is a host directory: its
// "root" subdirectory becomes the mount point of the sandbox's root tmpfs,
// and Enter installs files from it (see Install).
func Reexec(staging string, args []string, stdout, stderr io.Writer) (int, error) {
	for _, d := range []string{"root", "scratch"} {
		if err := os.MkdirAll(filepath.Join(staging, d), 0o700); err != nil {
			return -1, err
		}
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Env = append(os.Environ(), InsideEnv+"=1", stagingEnv+"="+staging)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	err := runOnHighestCPU(cmd)
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("cannot start the sandbox: %w", err)
	}
	return 0, nil
}

// File is a file to install in the sandbox.
type File struct {
	// Src is a path on the host (read before the pivot).
	Src string
	// Dst is the absolute path inside the sandbox.
	Dst string
	// Mode is the file's mode, including setuid bits.
	Mode os.FileMode
}

// Enter builds the world and pivots into it. It must be called by the
// process Reexec started, before any other goroutine does file work, from
// the main goroutine locked to the main thread: /proc/1/ns/mnt names that
// thread's namespace, and only a locked main thread is never lent to a
// goroutine that joins another namespace.
func Enter(files []File) error {
	if !Inside() {
		return fmt.Errorf("cannot enter the sandbox: not pid 1 of a sandbox")
	}
	if err := unpin(); err != nil {
		return fmt.Errorf("cannot unpin the sandbox: %w", err)
	}
	staging := os.Getenv(stagingEnv)
	root := filepath.Join(staging, "root")
	scratch := filepath.Join(staging, "scratch")
	steps := []struct {
		what string
		fn   func() error
	}{
		{"make / rprivate", func() error { return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") }},
		{"mount the root tmpfs", func() error { return mountFS("tmpfs", root, "tmpfs", 0, "mode=0755") }},
		{"mount the scratch tmpfs", func() error { return mountFS("tmpfs", scratch, "tmpfs", 0, "mode=0700") }},
		{"lay out the root", func() error { return layOut(root) }},
		{"mount /usr", func() error { return mountUsr(root, scratch) }},
		{"bind /etc", func() error { return bindRO("/etc", filepath.Join(root, "etc")) }},
		{"bind /dev", func() error { return unix.Mount("/dev", filepath.Join(root, "dev"), "", unix.MS_BIND|unix.MS_REC, "") }},
		{"bind /sys", func() error { return unix.Mount("/sys", filepath.Join(root, "sys"), "", unix.MS_BIND|unix.MS_REC, "") }},
		{"mount /proc", func() error {
			return mountFS("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		}},
		{"mount /run", func() error { return mountFS("tmpfs", filepath.Join(root, "run"), "tmpfs", unix.MS_NODEV, "mode=0755") }},
		// /tmp stays a plain directory of the root, as on Debian and
		// Ubuntu, where it is not a mount point.
		{"make /tmp", func() error { return os.Chmod(filepath.Join(root, "tmp"), os.ModeSticky|0o777) }},
		{"install files", func() error { return install(root, files) }},
		{"pivot_root", func() error { return pivot(root) }},
		// Like a systemd host: mounts are shared, so propagation between
		// the host and snap namespaces behaves as in production. Every
		// mount here was made private first, so nothing reaches the real
		// host.
		{"make / rshared", func() error { return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SHARED, "") }},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("cannot build the sandbox: %s: %w", s.what, err)
		}
	}
	return nil
}

// runOnHighestCPU runs cmd, creating the sandbox's mount namespace on the CPU that currently hands out the highest mount namespace ids.
//
// Since Linux 6.18 namespace ids come from per-CPU batches, and a namespace
// can only be preserved (bind mounted) by a caller whose own namespace has a
// smaller id. Making the sandbox's namespace on the highest CPU is the
// unfavourable case: fresh namespaces made on other CPUs get smaller ids, so
// the launcher's recovery is exercised by every run instead of by chance.
// Where ids are not batched this changes nothing.
func runOnHighestCPU(cmd *exec.Cmd) error {
	best, err := HighestNamespaceCPU()
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		// The fork happens on this locked, pinned thread; the thread
		// is discarded afterwards (the goroutine exits locked). The
		// child resets its affinity in Enter.
		runtime.LockOSThread()
		if best >= 0 {
			var one unix.CPUSet
			one.Set(best)
			if err := unix.SchedSetaffinity(0, &one); err != nil {
				errc <- err
				return
			}
		}
		if err := cmd.Start(); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Wait()
	}()
	return <-errc
}

// HighestNamespaceCPU returns the allowed CPU that currently hands out the
// highest mount namespace ids (by making a throwaway namespace on each), or
// -1 when none could be probed. A process pinned to it makes namespaces
// whose ids exceed those made before anywhere, such as the sandbox's own:
// what a capture by bind mount needs on Linux 6.18 (see runOnHighestCPU).
func HighestNamespaceCPU() (int, error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return -1, err
	}
	best, bestID := -1, uint64(0)
	for cpu := 0; cpu < len(all)*64; cpu++ {
		if !all.IsSet(cpu) {
			continue
		}
		if id, err := probeNamespaceID(cpu); err == nil && (best < 0 || id > bestID) {
			best, bestID = cpu, id
		}
	}
	return best, nil
}

// probeNamespaceID makes a throwaway mount namespace on cpu and returns its
// id; the thread that made it is discarded.
func probeNamespaceID(cpu int) (uint64, error) {
	type result struct {
		id  uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			done <- result{0, err}
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			done <- result{0, err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{0, err}
			return
		}
		defer unix.Close(fd)
		id, err := unix.IoctlGetUint64(fd, unix.NS_GET_MNTNS_ID)
		done <- result{id, err}
	}()
	r := <-done
	return r.id, r.err
}

func mountFS(src, dst, fstype string, flags uintptr, data string) error {
	return unix.Mount(src, dst, fstype, flags, data)
}

// unpin undoes startOnHighestCPU: the process was forked on a pinned
// thread, and every thread the Go runtime made since inherited the pin. The
// main thread is unpinned and the program executed again (still pid 1, in
// the same namespaces), so that it, and everything it starts, runs on every
// CPU.
func unpin() error {
	if os.Getenv(unpinnedEnv) == "1" {
		return nil
	}
	runtime.LockOSThread()
	var all unix.CPUSet
	for cpu := 0; cpu < len(all)*64; cpu++ {
		all.Set(cpu)
	}
	if err := unix.SchedSetaffinity(0, &all); err != nil {
		return err
	}
	return syscall.Exec("/proc/self/exe", os.Args, append(os.Environ(), unpinnedEnv+"=1"))
}

const unpinnedEnv = "SNAPNS_SANDBOX_UNPINNED"

func bindRO(src, dst string) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return unix.Mount("none", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
}

// layOut creates the root's skeleton. /bin, /lib, /lib64 and /sbin follow the
// host: symlinks into /usr on a merged-/usr system, read-only binds otherwise.
func layOut(root string) error {
	for _, d := range []string{"usr", "etc", "dev", "sys", "proc", "run", "tmp", "mnt", "media", "root",
		"home", "snap", "var/lib/snapd", "var/snap", "var/tmp", "var/log", ".oldroot"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "var/tmp"), os.ModeSticky|0o777); err != nil {
		return err
	}
	for _, d := range []string{"bin", "lib", "lib64", "sbin"} {
		host := "/" + d
		target, err := os.Readlink(host)
		switch {
		case err == nil:
			if err := os.Symlink(target, filepath.Join(root, d)); err != nil {
				return err
			}
		case os.IsNotExist(err):
		default:
			if _, statErr := os.Stat(host); statErr != nil {
				continue
			}
			if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
				return err
			}
			if err := bindRO(host, filepath.Join(root, d)); err != nil {
				return err
			}
		}
	}
	return nil
}

// mountUsr overlays a tmpfs on the host's /usr, without nosuid, so that the
// sandbox can add /usr/lib/snapd and a setuid launcher without writing to
// the host.
func mountUsr(root, scratch string) error {
	upper, work := filepath.Join(scratch, "usr-upper"), filepath.Join(scratch, "usr-work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=/usr,upperdir=%s,workdir=%s", upper, work)
	return unix.Mount("overlay", filepath.Join(root, "usr"), "overlay", 0, opts)
}

func install(root string, files []File) error {
	for _, f := range files {
		data, err := os.ReadFile(f.Src)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, f.Dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			return err
		}
		if err := os.Chown(dst, 0, 0); err != nil {
			return err
		}
		// Chmod after chown: chown clears the setuid bit.
		if err := os.Chmod(dst, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

func pivot(root string) error {
	if err := unix.PivotRoot(root, filepath.Join(root, ".oldroot")); err != nil {
		return err
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Unmount("/.oldroot", unix.MNT_DETACH); err != nil {
		return err
	}
	return os.Remove("/.oldroot")
}

// EnterCgroupV2 gives the sandbox a unified cgroup hierarchy of its own, as
// on a cgroup v2 host: the sandbox (this pid 1 and everything under it) moves
// into a new sub-cgroup of the machine's v2 hierarchy, a cgroup namespace
// rooted there is entered, and cgroup2 is mounted on /sys/fs/cgroup inside
// the sandbox. The machine's hierarchy is never changed otherwise. The
// returned function moves the sandbox back and removes the sub-cgroup; it
// must run after every process put in a child group has exited.
//
// It works on every layout: the machine's v2 hierarchy is reached through a
// cgroup2 mount of the sandbox's own (hostV2Mount), which can be made
// whether the host mounts it on /sys/fs/cgroup (pure v2), on
// /sys/fs/cgroup/unified (systemd's hybrid layout) or nowhere (legacy v1:
// every controller is then on v1 and the v2 hierarchy has none, which is
// all the tests need of it); and whatever the sandbox's copy of the host's
// mounts has on /sys/fs/cgroup is covered, or, where it is the v2
// hierarchy itself (mounting cgroup2 on the root of a cgroup2 mount is
// refused with EBUSY), taken away first, in the sandbox only.
func EnterCgroupV2() (cleanup func() error, err error) {
	if err := os.MkdirAll(hostV2Mount, 0o700); err != nil {
		return nil, err
	}
	if err := unix.Mount("cgroup2", hostV2Mount, "cgroup2", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		os.Remove(hostV2Mount)
		return nil, fmt.Errorf("cannot mount the machine's cgroup v2 hierarchy: %w", err)
	}
	undo := func() {
		unix.Unmount(hostV2Mount, unix.MNT_DETACH)
		os.Remove(hostV2Mount)
	}
	// Read after the mount: a legacy host shows no v2 line until the
	// hierarchy has been mounted once.
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		undo()
		return nil, err
	}
	orig := ""
	for _, line := range strings.Split(string(self), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			orig = rest
		}
	}
	if orig == "" {
		undo()
		return nil, fmt.Errorf("cannot find this process's cgroup v2 path")
	}
	origDir := filepath.Join(hostV2Mount, orig)
	sub, err := newRunGroup(origDir)
	if err != nil {
		undo()
		return nil, err
	}
	if err := moveIn(sub); err != nil {
		os.Remove(sub)
		undo()
		return nil, err
	}
	var sfs unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &sfs) == nil && sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		if err := unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH); err != nil {
			moveIn(origDir)
			os.Remove(sub)
			undo()
			return nil, fmt.Errorf("cannot take the host's cgroup2 mount away from the sandbox: %w", err)
		}
	}
	if err := InNewCgroupNS(func() error {
		return unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}); err != nil {
		moveIn(origDir)
		os.Remove(sub)
		undo()
		return nil, err
	}
	return func() error {
		if err := unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH); err != nil {
			return err
		}
		if err := moveIn(origDir); err != nil {
			return err
		}
		if err := removeGroups(sub); err != nil {
			return err
		}
		undo()
		return nil
	}, nil
}

// hostV2Mount is where EnterCgroupV2 mounts the machine's v2 hierarchy for
// itself, on the sandbox's root tmpfs (which no test resets).
const hostV2Mount = "/.snapns-cgroup2-host"

// removeGroups removes the group dir and every group below it, deepest
// first, once whatever runs in them (a killed launcher's orphans) is killed
// and reaped: pid 1 is their reaper. This process must have left them.
func removeGroups(dir string) error {
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for attempt := 0; ; attempt++ {
		busy := false
		for _, dir := range dirs {
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			for _, f := range strings.Fields(string(procs)) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					unix.Kill(pid, unix.SIGKILL)
					busy = true
				}
			}
		}
		for {
			if pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
		if !busy || attempt == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// newRunGroup makes a child group of parent with a name of its own, so that
// sandboxes can run side by side, after removing those that sandboxes which
// died before their cleanup left: empty by now (every process of such a
// sandbox died with it), as are the groups their launches made below them.
// A group still in use by a sandbox running beside this one is not empty
// and stays.
func newRunGroup(parent string) (string, error) {
	stale, _ := filepath.Glob(filepath.Join(parent, "snapns-sandbox-*"))
	for _, dir := range stale {
		if procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err != nil || len(procs) > 0 {
			continue // a running sandbox's pid 1 is in its group
		}
		children, _ := filepath.Glob(filepath.Join(dir, "*", "cgroup.procs"))
		for _, procs := range children {
			os.Remove(filepath.Dir(procs))
		}
		os.Remove(dir)
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", err
	}
	sub := filepath.Join(parent, "snapns-sandbox-"+hex.EncodeToString(suffix[:]))
	return sub, os.Mkdir(sub, 0o755)
}

// moveIn moves this process (the sandbox's pid 1, every thread) into the
// group dir.
func moveIn(dir string) error {
	return os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// InNewCgroupNS runs fn on a thread of its own in a new cgroup namespace,
// rooted at the groups this process is in: the namespace is per thread
// until exec, and the thread dies with it (it stays locked).
func InNewCgroupNS(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}
