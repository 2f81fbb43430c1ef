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
# (make rpm), groff (the man pages' check) and zsh (the completion's).
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
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages (install them as root): ${missing[*]}" >&2
	exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
