// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"os"

	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/help"
)

// Name is the launcher's name: it is installed as snapd's snap-confine and
// takes snap-confine's command line (shared/cmdline), untrusted, whatever
// name it is run under.
const Name = "snap-confine"

// parseArgs returns the validated invocation of args, or what to print on
// standard output for --version or --help.
func parseArgs(args []string) (inv *cmdline.Invocation, version string, err error) {
	inv, err = cmdline.ParseCommandLine(args, os.Getenv)
	if err != nil {
		return nil, "", err
	}
	if inv.Version {
		return nil, Name + " " + Version + "\n", nil
	}
	if inv.Help {
		return nil, help.SnapConfine.Help, nil
	}
	if inv.Executable == "" {
		return nil, "", errors.New("cannot launch: empty executable")
	}
	return inv, "", nil
}
