// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func sampleListing() *Listing {
	uid := uint32(1000)
	return &Listing{Schema: Schema, Command: "list", Dir: "/run/snapd/ns",
		Namespaces: []Namespace{
			{Name: "hello.mnt", Instance: "hello", Kind: "snap", Preserved: true, ID: 4026532999, Base: "core", Revision: "1", Device: "7:0",
				MadeBy: MadeBySnapns, Stale: "should", Reason: `base "core" was refreshed from revision 1 to 2`, NextLaunch: "discard",
				Built: "2026-01-01T00:00:00Z", AgeSeconds: 3725},
			{Name: "hello.1000.mnt", Instance: "hello", Kind: "user", UID: &uid, Preserved: true, ID: 4026533000, Base: "core",
				MadeBy: MadeBySnapns, Stale: "should", Reason: "the snap's namespace under it goes", NextLaunch: "discard",
				Built: "2026-01-01T00:00:00Z", AgeSeconds: 42},
		},
		Entries: []Entry{{Name: "evil\x1b[31m.mnt", Type: "symlink", Mode: "0777", Problem: "not a regular file"}},
	}
}

// The table lines up: every row's columns start where the header's do.
func TestListTextIsAlignedColumns(t *testing.T) {
	var b bytes.Buffer
	if err := WriteList(&b, sampleListing(), Style{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	header := lines[0]
	col := strings.Index(header, "STALE")
	for _, row := range lines[1:3] {
		if len(row) <= col || row[col-2:col] != "  " || row[col] == ' ' {
			t.Errorf("row not aligned with the STALE column at %d:\n%s\n%s", col, header, row)
		}
	}
	if !strings.Contains(lines[1], "should") || !strings.Contains(lines[1], "1h02m") || !strings.Contains(lines[2], "1000") {
		t.Errorf("rows miss their verdict, age or uid:\n%s", b.String())
	}
	if !strings.Contains(b.String(), `hello.mnt: base "core" was refreshed from revision 1 to 2`) {
		t.Errorf("the reason is missing:\n%s", b.String())
	}
}

// Colour is only what the caller asks for, and coloured columns still
// line up because every cell carries codes of the same length.
func TestColourOnlyWhenAskedAndStillAligned(t *testing.T) {
	var plain, coloured bytes.Buffer
	WriteList(&plain, sampleListing(), Style{})
	WriteList(&coloured, sampleListing(), Style{Colour: true})
	if strings.Contains(plain.String(), "\x1b[3") || strings.Contains(plain.String(), "\x1b[0") {
		t.Fatalf("colour without a terminal:\n%q", plain.String())
	}
	if !strings.Contains(coloured.String(), yellow+"should"+reset) {
		t.Fatalf("no colour on a terminal:\n%q", coloured.String())
	}
	lines := strings.Split(coloured.String(), "\n")
	want := strings.Index(lines[0], "OCCUPIED")
	for _, row := range lines[1:3] {
		if got := strings.Index(row, "no  "); got != want {
			t.Errorf("coloured row's OCCUPIED cell at %d, header's at %d:\n%q\n%q", got, want, lines[0], row)
		}
	}
}

// A name someone else chose cannot write escapes to the terminal nor break
// a line.
func TestHostileNamesAreQuoted(t *testing.T) {
	var b bytes.Buffer
	WriteList(&b, sampleListing(), Style{})
	if strings.Contains(b.String(), "\x1b") {
		t.Fatalf("an escape from a file name reached the output:\n%q", b.String())
	}
	if !strings.Contains(b.String(), `"evil\x1b[31m.mnt"`) {
		t.Errorf("the name is not shown quoted:\n%s", b.String())
	}
	if Quote("a\nb") != `"a\nb"` || Quote("hello.mnt") != "hello.mnt" {
		t.Error("Quote")
	}
}

func TestExplanationTextStartsWithTheVerdict(t *testing.T) {
	x := &Explanation{Tag: "snap.hello.app", Instance: "hello", Base: "core", UID: 1000, Verdict: "refused",
		Namespace: NSStep{Action: "join", Path: "/run/snapd/ns/hello.mnt", Stale: "keep", Reason: "as now"},
		Seccomp:   Seccomp{File: "/var/lib/snapd/seccomp/bpf/snap.hello.app.bin2", Format: "bin2", Problem: "cannot use seccomp profile x: owned by uid 1000, not root"},
		Steps:     []string{"one", "two"}, Refusals: []string{"cannot use seccomp profile x: owned by uid 1000, not root"}}
	var b bytes.Buffer
	if err := WriteExplanation(&b, x, Style{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	first := strings.SplitN(out, "\n", 2)[0]
	if !strings.HasSuffix(first, ": refused") {
		t.Errorf("first line does not end with the verdict: %q", first)
	}
	for _, want := range []string{"  1. one\n", "  2. two\n", "refused:\n  cannot use seccomp profile x", "unusable  /var/lib/snapd/seccomp/bpf/snap.hello.app.bin2: bin2, 0 programs"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestAgeAndPropagationWords(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 3 * time.Minute: "3m", 3*time.Hour + 7*time.Minute: "3h07m", 49 * time.Hour: "2d"} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
	for opt, want := range map[string]string{"": "private", "shared:3": "shared:3", "master:1": "slave of 1", "shared:4 master:1": "shared:4,slave of 1", "unbindable": "unbindable"} {
		if got := Propagation(strings.Fields(opt)); got != want {
			t.Errorf("Propagation(%q) = %q, want %q", opt, got, want)
		}
	}
}

// Every text field goes through Clean: what users chose (a FUSE mount's
// source and subtype, reasons quoting names) never writes a control
// character, in colour or not; colour codes are the printer's own.
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	for field, want := range map[string]string{
		"fuse.sshfs":      "fuse.sshfs",
		"été":             "été",
		"x\x1b[2J":        `"x\x1b[2J"`,
		"a\tb":            `"a\tb"`,
		"a\nb":            `"a\nb"`,
		"\u202egnp.exe":   `"\u202egnp.exe"`,
		"c1\u009bcontrol": `"c1\u009bcontrol"`,
		"bad\xffutf8":     `"bad\xffutf8"`,
	} {
		if got := Clean(field); got != want {
			t.Errorf("Clean(%q) = %s, want %s", field, got, want)
		}
	}
	hostile := "x\x1b]2;owned\x07"
	sh := &Shown{Name: "hello.mnt", Mounts: []Mount{{MountPoint: "/home/a", FSType: "fuse." + hostile, Source: hostile, Root: "/", Device: "0:99", Propagation: "slave of 1"}}}
	x := &Explanation{Tag: "snap.hello.app", Instance: "hello", Base: "core", Verdict: "join",
		Namespace: NSStep{Action: "join", Path: "/run/snapd/ns/hello.mnt", Stale: "keep", Reason: "home directory /home/" + hostile + " is mounted"},
		Steps:     []string{"join " + hostile}}
	l := sampleListing()
	l.Namespaces[0].Reason = "cannot read " + hostile
	for _, colour := range []bool{false, true} {
		var b bytes.Buffer
		WriteShown(&b, sh, Style{Colour: colour})
		WriteExplanation(&b, x, Style{Colour: colour})
		WriteList(&b, l, Style{Colour: colour})
		out := b.String()
		for _, code := range []string{green, yellow, red, bold, reset} {
			out = strings.ReplaceAll(out, code, "")
		}
		for _, r := range out {
			if (r < 0x20 && r != '\n') || r == 0x7f {
				t.Fatalf("colour %t: the control character %q reached the output:\n%q", colour, r, out)
			}
		}
		if !strings.Contains(out, `"fuse.x\x1b]2;owned\a"`) {
			t.Errorf("colour %t: the FUSE subtype is not shown escaped:\n%s", colour, out)
		}
	}
}
