#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-only
# deb-test-inroot.sh SNAPNS.DEB SNAPD.DEB: run by tools/deb-test.sh, chrooted
# into a throw-away Debian root where snapd's package is installed.
set -euo pipefail
ours=$1 snapd=$2
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
ok() { echo "deb-test: ok: $*"; }
caps() { getcap "$1" | sed 's/^[^ ]* //'; }
want_caps() { # the caps a file list in setcap's text gives, as getcap prints them
	local f
	f=$(mktemp)
	cp /usr/lib/snapd/snap-discard-ns "$f" 2>/dev/null || cp /bin/true "$f"
	setcap -q - "$f" <"$1"
	caps "$f"
	rm -f "$f"
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

snapd_sum=$(sum /usr/lib/snapd/snap-confine)
snapd_caps=$(caps /usr/lib/snapd/snap-confine)
snapd_profile=$(sum /etc/apparmor.d/usr.lib.snapd.snap-confine.real)
[ -n "$snapd_caps" ] || fail "snapd's snap-confine has no file capabilities to begin with"
ok "snapd's snap-confine: $snapd_caps"

dpkg -i "$ours" >/dev/null
[ "$(dpkg-divert --list snapns | wc -l)" = 7 ] || fail "diversions: $(dpkg-divert --list snapns)"
ok "7 diversions: $(dpkg-divert --list snapns | sed 's/^diversion of //;s/ by snapns$//' | tr '\n' ';')"
/usr/lib/snapd/snap-confine --version | grep -q '^snap-confine [0-9]' || fail "snap-confine --version"
[ "$(sum /usr/lib/snapd/snap-confine.snapd)" = "$snapd_sum" ] || fail "snapd's snap-confine was not kept aside"
[ "$(caps /usr/lib/snapd/snap-confine)" = "$(want_caps /usr/lib/snapd/snap-confine.caps)" ] ||
	fail "the launcher's capabilities $(caps /usr/lib/snapd/snap-confine) are not its list's"
ok "the launcher holds exactly its list: $(caps /usr/lib/snapd/snap-confine) ($(/usr/lib/snapd/snap-confine --version))"
cmp -s /usr/lib/snapd/snap-confine.caps /usr/lib/snapd/snap-confine.v2-only.caps || fail "the two capability files differ"
[ "$(readlink /etc/apparmor.d/usr.lib.snapd.snap-confine.real)" = /usr/share/snapns/apparmor/usr.lib.snapd.snap-confine.real ] ||
	fail "the profile is not linked to the launcher's"
grep -q "Generated from snapns" /etc/apparmor.d/usr.lib.snapd.snap-confine.real || fail "the profile is not the launcher's"
[ "$(sum /etc/apparmor.d/snapns-diverted/usr.lib.snapd.snap-confine.real)" = "$snapd_profile" ] || fail "snapd's profile was not kept aside"
apparmor_parser -Q -K /etc/apparmor.d/usr.lib.snapd.snap-confine.real 2>/dev/null || fail "apparmor_parser refuses the installed profile"
apparmor_parser -Q -K /etc/apparmor.d/ 2>/dev/null || fail "apparmor_parser refuses /etc/apparmor.d with snapd's profile diverted"
ok "the launcher's AppArmor profile replaces snapd's, which is out of the policy directory"
snap-ns --help | grep -q '^Usage: snap-ns' || fail "snap-ns --help"
snap-ns list >/dev/null || fail "snap-ns list"
for f in /usr/share/man/man1/snap-ns.1.gz /usr/share/man/man8/snap-confine.8.gz /usr/share/man/man8/snap-discard-ns.8.gz; do
	zcat "$f" | grep -q '^\.SH NAME' || fail "$f"
done
[ -f /usr/share/man/man8/snap-confine.snapd.8.gz ] || fail "snapd's man page was not kept aside"
[ -f /usr/share/bash-completion/completions/snap-ns ] || fail "no bash completion"
ok "snap-ns, the man pages and the completion are installed"

# snapd upgraded (reinstalled) while diverted: its files go aside, its
# postinst applies the (diverted: our) capability list to our launcher.
dpkg -i "$snapd" >/dev/null 2>&1 || fail "snapd's package does not reinstall next to ours"
grep -q "Generated from snapns" /etc/apparmor.d/usr.lib.snapd.snap-confine.real || fail "snapd's upgrade put its profile back"
[ "$(caps /usr/lib/snapd/snap-confine)" = "$(want_caps /usr/lib/snapd/snap-confine.caps)" ] ||
	fail "after snapd's upgrade the launcher holds $(caps /usr/lib/snapd/snap-confine)"
/usr/lib/snapd/snap-confine --version | grep -q '^snap-confine [0-9]' || fail "snapd's upgrade replaced the launcher"
ok "a snapd upgrade leaves the launcher, its capabilities and its profile in place"

dpkg -r snapns >/dev/null
[ -z "$(dpkg-divert --list snapns)" ] || fail "diversions left: $(dpkg-divert --list snapns)"
[ "$(sum /usr/lib/snapd/snap-confine)" = "$snapd_sum" ] || fail "snapd's snap-confine is not back"
[ "$(caps /usr/lib/snapd/snap-confine)" = "$snapd_caps" ] || fail "snapd's snap-confine is back with $(caps /usr/lib/snapd/snap-confine), not $snapd_caps"
[ "$(sum /etc/apparmor.d/usr.lib.snapd.snap-confine.real)" = "$snapd_profile" ] || fail "snapd's profile is not back"
[ ! -e /etc/apparmor.d/snapns-diverted ] || fail "/etc/apparmor.d/snapns-diverted is left"
[ -f /usr/lib/snapd/snap-discard-ns ] && [ -f /usr/share/man/man8/snap-confine.8.gz ] || fail "snapd's snap-discard-ns or man page is not back"
[ ! -e /usr/bin/snap-ns ] || fail "snap-ns is left"
ok "removal gives snapd back its snap-confine ($snapd_caps), snap-discard-ns, man pages and profile"

dpkg -i "$ours" >/dev/null
[ "$(caps /usr/lib/snapd/snap-confine)" = "$(want_caps /usr/lib/snapd/snap-confine.caps)" ] || fail "reinstall"
ok "reinstalled"
