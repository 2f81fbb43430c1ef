// SPDX-License-Identifier: GPL-3.0-only

// Command securitydoc writes the tables of SECURITY.md that follow from the
// code, so that they cannot drift from it: the privileged operations with
// their capabilities and syscalls (policy.Ops), the size of the
// privileged audit set (every package the launcher, snap-confine, links,
// counted from `go list`), the places of the closed set (tools/closedset's
// configuration, which make vet enforces) and the files that call its
// actions (from the type-checked code). Each table stands between
// "<!-- BEGIN GENERATED: name -->" and "<!-- END GENERATED: name -->".
//
//	securitydoc -check SECURITY.md   # exit 1 when a table differs
//	securitydoc -write SECURITY.md   # rewrite the tables
//	securitydoc -audit               # print the audit set table
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/tools/closedset"
)

func main() {
	check := flag.String("check", "", "check the generated tables of this file")
	write := flag.String("write", "", "rewrite the generated tables of this file")
	audit := flag.Bool("audit", false, "print the audit set table")
	flag.Parse()
	if err := run(*check, *write, *audit); err != nil {
		fmt.Fprintln(os.Stderr, "securitydoc:", err)
		os.Exit(1)
	}
}

func run(check, write string, audit bool) error {
	if audit {
		t, err := auditTable(".")
		if err != nil {
			return err
		}
		fmt.Print(t)
		return nil
	}
	path := check + write
	if path == "" || (check != "" && write != "") {
		return fmt.Errorf("usage: securitydoc -check FILE | -write FILE | -audit")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	tables, err := Tables(filepath.Dir(path))
	if err != nil {
		return err
	}
	out, err := Fill(data, tables)
	if err != nil {
		return err
	}
	if write != "" {
		return os.WriteFile(path, out, 0o644)
	}
	if !bytes.Equal(out, data) {
		return fmt.Errorf("%s: the generated tables differ from the code; run make security-tables", path)
	}
	return CheckKernelFloor(filepath.Dir(path))
}

// floorDocs are the documents that state the oldest kernel the launcher
// runs on, relative to the module's directory.
var floorDocs = []string{"README.md", "docs/ARCHITECTURE.md", "SECURITY.md"}

// floorRe finds a statement of the kernel floor.
var floorRe = regexp.MustCompile(`runs on Linux ([0-9]+\.[0-9]+) (?:and|or) later`)

// CheckKernelFloor checks that each of floorDocs states the kernel floor,
// and only as policy.KernelFloor.
func CheckKernelFloor(root string) error {
	for _, name := range floorDocs {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return err
		}
		found := floorRe.FindAllSubmatch(data, -1)
		if len(found) == 0 {
			return fmt.Errorf("%s does not say which Linux the launcher runs on (\"runs on Linux %s and later\")", name, policy.KernelFloor)
		}
		for _, m := range found {
			if string(m[1]) != policy.KernelFloor {
				return fmt.Errorf("%s says the launcher runs on Linux %s and later; policy.KernelFloor is %s", name, m[1], policy.KernelFloor)
			}
		}
	}
	return nil
}

// Tables returns every generated table by name; root is the module's
// directory.
func Tables(root string) (map[string]string, error) {
	a, err := auditTable(root)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	pkgs, err := loadPrivileged(abs)
	if err != nil {
		return nil, err
	}
	if err := CheckActionNames(pkgs); err != nil {
		return nil, err
	}
	sites, err := CallSiteTable(abs, pkgs)
	if err != nil {
		return nil, err
	}
	return map[string]string{"operations": OperationsTable(), "capabilities": CapabilitiesTable(), "audit-set": a,
		"closed-set": ClosedSetTable(closedset.Project), "call-sites": sites}, nil
}

// Fill replaces the body of every generated block of doc.
func Fill(doc []byte, tables map[string]string) ([]byte, error) {
	s := string(doc)
	for name, table := range tables {
		begin, end := "<!-- BEGIN GENERATED: "+name+" -->\n", "<!-- END GENERATED: "+name+" -->"
		i := strings.Index(s, begin)
		j := strings.Index(s, end)
		if i < 0 || j < i {
			return nil, fmt.Errorf("no generated block %q", name)
		}
		s = s[:i+len(begin)] + table + s[j:]
	}
	return []byte(s), nil
}

