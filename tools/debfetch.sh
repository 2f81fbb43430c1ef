#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-only
# debfetch.sh SUITE DIR PACKAGE...: downloads Debian SUITE's PACKAGEs (.deb,
# no dependencies) into DIR with apt-get through a private sources list and
# package lists under DIR/.apt, never touching the machine's apt set-up.
# Prints the path of each .deb, one per line. A package already in DIR is
# not downloaded again (delete DIR to refresh).
set -euo pipefail
suite=$1 dir=$2
shift 2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
state=$dir/.apt
arch=$(dpkg --print-architecture)
want=()
for pkg in "$@"; do
	f=$(ls "$dir/${pkg}_"*"_${arch}.deb" "$dir/${pkg}_"*_all.deb 2>/dev/null | head -n1 || true)
	if [ -n "$f" ]; then echo "$f"; else want+=("$pkg"); fi
done
[ "${#want[@]}" -eq 0 ] && exit 0
mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
echo "deb http://deb.debian.org/debian $suite main" >"$state/sources.list"
opts=(-o "Dir::Etc::sourcelist=$state/sources.list" -o Dir::Etc::sourceparts=- \
	-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" \
	-o "Dir::State::status=$state/status" -o APT::Get::List-Cleanup=0 \
	-o Debug::NoLocking=1 -qq)
: >"$state/status"
if [ -z "$(ls "$state/lists" 2>/dev/null | grep -v partial || true)" ] || [ -n "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mtime +1)" ]; then
	apt-get "${opts[@]}" update >&2
fi
(cd "$dir" && apt-get "${opts[@]}" download "${want[@]}" >&2)
for pkg in "${want[@]}"; do
	f=$(ls "$dir/${pkg}_"*"_${arch}.deb" "$dir/${pkg}_"*_all.deb 2>/dev/null | head -n1 || true)
	[ -n "$f" ] || { echo "debfetch.sh: apt-get downloaded no $pkg from $suite" >&2; exit 1; }
	echo "$f"
done
