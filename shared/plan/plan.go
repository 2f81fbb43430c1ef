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
	"github.com/snapns/snapns/shared/stale"
)

// Version is the wire-format version this package reads and writes. Any
// change to the set, order or meaning of fields bumps it.
const Version = 4

// MaxSize bounds an encoded plan. Real plans are a few hundred bytes; the
// bound keeps the decoder's work and the launcher's argv small.
const MaxSize = 4096

const header = "snapns-plan 4"

// Namespace is what the planner expects the launcher to do with the snap's
// preserved mount namespace. It is the planner's view at planning time; the
// launcher decides from what it finds under the per-snap lock.
type Namespace string

const (
	// NamespaceNone is used by classic plans: no namespace work at all.
	NamespaceNone Namespace = "none"
	// NamespaceJoin: a preserved namespace was found and will be joined.
	NamespaceJoin Namespace = "join"
	// NamespaceCreate: no preserved namespace; a new one will be created,
	// populated and preserved.
	NamespaceCreate Namespace = "create"
)

// PerUser is what the planner expects for the per-user layer.
type PerUser string

const (
	// PerUserNone: root, or a classic snap: no per-user layer.
	PerUserNone PerUser = "none"
	// PerUserJoin: a preserved layer on top of the snap's current
	// namespace is joined.
	PerUserJoin PerUser = "join"
	// PerUserCreate: a new layer is made and preserved (feature on).
	PerUserCreate PerUser = "create"
	// PerUserEphemeral: a new layer is made for this launch only.
	PerUserEphemeral PerUser = "ephemeral"
)

// Plan is what the planner decided for one launch. The target's argv is not
// part of it: it travels beside the plan, untouched.
type Plan struct {
	// Classic plans do no namespace work: the launcher drops and execs.
	Classic bool
	// Instance is the snap instance being launched.
	Instance naming.Instance
	// Tag is the security tag of the app or hook; it belongs to Instance.
	Tag naming.SecurityTag
	// Base is the name of the base snap.
	Base string
	// Namespace is the planner's expectation; see Namespace.
	Namespace Namespace
	// Discard is the planner's staleness vote on the preserved namespace
	// it expects to join (stale.Keep otherwise). The launcher decides
	// again from its own facts and refuses a plan that asks to discard
	// more than those facts justify.
	Discard stale.Vote
	// PerUser is the planner's expectation for the caller's per-user
	// layer; like Namespace, the launcher decides from its own facts.
	PerUser PerUser
	// AppLabel and HelperLabel are the AppArmor labels the app and
	// snap-update-ns run under (AppLabelFor, HelperLabelFor); the launcher
	// derives them itself and refuses a plan that says otherwise.
	AppLabel, HelperLabel string
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
	switch {
	case p.Classic && p.Namespace != NamespaceNone:
		return fmt.Errorf("cannot use plan: classic plan expects namespace %q", string(p.Namespace))
	case !p.Classic && p.Namespace != NamespaceJoin && p.Namespace != NamespaceCreate:
		return fmt.Errorf("cannot use plan: confined plan expects namespace %q", string(p.Namespace))
	case p.PerUser != PerUserNone && p.PerUser != PerUserJoin && p.PerUser != PerUserCreate && p.PerUser != PerUserEphemeral:
		return fmt.Errorf("cannot use plan: per-user %q", string(p.PerUser))
	case validateLabel(p.AppLabel) != nil || validateLabel(p.HelperLabel) != nil:
		return fmt.Errorf("cannot use plan: AppArmor labels %q, %q", p.AppLabel, p.HelperLabel)
	case p.Classic && p.PerUser != PerUserNone:
		return fmt.Errorf("cannot use plan: classic plan expects per-user %q", string(p.PerUser))
	case p.Namespace != NamespaceJoin && p.Discard != stale.Keep:
		return fmt.Errorf("cannot use plan: discard %q without a preserved namespace to join", p.Discard)
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
	{"namespace", func(p *Plan) string { return string(p.Namespace) }, func(p *Plan, v string) error {
		switch ns := Namespace(v); ns {
		case NamespaceNone, NamespaceJoin, NamespaceCreate:
			p.Namespace = ns
			return nil
		}
		return fmt.Errorf("cannot use namespace %q: not one of none, join, create", v)
	}},
	{"discard", func(p *Plan) string { return p.Discard.String() }, func(p *Plan, v string) (err error) {
		p.Discard, err = stale.ParseVote(v)
		return err
	}},
	{"per-user", func(p *Plan) string { return string(p.PerUser) }, func(p *Plan, v string) error {
		switch pu := PerUser(v); pu {
		case PerUserNone, PerUserJoin, PerUserCreate, PerUserEphemeral:
			p.PerUser = pu
			return nil
		}
		return fmt.Errorf("cannot use per-user %q: not one of none, join, create, ephemeral", v)
	}},
	{"app-label", func(p *Plan) string { return p.AppLabel }, func(p *Plan, v string) error {
		if err := validateLabel(v); err != nil {
			return err
		}
		p.AppLabel = v
		return nil
	}},
	{"helper-label", func(p *Plan) string { return p.HelperLabel }, func(p *Plan, v string) error {
		if err := validateLabel(v); err != nil {
			return err
		}
		p.HelperLabel = v
		return nil
	}},
	{"debug", func(p *Plan) string { return formatBool(p.Debug) }, func(p *Plan, v string) (err error) {
		p.Debug, err = parseBool(v)
		return err
	}},
}

// AppLabelFor is the AppArmor label of an app or hook: its security tag.
func AppLabelFor(tag naming.SecurityTag) string { return tag.String() }

// HelperLabelFor is the AppArmor label snap-update-ns runs under for inst.
func HelperLabelFor(inst naming.Instance) string { return "snap-update-ns." + inst.String() }

// validateLabel accepts what AppArmor labels of snaps are made of.
func validateLabel(v string) error {
	if v == "" || len(v) > 256 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") != "" {
		return fmt.Errorf("cannot use AppArmor label %q", v)
	}
	return nil
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
