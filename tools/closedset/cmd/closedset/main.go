// SPDX-License-Identifier: GPL-3.0-only

// Command closedset runs the closedset analyzer under go vet:
//
//	go vet -vettool=$(command -v closedset) PACKAGES
//
// make vet runs it over every package the installed privileged binaries
// link (see the Makefile and package closedset).
package main

import (
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/snapns/snapns/tools/closedset"
)

func main() { unitchecker.Main(closedset.Analyzer) }
