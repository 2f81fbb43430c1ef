#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-only
# Runs once, chrooted into a freshly bootstrapped container tree with snapd
# installed (tests/snapd/rootfs_test.go), before the tree is cached: the
# test user, the boot settings, and the fake base snaps packed by snapd's own
# `snap pack`. Bump `recipe` in rootfs_test.go when this changes.
set -eu

# The unprivileged user the cases run apps as; lingering, so that its
# systemd --user (and session bus, through which `snap run` asks for its
# tracking scope) runs from boot on.
useradd --create-home --uid 1000 --shell /bin/bash test
mkdir -p /var/lib/systemd/linger
touch /var/lib/systemd/linger/test

# snapd's debug log in the journal: what a failed case prints.
mkdir -p /etc/systemd/system/snapd.service.d
printf '[Service]\nEnvironment=SNAPD_DEBUG=1\n' >/etc/systemd/system/snapd.service.d/snapd-suite.conf

# Nothing on the console (nspawn's is a pipe into the boot log) and no apt
# timers running beside the cases.
systemctl mask console-getty.service getty@.service apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true

# The fake base snaps: the container's own /usr (less documentation, and
# less snapd's tools, which every launch binds from the host anyway) and
# /etc, with the mount points snap-confine needs and no /opt (the layout
# case needs a writable mimic over /). A marker names the base, so that an
# app can show which root it runs on.
mkdir -p /var/lib/snapd-suite
for name in core22 core24; do
	tree=/var/tmp/base-$name
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -C / --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/info \
		--exclude=./usr/share/locale --exclude=./usr/share/i18n --exclude=./usr/share/lintian \
		--exclude='./usr/lib/snapd/*' -cf - ./usr ./etc | tar -C "$tree" -xf -
	for link in bin lib lib64 sbin; do
		[ -L "/$link" ] && ln -s "usr/$link" "$tree/$link"
	done
	(cd "$tree" && mkdir -p boot dev home media mnt proc root run snap srv sys tmp writable \
		usr/lib/modules usr/lib/firmware usr/src var/cache var/lib/extrausers \
		var/lib/snapd/hostfs var/log var/snap var/tmp)
	mkdir -p "$tree/usr/share/snapd-suite" "$tree/meta"
	echo "$name" >"$tree/usr/share/snapd-suite/base"
	cat >"$tree/meta/snap.yaml" <<YAML
name: $name
type: base
version: '1'
summary: fake $name base, the container's /usr
YAML
	snap pack --compression=lzo "$tree" /var/lib/snapd-suite/ >/dev/null
	rm -rf "$tree"
done
ls -l /var/lib/snapd-suite/
