// SPDX-License-Identifier: GPL-3.0-only

// Command snap-ns is the operator's read-only view of preserved snap mount
// namespaces:
//
//	snap-ns list [--json]
//	snap-ns explain [--json] [--classic] [--base BASE] SECURITY-TAG
//	snap-ns show [--json] [--uid UID] INSTANCE
//
// It runs unprivileged (root sees more: every process for show), changes
// nothing and never links the launcher. The JSON schema is docs/snap-ns.md.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/nsview"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/plan"
)

// Version is set at build time.
var Version = "dev"

const usage = `usage: snap-ns list [--json]
       snap-ns explain [--json] [--classic] [--base BASE] SECURITY-TAG
       snap-ns show [--json] [--uid UID] INSTANCE
       snap-ns --version`

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, nsview.Clean(err.Error()))
		os.Exit(1)
	}
}

// errUsage is the usage, as the one line of an error.
var errUsage = errors.New("cannot understand the command line: " + strings.ReplaceAll(usage, "\n      ", ";"))

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	style := nsview.Style{Colour: colourWanted(stdout)}
	fs := flag.NewFlagSet("snap-ns "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	switch args[0] {
	case "--version":
		fmt.Fprintf(stdout, "snap-ns %s\n", Version)
		return nil
	case "list":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			return errUsage
		}
		l, err := nsview.List(layout.NSDir, time.Now())
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, l)
		}
		return nsview.WriteList(stdout, l, style)
	case "explain":
		classic := fs.Bool("classic", false, "")
		base := fs.String("base", plan.DefaultBase, "")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return errUsage
		}
		tag, err := naming.ParseSecurityTag(fs.Arg(0))
		if err != nil {
			return err
		}
		x, err := nsview.Explain(tag, *base, *classic, uint32(os.Getuid()))
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, x)
		}
		return nsview.WriteExplanation(stdout, x, style)
	case "show":
		uidFlag := fs.String("uid", "", "")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return errUsage
		}
		inst, err := naming.ParseInstance(fs.Arg(0))
		if err != nil {
			return err
		}
		var uid *uint32
		if *uidFlag != "" {
			u, err := strconv.ParseUint(*uidFlag, 10, 32)
			if err != nil {
				return fmt.Errorf("cannot use uid %q: not a number", *uidFlag)
			}
			u32 := uint32(u)
			uid = &u32
		}
		sh, err := nsview.Show(inst, uid)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, sh)
		}
		return nsview.WriteShown(stdout, sh, style)
	}
	return errUsage
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// colourWanted: colour only on a terminal, and never when NO_COLOR is set
// (no-color.org: set to anything but the empty string).
func colourWanted(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
