// SPDX-License-Identifier: GPL-3.0-only

// Command closedset runs the closedset analyzer under go vet, over the
// packages it lists itself:
//
//	go vet -vettool=$(command -v closedset) $(closedset -packages)
//
// closedset -packages [-tags TAGS] lists every package the privileged
// binaries link (closedset.Project.Binaries, for the GOOS and GOARCH of the
// environment) but the standard library's and the trusted callees; make vet
// runs it for each architecture and for the test build (see the Makefile
// and package closedset).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/snapns/snapns/tools/closedset"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-packages" {
		fs := flag.NewFlagSet("closedset -packages", flag.ExitOnError)
		tags := fs.String("tags", "", "build tags, as go list takes them")
		fs.Parse(os.Args[2:])
		pkgs, err := packages(*tags)
		if err != nil {
			fmt.Fprintln(os.Stderr, "closedset:", err)
			os.Exit(1)
		}
		fmt.Println(strings.Join(pkgs, "\n"))
		return
	}
	unitchecker.Main(closedset.Analyzer)
}

// packages lists what the analyzer checks.
func packages(tags string) ([]string, error) {
	args := append([]string{"list", "-deps", "-tags", tags, "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, closedset.Project.Binaries...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("cannot list the privileged binaries' packages: %w", err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if !slices.Contains(closedset.Project.Trusted, p) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}
