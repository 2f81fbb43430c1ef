// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Settings, from the environment (the Makefile passes its variables):
//
//	SNAPD_SUITE   sid (default: snapd 2.77.x), trixie (2.68.x), bookworm (2.57.6)
//	SNAPD_CAPS    the file-capability install's list: auto (default: snapd's
//	              package file snap-confine.v2-only.caps when the package
//	              ships it, else policy), package, policy (policy.Required())
//	SNAPNS_BIN    the directory of the built snap-confine and snap-discard-ns
//	              (make sets it to bin/); unset, the suite builds them
//	SNAPD_SUITE_CACHE     where downloads and the prepared tree are kept
//	                      (default .cache/snapd-suite)
//	SNAPD_SUITE_PREPARE=1 TestPrepare downloads and prepares (make deps)
//	SNAPD_SUITE_STRICT=1  known failures (known_test.go) fail the run too
//	SNAPD_SUITE_PARALLEL=1  the installs' containers run side by side
//	SNAPD_SUITE_KEEP=1    keep each boot's overlay directory for inspection
//
// One install or one case: go test ./tests/snapd -run 'TestSnapd/dropin/layout'.

// install is how snap-confine is provided in a boot of the container.
type install struct {
	name     string
	describe string
	ours     bool // this project's launcher, not snapd's snap-confine
	caps     bool // file capabilities instead of setuid
}

var installs = []install{
	{name: "dropin", ours: true, describe: "bin/snap-confine bound over /usr/lib/snapd/snap-confine, setuid root; bin/snap-discard-ns over snapd's"},
	{name: "caps", ours: true, caps: true, describe: "bin/snap-confine bound over /usr/lib/snapd/snap-confine with file capabilities, not setuid; bin/snap-discard-ns over snapd's"},
	{name: "control", describe: "snapd's own snap-confine and snap-discard-ns, as the package installs them"},
}

// outcome is one cell of the matrix the suite prints at the end.
type outcome struct {
	status string // PASS, FAIL, SKIP, XFAIL, XPASS (known_test.go)
	took   time.Duration
	detail string // the first error, one line
}

type matrix struct {
	mu    sync.Mutex
	cells map[string]map[string]outcome // install → case → outcome
	setup map[string]time.Duration      // install → boot and set-up time
}

func (m *matrix) record(inst, kase string, o outcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cells[inst] == nil {
		m.cells[inst] = map[string]outcome{}
	}
	m.cells[inst][kase] = o
}

