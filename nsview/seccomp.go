// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/profile"
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

// ReadSeccomp finds and checks tag's profile as the launcher does, with the
// same code (seccomp/profile). Reading needs no privilege: the profiles are
// world-readable.
func ReadSeccomp(tag naming.SecurityTag) Seccomp {
	p, format, file, err := profile.Read(tag)
	s := Seccomp{File: file, Format: string(format)}
	switch {
	case errors.Is(err, unix.ENOENT):
		s.Format = "missing"
		s.Problem = fmt.Sprintf("cannot find seccomp profile %s: the launcher waits for it up to SNAP_CONFINE_MAX_PROFILE_WAIT seconds (120 by default), then refuses the launch", file)
	case err != nil:
		s.Problem = err.Error()
	default:
		s.Usable, s.Unrestricted, s.Programs = true, p.Unrestricted, len(p.Programs)
	}
	return s
}
