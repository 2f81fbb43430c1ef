// SPDX-License-Identifier: GPL-3.0-only

// Package discardns is snap-discard-ns's command line, compatible with
// snapd's:
//
//	snap-discard-ns [--from-snap-confine|--snap-already-locked] INSTANCE
//
// It is a root-only tool (neither setuid nor installed with capabilities);
// the work is the launcher's (launcher.Discard). snap-confine does not link
// this package.
package discardns

import (
	"errors"
	"os"
	"strings"

	"github.com/snapns/snapns/launcher"
	"github.com/snapns/snapns/shared/help"
	"github.com/snapns/snapns/shared/naming"
)

// Main runs snap-discard-ns with the process's arguments and returns its
// exit status; an error is one line on stderr.
func Main(args []string) int {
	if err := run(args); err != nil {
		os.Stderr.WriteString(strings.ReplaceAll(err.Error(), "\n", " ") + "\n")
		return 1
	}
	return 0
}

func run(args []string) error {
	name, fromSnapConfine, print, err := parseArgs(args)
	if err != nil {
		return err
	}
	if print != "" {
		_, err := os.Stdout.WriteString(print)
		return err
	}
	inst, err := naming.ParseInstance(name)
	if err != nil {
		return err
	}
	debug := os.Getenv("SNAPD_DEBUG") == "1" || os.Getenv("SNAPD_DEBUG") == "yes"
	return launcher.Discard(inst, fromSnapConfine, debug)
}

// parseArgs returns the instance name and whether the caller holds the
// snap's lock, or the text to print (help, version).
func parseArgs(args []string) (instance string, locked bool, print string, err error) {
	switch {
	case len(args) == 2 && (args[1] == "--help" || args[1] == "-h"):
		return "", false, Help.Help, nil
	case len(args) == 2 && args[1] == "--version":
		return "", false, "snap-discard-ns " + launcher.Version + "\n", nil
	case len(args) == 2 && !strings.HasPrefix(args[1], "-"):
		return args[1], false, "", nil
	case len(args) == 3 && (args[1] == "--from-snap-confine" || args[1] == "--snap-already-locked"):
		return args[2], true, "", nil
	}
	return "", false, "", errors.New("cannot discard: usage: snap-discard-ns [--from-snap-confine|--snap-already-locked] INSTANCE (see --help)")
}

// Help is the help of snap-discard-ns, which snap-discard-ns(8) is made
// from (tools/mangen).
var Help = help.Page{Name: "snap-discard-ns", Section: 8, Summary: "discard the preserved mount namespaces of a snap", Help: `Usage: snap-discard-ns [--from-snap-confine | --snap-already-locked] INSTANCE
       snap-discard-ns --help | --version

Discards the preserved mount namespace of the snap instance INSTANCE and
every user's layer on top of it: each /run/snapd/ns/INSTANCE.mnt and
INSTANCE.UID.mnt is unmounted and removed, with the snap's info file and
snap-update-ns's records. The next launch builds the namespace anew. snapd
runs it when a snap is removed or its base changes; it must run as root.
It takes the snap's lock (/run/snapd/lock/INSTANCE.lock) for the time it
works, unless the caller says it holds it.

Options:
      --from-snap-confine    the caller (snap-confine) holds the snap's lock
      --snap-already-locked  the caller holds the snap's lock
  -h, --help                 print this help and exit
      --version              print the version and exit

Environment:
  SNAPD_DEBUG    1 or yes: a debug log on standard error

Exit status:
  0: discarded, or nothing to discard. 1: it failed, with one line on
  standard error that starts with "cannot".
`}
