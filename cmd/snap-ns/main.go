// SPDX-License-Identifier: GPL-3.0-only

// Command snap-ns is the operator's read-only view of preserved snap mount
// namespaces (nsview.Help has its usage, docs/snap-ns.md the details):
//
//	snap-ns [OPTION]... list
//	snap-ns [OPTION]... explain SECURITY-TAG
//	snap-ns [OPTION]... show INSTANCE
//
// Options may come anywhere (GNU style, github.com/spf13/pflag). It runs
// unprivileged (root sees more: every process, and explain --uid), changes
// nothing and never links the launcher. The JSON schema is docs/snap-ns.md.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/nsview"
	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
)

// Version is set at build time.
var Version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, errVerdict) {
			fmt.Fprintln(os.Stderr, nsview.Clean(err.Error()))
		}
		os.Exit(1)
	}
}

// errVerdict is a run whose answer was printed but is a failure: explain's
// verdict "refused", or show without a mount table. The exit status is 1
// and there is nothing more to say.
var errVerdict = errors.New("the answer is a failure")

// errUsage is a command line snap-ns does not understand, as one line.
func errUsage(why string) error {
	return fmt.Errorf("cannot understand the command line: %s (see snap-ns --help)", why)
}

// options are snap-ns's command-line options.
type options struct {
	json, noHeadings, classic, help, version bool
	output, base, uid                        string
}

func parse(args []string) (*options, []string, *pflag.FlagSet, error) {
	o := &options{}
	fs := pflag.NewFlagSet("snap-ns", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.BoolVar(&o.json, "json", false, "")
	fs.StringVarP(&o.output, "output", "o", "", "")
	fs.BoolVarP(&o.noHeadings, "noheadings", "n", false, "")
	fs.BoolVar(&o.classic, "classic", false, "")
	fs.StringVar(&o.base, "base", cmdline.DefaultBase, "")
	fs.StringVar(&o.uid, "uid", "", "")
	fs.BoolVarP(&o.help, "help", "h", false, "")
	fs.BoolVar(&o.version, "version", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, errUsage(err.Error())
	}
	return o, fs.Args(), fs, nil
}

func run(args []string, stdout io.Writer) error {
	o, operands, fs, err := parse(args)
	if err != nil {
		return err
	}
	switch {
	case o.help:
		_, err := io.WriteString(stdout, nsview.Help.Help)
		return err
	case o.version:
		_, err := fmt.Fprintf(stdout, "snap-ns %s\n", Version)
		return err
	case len(operands) == 0:
		return errUsage("no command: list, explain or show")
	}
	// An option that the command does not take is an error, not ignored.
	allowed := map[string][]string{
		"list":    {"json", "output", "noheadings"},
		"explain": {"json", "classic", "base", "uid"},
		"show":    {"json", "output", "noheadings", "uid"},
	}
	cmd, operands := operands[0], operands[1:]
	names, ok := allowed[cmd]
	if !ok {
		return errUsage(fmt.Sprintf("unknown command %q: list, explain or show", cmd))
	}
	var stray []string
	fs.Visit(func(f *pflag.Flag) {
		if !contains(names, f.Name) {
			stray = append(stray, "--"+f.Name)
		}
	})
	if len(stray) > 0 {
		return errUsage(fmt.Sprintf("%s does not take %s", cmd, strings.Join(stray, ", ")))
	}
	if o.json && (o.output != "" || o.noHeadings) {
		return errUsage("--json prints every field: it takes neither --output nor --noheadings")
	}
	style := nsview.Style{Colour: colourWanted(stdout), Columns: o.output, NoHeadings: o.noHeadings}
	switch cmd {
	case "list":
		if len(operands) != 0 {
			return errUsage("list takes no operand")
		}
		l, err := nsview.List(layout.NSDir, time.Now())
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(stdout, l)
		}
		return nsview.WriteList(stdout, l, style)
	case "explain":
		if len(operands) != 1 {
			return errUsage("explain takes one SECURITY-TAG")
		}
		tag, err := naming.ParseSecurityTag(operands[0])
		if err != nil {
			return err
		}
		uid := uint32(os.Getuid())
		if o.uid != "" {
			u, err := parseUID(o.uid)
			if err != nil {
				return err
			}
			if u != uid && os.Geteuid() != 0 {
				return fmt.Errorf("cannot explain a launch by uid %d: only root can explain another user's launch", u)
			}
			uid = u
		}
		x, err := nsview.Explain(tag, o.base, o.classic, uid)
		if err != nil {
			return err
		}
		if o.json {
			err = writeJSON(stdout, x)
		} else {
			err = nsview.WriteExplanation(stdout, x, style)
		}
		if err == nil && x.Verdict == "refused" {
			return errVerdict
		}
		return err
	case "show":
		if len(operands) != 1 {
			return errUsage("show takes one INSTANCE")
		}
		inst, err := naming.ParseInstance(operands[0])
		if err != nil {
			return err
		}
		var uid *uint32
		if o.uid != "" {
			u, err := parseUID(o.uid)
			if err != nil {
				return err
			}
			uid = &u
		}
		sh, err := nsview.Show(inst, uid)
		if err != nil {
			return err
		}
		if o.json {
			err = writeJSON(stdout, sh)
		} else {
			err = nsview.WriteShown(stdout, sh, style)
		}
		if err == nil && sh.Problem != "" {
			if o.json || style.Columns != "" || style.NoHeadings {
				fmt.Fprintf(os.Stderr, "cannot show %s: %s\n", sh.Name, sh.Problem)
			}
			return errVerdict
		}
		return err
	}
	return nil
}

func parseUID(s string) (uint32, error) {
	u, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("cannot use uid %q: not a number", s)
	}
	return uint32(u), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
