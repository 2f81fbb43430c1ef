// SPDX-License-Identifier: GPL-3.0-only

package plan_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/plan"
)

// newPlan builds a plan from names that the test knows to be valid.
func newPlan(tb testing.TB, classic bool, instance, tag, base string, debug bool) *plan.Plan {
	tb.Helper()
	inst, err := naming.ParseInstance(instance)
	if err != nil {
		tb.Fatalf("test setup: %v", err)
	}
	st, err := naming.ParseSecurityTagFor(tag, inst)
	if err != nil {
		tb.Fatalf("test setup: %v", err)
	}
	return &plan.Plan{Classic: classic, Instance: inst, Tag: st, Base: base, Debug: debug}
}

// longestInstance, longestTag and longestBase are the longest names the
// naming rules allow: 51, 256 and 40 bytes.
var (
	longestInstance = strings.Repeat("x", 40) + "_" + strings.Repeat("k", 10)
	longestTag      = "snap." + longestInstance + "." + strings.Repeat("A", 256-len("snap.")-len(longestInstance)-1)
	longestBase     = strings.Repeat("b", 40)
)

type planCase struct {
	name     string
	classic  bool
	instance string
	tag      string
	base     string
	debug    bool
}

// validPlans covers confined and classic plans, instance keys, hook
// tags, debug on and off and the longest names.
var validPlans = []planCase{
	{"confined join", false, "foo", "snap.foo.app", "core22", false},
	{"confined create", false, "foo", "snap.foo.app", "core", false},
	{"confined create with debug", false, "hello-world", "snap.hello-world.hello-world", "core24", true},
	{"confined join with instance key", false, "foo_bar", "snap.foo_bar.app", "core18", true},
	{"confined create with instance key and hook", false, "foo_1234abcd", "snap.foo_1234abcd.hook.configure", "core20", false},
	{"confined join with hook", false, "foo", "snap.foo.hook.post-refresh", "bare", false},
	{"confined app named hook", false, "foo", "snap.foo.hook", "core", false},
	{"confined upper case app name", false, "network-manager", "snap.network-manager.NetworkManager", "core22", false},
	{"confined digits-first snap", false, "0ad", "snap.0ad.0ad", "core", false},
	{"classic", true, "go", "snap.go.go", "core", false},
	{"classic with debug", true, "code", "snap.code.code", "core20", true},
	{"classic with instance key", true, "code_insiders", "snap.code_insiders.code", "core22", false},
	{"classic with instance key and hook", true, "juju_1", "snap.juju_1.hook.install", "core24", true},
	{"longest names", false, longestInstance, longestTag, longestBase, true},
}

func (c planCase) plan(tb testing.TB) *plan.Plan {
	tb.Helper()
	return newPlan(tb, c.classic, c.instance, c.tag, c.base, c.debug)
}

// validEncoding is the wire form of a confined plan, written out by hand.
const validEncoding = "snapns-plan 5\n" +
	"classic=false\n" +
	"instance=foo\n" +
	"security-tag=snap.foo.app\n" +
	"base=core\n" +
	"debug=false\n" +
	"end\n"

// validClassicEncoding is the wire form of a classic plan with an instance
// key, a hook tag and debug on.
const validClassicEncoding = "snapns-plan 5\n" +
	"classic=true\n" +
	"instance=foo_x1\n" +
	"security-tag=snap.foo_x1.hook.install\n" +
	"base=core22\n" +
	"debug=true\n" +
	"end\n"

// version4Encoding is a plan of the previous version, as a planner of that
// version wrote it after a base refresh: it carried the planner's
// expectations, a discard vote among them, and the AppArmor labels.
const version4Encoding = "snapns-plan 4\n" +
	"classic=false\n" +
	"instance=foo\n" +
	"security-tag=snap.foo.app\n" +
	"base=core\n" +
	"namespace=join\n" +
	"discard=should\n" +
	"per-user=none\n" +
	"app-label=snap.foo.app\n" +
	"helper-label=snap-update-ns.foo\n" +
	"debug=false\n" +
	"end\n"

// wireFields are the keys of the wire format, in wire order.
var wireFields = []string{"classic", "instance", "security-tag", "base", "debug"}

