#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-only
# Puts a qemu-i386 that can run Go's 386 binaries at .cache/qemu/qemu-i386
# for `make unit-386`, unless this kernel runs 386 binaries itself (many
# kernels are built or booted without 32-bit emulation: ia32_emulation=off).
# Debian bookworm's qemu-user (7.2) crashes in Go's 386 runtime start-up
# ("morestack on gsignal"); trixie's (10.0) is static and runs them, so its
# package is downloaded (tools/debfetch.sh: a private sources list, never
# installed) and only qemu-i386 is taken from it. Needs the network once.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/qemu/qemu-i386
[ -x "$out" ] && exit 0
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'package main\nfunc main() {}\n' >"$probe/main.go"
if (cd "$probe" && GOOS=linux GOARCH=386 CGO_ENABLED=0 GOFLAGS= go build -o probe main.go) 2>/dev/null && "$probe/probe" 2>/dev/null; then
	exit 0 # runs natively
fi
deb=$(tools/debfetch.sh trixie .cache/debs/trixie qemu-user | tail -n1)
mkdir -p .cache/qemu
dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./usr/bin/qemu-i386 >"$out.tmp"
chmod 0755 "$out.tmp"
mv "$out.tmp" "$out"
echo "fetched $out from $(basename "$deb")"