func (m *matrix) print(w func(string, ...any)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for _, k := range cases {
		names = append(names, k.name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s", "case")
	for _, inst := range installs {
		fmt.Fprintf(&b, " %-16s", inst.name)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%-16s", "(boot, set-up)")
	for _, inst := range installs {
		if d, ok := m.setup[inst.name]; ok {
			fmt.Fprintf(&b, " %-16s", d.Round(100*time.Millisecond))
		} else {
			fmt.Fprintf(&b, " %-16s", "-")
		}
	}
	b.WriteString("\n")
	var failures []string
	for _, name := range names {
		fmt.Fprintf(&b, "%-16s", name)
		for _, inst := range installs {
			o, ok := m.cells[inst.name][name]
			if !ok {
				fmt.Fprintf(&b, " %-16s", "-")
				continue
			}
			fmt.Fprintf(&b, " %-16s", fmt.Sprintf("%s %.1fs", o.status, o.took.Seconds()))
			if o.status != "PASS" && o.detail != "" {
				failures = append(failures, fmt.Sprintf("%s/%s %s: %s", inst.name, name, o.status, o.detail))
			}
		}
		b.WriteString("\n")
	}
	if len(failures) > 0 {
		b.WriteString("\nnot passed:\n")
		sort.Strings(failures)
		for _, f := range failures {
			b.WriteString("  " + f + "\n")
		}
	}
	w("%s", b.String())
}

// fetchError marks a failure to download from Debian's archive: without it
// the suite cannot be prepared here, and TestPrepare says so.
type fetchError struct{ err error }

func (e fetchError) Error() string { return e.err.Error() }
func (e fetchError) Unwrap() error { return e.err }

// notPrepared says that what the suite needs is not in the cache: `make
// deps` (TestPrepare) downloads and prepares it; the suite itself never
// downloads anything.
type notPrepared struct{ what string }

func (e notPrepared) Error() string { return e.what + " is not prepared" }

// selected returns the suite SNAPD_SUITE selects and the cache directory.
func selected(t *testing.T) (suite, string) {
	name := getenv("SNAPD_SUITE", "sid")
	s, ok := suites[name]
	if !ok {
		t.Fatalf("cannot run the suite: SNAPD_SUITE=%q is none of sid, trixie, bookworm", name)
	}
	cache, err := filepath.Abs(getenv("SNAPD_SUITE_CACHE", filepath.Join(repoRoot(), ".cache/snapd-suite")))
	if err != nil {
		t.Fatal(err)
	}
	return s, cache
}

// TestPrepare is `make deps`'s part of the suite (with
// SNAPD_SUITE_PREPARE=1, as root): it downloads debootstrap,
// systemd-nspawn and snapd from Debian's archive and prepares the container
// tree of SNAPD_SUITE into the cache, when they are not there yet.
func TestPrepare(t *testing.T) {
	if os.Getenv("SNAPD_SUITE_PREPARE") != "1" {
		t.Skip("only for make deps (SNAPD_SUITE_PREPARE=1)")
	}
	if os.Geteuid() != 0 {
		skipLoudly(t, "make deps cannot prepare its container without root (debootstrap)")
	}
	s, cache := selected(t)
	for _, step := range []func() error{
		func() error { _, err := fetchHostTools(cache, true, t.Logf); return err },
		func() error { _, err := prepareRootfs(cache, s, true, t.Logf); return err },
	} {
		if err := step(); err != nil {
			var fe fetchError
			if errors.As(err, &fe) {
				skipLoudly(t, "it cannot fetch from Debian's archive: "+err.Error())
			}
			t.Fatal(err)
		}
	}
}

func TestSnapd(t *testing.T) {
	start := time.Now()
	if os.Geteuid() != 0 {
		skipLoudly(t, "it needs root (systemd-nspawn, a setuid and a file-capability launcher); run it as root, as CI does")
	}
	s, cache := selected(t)
	capsMode := getenv("SNAPD_CAPS", "auto")
	if capsMode != "auto" && capsMode != "package" && capsMode != "policy" {
		t.Fatalf("cannot run the suite: SNAPD_CAPS=%q is none of auto, package, policy", capsMode)
	}
	for _, tool := range []string{"nsenter", "setcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipLoudly(t, fmt.Sprintf("the machine lacks %s (make deps installs it)", tool))
		}
	}
	if _, err := cgroupV2Root(); err != nil {
		skipLoudly(t, err.Error())
	}
	tools, err := fetchHostTools(cache, false, t.Logf)
	var tree *rootfs
	if err == nil {
		tree, err = prepareRootfs(cache, s, false, t.Logf)
	}
	if err != nil {
		var np notPrepared
		if errors.As(err, &np) {
			skipLoudly(t, fmt.Sprintf("%v in %s: `make deps SNAPD_SUITE=%s` (as root, with Debian's archive reachable) downloads and prepares it", err, cache, s.name))
		}
		t.Fatalf("cannot use the prepared container: %v", err)
	}
	rootfs := tree
	bin, err := launcherBinaries(t)
	if err != nil {
		t.Fatal(err)
	}
	capsList, capsFrom, err := capabilityList(rootfs.dir, capsMode)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapd %s from Debian %s (expected %s), in a Debian %s container; prepared in %s", rootfs.snapdVersion, s.name, s.expect, s.container, time.Since(start).Round(100*time.Millisecond))
	t.Logf("the file-capability install (SNAPD_CAPS=%s) sets %s=p, from %s", capsMode, capsList, capsFrom)
	cpu := -1
	if versionLess(rootfs.snapdVersion, "2.77") {
		// snap-confine before 2.77 captures a namespace by bind mount
		// without the retry Linux 6.18 needs (docs/ARCHITECTURE.md §6,
		// snapd PR #17376): pinned to one CPU, with systemd-nspawn,
		// every namespace the container makes gets a larger id than
		// the container's own, and the kernel accepts the capture.
		cpu = highestNamespaceCPU()
		t.Logf("snapd %s: the container is pinned to CPU %d (its snap-confine lacks the Linux 6.18 namespace-id capture retry)", rootfs.snapdVersion, cpu)
	}
	seeded, err := seedLayer(cache, rootfs, tools, cpu, t.Logf)
	if err != nil {
		t.Fatalf("cannot seed snapd in the container: %v", err)
	}

	m := &matrix{cells: map[string]map[string]outcome{}, setup: map[string]time.Duration{}}
	// After every install, parallel or not.
	t.Cleanup(func() {
		t.Logf("snapd %s (Debian %s), container Debian %s; caps list from %s\n", rootfs.snapdVersion, s.name, s.container, capsFrom)
		m.print(t.Logf)
		t.Logf("whole run: %s", time.Since(start).Round(100*time.Millisecond))
	})
	// One install after the other; SNAPD_SUITE_PARALLEL=1 boots the
	// three containers side by side (no faster on 2 CPUs: a snap install
	// is mostly systemd reloading its units).
	sideBySide := os.Getenv("SNAPD_SUITE_PARALLEL") == "1"
	for _, inst := range installs {
		t.Run(inst.name, func(t *testing.T) {
			if sideBySide {
				t.Parallel()
			}
			runInstall(t, m, inst, world{rootfs: rootfs, seeded: seeded, tools: tools, bin: bin, caps: capsList, cpu: cpu})
		})
	}
}

func skipLoudly(t *testing.T, why string) {
	t.Helper()
	msg := "SKIPPING the real-snapd suite (make test-snapd): " + why
	fmt.Fprintln(os.Stderr, "*** "+msg+" ***")
	t.Skip(msg)
}

// world is what every install's boot shares.
type world struct {
	rootfs *rootfs
	seeded string // the seeded layer (seed_test.go)
	tools  *hostTools
	bin    string // holds snap-confine and snap-discard-ns
	caps   string // setcap's capability list for the file-capability install
	cpu    int
}

// launcherBinaries returns the directory of the built launcher: SNAPNS_BIN
// (make test-snapd passes bin/), or a fresh build.
func launcherBinaries(t *testing.T) (string, error) {
	if dir := os.Getenv("SNAPNS_BIN"); dir != "" {
		for _, b := range []string{"snap-confine", "snap-discard-ns"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return "", fmt.Errorf("cannot find the built %s in SNAPNS_BIN=%s (make build): %w", b, dir, err)
			}
		}
		t.Logf("the launcher: %s/snap-confine and snap-discard-ns (SNAPNS_BIN)", dir)
		return dir, nil
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/",
		"github.com/snapns/snapns/launcher/cmd/snap-confine", "github.com/snapns/snapns/launcher/cmd/snap-discard-ns")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build the launcher: %w: %s", err, out)
	}
	t.Logf("the launcher: built into %s (SNAPNS_BIN unset)", dir)
	return dir, nil
}

