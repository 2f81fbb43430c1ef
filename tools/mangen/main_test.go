// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/snapns/snapns/launcher/discardns"
)

// Every page renders without a warning from man's formatter, and has what
// the manual promises: the options of --help, the exit statuses, and
// snap-ns's diagnostics.
func TestPages(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Log("SKIPPING the formatter's check: groff is not installed (Debian's groff-base, which man-db needs)")
	}
	optRe := regexp.MustCompile(`(?m)^ {2,6}(-\S+(?:, --\S+)?)`)
	for _, p := range Pages {
		extra, err := os.ReadFile(fmt.Sprintf("../../man/%s.%d.in", p.Name, p.Section))
		if err != nil {
			t.Fatal(err)
		}
		page := Render(p, "test", string(extra))
		for _, want := range []string{".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH OPTIONS\n", ".SH EXIT STATUS\n", ".SH SEE ALSO\n"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s(%d) has no %q", p.Name, p.Section, want)
			}
		}
		for _, m := range optRe.FindAllStringSubmatch(p.Help, -1) {
			if !strings.Contains(page, ".B "+esc(m[1])) {
				t.Errorf("%s(%d) does not list the option %s of --help", p.Name, p.Section, m[1])
			}
		}
		if p.Name == "snap-ns" {
			diag := page[strings.Index(page, ".SH DIAGNOSTICS"):]
			for _, want := range []string{"cannot understand the command line", "cannot use column", "cannot explain a launch by uid", "cannot show", "cannot trust", "cannot find seccomp profile"} {
				if !strings.Contains(diag, esc(want)) {
					t.Errorf("snap-ns(1)'s DIAGNOSTICS say nothing of %q", want)
				}
			}
		}
		if groff == "" {
			continue
		}
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(page)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff warns about %s(%d): %v\n%s", p.Name, p.Section, err, stderr.String())
		}
	}
}

// snap-discard-ns's synopsis is snapd's command line (docs/ARCHITECTURE.md).
func TestDiscardSynopsisIsSnapds(t *testing.T) {
	if !strings.HasPrefix(discardns.Help.Help, "Usage: snap-discard-ns [--from-snap-confine | --snap-already-locked] INSTANCE\n") {
		t.Errorf("snap-discard-ns's usage is not snapd's: %q", strings.SplitN(discardns.Help.Help, "\n", 2)[0])
	}
}