func capNames(caps []policy.Cap) string {
	if len(caps) == 0 {
		return "none"
	}
	var names []string
	for _, c := range caps {
		names = append(names, c.String())
	}
	return strings.Join(names, ", ")
}

// raisedNames names what op raises, an optional capability (raised only
// when the launcher holds it) followed by "if held", and one raised only
// on kernels that gate bpf(2) (policy.Spec's GatedBPF) saying so.
func raisedNames(op policy.Op, fullSet bool) string {
	var names []string
	raised := op.Raised(fullSet)
	for _, c := range raised {
		if slices.Contains(policy.Ops[op].Optional, c) {
			names = append(names, c.String()+" if held")
		} else {
			names = append(names, c.String())
		}
	}
	for _, c := range op.RaisedGated(fullSet, true)[len(raised):] {
		names = append(names, c.String()+" where unprivileged BPF is disabled, before 5.19")
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// OperationsTable lists policy.Ops: each action by its name (the Op's and
// its function's in launcher/privop), what it does, the capabilities it
// raises in the file-capability install and in the setuid install, and its
// syscalls.
func OperationsTable() string {
	var b strings.Builder
	b.WriteString("| action | what it does | raised with file capabilities | raised when setuid root | syscalls |\n| --- | --- | --- | --- | --- |\n")
	for op := range policy.Ops {
		o := policy.Op(op)
		sys := policy.Ops[op].Syscalls
		if k := policy.Ops[op].Kernels; k != "" {
			sys += "; only " + k
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o, policy.Ops[op].Does, raisedNames(o, false), raisedNames(o, true), sys)
	}
	fmt.Fprintf(&b, "\nThe file-capability set (`setcap %s=p`) is the union of the second column, less what is raised only if held, and of the ambient capabilities snap-update-ns --user-mounts gets (%s).\n", policy.RequiredSetcap(), capNames(policy.UserHelperCaps))
	return b.String()
}

// CapabilitiesTable says, for each capability of the file-capability set,
// what it is for: the operations that raise it there, and whether
// snap-update-ns --user-mounts gets it as an ambient capability.
func CapabilitiesTable() string {
	var b strings.Builder
	b.WriteString("| capability | raised by (file capabilities) | snap-update-ns --user-mounts |\n| --- | --- | --- |\n")
	for _, c := range policy.Required() {
		var ops []string
		for op := range policy.Ops {
			if slices.Contains(policy.Op(op).Raised(false), c) {
				ops = append(ops, "`"+policy.Op(op).String()+"`")
			}
		}
		if len(ops) == 0 {
			ops = []string{"none"}
		}
		helper := "no"
		if slices.Contains(policy.UserHelperCaps, c) {
			helper = "ambient"
		}
		fmt.Fprintf(&b, "| cap_%s | %s | %s |\n", c, strings.Join(ops, "; "), helper)
	}
	return b.String()
}

// auditTable counts the non-test lines of every non-standard package
// the launcher (snap-confine) links, as the compiler sees them for
// linux/amd64 without cgo.
func auditTable(root string) (string, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}{{end}}", "./launcher/cmd/snap-confine")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot list the launcher's packages: %w", err)
	}
	type row struct {
		pkg          string
		files, lines int
	}
	var ours, theirs []row
	total := row{pkg: "**project total**"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		r := row{pkg: f[0]}
		for _, name := range strings.Fields(f[2]) {
			data, err := os.ReadFile(filepath.Join(f[1], name))
			if err != nil {
				return "", err
			}
			r.files++
			r.lines += bytes.Count(data, []byte("\n"))
		}
		if strings.HasPrefix(r.pkg, "github.com/snapns/snapns/") {
			r.pkg = strings.TrimPrefix(r.pkg, "github.com/snapns/snapns/")
			ours = append(ours, r)
			total.files += r.files
			total.lines += r.lines
		} else {
			theirs = append(theirs, r)
		}
	}
	slices.SortFunc(ours, func(a, b row) int { return strings.Compare(a.pkg, b.pkg) })
	var b strings.Builder
	b.WriteString("| package | files | lines |\n| --- | --- | --- |\n")
	for _, r := range append(append(ours, total), theirs...) {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", r.pkg, r.files, r.lines)
	}
	return b.String(), nil
}
