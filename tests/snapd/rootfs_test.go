// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// suite is one selectable snapd: the Debian suite its package comes from and
// the Debian release the container is bootstrapped from. sid's snapd runs in
// a trixie container (its dependencies are trixie's, and a stable release
// bootstraps the same way every day).
type suite struct {
	name      string // SNAPD_SUITE: where snapd's package comes from
	container string // the container's Debian release
	expect    string // the snapd version this suite had when the suite was written
}

var suites = map[string]suite{
	"sid":      {name: "sid", container: "trixie", expect: "2.77.x"},
	"trixie":   {name: "trixie", container: "trixie", expect: "2.68.x"},
	"bookworm": {name: "bookworm", container: "bookworm", expect: "2.57.6"},
}

// recipe versions the prepared root filesystem: bump it when prepareRootfs
// changes what it makes. The cached tree's name also carries a digest of
// testdata/prepare.sh and of the package list, so that changing either
// rebuilds it.
const recipe = 1

// containerPackages are bootstrapped with the container's release. snapd is
// among them even when its package comes from another suite: it pulls in
// the dependencies, and the other suite's package is installed over it.
var containerPackages = []string{
	"systemd-sysv", "dbus", "dbus-user-session", "libpam-systemd", "udev",
	"openssh-client", "squashfs-tools", "libcap2-bin", "procps", "snapd",
}

// rootfs is a prepared container tree: Debian with snapd installed, a user
// and the fake base snaps packed, cached and shared read-only by every boot
// (each boot writes to an overlay of its own).
type rootfs struct {
	dir          string
	snapdVersion string // VERSION of the package's usr/lib/snapd/info
}

// prepareRootfs returns the cached tree for s, building it when it is not
// there (or was made by an older recipe) and fetch is set (otherwise that
// is a notPrepared error).
func prepareRootfs(cache string, s suite, fetch bool, logf func(string, ...any)) (*rootfs, error) {
	base := filepath.Join(cache, "rootfs")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	// One suite run prepares at a time; another waits for it.
	lock, err := os.OpenFile(filepath.Join(base, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w", lock.Name(), err)
	}
	script, err := os.ReadFile("testdata/prepare.sh")
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(fmt.Sprintf("%d\n%s\n%s", recipe, strings.Join(containerPackages, ","), script)))
	dir := filepath.Join(base, fmt.Sprintf("%s-%x", s.name, digest[:6]))
	if version, err := os.ReadFile(filepath.Join(dir, ".ready")); err == nil {
		return &rootfs{dir: dir, snapdVersion: strings.TrimSpace(string(version))}, nil
	}
	if !fetch {
		return nil, notPrepared{"the container tree of SNAPD_SUITE=" + s.name}
	}
	start := time.Now()
	tools, err := fetchHostTools(cache, true, logf)
	if err != nil {
		return nil, err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	debCache, err := filepath.Abs(filepath.Join(cache, "debootstrap", s.container))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(debCache, 0o755); err != nil {
		return nil, err
	}
	logf("debootstrap %s into %s (log: %s.log)", s.container, tmp, dir)
	// debootstrap mounts /proc and /sys in the tree: a private mount
	// namespace keeps that from the machine.
	cmd := tools.debootstrap("--variant=minbase", "--include="+strings.Join(containerPackages, ","),
		"--keyring="+keyring, "--cache-dir="+debCache, s.container, tmp, archive)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	if err := runLogged(cmd, dir+".log"); err != nil {
		detail, _ := os.ReadFile(filepath.Join(tmp, "debootstrap/debootstrap.log"))
		log, _ := os.ReadFile(dir + ".log")
		err = fmt.Errorf("cannot bootstrap Debian %s: %w: %s", s.container, err, lastLines(string(detail)+string(log), 8))
		if strings.Contains(string(log), "Failed getting release file") || strings.Contains(string(log), "Couldn't download") {
			return nil, fetchError{err}
		}
		return nil, err
	}
	if s.name != s.container {
		repo := newAptRepo(cache, s.name)
		debs, err := repo.download(logf, filepath.Join(cache, "debs", s.name), "snapd")
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(debs[0])
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, "var/tmp/snapd.deb"), data, 0o644); err != nil {
			return nil, err
		}
		logf("installing %s in the container", filepath.Base(debs[0]))
		if err := runLogged(inChroot(tmp, "dpkg", "-i", "/var/tmp/snapd.deb"), dir+".log"); err != nil {
			return nil, fmt.Errorf("cannot install %s in the container: %w (log: %s.log)", filepath.Base(debs[0]), err, dir)
		}
		os.Remove(filepath.Join(tmp, "var/tmp/snapd.deb"))
	}
	if err := os.WriteFile(filepath.Join(tmp, "var/tmp/prepare.sh"), script, 0o755); err != nil {
		return nil, err
	}
	logf("preparing the container: the user, the fake base snaps (testdata/prepare.sh)")
	if err := runLogged(inChroot(tmp, "/var/tmp/prepare.sh"), dir+".log"); err != nil {
		return nil, fmt.Errorf("cannot prepare the container with testdata/prepare.sh: %w (log: %s.log)", err, dir)
	}
	os.Remove(filepath.Join(tmp, "var/tmp/prepare.sh"))
	version := snapdInfoVersion(filepath.Join(tmp, "usr/lib/snapd/info"))
	if err := os.WriteFile(filepath.Join(tmp, ".ready"), []byte(version+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	// Trees of older recipes of this suite are of no more use.
	old, _ := filepath.Glob(filepath.Join(base, s.name+"-*"))
	for _, o := range old {
		if o != dir && o != dir+".log" {
			os.RemoveAll(o)
		}
	}
	logf("prepared %s (snapd %s) in %s", dir, version, time.Since(start).Round(time.Second))
	return &rootfs{dir: dir, snapdVersion: version}, nil
}

// snapdInfoVersion reads VERSION= from snapd's info file.
func snapdInfoVersion(path string) string {
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION="); ok {
			return v
		}
	}
	return "unknown"
}

// runLogged runs cmd with its output appended to the file log.
func runLogged(cmd *exec.Cmd, log string) error {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "\n### %s\n", strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = f, f
	return cmd.Run()
}

// inChroot runs argv chrooted into root, from this test binary as a helper
// (helperChroot) in a private mount namespace of its own.
func inChroot(root string, argv ...string) *exec.Cmd {
	cmd := exec.Command(selfExe(), append([]string{root}, argv...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=chroot")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	return cmd
}

// helperChroot gives root the kernel filesystems and runs args[1:] chrooted
// into it. It runs in a private mount namespace (inChroot), so none of its
// mounts reach the machine, and they go away with it.
func helperChroot(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: chroot ROOT COMMAND...")
	}
	root := args[0]
	for _, m := range []struct {
		src, dst, fstype string
		flags            uintptr
	}{
		{"proc", "proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"sysfs", "sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY},
		{"/dev", "dev", "", unix.MS_BIND | unix.MS_REC},
		{"tmpfs", "run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV},
	} {
		if err := unix.Mount(m.src, filepath.Join(root, m.dst), m.fstype, m.flags, ""); err != nil {
			return fmt.Errorf("cannot mount %s on %s: %w", m.src, filepath.Join(root, m.dst), err)
		}
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("cannot chroot into %s: %w", root, err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}
	os.Setenv("PATH", env[0])
	path, err := exec.LookPath(args[1])
	if err != nil {
		return fmt.Errorf("cannot find %s in the container: %w", args[1], err)
	}
	return syscall.Exec(path, args[1:], env)
}
