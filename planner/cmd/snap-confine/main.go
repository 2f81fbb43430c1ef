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

// Command snap-confine is the planner's front: a drop-in for snapd's
// snap-confine command line that computes a plan and execs snap-launch, the
// privileged launcher, from its own directory.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/help"
	"github.com/snapns/snapns/shared/plan"
)

// Version is set at build time.
var Version = "dev"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

func run() error {
	inv, err := plan.ParseCommandLine(os.Args, os.Getenv)
	if err != nil {
		return err
	}
	if inv.Version {
		fmt.Printf("snap-confine %s\n", Version)
		return nil
	}
	if inv.Help {
		fmt.Print(help.SnapConfine.Help)
		return nil
	}
	p, err := planner.Plan(inv)
	if err != nil {
		return err
	}
	launcher, err := planner.LauncherPath()
	if err != nil {
		return err
	}
	if inv.Debug {
		// The planner's expectations are worked out only for this log:
		// the launcher decides for itself and never sees them.
		e, err := planner.Expect(p, uint32(os.Getuid()))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSuffix(planner.Explain(p, e), "\n"), "\n") {
			fmt.Fprintf(os.Stderr, "DEBUG: snap-confine: plan: %s\n", line)
		}
		fmt.Fprintf(os.Stderr, "DEBUG: snap-confine: executing %s with target %q\n", launcher, inv.Target())
	}
	return planner.Exec(launcher, p, inv.Target(), os.Environ())
}
