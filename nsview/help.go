// SPDX-License-Identifier: GPL-3.0-only

package nsview

import "github.com/snapns/snapns/shared/help"

// Help is the help of snap-ns, which snap-ns(1) is made from
// (tools/mangen).
var Help = help.Page{Name: "snap-ns", Section: 1, Summary: "show the preserved mount namespaces of snaps, and explain a launch", Help: `Usage: snap-ns [OPTION]... list
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
