// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SECURITY.md's generated tables are the code's: a change to the
// operations, their capabilities or syscalls or the audit set that is not
// reflected there fails here (make security-tables
// rewrites them).
func TestSecurityMDMatchesTheCode(t *testing.T) {
	data, err := os.ReadFile("../../SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := Tables("../..")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Fill(data, tables)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(data) {
		t.Fatal("SECURITY.md's generated tables differ from the code: run make security-tables")
	}
}

// The documents state the kernel floor policy.KernelFloor, and a wrong one
// is caught.
func TestKernelFloorIsStatedAsThePolicys(t *testing.T) {
	if err := CheckKernelFloor("../.."); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, name := range floorDocs {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte("The launcher runs on Linux 5.12 and later.\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckKernelFloor(root); err == nil || !strings.Contains(err.Error(), "5.12") {
		t.Errorf("a wrong floor is not caught: %v", err)
	}
}
