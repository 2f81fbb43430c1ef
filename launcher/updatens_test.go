// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelperOutputKeepsTheTail(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n"
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"nothing", nil, ""},
		{"short", []string{"a\n", "b\n"}, "a\nb\n"},
		{"exactly the bound", []string{strings.Repeat(line, maxHelperOutput/100), strings.Repeat("y", maxHelperOutput%100)},
			strings.Repeat(line, maxHelperOutput/100) + strings.Repeat("y", maxHelperOutput%100)},
		{"the error at the end survives", []string{strings.Repeat(line, 1000), "cannot do the thing\n"},
			"(the first 83700 bytes of /u/snap-update-ns's output left out)\n" + strings.Repeat(line, 163) + "cannot do the thing\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o helperOutput
			for _, w := range tc.writes {
				for b := []byte(w); len(b) > 0; {
					n := min(len(b), 4096)
					o.add(b[:n])
					b = b[n:]
				}
			}
			got := o.text("/u/snap-update-ns")
			if !bytes.Equal(got, []byte(tc.want)) {
				t.Errorf("kept %d bytes %.80q..., want %d bytes %.80q...", len(got), got, len(tc.want), tc.want)
			}
			if len(o.kept) > maxHelperOutput {
				t.Errorf("kept %d bytes, more than %d", len(o.kept), maxHelperOutput)
			}
		})
	}
}
