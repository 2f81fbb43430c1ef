// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// Style says how text is written: Colour only on a terminal, and never
// when NO_COLOR is set (the caller decides, see cmd/snap-ns). Columns (-o)
// and NoHeadings make list and show print their table alone, for scripts.
type Style struct {
	Colour     bool
	Columns    string
	NoHeadings bool
}

// tableOnly: the table is all that is wanted.
func (s Style) tableOnly() bool { return s.Columns != "" || s.NoHeadings }

// The verdict words and their colours. Every code has the same length, so
// that a column of coloured words lines up as one of plain words does:
// tabwriter counts the escape bytes as width.
const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	bold   = "\x1b[01m"
	reset  = "\x1b[0m"
)

var wordColour = map[string]string{
	"keep": green, "join": green, "create": green, "classic": green, "usable": green, "no": green,
	"attach": green, "wait": yellow,
	"should": yellow, "rebuild": yellow, "inspect": yellow, "unknown": yellow, "yes": yellow, "ephemeral": green,
	"must": red, "discard": yellow, "refused": red, "unusable": red,
}

// word colours a verdict word, and pads every cell of a coloured column
// with codes of the same length.
func (s Style) word(w string) styled {
	if !s.Colour {
		return styled(Clean(w))
	}
	c, ok := wordColour[w]
	if !ok {
		c = bold
	}
	return styled(c + Clean(w) + reset)
}

