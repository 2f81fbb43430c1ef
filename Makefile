# SPDX-License-Identifier: GPL-3.0-only
# snapns: build, test, fuzz, demo and install.
#
# Hermetic targets (no root, no network, no apt; the Go modules must be in
# the module cache: `go mod download` once, or `make deps`): build, vet,
# check, man. `make deps` installs the Debian packages a fresh machine lacks
# (root) and fetches what the tests need into .cache/; `make test`, `make
# demo` and the rest never install anything: run `make deps test`.
GO       ?= go
# The release this tree is. In this project's own git checkout, git describe
# adds how far HEAD is from that release's tag (v$(VERSION)); in any other
# tree (a tarball, a packaging repository holding this source, whose own
# history git describe would describe) nothing is added. Expanded only by
# the targets that link.
VERSION  := $(shell cat VERSION 2>/dev/null)
ifeq ($(VERSION),)
$(error cannot read the VERSION file)
endif
FULL_VERSION = $(shell v='$(VERSION)'; [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && d=$$(git describe --tags --match 'v$(VERSION)' --dirty 2>/dev/null) && v=$$(echo "$$d" | sed 's/^v//'); echo "$$v")
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
RUNTIME_LDFLAGS = $(shell d=$$($(GO) list -f '{{.DefaultGODEBUG}}' ./launcher/cmd/snap-confine 2>/dev/null) && [ -n "$$d" ] && echo "-X runtime.godebugDefault=$$d,memprofilerate=0,profstackdepth=0")
LDFLAGS  = -X github.com/snapns/snapns/launcher.Version=$(FULL_VERSION) -X main.Version=$(FULL_VERSION) $(RUNTIME_LDFLAGS)
FUZZTIME ?= 30s

# Where `make install` puts things (DESTDIR is prepended to each). The
# defaults are Debian's and Ubuntu's layout; Fedora and Arch use
# LIBEXECDIR=/usr/libexec/snapd. LIBEXEC is the old name of LIBEXECDIR.
PREFIX      ?= /usr
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(or $(LIBEXEC),$(PREFIX)/lib/snapd)
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
SYSCONFDIR  ?= /etc
APPARMORDIR ?= $(SYSCONFDIR)/apparmor.d
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/vendor-completions
# The launcher's file capabilities as data, in setcap's text form
# ("cap_a,cap_b=p", as snapd's own snap-confine.caps): what `make
# install-caps`, a postinst or an RPM %caps applies.
CAPSFILE    ?= $(LIBEXECDIR)/snap-confine.caps

# The launcher is privileged: static, no cgo, no dynamic loader.
BINARIES := launcher/cmd/snap-confine launcher/cmd/snap-discard-ns cmd/snap-ns cmd/snapns-demo tests/probe

.PHONY: all deps deps-snapd build test test-fallbacks unit e2e test-snapd test-snapd-older test-kernels vet fuzz demo bench security-tables audit-size install install-caps clean
.PHONY: build-dist data man apparmor apparmor-files check unit-386 vet-arch closedset install-bin install-data install-setuid install-apparmor uninstall deb deb-test rpm

all: build

# The Debian packages a fresh machine lacks (needs root to install them),
# and an emulator for the 386 unit tests where this kernel cannot run 32-bit
# binaries (Debian trixie's static qemu-i386, into .cache/qemu).
deps:
	@./tools/install-deps.sh
	@./tools/fetch-qemu.sh
	@# snapd 2.77's AppArmor profile, for the launcher's profile test.
	@./tools/debfetch.sh sid .cache/debs/sid snapd >/dev/null
	@# Debian's kernels for make test-kernels, into .cache/debs/<release>.
	$(GO) run ./tests/kernels -fetch
	@$(MAKE) --no-print-directory deps-snapd

# The real-snapd suite's container (root; tests/snapd TestPrepare):
# debootstrap, systemd-nspawn and SNAPD_SUITE's snapd, into .cache/snapd-suite.
deps-snapd:
	SNAPD_SUITE=$(SNAPD_SUITE) SNAPD_SUITE_PREPARE=1 $(GO) test -count=1 -v -timeout 60m -run '^TestPrepare$$' ./tests/snapd/

build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./,$(BINARIES))
	@# The seccomp profile compiler needs libseccomp (cgo); it is never
	@# linked into the launcher.
	CGO_ENABLED=1 $(GO) build -trimpath -o bin/ ./cmd/snap-seccomp
	@$(MAKE) --no-print-directory data

