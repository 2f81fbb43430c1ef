// SPDX-License-Identifier: GPL-3.0-only

package mountinfo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

const sample = `22 1 7:3 / / ro,relatime - squashfs /dev/loop3 ro
23 22 0:5 / /dev rw,nosuid master:4 - devtmpfs udev rw
40 22 0:39 /tmp/snap-private-tmp/snap.x/tmp /tmp rw - tmpfs tmpfs rw
41 22 0:39 /with\040space /mnt/a\134b rw shared:3 master:1 - tmpfs none\040x rw
`

func TestParse(t *testing.T) {
	es, err := ReadAll(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("got %d entries", len(es))
	}
	if e := es[0]; e.MountDir != "/" || e.Major != 7 || e.Minor != 3 || e.FSType != "squashfs" || len(e.Optional) != 0 {
		t.Errorf("entry 0: %+v", e)
	}
	if e := es[1]; e.Optional[0] != "master:4" || e.ParentID != 22 || e.Options != "rw,nosuid" || e.SuperOptions != "rw" {
		t.Errorf("entry 1: %+v", e)
	}
	if e := es[3]; e.Root != "/with space" || e.MountDir != `/mnt/a\b` || e.Source != "none x" || len(e.Optional) != 2 {
		t.Errorf("entry 3: %+v", e)
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	for _, line := range []string{
		"x 1 7:3 / / ro - squashfs a ro",
		"1 1 7 / / ro - squashfs a ro",
		"1 1 7:3 / / ro squashfs a ro",
		"1 1 7:3 / /\\04 ro - squashfs a ro",
		"1 1 7:3 / /\\9xx ro - squashfs a ro",
		"1 1 7:3 / / ro -",
	} {
		if _, err := ReadAll(strings.NewReader(line + "\n")); err == nil || !strings.HasPrefix(err.Error(), "cannot parse mountinfo") {
			t.Errorf("%q: %v", line, err)
		}
	}
}

func TestParseOwnMountinfo(t *testing.T) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	if _, err := ReadAll(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

// Scan reads a table of any size (here over 8 MiB, twice what the launcher
// once held in memory), with lines of any length, without holding it.
func TestScanHasNoBound(t *testing.T) {
	long := "/" + strings.Repeat("d", 200<<10)
	var b strings.Builder
	const big = 8 << 20
	for i := 0; b.Len() <= big; i++ {
		fmt.Fprintf(&b, "%d 1 0:%d / %s/%d rw shared:1 - tmpfs src rw\n", i+2, i, long, i)
	}
	n := 0
	err := Scan(strings.NewReader(b.String()), func(e Entry) error {
		if !strings.HasPrefix(e.MountDir, long+"/") || len(e.Optional) != 1 {
			return fmt.Errorf("entry %d: %.40q", n, e.MountDir)
		}
		n++
		return nil
	})
	if err != nil || n < big/len(long) {
		t.Fatalf("Scan: %d entries, %v", n, err)
	}
	stop := errors.New("stop")
	if err := Scan(strings.NewReader(sample), func(Entry) error { return stop }); err != stop {
		t.Fatalf("Scan does not stop at fn's error: %v", err)
	}
	if err := Scan(strings.NewReader("1 1 7:3 / / ro squashfs a ro"), func(Entry) error { return nil }); err == nil || !strings.HasPrefix(err.Error(), "cannot parse mountinfo line 1") {
		t.Fatalf("Scan of a bad last line without newline: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("1 2 3:4 / / rw - x y z\n"))
	f.Add([]byte(`1 2 3:4 /\1 / rw - x y z`))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ReadAll(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, e := range es {
			if len(e.Optional) > len(data) {
				t.Fatalf("more optional fields than bytes: %+v", e)
			}
		}
	})
}

// ReadAll reads a whole mount table from r with Scan (snap-ns's way).
func ReadAll(r io.Reader) ([]Entry, error) {
	var entries []Entry
	err := Scan(r, func(e Entry) error {
		entries = append(entries, e)
		return nil
	})
	return entries, err
}
