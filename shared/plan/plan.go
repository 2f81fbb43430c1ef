// SPDX-License-Identifier: GPL-3.0-only

// Package plan is the contract between the unprivileged planner and the
// privileged launcher: the Plan type and its wire format.
//
// The threat it answers: the launcher runs with privileges and its caller can
// hand it any bytes at all. The wire format is therefore strict, versioned and
// bounded: one header line, then every field exactly once, in a fixed order,
// each with a value of the right type, then an "end" line and nothing after it.
// Unknown, duplicate, missing or reordered fields, bad values, truncation,
// trailing bytes and oversize input are all refused, and a decoded plan holds
// only validated names. A plan is intent, never authority: the launcher still
// re-checks everything that matters before it acts.
package plan

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/snapns/snapns/shared/naming"
)

// Version is the wire-format version this package reads and writes. Any
// change to the set, order or meaning of fields bumps it. Version 5 dropped
// the planner's expectations (namespace, discard, per-user) and the
// AppArmor labels: the launcher derives or decides all of them itself, so a
// plan can no longer ask for any of them.
const Version = 5

// MaxSize bounds an encoded plan. Real plans are a few hundred bytes; the
// bound keeps the decoder's work and the launcher's argv small.
const MaxSize = 4096

const header = "snapns-plan 5"

// Plan is what the launcher needs from the planner for one launch, and
// nothing more: every field comes from the caller's own command line or
// environment in the honest path too, so a forged plan adds no power. The
// target's argv is not part of it: it travels beside the plan, untouched.
type Plan struct {
	// Classic plans do no namespace work: the launcher drops and execs.
	Classic bool
	// Instance is the snap instance being launched.
	Instance naming.Instance
	// Tag is the security tag of the app or hook; it belongs to Instance.
	Tag naming.SecurityTag
	// Base is the name of the base snap (snap-confine's --base).
	Base string
	// Debug turns on the debug log on stderr (SNAPD_DEBUG=1).
	Debug bool
}

// Validate checks the cross-field rules that Decode enforces, so that a plan
// built in memory (by the planner library) obeys the same contract.
func (p *Plan) Validate() error {
	if p.Instance.String() == "" {
		return fmt.Errorf("cannot use plan: no instance name")
	}
	if p.Tag.Instance() != p.Instance {
		return fmt.Errorf("cannot use plan: security tag %q does not belong to snap instance %q", p.Tag.String(), p.Instance.String())
	}
	if err := naming.ValidateSnapName(p.Base); err != nil {
		return fmt.Errorf("cannot use plan: invalid base: %w", err)
	}
	return nil
}

// field is one line of the wire format. Fields are listed in wire order.
type field struct {
	key    string
	encode func(p *Plan) string
	decode func(p *Plan, value string) error
}

var fields = []field{
	{"classic", func(p *Plan) string { return formatBool(p.Classic) }, func(p *Plan, v string) (err error) {
		p.Classic, err = parseBool(v)
		return err
	}},
	{"instance", func(p *Plan) string { return p.Instance.String() }, func(p *Plan, v string) (err error) {
		p.Instance, err = naming.ParseInstance(v)
		return err
	}},
	{"security-tag", func(p *Plan) string { return p.Tag.String() }, func(p *Plan, v string) (err error) {
		p.Tag, err = naming.ParseSecurityTagFor(v, p.Instance)
		return err
	}},
	{"base", func(p *Plan) string { return p.Base }, func(p *Plan, v string) error {
		if err := naming.ValidateSnapName(v); err != nil {
			return err
		}
		p.Base = v
		return nil
	}},
	{"debug", func(p *Plan) string { return formatBool(p.Debug) }, func(p *Plan, v string) (err error) {
		p.Debug, err = parseBool(v)
		return err
	}},
}

// Keys returns the wire format's field keys, in wire order, for the
// documentation generated from this package.
func Keys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

func formatBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("cannot use %q as a boolean: not true or false", v)
}

// Encode validates p and returns its wire form.
func Encode(p *Plan) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteByte('\n')
	for _, f := range fields {
		b.WriteString(f.key)
		b.WriteByte('=')
		b.WriteString(f.encode(p))
		b.WriteByte('\n')
	}
	b.WriteString("end\n")
	if b.Len() > MaxSize {
		return nil, fmt.Errorf("cannot encode plan: %d bytes is over the limit of %d", b.Len(), MaxSize)
	}
	return b.Bytes(), nil
}

// Decode parses and validates a plan received from an untrusted caller.
// Every error is a single line starting with "cannot decode plan".
func Decode(data []byte) (*Plan, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("cannot decode plan: %d bytes is over the limit of %d", len(data), MaxSize)
	}
	rest := data
	next := func() (string, bool) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", false
		}
		line := string(rest[:i])
		rest = rest[i+1:]
		return line, true
	}
	line, ok := next()
	if !ok {
		return nil, fmt.Errorf("cannot decode plan: truncated before the header")
	}
	if line != header {
		if v, ok := strings.CutPrefix(line, "snapns-plan "); ok && v != "" && strings.Trim(v, "0123456789") == "" {
			return nil, fmt.Errorf("cannot decode plan: unsupported version %q (this launcher reads version %d)", strings.TrimPrefix(line, "snapns-plan "), Version)
		}
		return nil, fmt.Errorf("cannot decode plan: bad header %q", line)
	}
	var p Plan
	seen := make(map[string]bool, len(fields))
	for i, f := range fields {
		line, ok := next()
		if !ok {
			return nil, fmt.Errorf("cannot decode plan: truncated before field %q", f.key)
		}
		key, value, found := strings.Cut(line, "=")
		if !found {
			return nil, fmt.Errorf("cannot decode plan: line %d %q is not key=value", i+2, line)
		}
		if key != f.key {
			switch {
			case seen[key]:
				return nil, fmt.Errorf("cannot decode plan: duplicate field %q", key)
			case knownKey(key):
				return nil, fmt.Errorf("cannot decode plan: field %q out of order (expected %q)", key, f.key)
			default:
				return nil, fmt.Errorf("cannot decode plan: unknown field %q", key)
			}
		}
		seen[key] = true
		if err := f.decode(&p, value); err != nil {
			return nil, fmt.Errorf("cannot decode plan: field %q: %w", key, err)
		}
	}
	line, ok = next()
	if !ok {
		return nil, fmt.Errorf("cannot decode plan: truncated before the end line")
	}
	if line != "end" {
		key, _, _ := strings.Cut(line, "=")
		if seen[key] {
			return nil, fmt.Errorf("cannot decode plan: duplicate field %q", key)
		}
		return nil, fmt.Errorf("cannot decode plan: unknown field %q", key)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("cannot decode plan: %d trailing bytes after the end line", len(rest))
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("cannot decode plan: %w", err)
	}
	return &p, nil
}

func knownKey(key string) bool {
	for _, f := range fields {
		if f.key == key {
			return true
		}
	}
	return false
}
