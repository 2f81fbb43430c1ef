// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// runHelper is this test binary acting as a helper process, selected by
// helperEnv. It returns an exit status.
func runHelper(mode string, args []string) int {
	switch mode {
	case "in-other-ns":
		// args: program argv... Run program from a mount namespace of
		// its own whose /run is an empty tmpfs, as the unprivileged
		// caller SNAPNS_E2E_UID.
		runtime.LockOSThread()
		uid, _ := strconv.Atoi(os.Getenv("SNAPNS_E2E_UID"))
		steps := []func() error{
			func() error { return unix.Unshare(unix.CLONE_NEWNS) },
			func() error { return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") },
			func() error { return unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") },
			func() error { return syscall.Setgroups([]int{uid}) },
			func() error { return syscall.Setresgid(uid, uid, uid) },
			func() error { return syscall.Setresuid(uid, uid, uid) },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				fmt.Fprintf(os.Stderr, "helper step %d: %v\n", i, err)
				return 100
			}
		}
		err := syscall.Exec(args[0], args, os.Environ())
		fmt.Fprintf(os.Stderr, "helper exec: %v\n", err)
		return 101
	}
	if mode == "tamper-stage" && len(args) == 2 {
		return tamperStage(args[0], args[1])
	}
	if mode == "probe-proc" && len(args) == 1 {
		return probeProc(args[0])
	}
	switch mode {
	case "kernelsim-launch":
		return runKernelSimLaunch(args)
	case "kernelsim-supervisor":
		return runKernelSimSupervisor()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 102
}

// lockThreadForever locks the calling goroutine to its thread for good, so
// that per-thread state changed on it dies with the goroutine.
func lockThreadForever() { runtime.LockOSThread() }

// probeProc is the "probe-proc PID" helper mode: as whoever runs it, try
// to read another process's environment, memory and descriptor table, to
// write its oom_score_adj and to ptrace it; print one line per attempt.
func probeProc(pid string) int {
	for _, f := range []string{"environ", "mem", "fd"} {
		fd, err := unix.Open("/proc/"+pid+"/"+f, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
			fmt.Printf("%s=opened\n", f)
		} else {
			fmt.Printf("%s=%v\n", f, err)
		}
	}
	// A dumpable process's /proc files are its caller's: this one would
	// let them make it the OOM killer's first choice.
	if fd, err := unix.Open("/proc/"+pid+"/oom_score_adj", unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
		fmt.Printf("oom_score_adj=opened\n")
	} else {
		fmt.Printf("oom_score_adj=%v\n", err)
	}
	n, _ := strconv.Atoi(pid)
	if err := unix.PtraceSeize(n); err != nil {
		fmt.Printf("ptrace=%v\n", err)
	} else {
		fmt.Printf("ptrace=attached\n")
	}
	return 0
}
