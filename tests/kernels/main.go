// SPDX-License-Identifier: GPL-3.0-only

// Command kernels is `make test-kernels`: it runs the end-to-end suite
// (tests/e2e) inside QEMU guests booted with Debian's own kernels, and
// reports, per kernel, the tests passing, failing and skipped, with the
// failures grouped by cause.
//
// Each kernel is Debian's linux-image package of a release (bullseye's
// 5.10, bookworm's 6.1, trixie's 6.12), downloaded with apt-get through a
// private sources list into .cache/debs/<release> (sandbox.DebianPackage,
// tools/debfetch.sh; `make deps` runs it with -fetch) and unpacked with
// dpkg -x, never installed. The guest boots it with a generated initramfs (the host's
// static busybox, an init script, the package's own 9p, virtio, overlay,
// loop and squashfs modules), sees the host's root read-only over
// virtio-9p with a tmpfs overlay on top, lays out its cgroups as the run
// asks, and runs the e2e test binary built on the host, with the binaries
// it installs in its sandbox built on the host too. The output comes back
// over a serial port, with the exit status last. QEMU runs with TCG (no
// KVM needed), one guest at a time.
//
//	kernels [-kernels SPECS] [-cache DIR] [-timeout D] [-- TEST ARGS...]
//
// A spec is VERSION[/LAYOUT][+apparmor]: 5.10, 6.1, 6.12; cgroup layout v2,
// hybrid or v1; +apparmor boots with AppArmor enabled and runs the AppArmor
// tests only (unless the test arguments say -run), where every other run
// boots with apparmor=0. Test arguments are the test binary's: -run X is
// passed as -test.run=X.
//
// Where the runs cannot happen (not root, no QEMU, no busybox, no archive)
// it says why, loudly, and exits 0; a failing test makes it exit 1.
package main

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/snapns/snapns/tests/sandbox"
)

// releases maps a kernel version to the Debian release whose kernel it is.
var releases = map[string]string{
	"5.10": "bullseye",
	"6.1":  "bookworm",
	"6.12": "trixie",
}

// DefaultKernels are the runs of `make test-kernels`: every kernel once,
// on the layouts of the distributions that ship them, and the AppArmor
// tests in Debian 12's stock kernel and in 5.10, where the launcher takes
// its mount(2) path (the profile's rules for it). Debian's archive serves
// no older kernel (buster's 4.19 is on archive.debian.org only).
const DefaultKernels = "5.10/v1 6.1/v2 6.12/hybrid 6.1/v2+apparmor 5.10/v1+apparmor"

type spec struct {
	version, layout string
	apparmor        bool
}

func (s spec) String() string {
	str := s.version + "/" + s.layout
	if s.apparmor {
		str += "+apparmor"
	}
	return str
}

func parseSpecs(s string) ([]spec, error) {
	var specs []spec
	for _, word := range strings.Fields(strings.ReplaceAll(s, ",", " ")) {
		sp := spec{layout: "v2"}
		rest, aa := strings.CutSuffix(word, "+apparmor")
		sp.apparmor = aa
		version, layout, ok := strings.Cut(rest, "/")
		if ok {
			sp.layout = layout
		}
		sp.version = version
		if releases[version] == "" {
			return nil, fmt.Errorf("cannot run kernel %q: the kernels are 5.10, 6.1 and 6.12", version)
		}
		switch sp.layout {
		case "v2", "hybrid", "v1":
		default:
			return nil, fmt.Errorf("cannot run %q: the cgroup layouts are v2, hybrid and v1", word)
		}
		specs = append(specs, sp)
	}
	if len(specs) == 0 {
		return nil, errors.New("cannot run: no kernels given")
	}
	return specs, nil
}

// testArgs turns go test flags (-run X, -v) into the test binary's
// (-test.run=X), as go test does.
func testArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "-test.") {
			out = append(out, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if n, v, ok := strings.Cut(name, "="); ok {
			out = append(out, "-test."+n+"="+v)
			continue
		}
		switch name {
		case "v", "short", "failfast":
			out = append(out, "-test."+name)
		default:
			if i+1 < len(args) {
				out = append(out, "-test."+name+"="+args[i+1])
				i++
			}
		}
	}
	return out
}

func hasRun(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-test.run=") {
			return true
		}
	}
	return false
}

