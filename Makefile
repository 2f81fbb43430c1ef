# SPDX-License-Identifier: GPL-3.0-only
# snapns: build, test, fuzz, demo and install.
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Two runtime settings that //go:debug cannot carry (the go command takes only
# those of its own table): no memory-profile sampling and no profiling stacks
# per thread. Without them the runtime samples its very first allocation (the
# argument vector) for a memory profile nobody reads: a quarter of a
# millisecond of every launch on the development machine (bench/README.md).
# They are appended to the default GODEBUG the go command derives from the
# //go:debug lines of the launcher's main package, which it passes to the
# linker with -X first; a later -X of the same symbol wins. A toolchain
# without runtime.godebugDefault ignores the flag and nothing else changes;
# when go list cannot tell the default, the flag is left out. Expanded only
# by the targets that link (make deps runs no go list).
RUNTIME_LDFLAGS = $(shell d=$$($(GO) list -f '{{.DefaultGODEBUG}}' ./launcher/cmd/snap-launch 2>/dev/null) && [ -n "$$d" ] && echo "-X runtime.godebugDefault=$$d,memprofilerate=0,profstackdepth=0")
LDFLAGS  = -X github.com/snapns/snapns/launcher.Version=$(VERSION) -X main.Version=$(VERSION) $(RUNTIME_LDFLAGS)
PREFIX   ?= /usr
LIBEXEC  ?= $(PREFIX)/lib/snapd
FUZZTIME ?= 30s

# The launcher is privileged: static, no cgo, no dynamic loader.
BINARIES := launcher/cmd/snap-launch launcher/cmd/snap-discard-ns planner/cmd/snap-confine cmd/snap-ns cmd/snapns-demo tests/probe

.PHONY: all deps build test test-fallbacks unit e2e vet fuzz demo bench security-tables audit-size install install-dropin install-caps clean

all: build

# The Debian packages a fresh machine lacks (needs root to install them).
deps:
	@./tools/install-deps.sh

build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./,$(BINARIES))
	@# The seccomp profile compiler needs libseccomp (cgo); it is never
	@# linked into the launcher.
	CGO_ENABLED=1 $(GO) build -trimpath -o bin/ ./cmd/snap-seccomp

vet: deps
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	@# The launcher must never import the planner nor the cgo compiler.
	@! $(GO) list -deps ./launcher/... | grep -q 'snapns/planner' || { echo "launcher imports the planner"; exit 1; }
	@! $(GO) list -deps ./launcher/... | grep -q 'snapns/seccomp/compile' || { echo "launcher imports the compiler"; exit 1; }
	@# Every privileged syscall of the launcher is an action of launcher/actions.go.
	@./tools/check-privileged.sh
	@# SECURITY.md's generated tables are the code's (make security-tables).
	$(GO) run ./tools/securitydoc -check SECURITY.md

# Rewrites SECURITY.md's tables that follow from the code.
security-tables:
	$(GO) run ./tools/securitydoc -write SECURITY.md

# The privileged audit set: the non-test lines of every package snap-launch
# links.
audit-size:
	@$(GO) run ./tools/securitydoc -audit

# Unprivileged packages under the race detector; the launcher package too
# (its unit tests need no privilege).
unit:
	$(GO) test -race -count=1 ./shared/... ./policy/... ./planner/... ./nsview/... ./cmd/snap-ns/ ./launcher/... ./seccomp/... ./cmd/snap-seccomp/ ./tools/...

# End-to-end tests in the sandbox world (they need root and skip without it).
e2e:
	$(GO) test -count=1 -v ./tests/e2e/

test: deps vet build unit e2e

# The end-to-end tests of the bootstrap, the capture, the per-user layers,
# the device cgroup and parallel instances, run again once per kernel
# interface newer than Linux 5.4 that the launcher has a fallback for, and
# once as Linux 5.4 (without all of them): this kernel answers the launcher
# as the older one would (tests/kernelsim; SNAPNS_E2E_KERNEL). Root; not
# part of `make test`, whose tests/e2e/oldkernel_test.go forces each
# fallback in a few launches.
FALLBACK_KERNELS ?= mount-api openat2 statx-mount-root mntns-id bpf-path-fd,memlock-charge all
FALLBACK_TESTS = $(shell grep -ho '^func Test[A-Za-z0-9_]*' $(addprefix tests/e2e/,bootstrap_test.go namespace_test.go captured_test.go peruser_test.go devices_test.go parallel_test.go) | sed 's/^func //' | paste -sd'|')|TestLauncherProfileAllowsEveryFileTheLauncherOpens
test-fallbacks: deps
	@for k in $(FALLBACK_KERNELS); do \
		echo "=== the end-to-end tests on a kernel without: $$k"; \
		SNAPNS_E2E_KERNEL=$$k $(GO) test -count=1 -run '^($(FALLBACK_TESTS))$$' ./tests/e2e/ || exit 1; \
	done

