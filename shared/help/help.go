// SPDX-License-Identifier: GPL-3.0-only

// Package help is a binary's --help text, which its man page is made from
// (tools/mangen), so that the two never disagree, and holds the
// launcher's; snap-ns's is nsview.Help and snap-discard-ns's
// discardns.Help, so that the launcher links only its own. The texts
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
