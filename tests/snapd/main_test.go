// SPDX-License-Identifier: GPL-3.0-only

// Package snapd runs a real snapd daemon, from Debian's packages, under
// systemd as pid 1 in a systemd-nspawn container, with this project's
// launcher installed as snapd's snap-confine, and drives it as a user would:
// snaps packed by `snap pack` and installed by snapd, apps started with
// `snap run` and through /snap/bin, hooks, services, interfaces, refreshes.
// Every case runs for each install of the launcher and for snapd's own
// snap-confine as the control. See README.md (make test-snapd) and
// docs/ARCHITECTURE.md §5.
package snapd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// helperEnv names a helper mode of this test binary: it re-executes itself
// to run a command chrooted into the container tree, or to start
// systemd-nspawn, in a private mount namespace.
const helperEnv = "SNAPD_SUITE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		var err error
		switch mode {
		case "chroot":
			err = helperChroot(os.Args[1:])
		case "boot":
			err = helperBoot(os.Args[1:])
		default:
			err = fmt.Errorf("unknown helper mode %q", mode)
		}
		fmt.Fprintln(os.Stderr, "snapd suite helper:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func selfExe() string {
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}

// repoRoot is the repository's top directory (the tests run in tests/snapd).
func repoRoot() string {
	abs, _ := filepath.Abs("../..")
	return abs
}

// getenv returns the variable's value, or def when it is unset or empty.
func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