# What a distribution package ships, and nothing else (no cgo: the seccomp
# compiler, the demo and the test app are not installed).
DIST_BINARIES := launcher/cmd/snap-confine launcher/cmd/snap-discard-ns cmd/snap-ns
build-dist:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./,$(DIST_BINARIES))
	@$(MAKE) --no-print-directory data

# What `make install` installs besides the binaries, made from the code:
# the capability file (policy.Required()), the man pages (each binary's
# --help text and man/*.in), the AppArmor profile for LIBEXECDIR.
data: bin/snap-confine.caps man apparmor

# Never a fallback: if the list cannot be made, nothing is installed.
bin/snap-confine.caps: $(wildcard policy/*.go) policy/cmd/required-caps/main.go
	@mkdir -p bin
	caps=$$(CGO_ENABLED=0 $(GO) run ./policy/cmd/required-caps) && [ -n "$$caps" ] && printf '%s=p\n' "$$caps" >$@.tmp && mv $@.tmp $@

man:
	@mkdir -p bin/man
	CGO_ENABLED=0 $(GO) run ./tools/mangen -version '$(VERSION)' -o bin/man

# The profile of the launcher installed as LIBEXECDIR/snap-confine; the
# profiles of the two standard layouts are also in apparmor/ (a unit test
# fails when they differ from what policy/apparmor/apparmor.go makes: `make
# apparmor-files` rewrites them).
apparmor:
	@rm -rf bin/apparmor && mkdir -p bin/apparmor
	CGO_ENABLED=0 $(GO) run ./policy/cmd/apparmor-profile -libexecdir '$(LIBEXECDIR)' -o bin/apparmor

apparmor-files:
	CGO_ENABLED=0 $(GO) run ./policy/cmd/apparmor-profile -write apparmor

vet: vet-arch
	@f=$$(find . -path ./.cache -prune -o -path ./bin -prune -o -name '*.go' -print | xargs gofmt -l); test -z "$$f" || { echo "gofmt needed:"; echo "$$f"; exit 1; }
	$(GO) vet ./...
	@# The launcher must never import the cgo compiler.
	@! $(GO) list -deps ./launcher/... | grep -q 'snapns/seccomp/compile' || { echo "launcher imports the compiler"; exit 1; }
	@! $(GO) list -deps ./launcher/... | grep -q '^golang.org/x/tools/' || { echo "launcher imports x/tools (the analyzer's, a dev tool)"; exit 1; }
	@# The planner does no I/O: it decides from the facts it is given.
	$(GO) test -count=1 -run '^TestPlannerDoesNoIO$$' ./planner/
	@# Every state-changing call of the privileged binaries is in their
	@# closed set (tools/closedset).
	@$(MAKE) --no-print-directory closedset
	@# The release is VERSION everywhere it is written.
	@v=$$(sed -n '1s/^snapns (\([^)]*\)).*/\1/p' debian/changelog); test "$$v" = "$(VERSION)" || { echo "debian/changelog is at $$v, VERSION at $(VERSION)"; exit 1; }
	@grep -q '^## $(VERSION)$$' NEWS.md || { echo "NEWS.md has no section for $(VERSION)"; exit 1; }
	@# SECURITY.md's generated tables are the code's (make security-tables).
	$(GO) run ./tools/securitydoc -check SECURITY.md

# Every Debian architecture snapd ships: everything vetted (tests included)
# and the shipped binaries linked for each. cmd/snap-seccomp (cgo,
# libseccomp) is vetted natively above and as its CGO_ENABLED=0 build
# (nocgo.go) for the others: cross-building it with cgo needs a cross
# compiler and libseccomp for each.
ARCHES := amd64 arm64 arm 386 ppc64le s390x riscv64
vet-arch:
	@for a in $(ARCHES); do \
		echo "go vet, go build (GOARCH=$$a CGO_ENABLED=0)"; \
		GOARCH=$$a CGO_ENABLED=0 $(GO) vet ./... || exit 1; \
		for b in $(DIST_BINARIES); do GOARCH=$$a CGO_ENABLED=0 $(GO) build -o /dev/null ./$$b || exit 1; done; \
	done

# The closed set of privileged actions, checked by an analyzer over every
# package the installed privileged binaries link (closedset -packages), as
# the compiler sees them for each architecture and for the test build
# (-tags snapnstest, whose hooks the end-to-end tests install privileged).
# Built into .cache: a dev tool, never linked into the launcher.
CLOSEDSET := .cache/bin/closedset
closedset:
	@mkdir -p .cache/bin
	@$(GO) build -o $(CLOSEDSET) ./tools/closedset/cmd/closedset
	@for a in $(ARCHES); do \
		echo "closedset (GOARCH=$$a CGO_ENABLED=0)"; \
		pkgs=$$(GOARCH=$$a CGO_ENABLED=0 $(CLOSEDSET) -packages) || exit 1; \
		GOARCH=$$a CGO_ENABLED=0 $(GO) vet -vettool=$(CURDIR)/$(CLOSEDSET) $$pkgs || exit 1; \
	done
	@echo "closedset (-tags snapnstest, CGO_ENABLED=0)"
	@pkgs=$$(CGO_ENABLED=0 $(CLOSEDSET) -packages -tags snapnstest) && CGO_ENABLED=0 $(GO) vet -tags snapnstest -vettool=$(CURDIR)/$(CLOSEDSET) $$pkgs

# Rewrites SECURITY.md's tables that follow from the code.
security-tables:
	$(GO) run ./tools/securitydoc -write SECURITY.md

# The privileged audit set: the non-test lines of every package the
# launcher (snap-confine) links.
audit-size:
	@$(GO) run ./tools/securitydoc -audit

# Unprivileged packages under the race detector; the launcher package too
# (its unit tests need no privilege).
unit:
	$(GO) test -race -count=1 ./shared/... ./policy/... ./planner/... ./nsview/... ./cmd/snap-ns/ ./launcher/... ./seccomp/... ./cmd/snap-seccomp/ ./tools/... ./tests/kernels/

# The same unit tests built for 386 (a 32-bit int, a 32-bit statfs): run
# natively where the kernel can, else under the emulator `make deps`
# fetched; skipped loudly when neither is there.
unit-386:
	@./tools/unit-386.sh ./shared/... ./policy/... ./planner/... ./nsview/... ./cmd/snap-ns/ ./launcher/... ./seccomp/... ./tools/...

# Hermetic: no root, no network (GOPROXY=off: the modules must be in the
# module cache), no apt. The man pages are rendered by man's formatter
# (groff) with warnings as errors when it is installed.
check: export GOPROXY := off
check: export GOTOOLCHAIN := local
check: unit unit-386

# End-to-end tests in the sandbox world (they need root and skip without it).
e2e:
	$(GO) test -count=1 -v ./tests/e2e/

# A real snapd daemon from Debian's packages, under systemd in a
# systemd-nspawn container, with this launcher as its snap-confine (root;
# skipped loudly where the machine cannot): README.md, "The real-snapd
# suite". SNAPD_SUITE=sid (2.77.x), trixie (2.68.x) or bookworm (2.57.6);
# SNAPD_CAPS=auto, package or policy; SNAPD_RUN selects, e.g.
# SNAPD_RUN='TestSnapd/dropin/layout'.
SNAPD_SUITE ?= sid
SNAPD_CAPS  ?= auto
SNAPD_RUN   ?=
test-snapd: build
	SNAPD_SUITE=$(SNAPD_SUITE) SNAPD_CAPS=$(SNAPD_CAPS) SNAPNS_BIN=$(CURDIR)/bin $(GO) test -count=1 -v -timeout 60m $(if $(SNAPD_RUN),-run '$(SNAPD_RUN)') ./tests/snapd/

# The cases an older snapd drives differently (snapd 2.68: setuid, no
# --snap-already-locked), for our setuid drop-in and snapd's own
# snap-confine; CI runs them after make test.
SNAPD_OLDER_RUN := TestSnapd/(dropin|control)/(strict-user|classic-user|layout-root|layout-usr|interface|refresh|remove|parallel)$$
test-snapd-older:
	@$(MAKE) --no-print-directory deps-snapd SNAPD_SUITE=trixie
	@$(MAKE) --no-print-directory test-snapd SNAPD_SUITE=trixie SNAPD_RUN='$(SNAPD_OLDER_RUN)'

# The end-to-end suite again in QEMU guests booted with Debian's kernels
# (tests/kernels, docs/ARCHITECTURE.md §5; root; skipped, saying why, where
# QEMU cannot run). KERNELS picks the runs, e.g. KERNELS=6.1 or
# KERNELS='5.10/v1 6.1/v2+apparmor'; TESTFLAGS passes go test flags to the
# suite in each guest, e.g. TESTFLAGS='-run TestStale'.
KERNELS   ?=
TESTFLAGS ?=
test-kernels:
	$(GO) run ./tests/kernels $(if $(strip $(KERNELS)),-kernels '$(KERNELS)') -- $(TESTFLAGS)

test: vet build check e2e test-snapd test-kernels

# The end-to-end tests of the bootstrap, the capture, the per-user layers,
# the device cgroup and parallel instances, run again once per kernel
# interface newer than Linux 5.4 that the launcher has a fallback for, and
# once as Linux 5.4 (without all of them): this kernel answers the launcher
# as the older one would (tests/kernelsim; SNAPNS_E2E_KERNEL). Root; not
# part of `make test`, whose tests/e2e/oldkernel_test.go forces each
# fallback in a few launches.
FALLBACK_KERNELS ?= mount-api openat2 statx-mount-root mntns-id bpf-path-fd,memlock-charge all
FALLBACK_TESTS = $(shell grep -ho '^func Test[A-Za-z0-9_]*' $(addprefix tests/e2e/,bootstrap_test.go namespace_test.go captured_test.go peruser_test.go devices_test.go parallel_test.go) | sed 's/^func //' | paste -sd'|')|TestLauncherProfileAllowsEveryFileTheLauncherOpens
test-fallbacks:
	@for k in $(FALLBACK_KERNELS); do \
		echo "=== the end-to-end tests on a kernel without: $$k"; \
		SNAPNS_E2E_KERNEL=$$k $(GO) test -count=1 -run '^($(FALLBACK_TESTS))$$' ./tests/e2e/ || exit 1; \
	done

# Every parser of untrusted input has a fuzz target.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParseCommandLine -fuzztime=$(FUZZTIME) ./shared/cmdline/
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
	$(GO) test -run='^$$' -fuzz=FuzzSnapYAMLBase -fuzztime=$(FUZZTIME) ./nsview/
	$(GO) test -run='^$$' -fuzz=FuzzWalkIsOpenat2 -fuzztime=$(FUZZTIME) ./shared/resolve/
	$(GO) test -run='^$$' -fuzz=FuzzParseNvidiaVersion -fuzztime=$(FUZZTIME) ./policy/
	$(GO) test -run='^$$' -fuzz=FuzzGPUExportDirs -fuzztime=$(FUZZTIME) ./policy/

demo: build
	./bin/snapns-demo

# snapns side by side with Debian snapd's snap-confine, in the sandbox (root;
# not part of `make test`): see bench/README.md. BENCHFLAGS adds flags, e.g.
# BENCHFLAGS='-concurrent-rounds 20 -update-ns fake'.
ROUNDS     ?= 100
BENCHFLAGS ?=
bench: deps build
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(RUNTIME_LDFLAGS)" -o bin/ ./bench/cmd/snapns-bench ./bench/cmd/gonsenter ./tests/fakeupdatens
	./bin/snapns-bench -rounds $(ROUNDS) $(BENCHFLAGS)

# Installing. Nothing here builds (run `make build` first, as yourself) or
# needs root: every file is installed 0755 or 0644 as whoever runs it, and
# the packaging sets ownership. The launcher's privilege is applied
# separately, as root: `make install-caps` (file capabilities, the default,
# as snapd 2.70 and later ship snap-confine) or `make install-setuid`.
#
#   LIBEXECDIR/snap-confine      the launcher itself, taking snapd's command
#                                line (one process per launch)
#   LIBEXECDIR/snap-discard-ns   root-only, neither setuid nor capable
#   CAPSFILE                     the launcher's capabilities, setcap's text
#   BINDIR/snap-ns               the operator's read-only view
#   MANDIR/man{1,8}/             snap-ns(1), snap-confine(8), snap-discard-ns(8)
#   BASHCOMPDIR, ZSHCOMPDIR      snap-ns's completion
#   APPARMORDIR                  `make install-apparmor` only
built = @for f in $(1); do test -e "$$f" || { echo "$$f is missing: run make build first (install targets build nothing)"; exit 1; }; done

install: install-bin install-data

install-bin:
	$(call built,bin/snap-confine bin/snap-discard-ns bin/snap-ns)
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 bin/snap-confine $(DESTDIR)$(LIBEXECDIR)/snap-confine
	install -m 0755 bin/snap-discard-ns $(DESTDIR)$(LIBEXECDIR)/snap-discard-ns
	install -m 0755 bin/snap-ns $(DESTDIR)$(BINDIR)/snap-ns

install-data:
	$(call built,bin/snap-confine.caps bin/man/snap-confine.8 bin/man/snap-discard-ns.8 bin/man/snap-ns.1)
	install -d $(DESTDIR)$(dir $(CAPSFILE)) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 bin/snap-confine.caps $(DESTDIR)$(CAPSFILE)
	install -m 0644 bin/man/snap-ns.1 $(DESTDIR)$(MANDIR)/man1/snap-ns.1
	install -m 0644 bin/man/snap-confine.8 bin/man/snap-discard-ns.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 completion/snap-ns.bash $(DESTDIR)$(BASHCOMPDIR)/snap-ns
	install -m 0644 completion/_snap-ns $(DESTDIR)$(ZSHCOMPDIR)/_snap-ns

# Exactly the installed capability file, as snapd's postinst applies its own
# (`setcap - FILE < CAPSFILE`). Root.
install-caps:
	@test -s $(DESTDIR)$(CAPSFILE) || { echo "$(DESTDIR)$(CAPSFILE) is missing: run make install first"; exit 1; }
	f=$(DESTDIR)$(LIBEXECDIR)/snap-confine; test -f "$$f" && setcap -q - "$$f" <$(DESTDIR)$(CAPSFILE) && getcap "$$f"

# The alternative: setuid root instead of file capabilities. Root.
install-setuid:
	f=$(DESTDIR)$(LIBEXECDIR)/snap-confine; test -f "$$f" || exit 1; setcap -r "$$f" 2>/dev/null || true; chown 0:0 "$$f" && chmod 4755 "$$f" && ls -l "$$f"

# The launcher's AppArmor profile, for the launcher installed as
# LIBEXECDIR/snap-confine, with its local override file (an empty
# local/<name> is created when there is none). Load it with
# `apparmor_parser -r APPARMORDIR/<name>` or by restarting apparmor.
install-apparmor:
	$(call built,bin/apparmor)
	install -d $(DESTDIR)$(APPARMORDIR)/local
	for f in bin/apparmor/*; do n=$${f##*/}; install -m 0644 "$$f" $(DESTDIR)$(APPARMORDIR)/$$n; test -e $(DESTDIR)$(APPARMORDIR)/local/$$n || install -m 0644 /dev/null $(DESTDIR)$(APPARMORDIR)/local/$$n; done

