// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"strings"
	"testing"

	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/naming"
)

func TestExplainParallelSaysWhoMapsAnInstance(t *testing.T) {
	// Where snaps are mounted on the machine running the test.
	binds := snapDir() + "/hello_a on " + snapDir() + "/hello"
	for _, tc := range []struct {
		name      string
		instance  string
		classic   bool
		featureOn bool
		wants     []string // "" wants no line at all
	}{
		{"snap without key, confined", "hello", false, true, nil},
		{"snap without key, classic", "hello", true, true, nil},
		{"confined instance", "hello_a", false, false, []string{"snap-update-ns", binds, "/var/snap/hello_a on /var/snap/hello", "x-snapd.origin=overname", "/var/lib/snapd/mount/snap.hello_a.fstab"}},
		{"classic instance, feature on", "hello_a", true, true, []string{"the launcher binds", binds, "/var/snap/hello_a on /var/snap/hello", "new namespace"}},
		{"classic instance, feature off", "hello_a", true, false, []string{"nothing is mapped", "/var/lib/snapd/features/parallel-instances"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := naming.ParseInstance(tc.instance)
			if err != nil {
				t.Fatal(err)
			}
			line := explainParallel(&cmdline.Invocation{Instance: inst, Classic: tc.classic}, tc.featureOn)
			if tc.wants == nil {
				if line != "" {
					t.Fatalf("explainParallel = %q, want nothing", line)
				}
				return
			}
			if strings.Contains(line, "\n") {
				t.Errorf("explainParallel is more than one line: %q", line)
			}
			for _, w := range tc.wants {
				if !strings.Contains(line, w) {
					t.Errorf("explainParallel does not mention %q: %q", w, line)
				}
			}
		})
	}
}