func main() {
	kernels := flag.String("kernels", DefaultKernels, "the runs: VERSION[/LAYOUT][+apparmor] ...")
	cache := flag.String("cache", ".cache/kernels", "where packages, initramfs images and logs are kept")
	timeout := flag.Duration("timeout", 40*time.Minute, "the longest one guest may run")
	smp := flag.Int("smp", 2, "the guest's CPUs")
	mem := flag.Int("m", 3072, "the guest's memory in MiB")
	fetch := flag.Bool("fetch", false, "only download the runs' kernels into .cache/debs (make deps)")
	flag.Parse()
	specs, err := parseSpecs(*kernels)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *fetch {
		if err := fetchKernels(specs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	args := testArgs(flag.Args())
	if err := checkWords(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	h := &harness{smp: *smp, mem: *mem, timeout: *timeout}
	why, err := h.setUp(*cache)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if why != "" {
		fmt.Fprintf(os.Stderr, "*** SKIPPING make test-kernels: %s ***\n", why)
		return
	}
	var results []*run
	failed := false
	var flaky []string
	for _, sp := range specs {
		r := h.run(sp, args, "")
		if again := r.retryable(args); again != nil {
			// Emulated, a guest runs many times slower than the host,
			// and a test racing the launcher can lose where it never
			// does there: its failing tests get one more chance, in a
			// fresh guest, and are named loudly either way.
			logf("%s: %s failed; running %s again in a fresh guest", sp, strings.Join(again, ", "), map[bool]string{true: "it", false: "them"}[len(again) == 1])
			retry := h.run(sp, append(append([]string{}, args...), "-test.run=^("+strings.Join(again, "|")+")$"), "-again")
			if retry.err == nil && retry.out.fail == 0 && retry.out.status == 0 && retry.out.pass > 0 {
				flaky = append(flaky, fmt.Sprintf("%s: %s", sp, strings.Join(again, ", ")))
				r.out.pass += r.out.fail
				r.out.fail, r.out.status, r.out.failed = 0, 0, nil
			} else {
				results = append(results, r)
				r = retry
			}
		}
		results = append(results, r)
		if r.skipped != "" {
			fmt.Fprintf(os.Stderr, "*** SKIPPING the run %s: %s ***\n", sp, r.skipped)
			continue
		}
		if r.err != nil || r.out.fail > 0 || r.out.status != 0 {
			failed = true
		}
	}
	summary(os.Stdout, results)
	for _, f := range flaky {
		fmt.Fprintf(os.Stdout, "*** FLAKY under emulation: %s failed once and passed when run again in a fresh guest ***\n", f)
	}
	if failed {
		os.Exit(1)
	}
}

type harness struct {
	repo, cache string
	smp, mem    int
	timeout     time.Duration
	qemu        string
	busybox     string
	testbin     string
	prepared    string
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kernels: "+format+"\n", args...)
}

// setUp finds what the guests need and builds the test binary and what its
// sandbox installs. It returns why the runs cannot happen here, if so, or
// what failed.
func (h *harness) setUp(cache string) (why string, err error) {
	if os.Geteuid() != 0 {
		return "it needs root (QEMU's 9p export of the host's root with its owners and modes, the sandbox in the guest); run it as root, as CI does", nil
	}
	if h.qemu, err = exec.LookPath("qemu-system-x86_64"); err != nil {
		return "qemu-system-x86_64 is not installed (tools/install-deps.sh installs Debian's qemu-system-x86)", nil
	}
	h.busybox = "/bin/busybox"
	f, err := elf.Open(h.busybox)
	if err != nil {
		return "no busybox at /bin/busybox (Debian's busybox-static; tools/install-deps.sh installs it)", nil
	}
	static := f.Section(".interp") == nil
	f.Close()
	if !static {
		return "/bin/busybox is not static (install busybox-static, as tools/install-deps.sh does)", nil
	}
	if h.repo, err = os.Getwd(); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(h.repo, "go.mod")); err != nil {
		return "", fmt.Errorf("cannot find the repository: run it from its top directory (make test-kernels)")
	}
	if h.cache, err = filepath.Abs(cache); err != nil {
		return "", err
	}
	if err := os.MkdirAll(h.cache, 0o755); err != nil {
		return "", err
	}
	// The test binary, built as go test builds it, and what it installs
	// in its sandbox.
	h.testbin = filepath.Join(h.cache, "e2e.test")
	logf("building the end-to-end test binary")
	build := exec.Command("go", "test", "-c", "-o", h.testbin, "./tests/e2e/")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("cannot build the end-to-end tests: %w", err)
	}
	h.prepared = filepath.Join(h.cache, "e2e-bin")
	os.RemoveAll(h.prepared)
	prep := exec.Command(h.testbin)
	prep.Dir = filepath.Join(h.repo, "tests", "e2e")
	prep.Env = append(os.Environ(), "SNAPNS_E2E_PREPARE="+h.prepared)
	prep.Stdout, prep.Stderr = os.Stderr, os.Stderr
	if err := prep.Run(); err != nil {
		return "", fmt.Errorf("cannot build what the end-to-end tests install: %w", err)
	}
	return "", nil
}

// run is one guest's run.
type run struct {
	spec   spec
	kernel string // uname -r
	pkg    string
	out    *outcome
	err    error
	// skipped says why the run could not happen (the kernel could not
	// be fetched: no network), where it did not.
	skipped string
	wall    time.Duration
	// cpu is the CPU time QEMU used: what the run costs on an idle
	// machine, where wall time depends on everything else running.
	cpu time.Duration
	log string
}

// retryable returns the top-level tests that failed in r, when failing
// tests (nothing else: no panic, timeout or lost guest) are all that went
// wrong and the run was not asked for some tests already; nil otherwise.
func (r *run) retryable(args []string) []string {
	if r.skipped != "" || r.err != nil || r.out.fail == 0 || r.out.panicked != "" || hasRun(args) {
		return nil
	}
	var tests []string
	for name := range r.out.failed {
		top, _, _ := strings.Cut(name, "/")
		if !slices.Contains(tests, top) {
			tests = append(tests, top)
		}
	}
	slices.Sort(tests)
	return tests
}

// run boots sp's guest and runs the suite in it with args; its files are
// kept in a directory of its own, named after sp and suffix.
func (h *harness) run(sp spec, args []string, suffix string) *run {
	r := &run{spec: sp, out: &outcome{status: -1}}
	start := time.Now()
	defer func() { r.wall = time.Since(start) }()
	release := releases[sp.version]
	pkg, tree, err := kernelPackage(h.repo, release)
	if err != nil {
		r.skipped = err.Error()
		return r
	}
	r.pkg = pkg
	k, err := openKernelTree(tree)
	if err != nil {
		r.err = err
		return r
	}
	r.kernel = k.version
	if !strings.HasPrefix(k.version, sp.version+".") {
		r.err = fmt.Errorf("cannot run %s: Debian %s's kernel is now %s", sp, release, k.version)
		return r
	}
	dir := filepath.Join(h.cache, "runs", strings.NewReplacer("/", "-", "+", "-").Replace(sp.String())+suffix)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.err = err
		return r
	}
	targs := append([]string{"-test.count=1", "-test.v", "-test.timeout=" + (h.timeout - 2*time.Minute).String()}, args...)
	if sp.apparmor && !hasRun(args) {
		targs = append(targs, "-test.run=AppArmor")
	}
	env := []string{"SNAPNS_E2E_PREPARED=" + h.prepared}
	job := jobFile(sp.layout, filepath.Join(h.repo, "tests", "e2e"), h.testbin, env, targs)
	initrd := filepath.Join(dir, "initramfs.cpio")
	if err := initramfs(initrd, k, h.busybox, job); err != nil {
		r.err = err
		return r
	}
	cmdline := []string{"console=ttyS0", "loglevel=4", "panic=-1", "oops=panic", "random.trust_cpu=on", "8250.nr_uarts=2"}
	if !sp.apparmor {
		cmdline = append(cmdline, "apparmor=0")
	}
	r.log = filepath.Join(dir, "output.log")
	logf("booting %s (%s) with cgroups %s, AppArmor %s; output in %s", k.version, pkg, sp.layout, map[bool]string{true: "enabled", false: "off"}[sp.apparmor], r.log)
	r.out, r.cpu, r.err = h.boot(k.vmlinuz, initrd, strings.Join(cmdline, " "), filepath.Join(dir, "console.log"), r.log, "["+sp.String()+"] ")
	return r
}

