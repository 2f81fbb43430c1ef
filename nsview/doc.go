// SPDX-License-Identifier: GPL-3.0-only

// Package nsview is the operator's read-only view of preserved mount
// namespaces, behind the snap-ns command: what is preserved under
// /run/snapd/ns and whether it is stale (List), what a launch of a security
// tag would do now (Explain), and the mount table inside a preserved
// namespace (Show), for a person (text) and for scripts (JSON, schema
// "snap-ns/1", docs/snap-ns.md).
//
// It runs with its caller's privileges and changes nothing. /run/snapd/ns
// may hold entries anyone made there before snapd's directory existed, or
// that an attacker raced in: every entry is looked at with lstat or opened
// O_PATH|O_NOFOLLOW first, so that a symlink is never followed and a FIFO is
// never opened for reading; what it finds there that the launcher would not
// have made is reported, not used. It decides staleness with the launcher's
// own code (shared/stale) from the facts the planner reads (planner), and
// never links the launcher.
package nsview

// Schema names the JSON format of every output; a change that removes or
// changes the meaning of a field bumps it.
const Schema = "snap-ns/1"
