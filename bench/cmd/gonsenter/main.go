// SPDX-License-Identifier: GPL-3.0-only

// The same runtime settings as the launcher's (launcher/cmd/snap-confine), so
// that this floor costs what the launcher's Go start costs.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0

// Command gonsenter is a floor of snapns-bench: the least a Go program can
// do to run an app in a preserved mount namespace (open it, setns on the
// main thread, exec), with no checks at all; `gonsenter - APP` only execs.
// Comparing it with `nsenter` shows what the Go runtime's start costs on the
// machine; comparing the launcher with it shows what the launcher adds.
package main

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) < 3 {
		os.Stderr.WriteString("usage: gonsenter NSFILE|- APP [ARGS...]\n")
		os.Exit(2)
	}
	if ns := os.Args[1]; ns != "-" {
		fd, err := unix.Open(ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			if err = unix.Unshare(unix.CLONE_FS); err == nil {
				err = unix.Setns(fd, unix.CLONE_NEWNS)
			}
		}
		if err != nil {
			os.Stderr.WriteString("gonsenter: " + err.Error() + "\n")
			os.Exit(1)
		}
	}
	err := unix.Exec(os.Args[2], os.Args[2:], os.Environ())
	os.Stderr.WriteString("gonsenter: " + err.Error() + "\n")
	os.Exit(1)
}
