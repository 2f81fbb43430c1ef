// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Column is one column of a table, as util-linux's tools have them: a
// name for -o (OPTIONS, MADE-BY), the heading it prints, and its cell.
type Column[T any] struct {
	Name    string
	Heading string
	Help    string
	Verdict bool // its cells are verdict words (coloured on a terminal)
	Cell    func(*T) string
}

// ListColumns are the columns of `snap-ns list`; the default set is
// DefaultListColumns.
var ListColumns = []Column[Namespace]{
	{Name: "NAMESPACE", Help: "the file in /run/snapd/ns", Cell: func(n *Namespace) string { return Quote(n.Name) }},
	{Name: "INSTANCE", Help: "the snap instance", Cell: func(n *Namespace) string { return Quote(n.Instance) }},
	{Name: "UID", Help: "the user of a per-user layer, - for the snap's namespace", Cell: func(n *Namespace) string {
		if n.UID == nil {
			return "-"
		}
		return strconv.FormatUint(uint64(*n.UID), 10)
	}},
	{Name: "ID", Help: "the namespace id (NS_GET_MNTNS_ID), ? when unknown", Cell: func(n *Namespace) string {
		if n.ID == 0 {
			return "?"
		}
		return strconv.FormatUint(n.ID, 10)
	}},
	{Name: "INODE", Help: "the namespace's inode, as /proc/PID/ns/mnt and lsns show it", Cell: func(n *Namespace) string {
		if !n.Preserved {
			return "-"
		}
		return strconv.FormatUint(n.Inode, 10)
	}},
	{Name: "BASE", Help: "the base snap it was built from", Cell: func(n *Namespace) string { return dash(Quote(n.Base)) }},
	{Name: "REVISION", Help: "the base's revision it was built from", Cell: func(n *Namespace) string { return dash(Quote(n.Revision)) }},
	{Name: "DEVICE", Help: "the base's device it was built from", Cell: func(n *Namespace) string { return dash(Quote(n.Device)) }},
	{Name: "STALE", Help: "keep, should or must (be discarded), unknown", Verdict: true, Cell: func(n *Namespace) string { return dash(n.Stale) }},
	{Name: "OCCUPIED", Help: "whether the snap has processes in its tracking cgroups", Cell: func(n *Namespace) string {
		switch {
		case n.Occupied:
			return "yes"
		case n.OccupancyProblem != "":
			return "?"
		}
		return "no"
	}},
	{Name: "NPROCS", Help: "how many processes are in it (those the caller may see)", Cell: func(n *Namespace) string { return strconv.Itoa(len(n.PIDs)) }},
	{Name: "PIDS", Help: "the processes in it (those the caller may see)", Cell: func(n *Namespace) string {
		if len(n.PIDs) == 0 {
			return "-"
		}
		s := make([]string, len(n.PIDs))
		for i, p := range n.PIDs {
			s[i] = strconv.Itoa(p)
		}
		return strings.Join(s, ",")
	}},
	{Name: "NEXT", Help: "what the next launch does with it: join, discard, inspect, create", Verdict: true, Cell: func(n *Namespace) string { return dash(n.NextLaunch) }},
	{Name: "MADE-BY", Heading: "MADE BY", Help: "snapns, snap-confine (snapd's) or unknown", Cell: func(n *Namespace) string { return n.MadeBy }},
	{Name: "AGE", Help: "how long ago it was built", Cell: func(n *Namespace) string {
		if n.Built == "" {
			return "-"
		}
		return Age(time.Duration(n.AgeSeconds) * time.Second)
	}},
	{Name: "REASON", Help: "why it is kept or discarded", Cell: func(n *Namespace) string { return Quote(n.Reason) }},
}

// DefaultListColumns is what `snap-ns list` shows without -o.
const DefaultListColumns = "NAMESPACE,INSTANCE,UID,ID,INODE,BASE,REVISION,DEVICE,STALE,OCCUPIED,PIDS,NEXT,MADE-BY,AGE"

// ShowColumns are the columns of `snap-ns show`, as findmnt's where it
// has the same.
var ShowColumns = []Column[Mount]{
	{Name: "MOUNT-POINT", Heading: "MOUNT POINT", Help: "where it is mounted (findmnt's TARGET)", Cell: func(m *Mount) string { return Quote(m.MountPoint) }},
	{Name: "TYPE", Help: "the filesystem type (findmnt's FSTYPE)", Cell: func(m *Mount) string { return Quote(m.FSType) }},
	{Name: "SOURCE", Help: "the mounted device or source", Cell: func(m *Mount) string { return Quote(m.Source) }},
	{Name: "ROOT", Help: "the directory of the filesystem mounted there (findmnt's FSROOT)", Cell: func(m *Mount) string { return Quote(m.Root) }},
	{Name: "DEVICE", Help: "major:minor (findmnt's MAJ:MIN)", Cell: func(m *Mount) string { return m.Device }},
	{Name: "PROPAGATION", Help: "shared:N, master:N, unbindable or private", Cell: func(m *Mount) string { return m.Propagation }},
	{Name: "OPTIONS", Help: "the mount's options, then the filesystem's", Cell: func(m *Mount) string { return Quote(m.Options) }},
}

// DefaultShowColumns is what `snap-ns show` shows without -o.
const DefaultShowColumns = "MOUNT-POINT,TYPE,SOURCE,ROOT,DEVICE,PROPAGATION,OPTIONS"

// SelectColumns picks columns by name, as -o LIST: comma-separated,
// case-insensitive; a list starting with + adds to the defaults.
func SelectColumns[T any](all []Column[T], defaults, list string) ([]Column[T], error) {
	if list == "" {
		list = defaults
	} else if rest, ok := strings.CutPrefix(list, "+"); ok {
		list = defaults + "," + rest
	}
	var cols []Column[T]
	for _, name := range strings.Split(list, ",") {
		i := -1
		for j, c := range all {
			if strings.EqualFold(c.Name, strings.TrimSpace(name)) {
				i = j
			}
		}
		if i < 0 {
			var names []string
			for _, c := range all {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("cannot use column %q: not one of %s", name, strings.Join(names, ", "))
		}
		cols = append(cols, all[i])
	}
	return cols, nil
}

// WriteTable writes rows in cols, with a heading line unless noHeadings.
func WriteTable[T any](w io.Writer, cols []Column[T], rows []T, noHeadings bool, s Style) error {
	tw := newTable(w)
	if !noHeadings {
		for i, c := range cols {
			h := c.Heading
			if h == "" {
				h = c.Name
			}
			if c.Verdict {
				h = string(s.head(h))
			}
			fmt.Fprint(tw, sep(i), h)
		}
		fmt.Fprintln(tw)
	}
	// Cells may hold what others chose (a FUSE mount's source or type):
	// each goes through Clean; only the styling is the printer's own.
	for r := range rows {
		for i, c := range cols {
			v := styled(Clean(c.Cell(&rows[r])))
			if c.Verdict {
				v = s.word(string(v))
			}
			fmt.Fprint(tw, sep(i), string(v))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func sep(i int) string {
	if i == 0 {
		return ""
	}
	return "\t"
}
