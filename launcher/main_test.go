// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"os"
	"testing"
)

// TestMain gives the test process root's effective capabilities back: the
// package's init empties every thread's effective set, as the launcher
// must, and some tests make their fixtures as root (files owned by others).
// Under the race detector (cgo) neither call is possible and init's failed:
// nothing was emptied.
func TestMain(m *testing.M) {
	if _, prm, inh, err := getCaps(); err == nil && !prm.empty() {
		setCapsAllThreads(prm, prm, inh)
	}
	os.Exit(m.Run())
}
