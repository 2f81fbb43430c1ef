// SPDX-License-Identifier: GPL-3.0-only

// Package help holds each binary's --help text, which its man page is
// made from (tools/mangen), so that the two never disagree. The texts
// follow one layout that mangen reads: a "Usage:" block (the synopsis),
// paragraphs (the description), and "Heading:" blocks whose items are
// "  -o, --option ARG   what it does" (two spaces or more before the
// description, continuation lines indented deeper).
package help

// Page is one binary's help and what its man page adds to the help.
type Page struct {
	Name    string // the binary
	Section int    // its manual section
	Summary string // the NAME line's description
	Help    string // the --help text
}

// SnapConfine is the help of the launcher, installed as snap-confine.
var SnapConfine = Page{Name: "snap-confine", Section: 8, Summary: "run a snap application in its snap's mount namespace", Help: `Usage: snap-confine [--classic] [--base BASE] SECURITY-TAG EXECUTABLE [ARG]...
       snap-confine --help | --version

Runs EXECUTABLE with its ARGs as the snap application or hook SECURITY-TAG
(snap.INSTANCE.APP or snap.INSTANCE.hook.HOOK) of the snap instance named by
SNAP_INSTANCE_NAME: in the snap's preserved mount namespace, joined, or
created from the base snap and preserved in /run/snapd/ns; for a non-root
caller, in the user's layer on top of it; with every privilege dropped, the
snap's seccomp profile loaded and, where AppArmor is enabled, the label
SECURITY-TAG. snapd runs it (snap run); it is not meant to be run by hand.
This is snapns's launcher, a replacement for snapd's snap-confine that takes
the same command line and environment.

Options:
      --classic      a classic snap: it runs in the host's mount
                     namespace
      --base BASE    the snap's base snap (default: core)
  -h, --help         print this help and exit
      --version      print the version and exit

Environment:
  SNAP_INSTANCE_NAME             the snap instance (required)
  SNAPD_DEBUG, SNAP_CONFINE_DEBUG
                                 1 or yes: a debug log on standard error
  SNAP_CONFINE_MAX_PROFILE_WAIT  seconds to wait for a seccomp profile snapd
                                 has not written yet (default 120, at most
                                 3600)

Exit status:
  On success snap-confine does not exit: it becomes EXECUTABLE, whose exit
  status is the launch's. 0: --help or --version. 1: the launch was refused
  or failed, with one line on standard error that starts with "cannot".
`}

// SnapDiscardNS is the help of snap-discard-ns.
var SnapDiscardNS = Page{Name: "snap-discard-ns", Section: 8, Summary: "discard the preserved mount namespaces of a snap", Help: `Usage: snap-discard-ns [--from-snap-confine | --snap-already-locked] INSTANCE
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

// SnapNS is the help of snap-ns.
var SnapNS = Page{Name: "snap-ns", Section: 1, Summary: "show the preserved mount namespaces of snaps, and explain a launch", Help: `Usage: snap-ns [OPTION]... list
       snap-ns [OPTION]... explain SECURITY-TAG
       snap-ns [OPTION]... show INSTANCE
       snap-ns --help | --version

Shows, as any user and without changing anything, the snap mount namespaces
preserved in /run/snapd/ns, what the next launch would do with them and why,
and what is mounted inside them. Options may come before or after the
command and its operand.

Commands:
  list                  every preserved namespace and user layer: its id and
                        inode, the base it was built from, whether it is
                        stale, the processes in it, what the next launch does
  explain SECURITY-TAG  what launching SECURITY-TAG (snap.INSTANCE.APP) would
                        do now, step by step, in the launcher's words
  show INSTANCE         the mount table inside INSTANCE's preserved namespace
                        (with --uid, a user's layer), as findmnt shows one

Options:
      --json            print JSON (schema snap-ns/1) instead of a table
  -o, --output LIST     the columns to print, comma-separated (+LIST adds to
                        the default ones); the table alone, for scripts
  -n, --noheadings      no heading line; the table alone, for scripts
      --classic         explain: a classic snap
      --base BASE       explain: the snap's base (default: core)
      --uid UID         explain: a launch by UID (root only); show: UID's
                        layer
  -h, --help            print this help and exit
      --version         print the version and exit

Columns of list:
  NAMESPACE, INSTANCE, UID, ID, INODE, BASE, REVISION, DEVICE, STALE,
  OCCUPIED, PIDS, NEXT, MADE-BY, AGE (the default ones); NPROCS, REASON

Columns of show:
  MOUNT-POINT, TYPE, SOURCE, ROOT, DEVICE, PROPAGATION, OPTIONS (all default)

Environment:
  NO_COLOR      set: no colour, even on a terminal

Exit status:
  0: done. 1: an error (one line on standard error that starts with
  "cannot"), a launch explain says would be refused, or a namespace whose
  mount table show could not read.
`}

// Pages are every binary's page, in the order of the manual.
var Pages = []Page{SnapNS, SnapConfine, SnapDiscardNS}