// head is a column heading in a column of words.
func (s Style) head(h string) styled {
	if !s.Colour {
		return styled(h)
	}
	return styled(bold + h + reset)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// WriteList writes a listing for a person: the table, why each namespace
// is kept or discarded, and what else is in the directory.
func WriteList(w io.Writer, l *Listing, s Style) error {
	cols, err := SelectColumns(ListColumns, DefaultListColumns, s.Columns)
	if err != nil {
		return err
	}
	if s.tableOnly() {
		return WriteTable(w, cols, l.Namespaces, s.NoHeadings, s)
	}
	if len(l.Namespaces) == 0 {
		fprintf(w, "no preserved namespaces in %s\n", l.Dir)
	} else {
		if err := WriteTable(w, cols, l.Namespaces, false, s); err != nil {
			return err
		}
		fmt.Fprintln(w, "\nwhy:")
		for _, n := range l.Namespaces {
			fprintf(w, "  %s: %s\n", n.Name, n.Reason)
			for _, p := range []string{n.IDProblem, n.InfoProblem, n.OccupancyProblem, n.OccupiedBy} {
				if p != "" {
					fprintf(w, "  %s: %s\n", n.Name, p)
				}
			}
		}
	}
	if len(l.Entries) > 0 {
		fprintf(w, "\nentries in %s that are not used (never followed nor opened for reading):\n", l.Dir)
		tw := newTable(w)
		fmt.Fprintln(tw, "  NAME\tTYPE\tUID\tMODE\tPROBLEM")
		for _, e := range l.Entries {
			fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", Quote(e.Name), e.Type, e.UID, dash(e.Mode), e.Problem)
		}
		return tw.Flush()
	}
	return nil
}

// WriteExplanation writes an explanation for a person.
func WriteExplanation(w io.Writer, x *Explanation, s Style) error {
	mode := "strict"
	if x.Classic {
		mode = "classic"
	}
	fprintf(w, "%s (snap %s, base %s, %s) launched by uid %d now: %s\n\n", x.Tag, x.Instance, x.Base, mode, x.UID, s.word(x.Verdict))
	tw := newTable(w)
	ns := x.Namespace.Path
	if x.Namespace.Stale != "" {
		ns += ": " + x.Namespace.Stale + " (" + x.Namespace.Reason + ")"
	}
	fprintf(tw, "  namespace\t%s\t%s\n", s.word(dash(x.Namespace.Action)), ns)
	fprintf(tw, "  per-user layer\t%s\t%s\n", s.word(dash(x.PerUser.Action)), x.PerUser.Reason)
	sc := "usable"
	if !x.Seccomp.Usable {
		sc = "unusable"
	}
	detail := fmt.Sprintf("%d programs", x.Seccomp.Programs)
	if x.Seccomp.Unrestricted {
		detail = "unrestricted"
	}
	fprintf(tw, "  seccomp\t%s\t%s: %s, %s\n", s.word(sc), x.Seccomp.File, x.Seccomp.Format, detail)
	fprintf(tw, "  apparmor\t%s\tapp %s, snap-update-ns %s\n", s.word("labels"), x.AppArmor.App, x.AppArmor.UpdateNS)
	fprintf(tw, "  device cgroup\t%s\t%s\n", s.word(dash(x.Devices.Action)), deviceDetail(x.Devices))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nsteps:")
	for i, step := range x.Steps {
		fprintf(w, "  %d. %s\n", i+1, step)
	}
	if len(x.Refusals) > 0 {
		fprintf(w, "\n%s:\n", s.word("refused"))
		for _, r := range x.Refusals {
			fprintf(w, "  %s\n", r)
		}
	}
	if len(x.Ignored) > 0 {
		fmt.Fprintln(w, "\nignored by the launcher, as if absent:")
		for _, i := range x.Ignored {
			fprintf(w, "  %s: %s\n", i.File, i.Reason)
		}
	}
	return nil
}

// deviceDetail is the device cgroup's line after its action word.
func deviceDetail(d DeviceCgroup) string {
	if d.Action == "refused" || d.Action == "wait" {
		return d.Problem
	}
	out := "mode " + dash(d.Mode) + ": " + d.Reason
	if d.Settings != "" && d.Settings != "not read" {
		out += "; settings " + d.Settings + " (" + d.SettingsFile + ")"
	}
	if len(d.Tagged) > 0 {
		out += "; tagged " + strings.Join(d.Tagged, ", ")
	}
	if d.Hierarchy != "" {
		out += "; cgroup " + d.Hierarchy
		if d.Group != "" {
			out += " " + d.Group
		}
	}
	return out
}

// WriteShown writes a namespace's mount table for a person.
func WriteShown(w io.Writer, sh *Shown, s Style) error {
	cols, err := SelectColumns(ShowColumns, DefaultShowColumns, s.Columns)
	if err != nil {
		return err
	}
	if s.tableOnly() && sh.Problem == "" {
		return WriteTable(w, cols, sh.Mounts, s.NoHeadings, s)
	}
	fprintf(w, "%s (namespace id %d, inode %d)", sh.Name, sh.ID, sh.Inode)
	if sh.Problem != "" {
		fprintf(w, ": %s\n", sh.Problem)
		return nil
	}
	if sh.Entered {
		fprintf(w, ", read from inside it (no process in it; entered on a throwaway thread):\n")
	} else {
		fprintf(w, ", read through pid %d:\n", sh.PID)
	}
	return WriteTable(w, cols, sh.Mounts, false, s)
}

// styled is text the printer itself made, colour codes included: the only
// text fprintf writes as it is.
type styled string

// fprintf is the text printer's fmt.Fprintf: every string, error or
// Stringer it is given goes through Clean, so that nothing someone else
// chose (a FUSE mount's source or subtype, a file name, an error quoting
// either) reaches the operator's terminal with a control character in it;
// the format and styled values are the printer's own.
func fprintf(w io.Writer, format string, args ...any) (int, error) {
	for i, a := range args {
		switch v := a.(type) {
		case styled:
		case string:
			args[i] = Clean(v)
		case error:
			args[i] = Clean(v.Error())
		case fmt.Stringer:
			args[i] = Clean(v.String())
		}
	}
	return fmt.Fprintf(w, format, args...)
}

// Clean keeps a text field safe on a terminal and in a table: one with a
// control character (C0, DEL, C1, Unicode format characters such as the
// bidirectional overrides), a tab, a newline or invalid UTF-8 is written
// quoted, with those escaped as Go does; anything else is written as it
// is.
func Clean(field string) string {
	for _, r := range field {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(field)
		}
	}
	return field
}

// Age is a duration as a person reads it: 42s, 5m, 3h07m, 2d.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// Quote keeps a name someone else chose on one line and free of terminal
// escapes: anything but printable ASCII is written as a Go escape.
func Quote(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] < 0x21 || name[i] > 0x7e {
			q := strconv.QuoteToASCII(name)
			return q
		}
	}
	return name
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return strings.TrimSpace(s)
}