// removedFields are the keys version 5 dropped: a plan can no longer say
// anything about them.
var removedFields = []string{"namespace=join", "discard=must", "discard=should", "per-user=join", "app-label=unconfined", "helper-label=unconfined"}

// encodingLines returns the lines of validEncoding without their newlines.
func encodingLines() []string {
	return strings.Split(strings.TrimSuffix(validEncoding, "\n"), "\n")
}

// joinLines is the inverse of encodingLines.
func joinLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// withLine returns validEncoding with the line of the given key replaced by
// the given lines (none to delete it).
func withLine(key string, replacement ...string) string {
	var out []string
	found := false
	for _, l := range encodingLines() {
		if strings.HasPrefix(l, key+"=") {
			out = append(out, replacement...)
			found = true
			continue
		}
		out = append(out, l)
	}
	if !found {
		panic("test setup: no line for key " + key)
	}
	return joinLines(out...)
}

// withValue returns validEncoding with the value of key replaced.
func withValue(key, value string) string { return withLine(key, key+"="+value) }

// insertAfter returns validEncoding with extra lines after the line that
// starts with prefix.
func insertAfter(prefix string, extra ...string) string {
	var out []string
	for _, l := range encodingLines() {
		out = append(out, l)
		if strings.HasPrefix(l, prefix) {
			out = append(out, extra...)
		}
	}
	return joinLines(out...)
}

// checkDecodeError checks the contract of every Decode error: one line that
// starts with "cannot decode plan", and no plan.
func checkDecodeError(t *testing.T, p *plan.Plan, err error, wantSub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Decode accepted the input and returned %+v", p)
	}
	if p != nil {
		t.Errorf("Decode returned a plan with its error: %+v", p)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "cannot decode plan") {
		t.Errorf("error %q does not start with \"cannot decode plan\"", msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q is more than one line", msg)
	}
	if wantSub != "" && !strings.Contains(msg, wantSub) {
		t.Errorf("error %q does not mention %q", msg, wantSub)
	}
}

func TestTestEncodingsAreValid(t *testing.T) {
	// The malformed inputs below are derived from these; make sure they
	// really are accepted, or the refusals below prove nothing.
	for _, enc := range []string{validEncoding, validClassicEncoding} {
		if _, err := plan.Decode([]byte(enc)); err != nil {
			t.Fatalf("Decode(%q): %v", enc, err)
		}
	}
}

func TestEncodeWritesTheVersionedWireFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *plan.Plan
		want string
	}{
		{"confined", newPlan(t, false, "foo", "snap.foo.app", "core", false), validEncoding},
		{"classic", newPlan(t, true, "foo_x1", "snap.foo_x1.hook.install", "core22", true), validClassicEncoding},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := plan.Encode(tc.p)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("Encode =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tc := range validPlans {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan(t)
			if err := p.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			data, err := plan.Encode(p)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if len(data) > plan.MaxSize {
				t.Fatalf("Encode returned %d bytes, over MaxSize %d", len(data), plan.MaxSize)
			}
			got, err := plan.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%q): %v", data, err)
			}
			if *got != *p {
				t.Errorf("Decode(Encode(p)) = %+v, want %+v", *got, *p)
			}
			if got.Instance.String() != tc.instance || got.Tag.String() != tc.tag || got.Base != tc.base ||
				got.Classic != tc.classic || got.Debug != tc.debug {
				t.Errorf("decoded fields %+v do not match the case %+v", *got, tc)
			}
			if got.Tag.Instance() != got.Instance {
				t.Errorf("decoded tag %q does not belong to decoded instance %q", got.Tag, got.Instance)
			}
			again, err := plan.Encode(got)
			if err != nil {
				t.Fatalf("Encode(Decode(data)): %v", err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("encoding is not stable:\n%q\n%q", data, again)
			}
		})
	}
}

