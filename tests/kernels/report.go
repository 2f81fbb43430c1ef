// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// outcome is what one guest's `go test -v` output says.
type outcome struct {
	pass, fail, skip int
	// failed maps each failing test (leaves only: a test whose subtests
	// failed is not counted again) to the line that says why.
	failed map[string]string
	// skipped maps each skipped test to its reason.
	skipped map[string]string
	booted  string // stage 2's "booted in ..." line
	ranFor  string
	status  int // the test binary's exit status; -1 when none came back
	// panicked holds a test binary's panic or timeout line, if any.
	panicked string
	// tail is the output's last lines, but the guest's own.
	tail []string
}

var (
	resultRe  = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)
	headerRe  = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)`)
	messageRe = regexp.MustCompile(`^    (?:\s*)\S+\.go:\d+: (.*)$`)
	numberRe  = regexp.MustCompile(`\b0x[0-9a-f]+\b|\d+`)
)

// parseOutput reads a test binary's -test.v output, with the guest's own
// "snapns-kernels: " lines among it.
func parseOutput(r io.Reader) *outcome {
	o := &outcome{failed: map[string]string{}, skipped: map[string]string{}, status: -1}
	results := map[string]string{}
	messages := map[string][]string{}
	current := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if rest, ok := strings.CutPrefix(line, "snapns-kernels: "); ok {
			switch {
			case strings.HasPrefix(rest, "exit status "):
				o.status, _ = strconv.Atoi(strings.TrimPrefix(rest, "exit status "))
			case strings.HasPrefix(rest, "booted in "):
				o.booted = strings.TrimPrefix(rest, "booted in ")
			case strings.HasPrefix(rest, "ran for "):
				o.ranFor = strings.TrimPrefix(rest, "ran for ")
			}
			continue
		}
		if o.tail = append(o.tail, line); len(o.tail) > 8 {
			o.tail = o.tail[1:]
		}
		if m := headerRe.FindStringSubmatch(line); m != nil {
			current = m[2]
			continue
		}
		if m := resultRe.FindStringSubmatch(line); m != nil {
			results[m[2]] = m[1]
			continue
		}
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			if o.panicked == "" {
				o.panicked = line
			}
			continue
		}
		if current == "" {
			continue
		}
		if m := messageRe.FindStringSubmatch(line); m != nil {
			messages[current] = append(messages[current], m[1])
		} else if strings.HasPrefix(line, "        ") && len(messages[current]) > 0 {
			// A message's further lines.
			msgs := messages[current]
			msgs[len(msgs)-1] += "\n" + strings.TrimSpace(line)
		}
	}
	for name, res := range results {
		if hasChildren(results, name) {
			// A parent fails by itself (an error after its
			// subtests) when none of them failed.
			if res == "FAIL" && !childFailed(results, name) {
				o.fail++
				o.failed[name] = cause(messages[name])
			}
			continue
		}
		switch res {
		case "PASS":
			o.pass++
		case "SKIP":
			o.skip++
			if msgs := messages[name]; len(msgs) > 0 {
				o.skipped[name] = firstLine(msgs[len(msgs)-1])
			}
		case "FAIL":
			o.fail++
			o.failed[name] = cause(messages[name])
		}
	}
	return o
}

func hasChildren(results map[string]string, name string) bool {
	for other := range results {
		if strings.HasPrefix(other, name+"/") {
			return true
		}
	}
	return false
}

func childFailed(results map[string]string, name string) bool {
	for other, res := range results {
		if res == "FAIL" && strings.HasPrefix(other, name+"/") {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// cause picks the line of a failing test's messages that says why: the
// first "cannot ..." line a program printed (a launch's stderr, quoted in
// the message), in the last message that has one (a test's fatal message
// comes last; the ones before it may quote expected errors), else the
// last message's first line.
func cause(msgs []string) string {
	if len(msgs) == 0 {
		return "(no message: see the output)"
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, line := range strings.Split(msgs[i], "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "DEBUG: ") {
				continue
			}
			if i := strings.Index(line, "cannot "); i >= 0 && !strings.HasPrefix(line, "launch failed") {
				return strings.Trim(line[i:], `"`)
			}
		}
	}
	return firstLine(msgs[len(msgs)-1])
}

// group is failures with one cause.
type group struct {
	cause string
	tests []string
}

// groups sorts failures by cause, largest group first. Numbers in the
// causes are written N so that one cause with different pids or ids is one
// group.
func (o *outcome) groups() []group {
	byCause := map[string]*group{}
	for test, c := range o.failed {
		key := numberRe.ReplaceAllString(c, "N")
		if len(key) > 240 {
			key = key[:240] + "..."
		}
		g := byCause[key]
		if g == nil {
			g = &group{cause: key}
			byCause[key] = g
		}
		g.tests = append(g.tests, test)
	}
	var out []group
	for _, g := range byCause {
		sort.Strings(g.tests)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].tests) != len(out[j].tests) {
			return len(out[i].tests) > len(out[j].tests)
		}
		return out[i].cause < out[j].cause
	})
	return out
}

// writeGroups prints the failure groups, at most max test names each.
func (o *outcome) writeGroups(w io.Writer, max int) {
	for _, g := range o.groups() {
		fmt.Fprintf(w, "  %3d × %s\n", len(g.tests), g.cause)
		names := g.tests
		more := ""
		if len(names) > max {
			more = fmt.Sprintf(" and %d more", len(names)-max)
			names = names[:max]
		}
		fmt.Fprintf(w, "        %s%s\n", strings.Join(names, ", "), more)
	}
}
