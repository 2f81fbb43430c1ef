// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// timelineRounds is how many cold launches of each tool the timeline
// follows.
const timelineRounds = 30

// coldTimeline splits a cold launch of each tool into where its time goes,
// from the kernel's scheduler events (perf, when installed): from the
// launcher's exec to snap-update-ns's exec (the runtime's start and the
// launcher's own work: checks, lock, the new namespace and its root), the
// run of snap-update-ns (the same binary for both tools), and from its exit
// to the app's exec (capture, join, handover). Tracepoints cost next to
// nothing, unlike strace, so the phases add up to the measured cold row.
func coldTimeline() error {
	fmt.Printf("\ncold launch timeline, from sched_process_exec/exit events (perf), medians of %d launches as root:\n", timelineRounds)
	if _, err := exec.LookPath("perf"); err != nil {
		fmt.Println("  skipped: perf is not installed (Debian: linux-perf)")
		return nil
	}
	for _, t := range []tool{snapns, snapd} {
		phases, err := timeline(t)
		if err != nil {
			return fmt.Errorf("%s: timeline: %w", t.name, err)
		}
		var med [4]string
		for i, p := range phases {
			s, _ := summarize(p) // timeline found at least one launch
			med[i] = ms(s.med)
		}
		fmt.Printf("  %-12s exec to snap-update-ns %s ms, snap-update-ns %s ms, then to the app %s ms (total %s ms)\n",
			t.name, med[0], med[1], med[2], med[3])
	}
	return nil
}

// timeline records timelineRounds discard-then-launch rounds of t and
// returns, per phase (three, then the total), one duration per launch.
func timeline(t tool) ([4][]time.Duration, error) {
	var phases [4][]time.Duration
	data, err := os.CreateTemp("", "timeline-")
	if err != nil {
		return phases, err
	}
	data.Close()
	defer os.Remove(data.Name())
	d, l := t.discard(), t.launch(how{})
	loop := fmt.Sprintf("for i in $(seq %d); do %s || exit 1; %s || exit 1; done", timelineRounds, strings.Join(d.Args, " "), strings.Join(l.Args, " "))
	cmd := exec.Command("perf", "record", "-q", "-e", "sched:sched_process_exec,sched:sched_process_exit", "-o", data.Name(), "sh", "-c", loop)
	cmd.Env, cmd.Dir = l.Env, "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return phases, fmt.Errorf("perf record: %v: %s", err, out)
	}
	out, err := exec.Command("perf", "script", "-i", data.Name(), "-F", "comm,pid,time,event,trace").Output()
	if err != nil {
		return phases, fmt.Errorf("perf script: %w", err)
	}
	launcher := t.dir + "/snap-confine"
	// One launch: the launcher's pid and exec time, then the helper's.
	var pid, helper string
	var start, helperExec, helperExit float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "COMM PID TIME: sched:EVENT: key=value ..."
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		ts, err := strconv.ParseFloat(strings.TrimSuffix(f[2], ":"), 64)
		if err != nil {
			continue
		}
		ev, p, args := f[3], f[1], strings.Join(f[4:], " ")
		switch {
		case ev == "sched:sched_process_exec:" && strings.Contains(args, "filename="+launcher+" "):
			pid, helper, start = p, "", ts
		case pid == "":
		case ev == "sched:sched_process_exec:" && p != pid && helper == "":
			// The first exec after the launcher's that is not the
			// launcher: snap-update-ns, run by descriptor.
			helper, helperExec = p, ts
		case ev == "sched:sched_process_exit:" && p == helper && strings.Contains(args, "group_dead=true"):
			helperExit = ts
		case ev == "sched:sched_process_exec:" && p == pid && helper != "" && helperExit > 0:
			for i, d := range []float64{helperExec - start, helperExit - helperExec, ts - helperExit, ts - start} {
				phases[i] = append(phases[i], time.Duration(d*float64(time.Second)))
			}
			pid, helperExit = "", 0
		}
	}
	if len(phases[3]) == 0 {
		return phases, fmt.Errorf("no cold launch found in perf's events")
	}
	return phases, nil
}
