#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-only
# Installs the Debian packages the build, the demo and the tests need, when
# they are missing: make; gcc and pkg-config for cgo (the race detector, the
# seccomp compiler); libseccomp-dev (the seccomp compiler; never in the
# launcher); squashfs-tools and busybox-static (the test base snaps: squashfs
# images on loop devices with a tiny userland); libcap2-bin (setcap, the
# file-capability install); apparmor (its parser checks the launcher's
# profile without a kernel) and strace (the tests watch what the launcher
# opens); for `make bench`: util-linux (nsenter, setpriv: the floors) and the
# libraries Debian's snap-confine links (libudev1, libapparmor1, libcap2; the
# snapd package itself is downloaded by the bench, never installed);
# debhelper, dpkg-dev and debootstrap (make deb, make deb-test), rpm
# (make rpm), groff (the man pages' check) and zsh (the completion's); for
# `make test-kernels`: QEMU (the kernels are downloaded, never installed).
# Without root it only says what is missing.
set -euo pipefail
missing=()
for pair in make:make gcc:gcc pkg-config:pkg-config mksquashfs:squashfs-tools \
	busybox:busybox-static setcap:libcap2-bin apparmor_parser:apparmor strace:strace \
	nsenter:util-linux setpriv:util-linux dh:debhelper debootstrap:debootstrap \
	dpkg-buildpackage:dpkg-dev groff:groff-base rpmbuild:rpm zsh:zsh; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
done
for pkg in libseccomp-dev libudev1 libapparmor1 libcap2; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# QEMU for make test-kernels, without the graphical front ends and
# firmware it recommends (the guests boot a kernel directly, on TCG).
qemu=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || qemu=(qemu-system-x86)
[ "${#missing[@]}" -eq 0 ] && [ "${#qemu[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages (install them as root): ${missing[*]} ${qemu[*]}" >&2
	exit 0
fi
apt-get update -qq
[ "${#missing[@]}" -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
[ "${#qemu[@]}" -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${qemu[@]}" >/dev/null
