// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Tools, as the table's columns name them.
const (
	ours   = "snapns"
	theirs = "snap-confine"
	floor  = "floor"
)

// results holds every sample, per row and per tool, in the order rows were
// first measured.
type results struct {
	rows    []string
	samples map[string]map[string][]time.Duration
	// faults holds each sample's minor page faults (none for wall times).
	faults map[string]map[string][]int64
	// hot marks rows compared with the nsenter floor.
	hot map[string]bool
}

func newResults() *results {
	return &results{samples: map[string]map[string][]time.Duration{}, faults: map[string]map[string][]int64{}, hot: map[string]bool{}}
}

// add records one sample; faults < 0 when there is no one process to count.
func (r *results) add(row, tool string, d time.Duration, faults int64) {
	if r.samples[row] == nil {
		r.samples[row] = map[string][]time.Duration{}
		r.faults[row] = map[string][]int64{}
		r.rows = append(r.rows, row)
	}
	r.samples[row][tool] = append(r.samples[row][tool], d)
	if faults >= 0 {
		r.faults[row][tool] = append(r.faults[row][tool], faults)
	}
}

// ratio is the median of row a over that of row b for tool.
func (r *results) ratio(a, b, tool string) string {
	sa, okA := summarize(r.samples[a][tool])
	sb, okB := summarize(r.samples[b][tool])
	return over(sa, okA, sb, okB)
}

// over is a's median over b's, "-" unless both are there.
func over(a summary, okA bool, b summary, okB bool) string {
	if !okA || !okB || b.med == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(a.med)/float64(b.med))
}

// medianFaults is the median of row's fault counts for tool, "-" if none.
func (r *results) medianFaults(row, tool string) string {
	f := slices.Clone(r.faults[row][tool])
	if len(f) == 0 {
		return "-"
	}
	slices.Sort(f)
	return fmt.Sprint(f[len(f)/2])
}

// summary is the median, 10th and 90th percentile of a set of samples.
type summary struct {
	n             int
	med, p10, p90 time.Duration
}

func summarize(s []time.Duration) (summary, bool) {
	if len(s) == 0 {
		return summary{}, false
	}
	s = slices.Clone(s)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1)+0.5)] }
	return summary{n: len(s), med: at(0.5), p10: at(0.1), p90: at(0.9)}, true
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }

// print writes the table: per row, median/p10/p90 in milliseconds for
// each tool, ours/snap-confine, ours over the nsenter floor and over the Go
// floor (goRow) for hot rows, and each tool's median page faults.
func (r *results) print(w io.Writer, nsenterRow, goRow string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tn\tsnapns med\tp10\tp90\tsnap-confine med\tp10\tp90\tsnapns/snap-confine\tsnapns/nsenter\tsnapns/Go floor\tfaults snapns\tsnap-confine\t")
	nsFloor, haveFloor := summarize(r.samples[nsenterRow][floor])
	goFloor, haveGoFloor := summarize(r.samples[goRow][floor])
	for _, row := range r.rows {
		cols := []string{row}
		a, okA := summarize(r.samples[row][ours])
		aTool := ours
		if f, ok := summarize(r.samples[row][floor]); ok {
			a, okA, aTool = f, true, floor
		}
		b, okB := summarize(r.samples[row][theirs])
		n := a.n
		if !okA {
			n = b.n
		}
		cols = append(cols, fmt.Sprint(n))
		for _, s := range []struct {
			sum summary
			ok  bool
		}{{a, okA}, {b, okB}} {
			if s.ok {
				cols = append(cols, ms(s.sum.med), ms(s.sum.p10), ms(s.sum.p90))
			} else {
				cols = append(cols, "-", "-", "-")
			}
		}
		hot := okA && r.hot[row]
		cols = append(cols, over(a, okA, b, okB), over(a, hot, nsFloor, haveFloor), over(a, hot, goFloor, haveGoFloor),
			r.medianFaults(row, aTool), r.medianFaults(row, theirs))
		for _, c := range cols {
			fmt.Fprint(tw, c, "\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
