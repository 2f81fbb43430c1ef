// SPDX-License-Identifier: GPL-3.0-only

package naming

import (
	"strings"
	"testing"
)

// Most cases below are taken from snapd's snap/naming/validate_test.go,
// snap/naming/tag_test.go and cmd/libsnap-confine-private/snap-test.c.

var (
	validSnapNames = []string{
		"aa", "aaa", "aaaa",
		"a-a", "aa-a", "a-aa", "a-b-c",
		"a0", "a-0", "a-0a",
		"01game", "1-or-2", "12to8", "123test", "hello-world",
		// a regexp stresser (40 characters, the maximum)
		"u-94903713687486543234157734673284536758",
		strings.Repeat("x", 40),
		"0123456789012345678901234567890123456789x"[1:],
	}
	invalidSnapNames = []string{
		"",                               // empty
		"a",                              // too short (min 2 characters)
		"../x", "x/..", "x/y", ".", "..", // path tricks
		"x.1000", // dots are not allowed
		"Foo", "fOo", "FOO",
		strings.Repeat("x", 41), // too long
		"xxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxx",
		"1111111111111111111111111111111111111111x",
		"x1111111111111111111111111111111111111111",
		"x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x",
		"u-9490371368748654323415773467328453675-",
		"-", "--", "-foo", "foo-", "a-", "a--a", "f--oo", // dashes
		"a ", " a", "a a", "hello world", // spaces
		"0", "123", "1-2-3", // a number alone is not a name
		"日本語", "한글", "ру́сский язы́к", // plain ASCII only
		"foo_bar", "foo+bar", "foo\x00", "foo\n", "\x00", "a\x00a",
	}
	validInstanceNames = []string{
		"aa", "aaa", "aaaa", "a-a", "aa-a", "a-aa", "a-b-c",
		"foo_bar", "foo_0123456789", "01game_0123456789",
		"foo_1", "foo_1234abcd", "hello-world_foo",
		"aa_a", "aa_1", "aa_123", "aa_0123456789",
		strings.Repeat("x", 40) + "_" + strings.Repeat("k", 10), // 51, the maximum
	}
	invalidInstanceNames = []string{
		"", "a", "_", "_bar", "foo_", "foo__bar", "foo_bar_baz",
		"foo_BAR", "foo_toolongkey123", "foo_1-23", "foo_01234567890", "foo_123_456",
		"a_--23))", "a_ ", "a_091234#", "a_123_456", "a_01234567891", "a_0123456789123",
		"01234567890123456789012345678901234567890_foobar",
		"01234567890123456789-01234567890123456789_foobar",
		"0123456789012345678901234567890123456789012345678901", // 52
		"foobar_日本語", "foobar_baz_zed_daz", "foobar______",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "a--a", "a-", "a ", " a", "a a",
		"ру́сский_язы́к", "Foo", "../x", "x.1000", "foo_../x", "foo_a/b", "foo_x\n", "foo\x00_x",
		strings.Repeat("x", 41) + "_k",
	}
)

