// SPDX-License-Identifier: GPL-3.0-only

//go:build cgo

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapns/snapns/seccomp/compile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if err := dispatch(args, stdout); err != nil {
		// One line, whatever the cause says.
		fmt.Fprintln(stderr, strings.ReplaceAll(err.Error(), "\n", " "))
		return 1
	}
	return 0
}

func dispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("cannot run snap-seccomp: need a command (compile, version-info or library-version)")
	}
	switch cmd, args := args[0], args[1:]; cmd {
	case "compile":
		// snapd ≥ 2.64 calls "compile SRC OUT" and reads .bin2; --legacy
		// writes the .bin of snapd ≤ 2.63 for the launchers that read it.
		legacy := len(args) > 0 && args[0] == "--legacy"
		if legacy {
			args = args[1:]
		}
		if len(args) != 2 {
			return fmt.Errorf("cannot compile: usage: snap-seccomp compile [--legacy] SRC OUT")
		}
		return compileFile(args[0], args[1], legacy)
	case "version-info":
		id, err := buildID("/proc/self/exe")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, compile.VersionInfo(id))
		return err
	case "library-version":
		_, err := fmt.Fprintln(stdout, compile.LibraryVersion())
		return err
	default:
		return fmt.Errorf("cannot run snap-seccomp: unknown command %q", cmd)
	}
}

func compileFile(src, out string, legacy bool) error {
	profile, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("cannot compile: %w", err)
	}
	compileTo := compile.Compile
	if legacy {
		compileTo = compile.CompileLegacy
	}
	var prog bytes.Buffer
	if err := compileTo(profile, &prog); err != nil {
		return fmt.Errorf("cannot compile %s: %w", src, err)
	}
	return writeAtomically(out, prog.Bytes(), 0o644)
}

// writeAtomically replaces path with data: readers see the old file or the
// whole new one, never a part, and a crash leaves at most a temporary file
// named ".<name>.*~" next to it.
func writeAtomically(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*~")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; Chmod is not subject to the umask.
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	// The data must be on disk before the name points at it.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	// And the rename on disk before we say it is done.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}
