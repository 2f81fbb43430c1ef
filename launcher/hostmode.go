package launcher

import (
	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/host"
)

// maxOSRelease bounds how much of /etc/os-release is read.
const maxOSRelease = 16 << 10

// classifyHost reads the host's /etc/os-release and looks for /meta/snap.yaml
// as snap-confine does. Both are root-owned; os-release is commonly a
// symlink into /usr/lib, inside root-owned directories, so it is followed.
func classifyHost() host.Distro {
	var osRelease []byte
	if fd, err := unix.Open("/etc/os-release", unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
		buf := make([]byte, maxOSRelease)
		n, _ := unix.Read(fd, buf)
		unix.Close(fd)
		if n > 0 {
			osRelease = buf[:n]
		}
	}
	var st unix.Stat_t
	meta := unix.Lstat("/meta/snap.yaml", &st) == nil
	return host.Classify(osRelease, meta)
}
