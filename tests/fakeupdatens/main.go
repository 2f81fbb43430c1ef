// SPDX-License-Identifier: GPL-3.0-only

// Command fakeupdatens stands in for snapd's snap-update-ns in the test world.
// It checks its command line, then proves where and how it ran: it mounts a
// tmpfs on /mnt and writes /mnt/snap-update-ns.log there with its argv,
// credentials and environment, so that only processes in the namespace it
// ran in can see the file. When /var/lib/snapd/fake-update-ns-fail exists it
// fails instead, so tests can check that the launcher fails with it; when
// /var/lib/snapd/fake-update-ns-hang exists it writes its pid to
// /run/fake-update-ns.pid and hangs, so tests can kill the launcher while it
// waits.
//
// Parallel instances: like the real snap-update-ns, it applies the
// x-snapd.origin=overname entries of the snap's mount profile
// (/var/lib/snapd/mount/snap.<instance>.fstab), with which snapd maps a
// confined instance's /snap/<snap>_<key> and /var/snap/<snap>_<key> onto
// /snap/<snap> and /var/snap/<snap> in its namespace: a recursive bind of
// each, in the namespace it runs in. It is a stand-in: it applies only
// those entries, with plain paths and no checks, and records nothing in
// /run/snapd/ns. The per-user profile (--user-mounts) has no such entries:
// snapd points $SNAP_USER_DATA at ~/snap/<snap>_<key> itself.
package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	user := len(os.Args) == 4 && os.Args[1] == "--from-snap-confine" && os.Args[2] == "--user-mounts"
	if !user && (len(os.Args) != 3 || os.Args[1] != "--from-snap-confine") {
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: unexpected arguments %q\n", os.Args)
		os.Exit(2)
	}
	if user {
		userMounts()
		return
	}
	if _, err := os.Stat("/var/lib/snapd/fake-update-ns-fail"); err == nil {
		fmt.Fprintln(os.Stderr, "fake snap-update-ns: failing on request")
		os.Exit(3)
	}
	if _, err := os.Stat("/var/lib/snapd/fake-update-ns-hang"); err == nil {
		os.WriteFile("/run/fake-update-ns.pid", []byte(strconv.Itoa(os.Getpid())), 0o644)
		time.Sleep(time.Hour)
	}
	if err := applyOvername(os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: %v\n", err)
		os.Exit(6)
	}
	if err := unix.Mount("tmpfs", "/mnt", "tmpfs", 0, "mode=0755"); err != nil {
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: cannot mount /mnt: %v\n", err)
		os.Exit(4)
	}
	ruid, euid, suid := unix.Getresuid()
	sid, _ := unix.Getsid(0)
	fstab, _ := os.ReadFile("/run/snapd/ns/snap." + os.Args[2] + ".fstab")
	var fds []string
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds = append(fds, e.Name()+"->"+target)
	}
	marker, _ := os.ReadFile("/base-marker")
	log := fmt.Sprintf("argv=%s\nuids=%d/%d/%d\nenv=%s\nsession-leader=%t\nfstab=%q\nfds=%s\nroot=%s\nlabel=%s\n",
		strings.Join(os.Args, " "), ruid, euid, suid, strings.Join(os.Environ(), " "),
		sid == os.Getpid(), fstab, strings.Join(fds, " "), strings.TrimSpace(string(marker)), label())
	fmt.Fprintln(os.Stderr, "fake snap-update-ns: applied the profile of", os.Args[2])
	if err := os.WriteFile("/mnt/snap-update-ns.log", []byte(log), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: %v\n", err)
		os.Exit(5)
	}
}

// userMounts is --user-mounts: it proves it ran as the caller, with
// capabilities enough to mount, in the caller's per-user namespace, by
// mounting a tmpfs on /var/tmp there with a log in it.
func userMounts() {
	if err := unix.Mount("tmpfs", "/var/tmp", "tmpfs", 0, "mode=0755"); err != nil {
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: cannot mount /var/tmp: %v\n", err)
		os.Exit(4)
	}
	ruid, euid, suid := unix.Getresuid()
	status, _ := os.ReadFile("/proc/self/status")
	var caps []string
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Cap") {
			caps = append(caps, strings.ReplaceAll(line, "\t", ""))
		}
	}
	log := fmt.Sprintf("argv=%s\nuids=%d/%d/%d\nenv=%s\n%s\nlabel=%s\n", strings.Join(os.Args, " "), ruid, euid, suid,
		strings.Join(os.Environ(), " "), strings.Join(caps, "\n"), label())
	if err := os.WriteFile("/var/tmp/user-mounts.log", []byte(log), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: %v\n", err)
		os.Exit(5)
	}
}

// applyOvername bind mounts, recursively, every x-snapd.origin=overname
// entry of the instance's mount profile, in the profile's order, as
// snap-update-ns does first of all. A missing profile means nothing to do.
func applyOvername(instance string) error {
	data, err := os.ReadFile("/var/lib/snapd/mount/snap." + instance + ".fstab")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		opts := strings.Split(f[3], ",")
		if !slices.Contains(opts, "x-snapd.origin=overname") {
			continue
		}
		if !slices.Contains(opts, "rbind") {
			return fmt.Errorf("cannot apply %q: an overname entry is an rbind", line)
		}
		if err := unix.Mount(f[0], f[1], "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("cannot bind mount %s on %s: %w", f[0], f[1], err)
		}
		fmt.Fprintf(os.Stderr, "fake snap-update-ns: mapped %s on %s\n", f[0], f[1])
	}
	return nil
}

// label is the AppArmor label it runs under ("unconfined" where AppArmor
// is off; empty where the kernel has no such attribute).
func label() string {
	data, err := os.ReadFile("/proc/self/attr/apparmor/current")
	if err != nil {
		data, _ = os.ReadFile("/proc/self/attr/current")
	}
	return strings.TrimRight(string(data), "\n\x00")
}
