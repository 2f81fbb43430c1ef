// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/snapns/snapns/shared/help"
	"github.com/snapns/snapns/shared/plan"
)

// The launcher takes one of two command lines, both untrusted:
//
//   - snap-launch PLAN EXECUTABLE [ARGS...]: a plan from the planner's
//     front (planner/cmd/snap-confine), which snapd runs as snap-confine;
//   - snapd's own snap-confine command line, when the launcher itself is
//     installed as snap-confine (make install-dropin): one process per
//     launch instead of two, which is most of what a launch costs when the
//     namespace is joined. The planner's explanations (SNAPD_DEBUG=1) are
//     then the launcher's own debug log.
//
// Either way the result is the same validated plan and target: nothing
// else in the launcher knows which it was.

// DropInName is the name under which the launcher reads snapd's command
// line.
const DropInName = "snap-confine"

// parseArgs returns the plan and target of args, or what to print on
// standard output for --version or --help.
func parseArgs(args []string) (p *plan.Plan, target []string, version string, err error) {
	name, text := "snap-launch", help.SnapLaunch.Help
	if len(args) > 0 && filepath.Base(args[0]) == DropInName {
		name, text = DropInName, help.SnapConfine.Help
	}
	if len(args) == 2 && args[1] == "--version" {
		return nil, nil, name + " " + Version + "\n", nil
	}
	if len(args) == 2 && (args[1] == "--help" || args[1] == "-h") {
		return nil, nil, text, nil
	}
	if name == DropInName {
		inv, err := plan.ParseCommandLine(args, os.Getenv)
		if err != nil {
			return nil, nil, "", err
		}
		if inv.Version {
			return nil, nil, name + " " + Version + "\n", nil
		}
		if inv.Help {
			return nil, nil, text, nil
		}
		if p, err = inv.Plan(); err != nil {
			return nil, nil, "", err
		}
		target = inv.Target()
	} else {
		if len(args) < 3 {
			return nil, nil, "", errors.New(usage)
		}
		if p, err = plan.Decode([]byte(args[1])); err != nil {
			return nil, nil, "", err
		}
		target = args[2:]
	}
	if target[0] == "" {
		return nil, nil, "", errors.New("cannot launch: empty executable")
	}
	return p, target, "", nil
}
