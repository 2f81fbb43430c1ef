package nsview

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/trusted"
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
// launcher's: both read through shared/trusted.
func ReadSeccomp(tag naming.SecurityTag) Seccomp {
	s := Seccomp{File: layout.SeccompDir + "/" + layout.SeccompName(tag), Format: "bin2"}
	dir, err := trusted.OpenDir(layout.SeccompDir)
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
	display := "seccomp profile " + layout.SeccompDir + "/" + name
	data, err := trusted.ReadFileAt(dir, name, display, maxProfileSize)
	if err != nil {
		return bpf.Profile{}, err
	}
	p, err := parse(data)
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot use %s: %w", display, err)
	}
	return p, nil
}
