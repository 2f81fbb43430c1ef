// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/snapns/snapns/nsview"
)

// GNU habits: --help and --version on standard output, options anywhere,
// one line for what is not understood, and no option silently ignored.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		out, err string
	}{
		{[]string{"--help"}, nsview.Help.Help, ""},
		{[]string{"-h"}, nsview.Help.Help, ""},
		{[]string{"list", "--help"}, nsview.Help.Help, ""},
		{[]string{"--version"}, "snap-ns " + Version + "\n", ""},
		{nil, "", "cannot understand the command line: no command"},
		{[]string{"frobnicate"}, "", `cannot understand the command line: unknown command "frobnicate"`},
		{[]string{"list", "--bogus"}, "", "cannot understand the command line: unknown flag: --bogus"},
		{[]string{"list", "extra"}, "", "cannot understand the command line: list takes no operand"},
		{[]string{"list", "--classic"}, "", "cannot understand the command line: list does not take --classic"},
		{[]string{"explain", "-o", "ID", "snap.hello.app"}, "", "cannot understand the command line: explain does not take --output"},
		{[]string{"explain"}, "", "cannot understand the command line: explain takes one SECURITY-TAG"},
		{[]string{"list", "--json", "-n"}, "", "cannot understand the command line: --json prints every field"},
		// Options after the operand are options.
		{[]string{"explain", "not-a-tag", "--classic", "--base", "core22"}, "", `cannot use security tag "not-a-tag"`},
		{[]string{"show", "x", "--uid", "1000"}, "", `cannot use snap instance name "x"`},
		{[]string{"show", "hello", "--uid", "me"}, "", `cannot use uid "me": not a number`},
		{[]string{"list", "-o", "NOPE"}, "", `cannot use column "NOPE": not one of NAMESPACE`},
	} {
		var out bytes.Buffer
		err := run(tc.args, &out)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("snap-ns %q: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err) || strings.Contains(err.Error(), "\n")):
			t.Errorf("snap-ns %q: error %v, want one line starting %q", tc.args, err, tc.err)
		case out.String() != tc.out:
			t.Errorf("snap-ns %q printed %q, want %q", tc.args, out.String(), tc.out)
		}
	}
}

// The completion scripts parse (bash -n, zsh -n where installed) and offer
// exactly the columns snap-ns has.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct{ shell, file string }{{"bash", "../../completion/snap-ns.bash"}, {"zsh", "../../completion/_snap-ns"}} {
		data, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, cols := range []struct {
			names []string
		}{{columnNames(nsview.ListColumns)}, {columnNames(nsview.ShowColumns)}} {
			if !strings.Contains(string(data), strings.Join(cols.names, " ")) {
				t.Errorf("%s does not offer the columns %s", tc.file, strings.Join(cols.names, " "))
			}
		}
		sh, err := exec.LookPath(tc.shell)
		if err != nil {
			t.Logf("SKIPPING the syntax check of %s: %s is not installed", tc.file, tc.shell)
			continue
		}
		if out, err := exec.Command(sh, "-n", tc.file).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", tc.shell, tc.file, err, out)
		}
	}
}

func columnNames[T any](cols []nsview.Column[T]) []string {
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	return names
}