# Every parser of untrusted input has a fuzz target.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./shared/plan/
	$(GO) test -run='^$$' -fuzz=FuzzParseCommandLine -fuzztime=$(FUZZTIME) ./shared/plan/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./shared/info/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./shared/mountinfo/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./seccomp/bpf/
	$(GO) test -run='^$$' -fuzz=FuzzParseBin2 -fuzztime=$(FUZZTIME) ./seccomp/bpf/
	$(GO) test -run='^$$' -fuzz='^FuzzParseBin$$' -fuzztime=$(FUZZTIME) ./seccomp/bpf/
	$(GO) test -run='^$$' -fuzz=FuzzParseInstance -fuzztime=$(FUZZTIME) ./shared/naming/
	$(GO) test -run='^$$' -fuzz=FuzzParseSecurityTag -fuzztime=$(FUZZTIME) ./shared/naming/
	$(GO) test -run='^$$' -fuzz=FuzzParseSettings -fuzztime=$(FUZZTIME) ./shared/devcgroup/
	$(GO) test -run='^$$' -fuzz=FuzzUdev -fuzztime=$(FUZZTIME) ./shared/devcgroup/
	$(GO) test -run='^$$' -fuzz=FuzzOwnCgroupV2 -fuzztime=$(FUZZTIME) ./shared/devcgroup/
	$(GO) test -run='^$$' -fuzz=FuzzWalkIsOpenat2 -fuzztime=$(FUZZTIME) ./shared/resolve/

demo: deps build
	./bin/snapns-demo

# snapns side by side with Debian snapd's snap-confine, in the sandbox (root;
# not part of `make test`): see bench/README.md. BENCHFLAGS adds flags, e.g.
# BENCHFLAGS='-concurrent-rounds 20 -update-ns fake'.
ROUNDS     ?= 100
BENCHFLAGS ?=
bench: deps build
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(RUNTIME_LDFLAGS)" -o bin/ ./bench/cmd/snapns-bench ./bench/cmd/gonsenter ./tests/fakeupdatens
	./bin/snapns-bench -rounds $(ROUNDS) $(BENCHFLAGS)

# Installs the launcher setuid root next to the planner's front, the
# root-only snap-discard-ns (neither setuid nor capable) and the
# unprivileged snap-ns (a read-only view, docs/snap-ns.md).
install: build
	install -d $(DESTDIR)$(LIBEXEC)
	install -m 0755 -o root -g root bin/snap-confine $(DESTDIR)$(LIBEXEC)/snap-confine
	install -m 4755 -o root -g root bin/snap-launch $(DESTDIR)$(LIBEXEC)/snap-launch
	install -m 0755 -o root -g root bin/snap-discard-ns $(DESTDIR)$(LIBEXEC)/snap-discard-ns
	install -m 0755 -o root -g root bin/snap-ns $(DESTDIR)$(LIBEXEC)/snap-ns

# The launcher itself installed as snapd's snap-confine, setuid root: it
# takes snapd's command line, one process per launch instead of the front
# and the launcher (see README, "One process or two").
install-dropin: build
	install -d $(DESTDIR)$(LIBEXEC)
	install -m 4755 -o root -g root bin/snap-launch $(DESTDIR)$(LIBEXEC)/snap-confine
	install -m 0755 -o root -g root bin/snap-discard-ns $(DESTDIR)$(LIBEXEC)/snap-discard-ns
	install -m 0755 -o root -g root bin/snap-ns $(DESTDIR)$(LIBEXEC)/snap-ns

# The strict-capability install: snap-launch is not setuid, it holds
# exactly the capabilities policy.Required() lists, in its permitted set.
CAPS := $(shell CGO_ENABLED=0 $(GO) run ./policy/cmd/required-caps 2>/dev/null)
install-caps: build
	install -d $(DESTDIR)$(LIBEXEC)
	install -m 0755 -o root -g root bin/snap-confine $(DESTDIR)$(LIBEXEC)/snap-confine
	install -m 0755 -o root -g root bin/snap-launch $(DESTDIR)$(LIBEXEC)/snap-launch
	install -m 0755 -o root -g root bin/snap-discard-ns $(DESTDIR)$(LIBEXEC)/snap-discard-ns
	install -m 0755 -o root -g root bin/snap-ns $(DESTDIR)$(LIBEXEC)/snap-ns
	setcap '$(CAPS)=p' $(DESTDIR)$(LIBEXEC)/snap-launch

clean:
	rm -rf bin
