// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// within runs fn and fails the test if it does not return in time: a
// blocking open or read of a FIFO would never return.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s hangs on a FIFO", what)
	}
}

// oneCannotLine checks the project's error contract.
func oneCannotLine(t *testing.T, err error, wantSub string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "cannot ") || strings.ContainsAny(msg, "\n\r") || !strings.Contains(msg, wantSub) {
		t.Errorf("error %q is not one line starting with \"cannot\" and naming %q", msg, wantSub)
	}
}

func TestEveryReadOfTheInfoFileSurvivesAFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "snap.hello.info")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	within(t, "readFile", func() {
		_, err := readFile(fifo, readFlags, 4096, false)
		oneCannotLine(t, err, fifo)
		if !errors.Is(err, errNotRegular) {
			t.Errorf("error %v does not say the FIFO is not a regular file", err)
		}
	})
	// The launcher treats an unusable info file as none (it inspects the
	// namespace instead); so does the planner, and says why.
	within(t, "readInfoFile", func() {
		in, why := readInfoFile(dir, "snap.hello.info")
		if why == "" || !strings.Contains(why, "not a regular file") {
			t.Errorf("readInfoFile of a FIFO = %+v, %q; want no info and the reason", in, why)
		}
	})
	// A preserved-namespace name taken by a FIFO is refused, with the
	// launcher's words; looking at it never opens it for reading.
	within(t, "isPreserved", func() {
		preserved, err := isPreserved(dir, "snap.hello.info")
		if preserved {
			t.Error("a FIFO counts as a preserved namespace")
		}
		oneCannotLine(t, err, "not a regular file nor a preserved namespace")
	})
	// system-params: the launcher refuses the launch; the planner refuses
	// with one line.
	within(t, "readSystemParams", func() {
		_, err := readSystemParams(fifo)
		oneCannotLine(t, err, fifo)
	})
}

func TestReadFileRefusesWhatTheLauncherRefuses(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "system-params")
	if err := os.WriteFile(regular, []byte("homedirs=/home/extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	// A symlink is never followed.
	_, err := readFile(link, readFlags, 4096, false)
	oneCannotLine(t, err, link)
	if !errors.Is(err, unix.ELOOP) {
		t.Errorf("following %s: %v, want ELOOP", link, err)
	}
	// A directory is not a regular file.
	_, err = readFile(dir, readFlags, 4096, false)
	oneCannotLine(t, err, "not a regular file")
	// Bounded.
	_, err = readFile(regular, readFlags, 4, false)
	oneCannotLine(t, err, "larger than 4 bytes")
	// A regular file reads whole.
	if data, err := readFile(regular, readFlags, 4096, false); err != nil || string(data) != "homedirs=/home/extra\n" {
		t.Errorf("readFile = %q, %v", data, err)
	}
	// Not root's: refused where the launcher wants root's.
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("homedirs=/home/extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(users, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	_, err = readSystemParams(users)
	oneCannotLine(t, err, "not owned by root")
	// Missing system-params means no homedirs, as for the launcher.
	if h, err := readSystemParams(filepath.Join(dir, "missing")); err != nil || h != nil {
		t.Errorf("readSystemParams of a missing file = %q, %v", h, err)
	}
	// Missing namespace file: not preserved; a plain file: not preserved.
	for _, name := range []string{"missing", "system-params"} {
		if preserved, err := isPreserved(dir, name); preserved || err != nil {
			t.Errorf("isPreserved(%s) = %v, %v; want not preserved", name, preserved, err)
		}
	}
}
