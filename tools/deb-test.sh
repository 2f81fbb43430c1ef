#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-only
# deb-test.sh: the Debian package (make deb) in a throw-away Debian root with
# snapd's own package, then a launch through what it installed.
#
# The root: Debian trixie (debootstrap --variant=minbase) with Debian sid's
# snapd 2.77 installed from its .deb and trixie's dependencies, built once
# into .cache/deb/root (network), never changed afterwards. Each run works on
# an overlay of it, in a private mount namespace, chrooted: nothing of the
# host's is touched and nothing is left. In the root (tools/deb-test-inroot.sh):
# install, check the diversions, capabilities, files and profile; a snapd
# upgrade while diverted; removal giving snapd its files back; reinstall.
# Then the installed launcher, snap-ns and capability file are copied out
# with their capabilities and tests/e2e's TestDebianPackageLaunches launches
# an app through them in the test sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "deb-test.sh needs root (debootstrap, chroot, setcap)" >&2; exit 1; }
export PATH="$PATH:/usr/sbin:/sbin"
deb=$(ls .cache/deb/snapns_*.deb | grep -v dbgsym | head -n1)
snapd=$(tools/debfetch.sh sid .cache/debs/sid snapd | tail -n1)
root=$PWD/.cache/deb/root
stamp="$(basename "$snapd")"
if [ "$(cat "$root/.snapns-root" 2>/dev/null)" != "$stamp" ]; then
	echo "building the throw-away root in $root (debootstrap trixie, then $(basename "$snapd"))"
	rm -rf "$root.new"
	# debootstrap mounts /proc and /sys in the new root: in a mount
	# namespace of its own, so that the host's mount table never sees them.
	unshare -m --propagation private debootstrap --variant=minbase trixie "$root.new" http://deb.debian.org/debian \
		>.cache/deb/debootstrap.log 2>&1 || { tail -20 .cache/deb/debootstrap.log; exit 1; }
	printf '#!/bin/sh\nexit 101\n' >"$root.new/usr/sbin/policy-rc.d"
	chmod 0755 "$root.new/usr/sbin/policy-rc.d"
	cp "$snapd" "$root.new/tmp/snapd.deb"
	cp /etc/resolv.conf "$root.new/etc/resolv.conf"
	unshare -m --propagation private bash -euc '
		root=$1
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t sysfs sysfs "$root/sys"
		chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq update
		chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends install /tmp/snapd.deb
	' _ "$root.new" >.cache/deb/root-apt.log 2>&1 || { tail -30 .cache/deb/root-apt.log; exit 1; }
	rm -f "$root.new/tmp/snapd.deb"
	echo "$stamp" >"$root.new/.snapns-root"
	rm -rf "$root"
	mv "$root.new" "$root"
fi
run=$(mktemp -d "$PWD/.cache/deb/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
mkdir -p "$run/upper" "$run/work" "$run/merged" "$run/installed"
cp "$deb" "$run/snapns.deb"
cp "$snapd" "$run/snapd.deb"
cp tools/deb-test-inroot.sh "$run/inroot.sh"
echo "installing $(basename "$deb") next to $(basename "$snapd") in an overlay of $root"
unshare -m --propagation private bash -euc '
	root=$1 run=$2
	mount -t overlay overlay -o "lowerdir=$root,upperdir=$run/upper,workdir=$run/work" "$run/merged"
	m=$run/merged
	mount -t proc proc "$m/proc"
	mount --rbind /dev "$m/dev"
	mount -t sysfs sysfs "$m/sys"
	mkdir -p "$m/tmp/t"
	mount --bind "$run" "$m/tmp/t"
	chroot "$m" /bin/bash /tmp/t/inroot.sh /tmp/t/snapns.deb /tmp/t/snapd.deb
	# What the package installed, capabilities and all, for the launch.
	cp -a "$m/usr/lib/snapd/snap-confine" "$m/usr/lib/snapd/snap-confine.caps" "$m/usr/bin/snap-ns" "$run/installed/"
' _ "$root" "$run"
getcap "$run/installed/snap-confine"
echo "launching through the installed package in the test sandbox"
SNAPNS_DEB_INSTALLED="$run/installed" go test -count=1 -v -run 'TestDebianPackageLaunches' ./tests/e2e/