func TestDecodeKeepsHookAndInstanceKey(t *testing.T) {
	p, err := plan.Decode([]byte(validClassicEncoding))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !p.Classic || !p.Debug || p.Base != "core22" {
		t.Errorf("Decode = %+v", *p)
	}
	if p.Instance.SnapName() != "foo" || p.Instance.Key() != "x1" {
		t.Errorf("instance = %q (snap %q, key %q), want foo_x1", p.Instance, p.Instance.SnapName(), p.Instance.Key())
	}
	if !p.Tag.IsHook() || p.Tag.Hook() != "install" || p.Tag.App() != "" {
		t.Errorf("tag = %q (hook %q, app %q), want the install hook", p.Tag, p.Tag.Hook(), p.Tag.App())
	}
}

func TestDecodeRefusesMalformedInput(t *testing.T) {
	lines := encodingLines()
	oversizeJunk := strings.Repeat("a", plan.MaxSize+1)
	paddedValid := validEncoding + strings.Repeat("\n", plan.MaxSize+1-len(validEncoding))
	paddedValueValid := withValue("base", "core"+strings.Repeat(" ", plan.MaxSize))

	for _, tc := range []struct {
		name    string
		input   string
		wantSub string // part of the error message, when one reason is certain
	}{
		// Unknown fields, wherever they are.
		{"unknown field instead of the first", withLine("classic", "colour=red"), `unknown field "colour"`},
		{"unknown field before the first", insertAfter("snapns-plan", "colour=red"), `unknown field "colour"`},
		{"unknown field in the middle", insertAfter("instance=", "colour=red"), `unknown field "colour"`},
		{"unknown field before end", insertAfter("debug=", "colour=red"), `unknown field "colour"`},
		{"unknown field with empty key", insertAfter("base=", "=core"), `unknown field ""`},
		{"unknown field differing in case", withLine("classic", "Classic=false"), `unknown field "Classic"`},
		{"unknown field with trailing space in key", withLine("classic", "classic =false"), `unknown field "classic "`},
		{"unknown field with leading space in key", withLine("classic", " classic=false"), `unknown field " classic"`},
		{"component field", insertAfter("security-tag=", "component=foo+comp"), `unknown field "component"`},

		// Duplicate fields.
		{"duplicate first field adjacent", insertAfter("classic=", "classic=false"), `duplicate field "classic"`},
		{"duplicate first field with other value", insertAfter("classic=", "classic=true"), `duplicate field "classic"`},
		{"duplicate first field after other fields", insertAfter("base=", "classic=true"), `duplicate field "classic"`},
		{"duplicate instance adjacent", insertAfter("instance=", "instance=foo"), `duplicate field "instance"`},
		{"duplicate instance after the tag", insertAfter("security-tag=", "instance=bar"), `duplicate field "instance"`},
		{"duplicate tag adjacent", insertAfter("security-tag=", "security-tag=snap.foo.other"), `duplicate field "security-tag"`},
		{"duplicate base after debug", insertAfter("debug=", "base=core22"), `duplicate field "base"`},
		{"duplicate last field adjacent", insertAfter("debug=", "debug=false"), `duplicate field "debug"`},
		{"duplicate last field with other value", insertAfter("debug=", "debug=true"), `duplicate field "debug"`},
		{"duplicate classic before end", insertAfter("debug=", "classic=true"), `duplicate field "classic"`},

		// Reordered fields.
		{"first two fields swapped", joinLines(lines[0], lines[2], lines[1], lines[3], lines[4], lines[5], lines[6]), "out of order"},
		{"tag before instance", joinLines(lines[0], lines[1], lines[3], lines[2], lines[4], lines[5], lines[6]), "out of order"},
		{"debug before base", joinLines(lines[0], lines[1], lines[2], lines[3], lines[5], lines[4], lines[6]), "out of order"},
		{"last field first", joinLines(lines[0], lines[5], lines[1], lines[2], lines[3], lines[4], lines[6]), "out of order"},
		{"fields reversed", joinLines(lines[0], lines[5], lines[4], lines[3], lines[2], lines[1], lines[6]), "out of order"},
		{"end before the last field", joinLines(lines[0], lines[1], lines[2], lines[3], lines[4], lines[6], lines[5]), ""},
		{"header after the first field", joinLines(lines[1], lines[0], lines[2], lines[3], lines[4], lines[5], lines[6]), "bad header"},

		// Missing fields (see also TestDecodeRefusesEveryMissingField).
		{"missing end line", joinLines(lines[:6]...), "truncated before the end line"},
		{"no fields", joinLines(lines[0], lines[6]), ""},
		{"header only", joinLines(lines[0]), "truncated before field \"classic\""},

		// Wrong types.
		{"classic yes", withValue("classic", "yes"), `field "classic"`},
		{"classic TRUE", withValue("classic", "TRUE"), `field "classic"`},
		{"classic True", withValue("classic", "True"), `field "classic"`},
		{"classic 1", withValue("classic", "1"), `field "classic"`},
		{"classic 0", withValue("classic", "0"), `field "classic"`},
		{"classic empty", withValue("classic", ""), `field "classic"`},
		{"classic with space", withValue("classic", " false"), `field "classic"`},
		{"classic with trailing space", withValue("classic", "false "), `field "classic"`},
		{"debug yes", withValue("debug", "yes"), `field "debug"`},
		{"debug TRUE", withValue("debug", "TRUE"), `field "debug"`},
		{"debug 1", withValue("debug", "1"), `field "debug"`},
		{"debug empty", withValue("debug", ""), `field "debug"`},
		{"debug with trailing space", withValue("debug", "false "), `field "debug"`},

		// Bad names.
		{"instance path traversal", withValue("instance", "../x"), `field "instance"`},
		{"instance with dot", withValue("instance", "x.1000"), `field "instance"`},
		{"instance upper case", withValue("instance", "Foo"), `field "instance"`},
		{"instance empty", withValue("instance", ""), `field "instance"`},
		{"instance 41 characters", withValue("instance", strings.Repeat("x", 41)), `field "instance"`},
		{"instance leading dash", withValue("instance", "-foo"), `field "instance"`},
		{"instance with slash", withValue("instance", "foo/bar"), `field "instance"`},
		{"instance with empty key", withValue("instance", "foo_"), `field "instance"`},
		{"instance with two keys", withValue("instance", "foo_a_b"), `field "instance"`},
		{"tag of another instance", withValue("security-tag", "snap.bar.app"), `field "security-tag"`},
		{"tag of the instance's snap without the key", withLine("instance", "instance=foo_x"), `field "security-tag"`},
		{"tag of a keyed instance of the snap", withValue("security-tag", "snap.foo_x.app"), `field "security-tag"`},
		{"tag without app", withValue("security-tag", "snap.foo"), `field "security-tag"`},
		{"tag with path", withValue("security-tag", "snap.foo.app/../x"), `field "security-tag"`},
		{"tag with bad hook", withValue("security-tag", "snap.foo.hook.Configure"), `field "security-tag"`},
		{"tag of a component's app", withValue("security-tag", "snap.foo+comp.app"), `field "security-tag"`},
		{"tag empty", withValue("security-tag", ""), `field "security-tag"`},
		{"base upper case", withValue("base", "Core"), `field "base"`},
		{"base empty", withValue("base", ""), `field "base"`},
		{"base path traversal", withValue("base", "../core"), `field "base"`},
		{"base with instance key", withValue("base", "core_x"), `field "base"`},
		{"base 41 characters", withValue("base", strings.Repeat("b", 41)), `field "base"`},

		// What version 5 dropped, in a plan of version 5: the launcher
		// decides these itself, a plan cannot ask (see also
		// TestDecodeRefusesEveryRemovedField).
		{"discard vote after base", insertAfter("base=", "discard=must"), `unknown field "discard"`},
		{"namespace in place of debug", withLine("debug", "namespace=join"), `unknown field "namespace"`},
		{"app label before end", insertAfter("debug=", "app-label=unconfined"), `unknown field "app-label"`},
		{"the fields of version 4 under the header of version 5", strings.Replace(version4Encoding, "snapns-plan 4", "snapns-plan 5", 1), `unknown field "namespace"`},

		// NUL bytes.
		{"NUL in classic", withValue("classic", "false\x00"), `field "classic"`},
		{"NUL in instance", withValue("instance", "foo\x00"), `field "instance"`},
		{"NUL inside instance", withValue("instance", "fo\x00o"), `field "instance"`},
		{"NUL in tag", withValue("security-tag", "snap.foo.app\x00"), `field "security-tag"`},
		{"NUL in base", withValue("base", "core\x00"), `field "base"`},
		{"NUL in debug", withValue("debug", "\x00false"), `field "debug"`},
		{"NUL in key", withLine("classic", "classic\x00=false"), "unknown field"},
		{"NUL in header", "snapns-plan 5\x00" + validEncoding[len("snapns-plan 5"):], ""},
		{"NUL in end line", strings.TrimSuffix(validEncoding, "end\n") + "end\x00\n", ""},

		// Trailing bytes.
		{"second end line", validEncoding + "end\n", "trailing bytes"},
		{"NUL after end", validEncoding + "\x00", "trailing bytes"},
		{"newline after end", validEncoding + "\n", "trailing bytes"},
		{"field after end", validEncoding + "classic=true\n", "trailing bytes"},
		{"second plan after end", validEncoding + validEncoding, "trailing bytes"},
		{"garbage after end without newline", validEncoding + "x", "trailing bytes"},

		// Line endings.
		{"missing final newline", strings.TrimSuffix(validEncoding, "\n"), "truncated before the end line"},
		{"CRLF line endings", strings.ReplaceAll(validEncoding, "\n", "\r\n"), "bad header"},
		{"CRLF on one field", withValue("instance", "foo\r"), `field "instance"`},
		{"CRLF on the end line", strings.TrimSuffix(validEncoding, "end\n") + "end\r\n", ""},
		{"CR line endings", strings.ReplaceAll(validEncoding, "\n", "\r"), "truncated before the header"},
		{"blank line before end", insertAfter("debug=", ""), `unknown field ""`},
		{"blank line before header", "\n" + validEncoding, "bad header"},

		// Header and version.
		{"wrong header", strings.Replace(validEncoding, "snapns-plan 5", "snapd-plan 1", 1), "bad header"},
		{"header without version", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan", 1), "bad header"},
		{"header without space", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan5", 1), "bad header"},
		{"header upper case", strings.Replace(validEncoding, "snapns-plan 5", "SNAPNS-PLAN 5", 1), "bad header"},
		{"header with BOM", "\ufeff" + validEncoding, "bad header"},
		{"no header", strings.TrimPrefix(validEncoding, "snapns-plan 5\n"), "bad header"},
		{"future version 6", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 6", 1), "unsupported version"},
		{"previous version 4, whole", version4Encoding, `unsupported version "4"`},
		{"previous version 4 with the fields of version 5", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 4", 1), `unsupported version "4"`},
		{"version 1", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 1", 1), "unsupported version"},
		{"version 0", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 0", 1), "unsupported version"},
		{"version 50", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 50", 1), "unsupported version"},
		{"version 05", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 05", 1), "unsupported version"},
		{"version with trailing space", strings.Replace(validEncoding, "snapns-plan 5", "snapns-plan 5 ", 1), "bad header"},

		// Size.
		{"oversize junk", oversizeJunk, "over the limit"},
		{"valid plan padded to oversize", paddedValid, "over the limit"},
		{"valid-looking plan with an oversize value", paddedValueValid, "over the limit"},
		{"empty input", "", "truncated before the header"},
		{"only a newline", "\n", "bad header"},
		{"only NUL", "\x00", "truncated before the header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan.Decode([]byte(tc.input))
			checkDecodeError(t, p, err, tc.wantSub)
		})
	}
}

func TestDecodeRefusesEveryMissingField(t *testing.T) {
	for _, key := range wireFields {
		t.Run(key, func(t *testing.T) {
			p, err := plan.Decode([]byte(withLine(key)))
			checkDecodeError(t, p, err, "")
		})
	}
}

func TestDecodeRefusesEveryRemovedField(t *testing.T) {
	// Each line version 5 dropped, after every line of a valid plan but
	// the last: refused wherever it appears, whatever it asks.
	lines := encodingLines()
	for _, removed := range removedFields {
		key, _, _ := strings.Cut(removed, "=")
		for i := 1; i < len(lines); i++ {
			input := joinLines(append(append(append([]string{}, lines[:i]...), removed), lines[i:]...)...)
			t.Run(fmt.Sprintf("%s after line %d", removed, i), func(t *testing.T) {
				p, err := plan.Decode([]byte(input))
				checkDecodeError(t, p, err, fmt.Sprintf("%q", key))
			})
		}
	}
}

func TestDecodeRefusesEveryFieldTwice(t *testing.T) {
	// Each field repeated right after itself and again just before "end".
	for _, key := range wireFields {
		line := ""
		for _, l := range encodingLines() {
			if strings.HasPrefix(l, key+"=") {
				line = l
			}
		}
		t.Run(key+" adjacent", func(t *testing.T) {
			p, err := plan.Decode([]byte(insertAfter(line, line)))
			checkDecodeError(t, p, err, fmt.Sprintf("duplicate field %q", key))
		})
		t.Run(key+" before end", func(t *testing.T) {
			p, err := plan.Decode([]byte(insertAfter("debug=", line)))
			checkDecodeError(t, p, err, fmt.Sprintf("duplicate field %q", key))
		})
	}
}

func TestDecodeRefusesEveryTruncation(t *testing.T) {
	encodings := []string{validEncoding, validClassicEncoding}
	for _, tc := range validPlans {
		data, err := plan.Encode(tc.plan(t))
		if err != nil {
			t.Fatalf("%s: Encode: %v", tc.name, err)
		}
		encodings = append(encodings, string(data))
	}
	for i, enc := range encodings {
		for n := 0; n < len(enc); n++ {
			p, err := plan.Decode([]byte(enc[:n]))
			if err == nil {
				t.Errorf("encoding %d truncated to %d of %d bytes %q: accepted as %+v", i, n, len(enc), enc[:n], *p)
				continue
			}
			if p != nil {
				t.Errorf("encoding %d truncated to %d bytes: plan returned with error %v", i, n, err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cannot decode plan") || strings.Contains(msg, "\n") {
				t.Errorf("encoding %d truncated to %d bytes: bad error %q", i, n, msg)
			}
		}
	}
}

func TestDecodeSizeLimitIsOverMaxSize(t *testing.T) {
	// MaxSize bytes is checked as trailing bytes (not size), MaxSize+1 as
	// size: the bound is "over MaxSize", not "at MaxSize".
	atMax := validEncoding + strings.Repeat("\n", plan.MaxSize-len(validEncoding))
	p, err := plan.Decode([]byte(atMax))
	checkDecodeError(t, p, err, "trailing bytes")
	p, err = plan.Decode([]byte(atMax + "\n"))
	checkDecodeError(t, p, err, "over the limit")
}

func TestEncodeRefusesInvalidPlans(t *testing.T) {
	foo, err := naming.ParseInstance("foo")
	if err != nil {
		t.Fatal(err)
	}
	fooKey, err := naming.ParseInstance("foo_x")
	if err != nil {
		t.Fatal(err)
	}
	fooApp, err := naming.ParseSecurityTag("snap.foo.app")
	if err != nil {
		t.Fatal(err)
	}
	barApp, err := naming.ParseSecurityTag("snap.bar.app")
	if err != nil {
		t.Fatal(err)
	}
	valid := plan.Plan{Instance: foo, Tag: fooApp, Base: "core"}
	if _, err := plan.Encode(&valid); err != nil {
		t.Fatalf("test setup: Encode(valid): %v", err)
	}
	with := func(change func(p *plan.Plan)) *plan.Plan {
		p := valid
		change(&p)
		return &p
	}
	for _, tc := range []struct {
		name string
		p    *plan.Plan
	}{
		{"zero plan", &plan.Plan{}},
		{"no instance", with(func(p *plan.Plan) { p.Instance = naming.Instance{} })},
		{"no tag", with(func(p *plan.Plan) { p.Tag = naming.SecurityTag{} })},
		{"tag of another instance", with(func(p *plan.Plan) { p.Tag = barApp })},
		{"tag of the snap without the instance key", with(func(p *plan.Plan) { p.Instance = fooKey })},
		{"base upper case", with(func(p *plan.Plan) { p.Base = "Core" })},
		{"base empty", with(func(p *plan.Plan) { p.Base = "" })},
		{"base path traversal", with(func(p *plan.Plan) { p.Base = "../core" })},
		{"base with newline", with(func(p *plan.Plan) { p.Base = "core\ndiscard=must" })},
		{"classic with a tag of another instance", with(func(p *plan.Plan) { p.Classic, p.Tag = true, barApp })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); err == nil {
				t.Errorf("Validate accepted %+v", *tc.p)
			}
			data, err := plan.Encode(tc.p)
			if err == nil {
				t.Fatalf("Encode accepted %+v and wrote %q", *tc.p, data)
			}
			if data != nil {
				t.Errorf("Encode returned data with its error: %q", data)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cannot") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line starting with \"cannot\"", msg)
			}
		})
	}
}

// isSafeName reports whether s uses only the characters the naming package
// promises for instance names and tags.
func isSafeName(s string) bool {
	if s == "" || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(validEncoding))
	f.Add([]byte(validClassicEncoding))
	for _, tc := range validPlans {
		data, err := plan.Encode(tc.plan(f))
		if err != nil {
			f.Fatalf("%s: Encode: %v", tc.name, err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"\n",
		"snapns-plan 5\n",
		version4Encoding,
		strings.Replace(version4Encoding, "snapns-plan 4", "snapns-plan 5", 1),
		insertAfter("base=", "discard=must"),
		strings.ReplaceAll(validEncoding, "\n", "\r\n"),
		insertAfter("classic=", "classic=false"),
		insertAfter("debug=", "debug=true"),
		withValue("instance", "../x"),
		withValue("security-tag", "snap.bar.app"),
		withValue("base", "core18"),
		validEncoding + "end\n",
		strings.TrimSuffix(validEncoding, "\n"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := plan.Decode(data)
		if err != nil {
			if p != nil {
				t.Errorf("Decode returned a plan with its error: %+v", *p)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cannot decode plan") {
				t.Errorf("error %q does not start with \"cannot decode plan\"", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q has a newline", msg)
			}
			return
		}
		if p == nil {
			t.Fatal("Decode returned neither a plan nor an error")
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Decode accepted %q but Validate refuses it: %v", data, err)
		}
		again, err := plan.Encode(p)
		if err != nil {
			t.Fatalf("Decode accepted %q but Encode refuses the plan: %v", data, err)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("the format is not canonical: Decode accepted\n%q\nbut Encode wrote\n%q", data, again)
		}
		if !isSafeName(p.Instance.String()) || !isSafeName(p.Tag.String()) || !isSafeName(p.Base) {
			t.Errorf("Decode accepted unsafe names: %+v", *p)
		}
	})
}

// FuzzParseCommandLine: snapd's command line is parsed in the privileged
// launcher when it is installed as snap-confine. Whatever it is given, it
// returns a valid plan and a non-empty target, or an error starting with
// "cannot", and never panics.
func FuzzParseCommandLine(f *testing.F) {
	f.Add("snap.hello.app\x00/bin/true", "hello")
	f.Add("--classic\x00--base\x00core22\x00snap.hello.hook.configure\x00/bin/sh\x00-c\x00x", "hello")
	f.Add("--base\x00--base\x00x", "hello_key")
	f.Add("--version", "")
	f.Fuzz(func(t *testing.T, argv, instance string) {
		args := append([]string{"snap-confine"}, strings.Split(argv, "\x00")...)
		inv, err := plan.ParseCommandLine(args, func(name string) string {
			if name == "SNAP_INSTANCE_NAME" {
				return instance
			}
			return ""
		})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cannot") {
				t.Fatalf("error %q does not start with cannot", err)
			}
			return
		}
		if inv.Version {
			return
		}
		p, err := inv.Plan()
		if err != nil {
			return
		}
		if _, err := plan.Encode(p); err != nil {
			t.Fatalf("a parsed plan does not encode: %v", err)
		}
		if len(inv.Target()) == 0 {
			t.Fatal("empty target")
		}
	})
}