# Everything any install target put there (an empty local AppArmor file is
# the administrator's and stays).
uninstall:
	rm -f $(DESTDIR)$(LIBEXECDIR)/snap-confine $(DESTDIR)$(LIBEXECDIR)/snap-discard-ns
	rm -f $(DESTDIR)$(CAPSFILE) $(DESTDIR)$(BINDIR)/snap-ns
	rm -f $(DESTDIR)$(MANDIR)/man1/snap-ns.1 $(DESTDIR)$(MANDIR)/man8/snap-confine.8 $(DESTDIR)$(MANDIR)/man8/snap-discard-ns.8
	rm -f $(DESTDIR)$(BASHCOMPDIR)/snap-ns $(DESTDIR)$(ZSHCOMPDIR)/_snap-ns
	rm -f $(DESTDIR)$(APPARMORDIR)/$(APPARMOR_NAME)

# The profile's file name for LIBEXECDIR (policy.ProfileFileName): the
# installed path with dots, and ".real" for /usr/lib/snapd as Debian's and
# Ubuntu's snapd name theirs (so local/ overrides keep their name).
APPARMOR_NAME = $(subst /,.,$(patsubst /%,%,$(LIBEXECDIR)/snap-confine))$(if $(filter /usr/lib/snapd,$(LIBEXECDIR)),.real)

