// SPDX-License-Identifier: GPL-3.0-only

// Package discardns is snap-discard-ns's command line, compatible with
// snapd's:
//
//	snap-discard-ns [--from-snap-confine|--snap-already-locked] INSTANCE
//
// It is a root-only tool (neither setuid nor installed with capabilities);
// the discard and the lock are the launcher's (launcher.Discarder).
// snap-confine does not link this package.
package discardns

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/help"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/trusted"
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
	if unix.Geteuid() != 0 {
		return errors.New("cannot discard: snap-discard-ns must run as root")
	}
	d, err := launcher.NewDiscarder(os.Getenv("SNAPD_DEBUG") == "1" || os.Getenv("SNAPD_DEBUG") == "yes")
	if err != nil {
		return err
	}
	defer d.Close()
	return discard(d, inst, fromSnapConfine)
}

// discard discards inst's preserved namespaces, taking the per-snap lock
// itself or, when the caller holds it (snapd ≥ 2.74 passes
// --snap-already-locked while it holds the lock during a refresh,
// snap-confine --from-snap-confine), checking that it does. A missing
// /run/snapd/ns is success.
func discard(d *launcher.Discarder, inst naming.Instance, callerHoldsLock bool) error {
	nsdir, err := trusted.Path(layout.NSDir)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer nsdir.Close()
	lockdir, err := trusted.Path(layout.LockDir)
	switch {
	case err == nil:
		defer lockdir.Close()
	case errors.Is(err, unix.ENOENT) && !callerHoldsLock:
		// No lock directory: no launch can be under way.
	default:
		return err
	}
	lockName := layout.LockName(inst)
	if callerHoldsLock {
		if err := checkLockHeld(lockdir, lockName); err != nil {
			return err
		}
	} else if lockdir != nil {
		unlock, err := d.Lock(lockdir, lockName)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return d.Discard(nsdir, inst)
}

// checkLockHeld verifies that someone (the calling snap-confine) holds the
// per-snap lock: a non-blocking attempt through a new open file description
// must fail. flock(2) takes no access mode: the file is opened read-only.
func checkLockHeld(lockdir *desc.FD, name string) error {
	display := lockdir.Path(name)
	fd, err := unix.Openat(lockdir.Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot discard: the caller should hold %s: cannot open it: %w", display, err)
	}
	defer desc.New(fd, display).Close()
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		unix.Flock(fd, unix.LOCK_UN)
		return fmt.Errorf("cannot discard: %s is not held by the caller", display)
	}
	if err != unix.EWOULDBLOCK {
		return fmt.Errorf("cannot check %s: %w", display, err)
	}
	return nil
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