func TestValidateSnapName(t *testing.T) {
	for _, name := range validSnapNames {
		if err := ValidateSnapName(name); err != nil {
			t.Errorf("ValidateSnapName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range invalidSnapNames {
		err := ValidateSnapName(name)
		if err == nil {
			t.Errorf("ValidateSnapName(%q) = nil, want error", name)
			continue
		}
		checkErrorText(t, err, "cannot use snap name ")
	}
}

func TestValidateSnapNameMessages(t *testing.T) {
	// The reasons follow sc_snap_name_validate's order of checks.
	for _, tc := range []struct{ name, msg string }{
		{"Foo", `cannot use snap name "Foo": must use lower case letters, digits or dashes`},
		{"hello world", `cannot use snap name "hello world": must use lower case letters, digits or dashes`},
		{"", `cannot use snap name "": must contain at least one letter`},
		{"123", `cannot use snap name "123": must contain at least one letter`},
		{"a", `cannot use snap name "a": must be at least 2 characters long`},
		{"-foo", `cannot use snap name "-foo": cannot start with a dash`},
		{"foo-", `cannot use snap name "foo-": cannot end with a dash`},
		{"f--oo", `cannot use snap name "f--oo": cannot contain two consecutive dashes`},
		{strings.Repeat("x", 41), `cannot use snap name "` + strings.Repeat("x", 41) + `": must be at most 40 characters long`},
		{"a\nb", `cannot use snap name "a\nb": must use lower case letters, digits or dashes`},
	} {
		err := ValidateSnapName(tc.name)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ValidateSnapName(%q) = %v, want %s", tc.name, err, tc.msg)
		}
	}
}

func TestParseInstance(t *testing.T) {
	for _, name := range validInstanceNames {
		inst, err := ParseInstance(name)
		if err != nil {
			t.Errorf("ParseInstance(%q) = %v, want nil", name, err)
			continue
		}
		if inst.String() != name {
			t.Errorf("ParseInstance(%q).String() = %q", name, inst.String())
		}
		snap, key, _ := strings.Cut(name, "_")
		if inst.SnapName() != snap || inst.Key() != key {
			t.Errorf("ParseInstance(%q) = (%q, %q), want (%q, %q)", name, inst.SnapName(), inst.Key(), snap, key)
		}
	}
	var invalid []string
	invalid = append(invalid, invalidInstanceNames...)
	for _, name := range invalidSnapNames {
		if name != "foo_bar" { // the only valid instance name there
			invalid = append(invalid, name)
		}
	}
	for _, name := range invalid {
		inst, err := ParseInstance(name)
		if err == nil {
			t.Errorf("ParseInstance(%q) = %v, want error", name, inst)
			continue
		}
		if inst != (Instance{}) {
			t.Errorf("ParseInstance(%q) returned a non-zero instance with an error", name)
		}
		checkErrorText(t, err, "cannot use snap instance name ")
	}
}

func TestParseInstanceMessages(t *testing.T) {
	for _, tc := range []struct{ name, msg string }{
		{"foo_bar_baz", `cannot use snap instance name "foo_bar_baz": can contain only one underscore`},
		{"_", `cannot use snap instance name "_": snap name must contain at least one letter`},
		{"_bar", `cannot use snap instance name "_bar": snap name must contain at least one letter`},
		{"foo_", `cannot use snap instance name "foo_": instance key must contain at least one letter or digit`},
		{"foo_BAR", `cannot use snap instance name "foo_BAR": instance key must use lower case letters or digits`},
		{"foo_toolongkey123", `cannot use snap instance name "foo_toolongkey123": instance key must be at most 10 characters long`},
		{"0123456789012345678901234567890123456789012345678901",
			`cannot use snap instance name "0123456789012345678901234567890123456789012345678901": must be at most 51 characters long`},
	} {
		_, err := ParseInstance(tc.name)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ParseInstance(%q) = %v, want %s", tc.name, err, tc.msg)
		}
	}
}

type tagCase struct {
	tag, instance, app, hook string
}

