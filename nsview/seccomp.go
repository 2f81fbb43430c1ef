// SPDX-License-Identifier: GPL-3.0-only

package nsview

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
