// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// documented reads the field tables of docs/snap-ns.md, per command.
func documented(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("../docs/snap-ns.md")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		if s, ok := strings.CutPrefix(line, "### "); ok {
			section = s
			continue
		}
		if section == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		fields[section] = append(fields[section], strings.Trim(cell, "`"))
	}
	return fields
}

// paths flattens a JSON value into its field paths, arrays as "[]".
func paths(prefix string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			*out = append(*out, p)
			paths(p, sub, out)
		}
	case []any:
		for _, sub := range v {
			if _, ok := sub.(map[string]any); ok {
				paths(prefix+"[]", sub, out)
			}
		}
	}
}

func jsonPaths(t *testing.T, v any) []string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	paths("", m, &out)
	sort.Strings(out)
	return slices.Compact(out)
}

// Every field the JSON output holds is documented, and every documented
// field is in the output, for each command: scripts rely on the table.
func TestJSONFieldsAreTheDocumentedSchema(t *testing.T) {
	uid := uint32(1000)
	samples := map[string]any{
		"list": &Listing{Schema: Schema, Namespaces: []Namespace{{UID: &uid, Homedirs: []string{"/home"}}}, Entries: []Entry{{}}},
		"explain": &Explanation{Schema: Schema, Steps: []string{"x"}, Refusals: []string{"cannot x"}, Devices: DeviceCgroup{Tagged: []string{"c 1:3"}, Skipped: []string{"x"}},
			Ignored: []Ignored{{}}},
		"show": &Shown{Schema: Schema, UID: &uid, Mounts: []Mount{{}}},
	}
	doc := documented(t)
	for cmd, v := range samples {
		want := slices.Clone(doc[cmd])
		sort.Strings(want)
		got := jsonPaths(t, v)
		for _, f := range got {
			if !slices.Contains(want, f) {
				t.Errorf("%s: field %q is in the JSON output but not documented in docs/snap-ns.md", cmd, f)
			}
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				t.Errorf("%s: field %q is documented but not in the JSON output", cmd, f)
			}
		}
	}
}

// A zero value carries every documented top-level key too: no field is
// ever omitted, so a script can tell "empty" from "not there".
func TestJSONFieldsAreNeverOmitted(t *testing.T) {
	doc := documented(t)
	for cmd, v := range map[string]any{"list": &Listing{}, "explain": &Explanation{}, "show": &Shown{}} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range doc[cmd] {
			if !strings.ContainsAny(f, ".[") {
				if _, ok := m[f]; !ok {
					t.Errorf("%s: the zero value has no %q", cmd, f)
				}
			}
		}
	}
}