var validTags = []tagCase{
	{"snap.pkg.app", "pkg", "app", ""},
	{"snap.pkg+comp.hook.configure", "pkg", "", "configure"},
	{"snap.pkg_key+comp.hook.configure", "pkg_key", "", "configure"},
	{"snap.pkg_key.app", "pkg_key", "app", ""},
	{"snap.pkg.hook.configure", "pkg", "", "configure"},
	{"snap.pkg_key.hook.configure", "pkg_key", "", "configure"},
	{"snap.foo.hook.configure", "foo", "", "configure"},
	{"snap.foo_bar.app", "foo_bar", "app", ""},
	{"snap.name.app", "name", "app", ""},
	{"snap.network-manager.NetworkManager", "network-manager", "NetworkManager", ""},
	{"snap.f00.bar-baz1", "f00", "bar-baz1", ""},
	{"snap.foo.hook.bar", "foo", "", "bar"},
	{"snap.foo.hook.bar-baz", "foo", "", "bar-baz"},
	{"snap.foo_instance.bar-baz", "foo_instance", "bar-baz", ""},
	{"snap.foo_instance.hook.bar-baz", "foo_instance", "", "bar-baz"},
	{"snap.foo_bar.hook.bar-baz", "foo_bar", "", "bar-baz"},
	{"snap.foo_bar.hook.f00", "foo_bar", "", "f00"},
	{"snap.foo_bar.hook.f-0-0", "foo_bar", "", "f-0-0"},
	{"snap.0name.app", "0name", "app", ""},
	{"snap.12to8.128to8", "12to8", "128to8", ""},
	{"snap.123test.123test", "123test", "123test", ""},
	{"snap.123test.hook.configure", "123test", "", "configure"},
	{"snap.foo.hook.connect-plug-i2c", "foo", "", "connect-plug-i2c"},
	// Perhaps surprisingly, this is the app "hook" (both in C and in Go).
	{"snap.pkg.hook", "pkg", "hook", ""},
	// App names may use upper case letters and start with a digit.
	{"snap.pkg.1", "pkg", "1", ""},
	{"snap.pkg.Aa", "pkg", "Aa", ""},
	{"snap.pkg.0a-a", "pkg", "0a-a", ""},
	{"snap.pkg.A-1-b", "pkg", "A-1-b", ""},
	// 256 bytes, the maximum.
	{"snap.foo." + strings.Repeat("b", 256-len("snap.foo.")), "foo", strings.Repeat("b", 256-len("snap.foo.")), ""},
}

var invalidTags = []string{
	"", "snap", "snap.", "snap.pkg", "snap.pkg.", "snap.name.app.", "snap.name.hook.",
	"snap.pkg_key.app.surprise", "snap.pkg_key.hook.configure.surprise",
	"snap.pkg.hook.surprise.", "snap.pkg.app.surprise", "snap.name.app.hook.f00",
	"snap._.app", "snap.pkg._",
	"pkg-foo.bar.0binary-bar+baz", "pkg-foo_bar_1.1", "appname/..",
	"snap!name.app", "snap.-name.app", "snap.name!app", "snap.name.-app",
	"snap.name.app!hook.foo", "snap.name.app.hook!foo", "snap.name.app.hook.-foo",
	"sna.pname.app", "snap.n@me.app", "SNAP.name.app", "snap.Name.app", "snap.Foo.app",
	"snap.name.@app", ".name.app", "snap..name.app", "snap.name..app", "snap.name.app..",
	"snap.foo_.bar-baz", "snap.foo_toolonginstance.bar-baz", "snap.foo_inst@nace.bar-baz",
	"snap.foo_in-stan-ce.bar-baz", "snap.foo_in stan.bar-baz", "snap.foo_BAR.app",
	"snap.foo_bar.hook.0abcd", "snap.foo.hook.abc--", "snap.foo_bar.hook.!foo",
	"snap.foo_bar.hook.-foo", "snap.foo_bar.hook!foo", "snap.foo_bar.!foo",
	// Hook names are lower case only.
	"snap.foo.hook.Configure", "snap.foo.hook.CONFIGURE", "snap.foo.hook.conFigure",
	// More hook and app name rules (from validate_test.go).
	"snap.foo.hook.", "snap.foo.hook.a--a", "snap.foo.hook.a-", "snap.foo.hook.0", "snap.foo.hook.123abc",
	"snap.foo.hook.a a", "snap.foo.hook.日本語",
	"snap.foo.-", "snap.foo.--", "snap.foo.a--a", "snap.foo.a-", "snap.foo.a ", "snap.foo.:a",
	"snap.foo._a", "snap.foo.a_", "snap.foo.a_a", "snap.foo.日本語",
	// Snap names: length, letters, path tricks.
	"snap.a.app", "snap.123.app", "snap." + strings.Repeat("x", 41) + ".app",
	"snap.../x.app", "snap.x/...app", "snap.foo./", "snap.foo.hook./x", "snap.foo.hook.../x",
	"snap.foo.app\n", "snap.foo.app\x00", "snap.foo\n.app", "snap.foo.hook.x\x00",
	// A component's tag is a hook's, its name a snap name.
	"snap.pkg+.hook.install", "snap.pkg+comp+comp.hook.install", "snap.pkG+comp.hook.install",
	"snap.pkg+comp.app", "snap.pkg+Comp.hook.install", "snap.pkg+c.hook.install", "snap.pkg+comp_key.hook.install",
	"foo.bar.froz",
	// 257 bytes, one too long.
	"snap.foo." + strings.Repeat("b", 257-len("snap.foo.")),
}