// capabilityList returns the list the file-capability install gives the
// launcher, and where it comes from.
func capabilityList(rootfs, mode string) (string, string, error) {
	pkgFile := filepath.Join(rootfs, "usr/lib/snapd/snap-confine.v2-only.caps")
	if mode == "auto" || mode == "package" {
		data, err := os.ReadFile(pkgFile)
		if err == nil {
			list := strings.TrimSuffix(strings.TrimSpace(string(data)), "=p")
			return list, "snapd's package file /usr/lib/snapd/snap-confine.v2-only.caps", nil
		}
		if mode == "package" {
			return "", "", fmt.Errorf("cannot use SNAPD_CAPS=package: this snapd package ships no snap-confine.v2-only.caps: %w", err)
		}
	}
	cmd := exec.Command("go", "run", "./policy/cmd/required-caps")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("cannot run go run ./policy/cmd/required-caps: %w", err)
	}
	return strings.TrimSpace(string(out)), "policy.Required() (go run ./policy/cmd/required-caps)", nil
}

// stage copies the launcher into dir as the install wants it and returns
// the binds over snapd's files.
func (w world) stage(inst install, dir string) ([]bind, error) {
	if !inst.ours {
		return w.stageControl(dir)
	}
	confine := filepath.Join(dir, "snap-confine")
	discard := filepath.Join(dir, "snap-discard-ns")
	if err := copyFile(filepath.Join(w.bin, "snap-confine"), confine, 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(w.bin, "snap-discard-ns"), discard, 0o755); err != nil {
		return nil, err
	}
	if inst.caps {
		if out, err := exec.Command("setcap", w.caps+"=p", confine).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cannot setcap %s=p %s: %w: %s", w.caps, confine, err, out)
		}
	} else if err := os.Chmod(confine, os.ModeSetuid|0o755); err != nil {
		return nil, err
	}
	return []bind{
		{src: confine, dst: "/usr/lib/snapd/snap-confine"},
		{src: discard, dst: "/usr/lib/snapd/snap-discard-ns"},
	}, nil
}

