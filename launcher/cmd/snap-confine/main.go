// SPDX-License-Identifier: GPL-3.0-only

// The runtime's default GOMAXPROCS follows the cgroup CPU limit, which it
// finds at start by reading /proc/self/cgroup and /proc/self/mountinfo and
// then re-checks from a background goroutine; and it names its anonymous
// mappings with one prctl each. A launch runs for milliseconds on one
// thread: none of it is worth its syscalls.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0

// Command snap-confine is the privileged launcher (setuid root, or file
// capabilities), installed as snapd's snap-confine: see package launcher.
package main

import (
	"os"

	"github.com/snapns/snapns/launcher"
	// Non-dumpable from the first package initialiser that can make a
	// syscall (see the package); launcher imports it too, named here so
	// that no binary of the launcher can lose it.
	_ "github.com/snapns/snapns/launcher/nodump"
)

func main() {
	os.Exit(launcher.Main(os.Args))
}
