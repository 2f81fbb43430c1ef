// SPDX-License-Identifier: GPL-3.0-only

// Command probe is the test world's snap app: it reports, as one JSON object
// on stdout, what the launcher handed it (argv, environment, credentials,
// capabilities, working directory, descriptors, mount namespace), after
// doing the optional actions named on its command line:
//
//	probe [write PATH CONTENT | read PATH | stat PATH | open PATH | openpty | sleep SECONDS | await PATH | openloop PATH DIR]...
//
// openpty opens /dev/ptmx and the pty slave it hands out (Open["pty"]).
// await waits (at most a minute) until PATH exists: a test's signal to go on.
// openloop creates DIR/running, then opens PATH over and over until
// DIR/stop exists (at most a minute), and reports in Open[PATH] how many
// opens there were and how many failed ("N opens, K failed[: error]").
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/probe/report"
)

func main() {
	// Descriptors first, with raw syscalls: the Go runtime's own (the
	// netpoller's) must not be mistaken for inherited ones.
	fds := listFDs()
	r := report.Report{FDs: fds, Argv: os.Args, Env: os.Environ(), Caps: map[string]string{}, Read: map[string]string{}, Stat: map[string]string{}, Status: map[string]string{}, Open: map[string]string{}}
	args := os.Args[1:]
	for len(args) > 0 {
		switch {
		case args[0] == "write" && len(args) >= 3:
			if err := os.WriteFile(args[1], []byte(args[2]), 0o644); err != nil {
				r.Errors = append(r.Errors, err.Error())
			}
			args = args[3:]
		case args[0] == "read" && len(args) >= 2:
			data, err := os.ReadFile(args[1])
			if err != nil {
				r.Errors = append(r.Errors, err.Error())
			} else {
				r.Read[args[1]] = string(data)
			}
			args = args[2:]
		case args[0] == "stat" && len(args) >= 2:
			var st unix.Stat_t
			if err := unix.Stat(args[1], &st); err != nil {
				r.Stat[args[1]] = "error: " + err.Error()
			} else {
				r.Stat[args[1]] = fmt.Sprintf("%d:%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
			}
			args = args[2:]
		case args[0] == "open" && len(args) >= 2:
			if fd, err := unix.Open(args[1], unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err != nil {
				r.Open[args[1]] = "error: " + err.Error()
			} else {
				unix.Close(fd)
				r.Open[args[1]] = "ok"
			}
			args = args[2:]
		case args[0] == "openpty":
			r.Open["pty"] = openPTY()
			args = args[1:]
		case args[0] == "uname":
			var u unix.Utsname
			if err := unix.Uname(&u); err != nil {
				r.Errors = append(r.Errors, "uname: "+err.Error())
			}
			args = args[1:]
		case args[0] == "sleep" && len(args) >= 2:
			s, _ := strconv.ParseFloat(args[1], 64)
			time.Sleep(time.Duration(s * float64(time.Second)))
			args = args[2:]
		case args[0] == "await" && len(args) >= 2:
			deadline := time.Now().Add(time.Minute)
			for {
				if _, err := os.Lstat(args[1]); err == nil {
					break
				}
				if time.Now().After(deadline) {
					r.Errors = append(r.Errors, "await "+args[1]+": timed out")
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			args = args[2:]
		case args[0] == "openloop" && len(args) >= 3:
			r.Open[args[1]] = openLoop(args[1], args[2])
			args = args[3:]
		default:
			args = args[1:]
		}
	}
	r.UIDs[0], r.UIDs[1], r.UIDs[2] = unix.Getresuid()
	r.GIDs[0], r.GIDs[1], r.GIDs[2] = unix.Getresgid()
	r.Groups, _ = unix.Getgroups()
	if r.Groups == nil {
		r.Groups = []int{}
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && strings.HasPrefix(k, "Cap") {
				r.Caps[k] = strings.TrimSpace(v)
			}
			if ok && k == "Cpus_allowed_list" {
				r.CPUs = strings.TrimSpace(v)
			}
			if ok && k == "Umask" {
				r.Umask = strings.TrimSpace(v)
			}
			if ok && (k == "NoNewPrivs" || strings.HasPrefix(k, "Seccomp")) {
				r.Status[k] = strings.TrimSpace(v)
			}
		}
	}
	r.Cwd, _ = os.Getwd()
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		r.Mounts = strings.Split(strings.TrimSpace(string(mi)), "\n")
	}
	r.MountNS, _ = os.Readlink("/proc/self/ns/mnt")
	if f, err := os.Open("/proc/self/ns/mnt"); err == nil {
		r.MountNSID, _ = report.MountNSID(int(f.Fd()))
		f.Close()
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func listFDs() []int {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var fds []int
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil || n == 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
	return fds
}

// openPTY opens a new pty's master and slave, as a terminal emulator does,
// and says "ok" or what failed.
func openPTY() string {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "error: /dev/ptmx: " + err.Error()
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return "error: unlockpt: " + err.Error()
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return "error: ptsname: " + err.Error()
	}
	slave, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "error: /dev/pts/" + strconv.Itoa(n) + ": " + err.Error()
	}
	unix.Close(slave)
	return "ok"
}

// openLoop is the "openloop PATH DIR" action: a running app using a device
// while others launch the same app (the device cgroup's map is shared).
func openLoop(path, dir string) string {
	if err := os.WriteFile(dir+"/running", nil, 0o644); err != nil {
		return "error: " + err.Error()
	}
	deadline := time.Now().Add(time.Minute)
	opens, failed, first := 0, 0, ""
	for {
		for i := 0; i < 1000; i++ {
			opens++
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			if err != nil {
				if failed++; first == "" {
					first = err.Error()
				}
				continue
			}
			unix.Close(fd)
		}
		if _, err := os.Lstat(dir + "/stop"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	out := fmt.Sprintf("%d opens, %d failed", opens, failed)
	if first != "" {
		out += ": " + first
	}
	return out
}
