// SPDX-License-Identifier: GPL-3.0-only

//go:build !cgo

package main

import (
	"fmt"
	"os"
)

// Without cgo there is no libseccomp: this build exists so that
// CGO_ENABLED=0 builds of the whole tree (the launcher's) succeed.
func main() {
	fmt.Fprintln(os.Stderr, "cannot run snap-seccomp: built without cgo, so without libseccomp")
	os.Exit(1)
}