# The Debian package (debian/), built from a copy of this tree in
# .cache/deb so that dpkg-buildpackage's output lands there:
# .cache/deb/snapns_<version>_<arch>.deb. No root; the Go modules must be in
# the module cache (the build is offline). -d: the Go toolchain need not be
# Debian's package.
deb:
	rm -rf .cache/deb/src && mkdir -p .cache/deb/src
	tar -c --exclude=./.cache --exclude=./bin --exclude=./.git . | tar -x -C .cache/deb/src
	cd .cache/deb/src && dpkg-buildpackage -us -uc -b -d
	@ls -l .cache/deb/*.deb

# An RPM (packaging/rpm/snapns.spec) for the /usr/libexec/snapd layout, in
# .cache/rpm/RPMS. --nodeps: this Debian machine's rpm database knows none
# of the build requirements.
rpm:
	rm -rf .cache/rpm && mkdir -p .cache/rpm/SOURCES
	tar -c --exclude=./.cache --exclude=./bin --exclude=./.git --transform 's,^\.,snapns-$(VERSION),' . | gzip >.cache/rpm/SOURCES/snapns-$(VERSION).tar.gz
	rpmbuild -bb --nodeps --define '_topdir $(CURDIR)/.cache/rpm' --define 'snapns_version $(VERSION)' packaging/rpm/snapns.spec
	@find .cache/rpm/RPMS -name '*.rpm' -exec rpm -qlp --dump {} \; | awk '{print $$5, $$1}'

# The package installed into a throw-away Debian root next to snapd's own
# package (divert, capabilities, removal and reinstall), and a launch through
# what it installed in the test sandbox (tools/deb-test.sh). Root; network
# for the root's first build (cached in .cache/deb).
deb-test: deb
	./tools/deb-test.sh

clean:
	rm -rf bin
