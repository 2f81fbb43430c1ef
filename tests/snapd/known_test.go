// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"strings"
)

// knownFailure is a failure of this project's launcher that the suite has
// found and that is being fixed: while it happens exactly as described
// (every error of the case contains match), the case is reported as XFAIL
// with its error text and does not fail the run; once the case passes it is
// reported as XPASS, asking for the entry's removal. SNAPD_SUITE_STRICT=1
// fails on known failures too. Anything else a case reports fails it.
type knownFailure struct {
	installs []string // install names
	cases    []string // case names; empty: every case
	minSnapd string   // snapd versions from this one on ("2.74"); empty: every version
	match    string
	why      string
}

// knownFailures is empty: the three failures the suite found first (a
// layout's writable mimic over /, snap-discard-ns --snap-already-locked, and
// snapd's own capability file refused) are fixed. Add an entry, with the
// issue it is tracked in, only for a failure being fixed elsewhere.
var knownFailures = []knownFailure{}

// knownFailureOf returns the entry covering a case of an install, if any.
func knownFailureOf(inst install, kase, snapd string) *knownFailure {
	for i, k := range knownFailures {
		if !contains(k.installs, inst.name) || (len(k.cases) > 0 && !contains(k.cases, kase)) {
			continue
		}
		if k.minSnapd != "" && versionLess(snapd, k.minSnapd) {
			continue
		}
		return &knownFailures[i]
	}
	return nil
}

// explains says whether every error is this known failure.
func (k *knownFailure) explains(errs []string) bool {
	for _, err := range errs {
		if !strings.Contains(err, k.match) {
			return false
		}
	}
	return len(errs) > 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// versionLess compares the leading numeric components of two snapd
// versions ("2.77.1-2" < "2.78").
func versionLess(a, b string) bool {
	num := func(v string) []int {
		var out []int
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
			n := 0
			for _, c := range f {
				n = n*10 + int(c-'0')
			}
			out = append(out, n)
			if len(out) == 3 {
				break
			}
		}
		return out
	}
	x, y := num(a), num(b)
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return len(x) < len(y)
}
