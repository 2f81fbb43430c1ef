// SPDX-License-Identifier: GPL-3.0-only

// Command snap-discard-ns discards a snap's preserved mount namespaces,
// command-line compatible with snapd's: snap-discard-ns
// [--from-snap-confine|--snap-already-locked] INSTANCE. It is a root-only
// tool: see package launcher/discardns.
package main

import (
	"os"

	"github.com/snapns/snapns/launcher/discardns"
)

func main() {
	os.Exit(discardns.Main(os.Args))
}
