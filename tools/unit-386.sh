#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-only
# unit-386.sh PACKAGE...: the unit tests built for GOARCH=386 (CGO_ENABLED=0:
# the cgo seccomp compiler is tested through its nocgo build), run natively
# where this kernel runs 386 binaries, else under .cache/qemu/qemu-i386
# (tools/fetch-qemu.sh, run by `make deps`) or a QEMU_I386 given in the
# environment. Without either it says so loudly and runs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'package main\nfunc main() {}\n' >"$probe/main.go"
(cd "$probe" && GOOS=linux GOARCH=386 CGO_ENABLED=0 go build -o probe main.go)
export GOARCH=386 CGO_ENABLED=0
if "$probe/probe" 2>/dev/null; then
	echo "go test (GOARCH=386, native)"
	exec go test -count=1 "$@"
fi
qemu=${QEMU_I386:-$PWD/.cache/qemu/qemu-i386}
if [ ! -x "$qemu" ] || ! "$qemu" "$probe/probe"; then
	echo "SKIPPING the 386 unit tests: this kernel cannot run 386 binaries and there is no working qemu-i386 at $qemu (run make deps)" >&2
	exit 0
fi
echo "go test (GOARCH=386, under $qemu: this kernel runs no 386 binaries)"
exec go test -count=1 -exec "$qemu" "$@"
