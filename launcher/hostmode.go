// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/host"
	"github.com/snapns/snapns/shared/trusted"
)

// maxOSRelease bounds how much of /etc/os-release is read.
const maxOSRelease = 16 << 10

// classifyHost reads the host's /etc/os-release and looks for /meta/snap.yaml
// as snap-confine does, and tells whether the host is Debian-like. Both are
// root-owned; os-release is commonly a symlink into /usr/lib, inside
// root-owned directories, so it is followed.
func classifyHost() (host.Distro, bool) {
	var osRelease []byte
	if fd, err := unix.Open("/etc/os-release", unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
		// A buffer of the file's size (a few hundred bytes), not of the
		// bound: fresh pages cost a launch microseconds each.
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
			buf := make([]byte, min(max(st.Size, 0), maxOSRelease))
			if n, _ := trusted.ReadFull(fd, buf); n > 0 {
				osRelease = buf[:n]
			}
		}
		unix.Close(fd)
	}
	var st unix.Stat_t
	meta := unix.Lstat("/meta/snap.yaml", &st) == nil
	return host.Classify(osRelease, meta), host.DebianLike(osRelease)
}
