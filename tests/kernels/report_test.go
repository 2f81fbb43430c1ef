// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const sampleOutput = `snapns-kernels: booted in 6.78s: Linux 6.1.0-57-amd64, cgroups v2 (cgroup2), AppArmor N
=== RUN   TestA
--- PASS: TestA (0.01s)
=== RUN   TestB
=== RUN   TestB/one
    b_test.go:10: launch failed: exit status 1
        DEBUG: snap-launch: no snap cookie: cannot open /var/lib/snapd/cookie/snap.hello: no such file or directory
        cannot set up the device cgroup of snap.hello.app: cannot create the device map /sys/fs/bpf/snap/snap_hello_app: invalid argument
=== RUN   TestB/two
    b_test.go:20: the namespace was not rebuilt: 4026532162 (was 4026532162)
=== RUN   TestB/three
    b_test.go:10: launch failed: exit status 1
        cannot set up the device cgroup of snap.other.app: cannot create the device map /sys/fs/bpf/snap/snap_other_app: invalid argument
--- FAIL: TestB (0.30s)
    --- FAIL: TestB/one (0.10s)
    --- FAIL: TestB/two (0.10s)
    --- FAIL: TestB/three (0.10s)
=== RUN   TestD
    d_test.go:3: under --nofile=4:4: exit status 1: ["cannot tell whether AppArmor is enabled: cannot open /: too many open files"]
    d_test.go:4: launch failed: exit status 1
        stderr:
        cannot set the propagation of the root filesystem: function not implemented
--- FAIL: TestD (0.10s)
=== RUN   TestC
    c_test.go:5: SKIPPING: AppArmor is not enabled in this kernel
--- SKIP: TestC (0.00s)
=== RUN   TestE
=== RUN   TestE/one
=== NAME  TestE
    e_test.go:9: AppArmor denied, in the launches above:
          apparmor="DENIED" operation="open"
--- FAIL: TestE (0.20s)
    --- PASS: TestE/one (0.10s)
FAIL
snapns-kernels: ran for 12.5s
snapns-kernels: exit status 1
`

func TestParseOutputCountsLeavesAndGroupsFailuresByCause(t *testing.T) {
	o := parseOutput(strings.NewReader(sampleOutput))
	if o.pass != 2 || o.fail != 5 || o.skip != 1 || o.status != 1 || o.ranFor != "12.5s" || !strings.HasPrefix(o.booted, "6.78s: Linux 6.1.0-57-amd64") {
		t.Fatalf("parsed %+v", o)
	}
	if o.skipped["TestC"] != "SKIPPING: AppArmor is not enabled in this kernel" {
		t.Errorf("skip reason %q", o.skipped["TestC"])
	}
	groups := o.groups()
	// A parent that fails by itself, its subtests passing, is a
	// failure of its own.
	if o.failed["TestE"] != "AppArmor denied, in the launches above:" {
		t.Errorf("TestE: %q", o.failed["TestE"])
	}
	if len(groups) != 5 {
		t.Fatalf("groups %+v", groups)
	}
	// The device map failures name the failing step, not the debug
	// line before it; the rebuilt namespace is a cause of its own, with
	// its numbers written N.
	var byTests = map[string]group{}
	for _, g := range groups {
		byTests[strings.Join(g.tests, ",")] = g
	}
	if g := byTests["TestB/two"]; g.cause != "the namespace was not rebuilt: N (was N)" {
		t.Errorf("rebuilt group %+v", g)
	}
	// The last message's error is the cause, not an expected one before.
	if g := byTests["TestD"]; g.cause != "cannot set the propagation of the root filesystem: function not implemented" {
		t.Errorf("TestD's group %+v", g)
	}
	one, three := byTests["TestB/one"], byTests["TestB/three"]
	if !strings.HasPrefix(one.cause, "cannot set up the device cgroup of snap.hello.app: cannot create the device map") || !strings.HasPrefix(three.cause, "cannot set up the device cgroup") {
		t.Errorf("device map groups %+v, %+v", one, three)
	}
	var b bytes.Buffer
	o.writeGroups(&b, 6)
	if !strings.Contains(b.String(), "1 × the namespace was not rebuilt: N (was N)") {
		t.Errorf("written:\n%s", b.String())
	}
}

func TestParseSpecs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []spec
		err  string
	}{
		{"6.1", []spec{{"6.1", "v2", false}}, ""},
		{"5.10/v1, 6.12/hybrid 6.1+apparmor", []spec{{"5.10", "v1", false}, {"6.12", "hybrid", false}, {"6.1", "v2", true}}, ""},
		{"4.19", nil, "the kernels are"},
		{"6.1/v3", nil, "the cgroup layouts are"},
		{"", nil, "no kernels given"},
	} {
		got, err := parseSpecs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v", tc.in, got, err)
		}
	}
}

func TestTestArgsAreTheTestBinarys(t *testing.T) {
	got := testArgs([]string{"-run", "TestX", "-v", "-count=2", "-test.short", "--failfast"})
	want := []string{"-test.run=TestX", "-test.v", "-test.count=2", "-test.short", "-test.failfast"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
	if checkWords([]string{"-test.run=TestA|TestB"}) != nil || checkWords([]string{"-test.run=Test A"}) == nil {
		t.Error("checkWords")
	}
}

func TestCPIOIsNewc(t *testing.T) {
	var b bytes.Buffer
	if err := writeCPIO(&b, []cpioEntry{{name: "init", mode: cpioReg | 0o755, data: []byte("#!/bin/sh\n")}, {name: "bin", mode: cpioDir | 0o755}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "070701") || strings.Index(out, "bin\x00") > strings.Index(out, "init\x00") || !strings.Contains(out, "TRAILER!!!\x00") || b.Len()%4 != 0 {
		t.Errorf("not a newc archive with bin before init: %q", out)
	}
}

func TestOnlyFailingTestsAreRunAgain(t *testing.T) {
	failed := &outcome{fail: 3, failed: map[string]string{"TestB/setuid": "x", "TestB/file-capabilities": "y", "TestA": "z"}}
	for _, tc := range []struct {
		name string
		r    run
		args []string
		want string
	}{
		{"failing tests", run{out: failed}, nil, "TestA,TestB"},
		{"asked for some tests", run{out: failed}, []string{"-test.run=TestA"}, ""},
		{"a panic", run{out: &outcome{fail: 1, failed: map[string]string{"TestA": "z"}, panicked: "panic: x"}}, nil, ""},
		{"a lost guest", run{out: failed, err: errors.New("the guest stopped")}, nil, ""},
		{"nothing failed", run{out: &outcome{pass: 3}}, nil, ""},
	} {
		if got := strings.Join(tc.r.retryable(tc.args), ","); got != tc.want {
			t.Errorf("%s: run again %q, want %q", tc.name, got, tc.want)
		}
	}
}
