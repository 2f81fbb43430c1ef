// SPDX-License-Identifier: GPL-3.0-only

//go:build cgo

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/snapns/snapns/seccomp/bpf"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(args, &out, &errOut)
	return out.String(), errOut.String(), status
}

// dirEntries lists dir, to catch temporary files left behind.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCompileWritesProgramWithMode0644(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	src := filepath.Join(dir, "snap.app.src")
	out := filepath.Join(dir, "snap.app.bin")
	if err := os.WriteFile(src, []byte("read\nwrite\n~ioctl - TIOCSTI\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, status := runCmd(t, "compile", src, out); status != 0 {
		t.Fatalf("compile: status %d: %s", status, stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o644 {
		t.Errorf("mode %v, want 0644 whatever the umask", fi.Mode())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bpf.ParseBin2(data); err != nil {
		t.Errorf("the launcher cannot read what compile wrote: %v", err)
	}
	if names := dirEntries(t, dir); strings.Join(names, " ") != "snap.app.bin snap.app.src" {
		t.Errorf("directory holds %q, want the source and the program only", names)
	}
}

func TestCompileReplacesTheProgramAtomically(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	out := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(src, []byte("read\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("old program"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader that opened the old program keeps reading the old program.
	reader, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, stderr, status := runCmd(t, "compile", src, out); status != 0 {
		t.Fatalf("compile: status %d: %s", status, stderr)
	}
	var old bytes.Buffer
	if _, err := old.ReadFrom(reader); err != nil || old.String() != "old program" {
		t.Fatalf("the old file was written in place: read %q, %v", old.String(), err)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode() != 0o644 {
		t.Fatalf("new program: %v, %v", fi, err)
	}
}

func TestCompileFailureLeavesTheOldProgram(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	out := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(src, []byte("read\n# fine so far\nsocket AF_NOPE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("old program"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, status := runCmd(t, "compile", src, out)
	want := "cannot compile " + src + `: cannot parse seccomp profile: line 3: argument 0 "AF_NOPE": "AF_NOPE" is neither a decimal number nor a known constant` + "\n"
	if status != 1 || stderr != want {
		t.Fatalf("compile: status %d, stderr %q, want 1 and %q", status, stderr, want)
	}
	if data, _ := os.ReadFile(out); string(data) != "old program" {
		t.Errorf("a failed compile changed the program: %q", data)
	}
	if names := dirEntries(t, dir); strings.Join(names, " ") != "out.bin src" {
		t.Errorf("directory holds %q after a failed compile", names)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("read\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "cannot run snap-seccomp: need a command (compile, version-info or library-version)"},
		{[]string{"frobnicate"}, `cannot run snap-seccomp: unknown command "frobnicate"`},
		{[]string{"compile"}, "cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT"},
		{[]string{"compile", src}, "cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT"},
		{[]string{"compile", src, "a", "b"}, "cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT"},
		{[]string{"compile", "--legacy", src}, "cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT"},
		{[]string{"compile", "--legacy"}, "cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT"},
		{[]string{"compile", src, "--legacy", "out"}, "cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT"},
		{[]string{"compile", filepath.Join(dir, "missing"), filepath.Join(dir, "out")}, "cannot compile: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{[]string{"compile", src, filepath.Join(dir, "no-such-dir", "out")}, "cannot write " + filepath.Join(dir, "no-such-dir", "out") + ": open "},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, status := runCmd(t, tc.args...)
			if status != 1 || stdout != "" || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("status %d, stdout %q, stderr %q; want 1 and one line starting %q", status, stdout, stderr, tc.want)
			}
		})
	}
}

// TestCompileWritesEachFormat: plain compile writes snapd 2.64's .bin2 (a
// bare header with the flag for @unrestricted), --legacy snapd 2.57's .bin
// (the text "@unrestricted" for it), each what the launcher reads.
func TestCompileWritesEachFormat(t *testing.T) {
	dir := t.TempDir()
	confined := filepath.Join(dir, "confined.src")
	unrestricted := filepath.Join(dir, "unrestricted.src")
	if err := os.WriteFile(confined, []byte("read\nwrite\nioctl\n~ioctl - TIOCSTI\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unrestricted, []byte("@unrestricted\nread\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	compileTo := func(args ...string) []byte {
		t.Helper()
		out := filepath.Join(dir, "out")
		if _, stderr, status := runCmd(t, append(append([]string{"compile"}, args...), out)...); status != 0 {
			t.Fatalf("compile %q: status %d: %s", args, status, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	p, err := bpf.ParseBin2(compileTo(confined))
	if err != nil || p.Unrestricted || len(p.Programs) != 2 {
		t.Errorf("compile: ParseBin2 gives %+v, %v; want two programs", p, err)
	}
	bare := make([]byte, bpf.Bin2HeaderSize)
	copy(bare, "SC\x01\x01")
	if got := compileTo(unrestricted); !bytes.Equal(got, bare) {
		t.Errorf("compile of an unrestricted profile: got % x, want % x", got, bare)
	}

	p, err = bpf.ParseBin(compileTo("--legacy", confined))
	if err != nil || p.Unrestricted || len(p.Programs) != 1 {
		t.Errorf("compile --legacy: ParseBin gives %+v, %v; want one program", p, err)
	}
	if got := compileTo("--legacy", unrestricted); string(got) != "@unrestricted\n" {
		t.Errorf("compile --legacy of an unrestricted profile: got %q", got)
	}
}

// snapd refuses version info that does not match this (sandbox/seccomp's
// validVersionInfo).
var snapdVersionInfo = regexp.MustCompile(`^[0-9a-f]{1,166} [0-9]{1,5}\.[0-9]{1,5}\.[0-9]{1,5} [0-9a-f]{1,64} [-a-z0-9:]{1,30}$`)

func TestVersionInfoIsWhatSnapdParses(t *testing.T) {
	stdout, stderr, status := runCmd(t, "version-info")
	if status != 0 {
		t.Fatalf("version-info: status %d: %s", status, stderr)
	}
	line := strings.TrimSuffix(stdout, "\n")
	if !snapdVersionInfo.MatchString(line) {
		t.Fatalf("version-info %q does not match snapd's format", line)
	}
	again, _, _ := runCmd(t, "version-info")
	if again != stdout {
		t.Errorf("version-info changed between two runs: %q, %q", stdout, again)
	}
	libver, _, status := runCmd(t, "library-version")
	if status != 0 || !strings.Contains(line, " "+strings.TrimSpace(libver)+" ") {
		t.Errorf("library-version %q is not the one in version-info %q", libver, line)
	}
}