func TestParseComponent(t *testing.T) {
	foo, _ := ParseInstance("foo_key")
	for _, tc := range []struct{ value, component, err string }{
		{"foo+comp", "comp", ""},
		{"foo+c0mp-1", "c0mp-1", ""},
		{"foo", "", "must contain a +"},
		{"bar+comp", "", "its snap is not that of snap instance"},
		{"foo_key+comp", "", "snap name"},
		{"foo+", "", "component name"},
		{"foo+Comp", "", "component name"},
		{"foo+comp+x", "", "component name"},
		{"foo+../x", "", "component name"},
	} {
		got, err := ParseComponent(tc.value, foo)
		if got != tc.component || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseComponent(%q) = %q, %v; want %q, error with %q", tc.value, got, err, tc.component, tc.err)
		}
	}
	tag, err := ParseSecurityTag("snap.foo_key+comp.hook.install")
	if err != nil || tag.Component() != "comp" || tag.Hook() != "install" || tag.IsHook() {
		t.Errorf("a component's hook tag: %+v, %v (snap-confine does not count it as a hook's for the cookie)", tag, err)
	}
}

func TestParseSecurityTag(t *testing.T) {
	for _, tc := range validTags {
		tag, err := ParseSecurityTag(tc.tag)
		if err != nil {
			t.Errorf("ParseSecurityTag(%q) = %v, want nil", tc.tag, err)
			continue
		}
		if tag.String() != tc.tag || tag.Instance().String() != tc.instance ||
			tag.App() != tc.app || tag.Hook() != tc.hook || tag.IsHook() != (tc.hook != "" && !strings.Contains(tc.tag, "+")) {
			t.Errorf("ParseSecurityTag(%q) = %+v, want %+v", tc.tag, tag, tc)
		}
		// The instance inside a valid tag is a valid instance.
		if _, err := ParseInstance(tag.Instance().String()); err != nil {
			t.Errorf("ParseSecurityTag(%q): instance does not parse: %v", tc.tag, err)
		}
	}
	for _, s := range invalidTags {
		tag, err := ParseSecurityTag(s)
		if err == nil {
			t.Errorf("ParseSecurityTag(%q) = %+v, want error", s, tag)
			continue
		}
		if tag != (SecurityTag{}) {
			t.Errorf("ParseSecurityTag(%q) returned a non-zero tag with an error", s)
		}
		checkErrorText(t, err, "cannot use security tag ")
	}
}

func TestParseSecurityTagMessages(t *testing.T) {
	for _, tc := range []struct{ tag, msg string }{
		{"snap.foo", `cannot use security tag "snap.foo": must have the form "snap.<instance>.<app>" or "snap.<instance>.hook.<hook>"`},
		{"snap.foo.app.x", `cannot use security tag "snap.foo.app.x": must have the form "snap.<instance>.<app>" or "snap.<instance>.hook.<hook>"`},
		{"snap.Foo.app", `cannot use security tag "snap.Foo.app": snap instance name "Foo" is invalid: snap name must use lower case letters, digits or dashes`},
		{"snap.foo_.app", `cannot use security tag "snap.foo_.app": snap instance name "foo_" is invalid: instance key must contain at least one letter or digit`},
		{"snap.foo.-app", `cannot use security tag "snap.foo.-app": app name "-app" must start with a letter or digit`},
		{"snap.foo.hook.Configure", `cannot use security tag "snap.foo.hook.Configure": hook name "Configure" must start with a lower case letter`},
		{"snap.foo.hook.conFigure", `cannot use security tag "snap.foo.hook.conFigure": hook name "conFigure" must use lower case letters, digits or dashes`},
		{"snap.foo+comp.app", `cannot use security tag "snap.foo+comp.app": a component's tag must be a hook's, "snap.<instance>+<component>.hook.<hook>"`},
		{"snap.foo.app\n", `cannot use security tag "snap.foo.app\n": app name "app\n" must use letters, digits or dashes`},
	} {
		_, err := ParseSecurityTag(tc.tag)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("ParseSecurityTag(%q) = %v, want %s", tc.tag, err, tc.msg)
		}
	}
	// Long inputs are quoted in part only.
	long := "snap.foo." + strings.Repeat("b", 1000)
	_, err := ParseSecurityTag(long)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("ParseSecurityTag(long) = %v, want a short error", err)
	}
	checkErrorText(t, err, "cannot use security tag ")
}

