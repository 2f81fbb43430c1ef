// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"testing"

	"github.com/snapns/snapns/shared/naming"
)

func TestSnapYAMLBase(t *testing.T) {
	for yaml, want := range map[string]string{
		"name: hello\nbase: core22\nversion: 1\n":    "core22",
		"name: hello\nbase: \"core24\" # the base\n": "core24",
		"name: hello\nbase: 'core18'\n":              "core18",
		"name: hello\nversion: 1\n":                  "",
		"name: hello\n  base: core22\n":              "", // not top-level
		"name: hello\nbase: ../../etc\n":             "",
		"name: hello\nbase:\n":                       "",
		"base: core20\nbase: core22\n":               "core20",
	} {
		got, ok := SnapYAMLBase([]byte(yaml))
		if got != want || ok != (want != "") {
			t.Errorf("SnapYAMLBase(%q) = %q, %t; want %q", yaml, got, ok, want)
		}
	}
}

// A snap's metadata is its publisher's: whatever it holds, the base found
// is a valid snap name or none.
func FuzzSnapYAMLBase(f *testing.F) {
	f.Add([]byte("name: hello\nbase: core22\n"))
	f.Add([]byte("base: \"x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if base, ok := SnapYAMLBase(data); ok && naming.ValidateSnapName(base) != nil {
			t.Fatalf("base %q is not a snap name", base)
		}
	})
}
