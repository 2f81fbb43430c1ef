// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"os"
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