// fetchKernels downloads and unpacks the kernel of every run, once each:
// `make deps` does it, so that `make test` downloads nothing.
func fetchKernels(specs []spec) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, sp := range specs {
		release := releases[sp.version]
		if done[release] {
			continue
		}
		done[release] = true
		pkg, _, err := kernelPackage(repo, release)
		if err != nil {
			return err
		}
		logf("Debian %s's kernel: %s", release, pkg)
	}
	return nil
}

// kernelPackage fetches the release's kernel (the package its
// linux-image-amd64 metapackage depends on, as first fetched into the
// repository repo's .cache/debs/<release>) and returns the package's name
// and its unpacked tree.
func kernelPackage(repo, release string) (pkg, tree string, err error) {
	meta, err := sandbox.DebianPackage(repo, release, "linux-image-amd64")
	if err != nil {
		return "", "", err
	}
	out, err := exec.Command("dpkg-deb", "-f", meta, "Depends").Output()
	if err != nil {
		return "", "", fmt.Errorf("cannot read the dependencies of %s: %w", meta, err)
	}
	for _, dep := range strings.Split(string(out), ",") {
		if name := strings.Fields(dep); len(name) > 0 && strings.HasPrefix(name[0], "linux-image-") {
			pkg = name[0]
			break
		}
	}
	if pkg == "" {
		return "", "", fmt.Errorf("cannot find Debian %s's kernel: linux-image-amd64 depends on %q", release, strings.TrimSpace(string(out)))
	}
	deb, err := sandbox.DebianPackage(repo, release, pkg)
	if err != nil {
		return "", "", err
	}
	tree, err = sandbox.Unpacked(deb)
	return pkg, tree, err
}

