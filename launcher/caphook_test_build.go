//go:build snapnstest

package launcher

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
)

// In test builds only, every privileged operation writes the capabilities
// the kernel reports effective on the calling thread while it runs, so that
// the end-to-end tests can compare reality with what policy grants.
func init() {
	skipPackagingCheck = os.Getenv("SNAPNS_TEST_SKIP_PACKAGING_CHECK") == "1"
	if os.Getenv("SNAPNS_TEST_PAUSE_AFTER_CREATE") == "1" {
		createHook = func() { time.Sleep(100 * time.Millisecond) }
	}
	capHook = func(op policy.Op) {
		eff, prm, _, err := getCaps()
		if err != nil {
			return
		}
		line := fmt.Sprintf("CAPHOOK op=%d eff=%08x%08x prm=%08x%08x\n", int(op), eff[1], eff[0], prm[1], prm[0])
		unix.Write(2, []byte(line))
	}
}
