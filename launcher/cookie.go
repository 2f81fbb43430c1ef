// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// maxCookie bounds a snap cookie (snap-confine reads at most 254 bytes).
const maxCookie = 254

// readCookie reads the snap's cookie, which snapctl uses to authenticate to
// snapd, from the root-only /var/lib/snapd/cookie/snap.<instance>, as
// snap-confine does; the app gets it as SNAP_COOKIE and SNAP_CONTEXT. A
// missing cookie is not an error (snapd may not have written it yet). It
// runs in pid 1's mount namespace: inside the snap's, a mount over the
// cookie file could hand the app another snap's cookie.
func (l *launcher) readCookie() string {
	parent, name := filepath.Split(layout.CookieDir)
	dir, err := trusted.Path(parent)
	if err != nil {
		l.debugf("no snap cookie: %v", err)
		return ""
	}
	defer dir.Close()
	f, err := l.priv.OpenRootOnly(dir, name+"/"+layout.CookieName(l.launch.Instance), unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		l.debugf("no snap cookie: %v", err)
		return ""
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(f.Fd(), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != 0 {
		l.debugf("ignoring %s: not a regular file owned by root", f.Name())
		return ""
	}
	buf := make([]byte, maxCookie)
	n, err := unix.Read(f.Fd(), buf)
	if err != nil || n == 0 {
		return ""
	}
	for _, c := range buf[:n] {
		if c <= ' ' || c > '~' {
			l.debugf("ignoring %s: not printable", f.Name())
			return ""
		}
	}
	return string(buf[:n])
}