// boot runs one guest and parses what it printed.
func (h *harness) boot(kernel, initrd, cmdline, console, logPath, prefix string) (*outcome, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.qemu,
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-accel", "tcg,thread=multi", "-cpu", "max",
		"-smp", fmt.Sprint(h.smp), "-m", fmt.Sprint(h.mem),
		"-kernel", kernel, "-initrd", initrd, "-append", cmdline,
		"-chardev", "file,id=console,path="+console, "-serial", "chardev:console",
		"-chardev", "stdio,id=out,signal=off", "-serial", "chardev:out",
		"-fsdev", "local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap",
		"-device", "virtio-9p-pci,fsdev=root,mount_tag=hostroot",
		"-device", "virtio-rng-pci",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	defer logFile.Close()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("cannot start QEMU: %w", err)
	}
	pr, pw := io.Pipe()
	done := make(chan *outcome)
	go func() { done <- parseOutput(pr) }()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintln(logFile, line)
		fmt.Fprintln(pw, line)
		fmt.Println(prefix + line)
	}
	pw.Close()
	out := <-done
	werr := cmd.Wait()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	switch {
	case ctx.Err() != nil:
		return out, cpu, fmt.Errorf("cannot finish: the guest ran longer than %v and was killed (%s)", h.timeout, console)
	case werr != nil:
		return out, cpu, fmt.Errorf("QEMU failed: %v: %s", werr, strings.TrimSpace(stderr.String()))
	case out.status < 0:
		return out, cpu, fmt.Errorf("the guest stopped before the tests ended: see %s", console)
	}
	return out, cpu, nil
}

func summary(w io.Writer, runs []*run) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "make test-kernels: the end-to-end suite in Debian's kernels (QEMU, TCG); tests and subtests, without the parents of subtests")
	fmt.Fprintf(w, "%-20s %-26s %6s %6s %6s %8s %9s %8s %9s\n", "run", "kernel", "pass", "fail", "skip", "boot", "suite", "wall", "QEMU cpu")
	for _, r := range runs {
		if r.skipped != "" {
			fmt.Fprintf(w, "%-20s skipped: %s\n", r.spec, r.skipped)
			continue
		}
		boot := r.out.booted
		if i := strings.Index(boot, "s:"); i >= 0 {
			boot = boot[:i+1]
		}
		fmt.Fprintf(w, "%-20s %-26s %6d %6d %6d %8s %9s %8s %9s\n", r.spec, r.kernel, r.out.pass, r.out.fail, r.out.skip, boot, r.out.ranFor, r.wall.Round(time.Second), r.cpu.Round(time.Second))
	}
	for _, r := range runs {
		if r.skipped != "" || r.err == nil && r.out.fail == 0 && r.out.status == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s): exit status %d; output in %s\n", r.spec, r.kernel, r.out.status, r.log)
		if r.err != nil {
			fmt.Fprintf(w, "  %v\n", r.err)
		}
		if r.out.panicked != "" {
			fmt.Fprintf(w, "  %s\n", r.out.panicked)
		}
		if r.out.fail == 0 && len(r.out.tail) > 0 {
			fmt.Fprintf(w, "  the output ends with:\n")
			for _, line := range r.out.tail {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
		r.out.writeGroups(w, 6)
	}
}