func TestParseSecurityTagFor(t *testing.T) {
	mustInstance := func(s string) Instance {
		t.Helper()
		inst, err := ParseInstance(s)
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	for _, tc := range []struct {
		tag, instance string
		ok            bool
	}{
		{"snap.name.app", "name", true},
		{"snap.foo.hook.bar", "foo", true},
		{"snap.foo_instance.hook.bar-baz", "foo_instance", true},
		{"snap.foo_bar.app", "foo_bar", true},
		// Both valid, but the instance does not match the tag.
		{"snap.foo.hook.bar", "fo", false},
		{"snap.foo.hook.bar", "fooo", false},
		{"snap.foo.hook.bar", "snap", false},
		{"snap.foo.hook.bar", "bar", false},
		{"snap.foo_instance.bar", "foo_bar", false},
		{"snap.foo_instance.bar", "foo", false},
		{"snap.foo.bar", "foo_instance", false},
		// An invalid tag is refused whatever the instance.
		{"snap.foo.-bar", "foo", false},
	} {
		tag, err := ParseSecurityTagFor(tc.tag, mustInstance(tc.instance))
		if tc.ok {
			if err != nil || tag.String() != tc.tag || tag.Instance() != mustInstance(tc.instance) {
				t.Errorf("ParseSecurityTagFor(%q, %q) = %+v, %v", tc.tag, tc.instance, tag, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseSecurityTagFor(%q, %q) = %+v, want error", tc.tag, tc.instance, tag)
			continue
		}
		if tag != (SecurityTag{}) {
			t.Errorf("ParseSecurityTagFor(%q, %q) returned a non-zero tag with an error", tc.tag, tc.instance)
		}
		checkErrorText(t, err, "cannot use security tag ")
	}
	_, err := ParseSecurityTagFor("snap.foo.app", Instance{})
	if err == nil {
		t.Errorf("ParseSecurityTagFor with the zero Instance succeeded")
	}
	_, err = ParseSecurityTagFor("snap.foo.hook.bar", mustInstance("fooo"))
	if want := `cannot use security tag "snap.foo.hook.bar": it does not belong to snap instance "fooo"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestZeroValues(t *testing.T) {
	var inst Instance
	var tag SecurityTag
	if inst.String() != "" || inst.SnapName() != "" || inst.Key() != "" {
		t.Errorf("zero Instance is not empty")
	}
	if tag.String() != "" || tag.App() != "" || tag.Hook() != "" || tag.IsHook() || tag.Instance() != (Instance{}) {
		t.Errorf("zero SecurityTag is not empty")
	}
}

func TestValidationDoesNotAllocate(t *testing.T) {
	name, tagStr := "foo-bar_key1", "snap.foo-bar_key1.hook.configure"
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ParseInstance(name); err != nil {
			panic(err)
		}
		if _, err := ParseSecurityTag(tagStr); err != nil {
			panic(err)
		}
		if err := ValidateSnapName("foo-bar"); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("successful validation allocates %v times, want 0", n)
	}
}

// checkErrorText checks the rules for error messages: a single line that
// starts with the given prefix and quotes the input.
func checkErrorText(t *testing.T, err error, prefix string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix+`"`) {
		t.Errorf("error %q does not start with %q", msg, prefix+`"`)
	}
	if strings.ContainsAny(msg, "\n\r\x00") {
		t.Errorf("error %q is not a single printable line", msg)
	}
}

// checkSafe checks what a validated name or tag guarantees to path builders.
func checkSafe(t *testing.T, what, s string) {
	t.Helper()
	if s == "" || strings.ContainsAny(s, "/\x00\n") || strings.Contains(s, "..") {
		t.Fatalf("%s %q is not safe to use in a path", what, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAppChar(c) && c != '_' && c != '-' && c != '.' && c != '+' {
			t.Fatalf("%s %q contains byte %#x", what, s, c)
		}
	}
}

func FuzzParseInstance(f *testing.F) {
	for _, s := range validInstanceNames {
		f.Add(s)
	}
	for _, s := range invalidInstanceNames {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inst, err := ParseInstance(s)
		if err != nil {
			if inst != (Instance{}) {
				t.Fatalf("ParseInstance(%q) returned a non-zero instance with an error", s)
			}
			checkErrorText(t, err, "cannot use snap instance name ")
			return
		}
		if inst.String() != s {
			t.Fatalf("ParseInstance(%q).String() = %q", s, inst.String())
		}
		checkSafe(t, "instance name", s)
		if strings.Contains(s, ".") {
			t.Fatalf("instance name %q contains a dot", s)
		}
		want := inst.SnapName()
		if inst.Key() != "" {
			want += "_" + inst.Key()
		}
		if want != s {
			t.Fatalf("ParseInstance(%q) split into %q and %q", s, inst.SnapName(), inst.Key())
		}
		if err := ValidateSnapName(inst.SnapName()); err != nil {
			t.Fatalf("ParseInstance(%q) accepted snap name that ValidateSnapName refuses: %v", s, err)
		}
		if len(s) > 51 || len(inst.SnapName()) > 40 || len(inst.Key()) > 10 {
			t.Fatalf("ParseInstance(%q) accepted an over-long name", s)
		}
	})
}

func FuzzParseSecurityTag(f *testing.F) {
	for _, tc := range validTags {
		f.Add(tc.tag)
	}
	for _, s := range invalidTags {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseSecurityTag(s)
		if err != nil {
			if tag != (SecurityTag{}) {
				t.Fatalf("ParseSecurityTag(%q) returned a non-zero tag with an error", s)
			}
			checkErrorText(t, err, "cannot use security tag ")
			return
		}
		if tag.String() != s {
			t.Fatalf("ParseSecurityTag(%q).String() = %q", s, tag.String())
		}
		checkSafe(t, "security tag", s)
		if len(s) > 256 {
			t.Fatalf("ParseSecurityTag(%q) accepted an over-long tag", s)
		}
		if (tag.App() == "") == (tag.Hook() == "") || tag.IsHook() != (tag.Hook() != "" && tag.Component() == "") {
			t.Fatalf("ParseSecurityTag(%q) = %+v: exactly one of app and hook must be set", s, tag)
		}
		want := "snap." + tag.Instance().String() + "." + tag.App()
		if tag.Hook() != "" {
			want = "snap." + tag.Instance().String() + ".hook." + tag.Hook()
		}
		if tag.Component() != "" {
			want = "snap." + tag.Instance().String() + "+" + tag.Component() + ".hook." + tag.Hook()
		}
		if want != s {
			t.Fatalf("ParseSecurityTag(%q) does not reassemble: %q", s, want)
		}
		inst, err := ParseInstance(tag.Instance().String())
		if err != nil || inst != tag.Instance() {
			t.Fatalf("ParseSecurityTag(%q): instance %+v does not re-parse: %v", s, tag.Instance(), err)
		}
		if _, err := ParseSecurityTagFor(s, inst); err != nil {
			t.Fatalf("ParseSecurityTagFor(%q, own instance) = %v", s, err)
		}
	})
}