// stageControl leaves snapd's snap-confine as the package installs it,
// except on a machine whose capability bounding set lacks cap_sys_resource
// (containers, some VMs): snapd >= 2.70's snap-confine refuses to start
// without it in its permitted set (snap-confine.c asserts every entry of its
// snap_confine_caps array, the last being CAP_SYS_RESOURCE, which it needs
// only to raise the memlock limit for a device cgroup's BPF map, never set
// up in a container). Nothing on such a machine can have it, so the control
// runs a copy whose array ends in CAP_SYS_ADMIN instead (one 32-bit value),
// installed as the package installs the original, and bound over it.
func (w world) stageControl(dir string) ([]bind, error) {
	if hasBoundingCap(capSysResource) {
		return nil, nil
	}
	orig := filepath.Join(w.rootfs.dir, "usr/lib/snapd/snap-confine")
	data, err := os.ReadFile(orig)
	if err != nil {
		return nil, err
	}
	var array, patched []byte
	for _, v := range []uint32{1, 2, 21, 18, 0, 3, 19, 24} { // DAC_OVERRIDE ... SYS_PTRACE, SYS_RESOURCE
		array = binary.LittleEndian.AppendUint32(array, v)
	}
	switch n := bytes.Count(data, array); n {
	case 0:
		return nil, nil // a snap-confine that asserts no such list
	case 1:
		patched = bytes.Replace(data, array, append(array[:len(array)-4:len(array)-4], 21, 0, 0, 0), 1)
	default:
		return nil, fmt.Errorf("cannot relax snap-confine's capability assertion: its capability list appears %d times in %s", n, orig)
	}
	confine := filepath.Join(dir, "snap-confine")
	if err := os.WriteFile(confine, patched, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(confine, 0, 0); err != nil {
		return nil, err
	}
	if caps, err := os.ReadFile(filepath.Join(w.rootfs.dir, "usr/lib/snapd/snap-confine.v2-only.caps")); err == nil {
		cmd := exec.Command("setcap", "-", confine)
		cmd.Stdin = bytes.NewReader(caps)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cannot setcap %s from the package's caps file: %w: %s", confine, err, out)
		}
	} else if st, err := os.Stat(orig); err == nil && st.Mode()&os.ModeSetuid != 0 {
		if err := os.Chmod(confine, os.ModeSetuid|0o755); err != nil {
			return nil, err
		}
	}
	return []bind{{src: confine, dst: "/usr/lib/snapd/snap-confine"}}, nil
}

const capSysResource = 24

// hasBoundingCap reads this process's capability bounding set.
func hasBoundingCap(bit uint) bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err != nil || n&(1<<bit) != 0
		}
	}
	return true
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chown(dst, 0, 0)
}

