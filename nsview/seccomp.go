package nsview

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
)

// Seccomp is the profile a launch would load.
type Seccomp struct {
	// File is the profile file found, or the .bin2 name waited for.
	File string `json:"file"`
	// Format is "bin2", "bin", "bin+global" or "missing".
	Format       string `json:"format"`
	Unrestricted bool   `json:"unrestricted"`
	Programs     int    `json:"programs"`
	Usable       bool   `json:"usable"`
	Problem      string `json:"problem"`
}

// maxProfileSize is the launcher's bound on a profile file
// (launcher/seccomp.go): the header and two programs.
const maxProfileSize = bpf.Bin2HeaderSize + 2*bpf.MaxProgramSize

// ReadSeccomp finds and checks tag's profile in the launcher's order
// (launcher/seccomp.go readProfileOnce): <tag>.bin2, else <tag>.bin and,
// when that is restricted, global.bin. Reading needs no privilege: the
// profiles are world-readable. The checks and their words are the
// launcher's (launcher/files.go rootOnly, openTrustedDir), which this
// package cannot link; TestExplainSaysWhatTheLauncherRefuses holds them to
// the launcher's.
func ReadSeccomp(tag naming.SecurityTag) Seccomp {
	s := Seccomp{File: layout.SeccompDir + "/" + layout.SeccompName(tag), Format: "bin2"}
	dir, err := openTrustedDir(layout.SeccompDir)
	if err != nil {
		s.Problem = fmt.Sprintf("cannot load the seccomp profile of %s: %v", tag, err)
		if errors.Is(err, unix.ENOENT) {
			s.Format = "missing"
			s.Problem = missing(s.File)
		}
		return s
	}
	defer unix.Close(dir)
	p, err := readProfileFile(dir, layout.SeccompName(tag), bpf.ParseBin2)
	if errors.Is(err, unix.ENOENT) {
		s.File, s.Format = layout.SeccompDir+"/"+layout.LegacySeccompName(tag), "bin"
		p, err = readProfileFile(dir, layout.LegacySeccompName(tag), bpf.ParseBin)
		if errors.Is(err, unix.ENOENT) {
			s.File, s.Format = layout.SeccompDir+"/"+layout.SeccompName(tag), "missing"
			s.Problem = missing(s.File)
			return s
		}
		if err == nil && !p.Unrestricted {
			global, gerr := readProfileFile(dir, layout.GlobalSeccompName, bpf.ParseBin)
			switch {
			case gerr == nil:
				s.Format = "bin+global"
				p.Programs = append(p.Programs, global.Programs...)
			case !errors.Is(gerr, unix.ENOENT):
				err = gerr
			}
		}
	}
	if err != nil {
		s.Problem = err.Error()
		return s
	}
	s.Usable, s.Unrestricted, s.Programs = true, p.Unrestricted, len(p.Programs)
	return s
}

// missing is what a launch does without a profile: wait for snapd to write
// one, then fail.
func missing(file string) string {
	return fmt.Sprintf("cannot find seccomp profile %s: the launcher waits for it up to SNAP_CONFINE_MAX_PROFILE_WAIT seconds (120 by default), then refuses the launch", file)
}

// readProfileFile is the launcher's readProfileFile without the loading.
func readProfileFile(dir int, name string, parse func([]byte) (bpf.Profile, error)) (bpf.Profile, error) {
	display := layout.SeccompDir + "/" + name
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot open seccomp profile %s: %w", display, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	err = rootOnly(fd, unix.S_IFREG)
	if err == nil {
		if err = unix.Fstat(fd, &st); err == nil && st.Size > maxProfileSize {
			err = fmt.Errorf("%d bytes is over the limit of %d", st.Size, maxProfileSize)
		}
	}
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot use seccomp profile %s: %w", display, err)
	}
	buf := make([]byte, st.Size+1)
	n, err := readFull(fd, buf)
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot read seccomp profile %s: %w", display, err)
	}
	p, err := parse(buf[:n])
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot use seccomp profile %s: %w", display, err)
	}
	return p, nil
}

func readFull(fd int, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// openTrustedDir walks path from / without following symlinks and checks
// that every directory is root's and writable by nobody else, as the
// launcher does, so that only root can have chosen the profile.
func openTrustedDir(path string) (int, error) {
	const dirFlags = unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_RDONLY
	fd, err := unix.Open("/", dirFlags, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open /: %w", err)
	}
	if err := rootOnly(fd, unix.S_IFDIR); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("cannot trust /: %w", err)
	}
	done := ""
	for _, c := range strings.Split(strings.Trim(path, "/"), "/") {
		done += "/" + c
		next, err := unix.Openat(fd, c, dirFlags, 0)
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("cannot open %s: %w", done, err)
		}
		fd = next
		if err := rootOnly(fd, unix.S_IFDIR); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("cannot trust %s: %w", done, err)
		}
	}
	return fd, nil
}

// rootOnly is the launcher's check: fd is of type fmtType, root's, and
// writable by nobody else.
func rootOnly(fd int, fmtType uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("cannot inspect it: %w", err)
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK && fmtType != unix.S_IFLNK:
		return errors.New("a symbolic link")
	case st.Mode&unix.S_IFMT != fmtType:
		if fmtType == unix.S_IFDIR {
			return errors.New("not a directory")
		}
		return errors.New("not a regular file")
	case st.Uid != 0:
		return fmt.Errorf("owned by uid %d, not root", st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	return nil
}
