// SPDX-License-Identifier: GPL-3.0-only

//go:build snapnstest

package privop

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
)

// In test builds only, every privileged operation writes the capabilities
// the kernel reports effective on the calling thread while it runs, so that
// the end-to-end tests can compare reality with what policy grants; and
// SNAPNS_TEST_WITHHOLD=<op>:<cap> (numbers) takes one capability away from
// one action after it is reported, so that they can show it is needed.
func init() {
	var withholdOp, withholdCap int
	if _, err := fmt.Sscanf(os.Getenv("SNAPNS_TEST_WITHHOLD"), "%d:%d", &withholdOp, &withholdCap); err != nil {
		withholdOp = -1
	}
	skipPackagingCheck = os.Getenv("SNAPNS_TEST_SKIP_PACKAGING_CHECK") == "1"
	if os.Getenv("SNAPNS_TEST_PAUSE_AFTER_CREATE") == "1" {
		createHook = func() { time.Sleep(100 * time.Millisecond) }
	}
	// SNAPNS_TEST_PAUSE_IN_STAGE=FILE: the path of each new staging
	// directory is written to FILE, and the launcher waits (at most 10
	// s) for FILE.done to exist before it goes on.
	if signal := os.Getenv("SNAPNS_TEST_PAUSE_IN_STAGE"); signal != "" {
		stageHook = func(parent int, name string) {
			dir, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(parent))
			os.WriteFile(signal, []byte(dir+"/"+name), 0o644)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(signal + ".done"); err == nil {
					return
				}
			}
		}
	}
	capHook = func(op policy.Op) {
		eff, prm, inh, err := getCaps()
		if err != nil {
			return
		}
		line := fmt.Sprintf("CAPHOOK op=%d eff=%08x%08x prm=%08x%08x others=%016x\n", int(op), eff[1], eff[0], prm[1], prm[0], otherThreadsEffective())
		unix.Write(2, []byte(line))
		if int(op) == withholdOp {
			eff[withholdCap/32] &^= 1 << (withholdCap % 32)
			setThreadCaps(eff, prm, inh)
		}
	}
}

// otherThreadsEffective returns the union of the effective sets of every
// thread of the process but the calling one, from /proc/self/task.
func otherThreadsEffective() uint64 {
	self := strconv.Itoa(unix.Gettid())
	tasks, _ := os.ReadDir("/proc/self/task")
	var union uint64
	for _, task := range tasks {
		if task.Name() == self {
			continue
		}
		status, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "CapEff:\t"); ok {
				eff, _ := strconv.ParseUint(v, 16, 64)
				union |= eff
			}
		}
	}
	return union
}