// runInstall boots the container for one install, sets snapd up and runs
// every case (those -run selects).
func runInstall(t *testing.T, m *matrix, inst install, w world) {
	t.Logf("install %s: %s", inst.name, inst.describe)
	start := time.Now()
	ctx := context.Background()
	binds, err := w.stage(inst, t.TempDir())
	if err != nil {
		t.Fatalf("cannot stage the %s install: %v", inst.name, err)
	}
	if !inst.ours && len(binds) > 0 {
		t.Logf("*** control: this machine's capability bounding set lacks cap_sys_resource, which snapd %s's snap-confine asserts in its permitted set: the control runs a copy whose asserted list ends in CAP_SYS_ADMIN instead of CAP_SYS_RESOURCE (one 32-bit value), installed as the package installs snap-confine ***", w.rootfs.snapdVersion)
	}
	c, err := boot(ctx, w.tools, bootConfig{
		lowers:  []string{w.seeded, w.rootfs.dir},
		name:    "snapd-suite-" + inst.name,
		binds:   binds,
		cpu:     w.cpu,
		prepare: func(upper string) error { return bootSettings(upper, w.rootfs.snapdVersion) },
	}, t.Logf)
	if err != nil {
		t.Fatalf("cannot boot the container: %v", err)
	}
	defer func() {
		stop := time.Now()
		if err := c.stop(); err != nil {
			t.Errorf("cannot clean up after the container: %v", err)
		}
		t.Logf("install %s: powered off and cleaned up in %s; whole install %s", inst.name, time.Since(stop).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	}()
	e := &env{t: t, ctx: ctx, c: c, inst: inst, snapd: w.rootfs.snapdVersion, installed: map[string]bool{}}
	if err := e.setUp(); err != nil {
		e.printJournal("")
		t.Fatalf("cannot set snapd up in the container: %v", err)
	}
	m.mu.Lock()
	m.setup[inst.name] = time.Since(start)
	m.mu.Unlock()
	t.Logf("install %s: booted and set up in %s", inst.name, time.Since(start).Round(100*time.Millisecond))
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			e.runCase(t, k, m)
		})
	}
}

// env is one install's container as the cases see it.
type env struct {
	t         *testing.T
	ctx       context.Context
	c         *container
	inst      install
	snapd     string
	installed map[string]bool
	packed    map[string]string // file name → path in the container
	cursor    string            // the journal's position when the case started
	debug     []debugRun        // what a failed case re-runs with SNAPD_DEBUG=1
	errs      []string          // the case's errors so far
	mu        sync.Mutex        // the concurrent case's goroutines report through fail
}

type debugRun struct {
	opts runOpts
	argv []string
}

// setUp waits for snapd in a boot on the seeded layer (seed_test.go) and
// finds the packed and the installed test snaps there.
func (e *env) setUp() error {
	if _, err := e.c.exec(e.ctx, "snap", "wait", "system", "seed.loaded"); err != nil {
		return err
	}
	out, err := e.c.exec(e.ctx, "sh", "-c", "ls "+packedDir+"/*.snap")
	if err != nil {
		return fmt.Errorf("cannot find the packed test snaps: %w", err)
	}
	e.packed = map[string]string{}
	for _, path := range strings.Fields(out) {
		e.packed[filepath.Base(path)] = path
	}
	list, err := e.c.exec(e.ctx, "snap", "list")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(list, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			e.installed[f[0]] = true
		}
	}
	return nil
}

// install installs a test snap, once per boot.
func (e *env) install(s snapSpec) error {
	if e.installed[s.instance()] {
		return nil
	}
	path := ""
	for name, p := range e.packed {
		if strings.HasPrefix(name, s.snap()+"_"+s.version()+"_") || (s.dir == "snapd" && strings.HasPrefix(name, "snapd_")) {
			path = p
		}
	}
	if path == "" {
		return fmt.Errorf("cannot find %s among the packed snaps %v", s.dir, e.packed)
	}
	args := []string{"snap", "install", "--dangerous"}
	if s.classic {
		args = append(args, "--classic")
	}
	if s.name != "" {
		args = append(args, "--name", s.name)
	}
	if _, err := e.c.exec(e.ctx, append(args, path)...); err != nil {
		return fmt.Errorf("cannot install %s: %w", s, err)
	}
	e.installed[s.instance()] = true
	return nil
}
