// SPDX-License-Identifier: GPL-3.0-only

// Package cmdline parses snap-confine's command line: the argv and
// environment snapd gives the launcher, installed as its snap-confine. Any
// user can run the launcher with any argv and environment, so they are
// untrusted input: everything in them is validated here, and the launcher
// re-checks what matters against facts it gathers itself.
package cmdline

import (
	"fmt"
	"strings"

	"github.com/snapns/snapns/shared/naming"
)

// DefaultBase is the base snap used when --base is not given, as in
// snap-confine.
const DefaultBase = "core"

// Invocation is one validated snap-confine command line.
type Invocation struct {
	// Version is set for `snap-confine --version`, Help for --help (or
	// -h); the rest is then not validated and must not be used.
	Version, Help bool
	// Classic is --classic: no mount namespace work.
	Classic bool
	// Base is --base, or DefaultBase.
	Base string
	// Instance comes from SNAP_INSTANCE_NAME.
	Instance naming.Instance
	// Tag is the security tag; it belongs to Instance.
	Tag naming.SecurityTag
	// Executable and Args are the target.
	Executable string
	Args       []string
	// Debug is SNAPD_DEBUG or SNAP_CONFINE_DEBUG set to 1 or yes.
	Debug bool
}

// Target returns the target's argv: the executable, then its arguments, as
// snap-confine passes them to execv.
func (inv *Invocation) Target() []string {
	return append([]string{inv.Executable}, inv.Args...)
}

// ParseCommandLine parses snap-confine's argv and environment exactly as
// snap-confine does: option switches first (--version, --classic, --base
// BASE), then SECURITY-TAG and EXECUTABLE, then the executable's arguments,
// which are never parsed.
func ParseCommandLine(args []string, getenv func(string) string) (*Invocation, error) {
	inv := &Invocation{Debug: envTrue(getenv("SNAPD_DEBUG")) || envTrue(getenv("SNAP_CONFINE_DEBUG"))}
	i := 1
	base, baseGiven := DefaultBase, false
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch args[i] {
		case "--version":
			inv.Version = true
			return inv, nil
		case "--help", "-h":
			inv.Help = true
			return inv, nil
		case "--classic":
			inv.Classic = true
		case "--base":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("cannot parse arguments: the --base option requires an argument")
			}
			if baseGiven {
				return nil, fmt.Errorf("cannot parse arguments: the --base option can be used only once")
			}
			i++
			base, baseGiven = args[i], true
		default:
			return nil, fmt.Errorf("cannot parse arguments: unrecognized command line option: %q", args[i])
		}
	}
	if i >= len(args) {
		return nil, fmt.Errorf("cannot parse arguments: application or hook security tag was not provided")
	}
	if i+1 >= len(args) {
		return nil, fmt.Errorf("cannot parse arguments: executable name was not provided")
	}
	unsafeTag, executable := args[i], args[i+1]
	inv.Executable, inv.Args = executable, args[i+2:]

	unsafeInstance := getenv("SNAP_INSTANCE_NAME")
	if unsafeInstance == "" {
		return nil, fmt.Errorf("cannot run: SNAP_INSTANCE_NAME is not set")
	}
	var err error
	if inv.Instance, err = naming.ParseInstance(unsafeInstance); err != nil {
		return nil, err
	}
	if inv.Tag, err = naming.ParseSecurityTagFor(unsafeTag, inv.Instance); err != nil {
		return nil, err
	}
	// A component's hook runs with SNAP_COMPONENT_NAME naming that
	// component, and only then may the tag be a component's.
	component := ""
	if unsafeComponent, ok := lookupEnv(getenv, "SNAP_COMPONENT_NAME"); ok {
		if component, err = naming.ParseComponent(unsafeComponent, inv.Instance); err != nil {
			return nil, err
		}
	}
	if inv.Tag.Component() != component {
		return nil, fmt.Errorf("cannot use security tag %q: it is not allowed with SNAP_COMPONENT_NAME %q", unsafeTag, getenv("SNAP_COMPONENT_NAME"))
	}
	if err := naming.ValidateSnapName(base); err != nil {
		return nil, fmt.Errorf("cannot use base snap: %w", err)
	}
	inv.Base = base
	return inv, nil
}

// lookupEnv tells whether name is set, as snap-confine's getenv != NULL
// does; getenv gives only values, so set-but-empty counts as set only
// through the process's own environment.
func lookupEnv(getenv func(string) string, name string) (string, bool) {
	if v := getenv(name); v != "" {
		return v, true
	}
	return "", false
}

// envTrue reads a boolean environment variable as snap-confine does: "1" and
// "yes" are true, anything else false.
func envTrue(v string) bool { return v == "1" || v == "yes" }
