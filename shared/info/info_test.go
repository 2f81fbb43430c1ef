// SPDX-License-Identifier: GPL-3.0-only

package info_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/snapns/snapns/shared/info"
)

// checkParseError checks the contract of every Parse error: one line that
// starts with "cannot parse info file".
func checkParseError(t *testing.T, in info.Info, err error, wantSub string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Parse accepted the input and returned %+v", in)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "cannot parse info file") {
		t.Errorf("error %q does not start with \"cannot parse info file\"", msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q is more than one line", msg)
	}
	if wantSub != "" && !strings.Contains(msg, wantSub) {
		t.Errorf("error %q does not mention %q", msg, wantSub)
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   info.Info
		want string
	}{
		{"snapd's file", info.Info{BaseSnapName: "core"}, "base-snap-name=core\n"},
		{"with a mount namespace id", info.Info{BaseSnapName: "core22", MountNSID: 4026531841}, "base-snap-name=core22\nmount-ns-id=4026531841\n"},
		{"id one", info.Info{BaseSnapName: "bare", MountNSID: 1}, "base-snap-name=bare\nmount-ns-id=1\n"},
		{"largest id", info.Info{BaseSnapName: "core24", MountNSID: math.MaxUint64}, "base-snap-name=core24\nmount-ns-id=18446744073709551615\n"},
		{"longest base", info.Info{BaseSnapName: strings.Repeat("b", 40), MountNSID: 7}, "base-snap-name=" + strings.Repeat("b", 40) + "\nmount-ns-id=7\n"},
		{"an inode, before Linux 6.8", info.Info{BaseSnapName: "core22", MountNSInode: 4026532301}, "base-snap-name=core22\nmount-ns-inode=4026532301\n"},
		{"a layer's inodes", info.Info{BaseSnapName: "core22", MountNSInode: 4026532302, ParentMountNSInode: 4026532301}, "base-snap-name=core22\nmount-ns-inode=4026532302\nparent-mount-ns-inode=4026532301\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := info.Format(tc.in)
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			if string(data) != tc.want {
				t.Errorf("Format = %q, want %q", data, tc.want)
			}
			if !strings.HasPrefix(string(data), info.BaseSnapNameKey+"="+tc.in.BaseSnapName+"\n") {
				t.Errorf("Format = %q: snapd's line is not first", data)
			}
			got, err := info.Parse(data)
			if err != nil {
				t.Fatalf("Parse(%q): %v", data, err)
			}
			if !reflect.DeepEqual(got, tc.in) {
				t.Errorf("Parse(Format(%+v)) = %+v", tc.in, got)
			}
		})
	}
}

func TestParseReadsSnapdInfoFile(t *testing.T) {
	// snap-confine writes exactly "base-snap-name=%s\n" (ns-support.c).
	for _, tc := range []struct {
		name  string
		input string
		want  info.Info
	}{
		{"core", "base-snap-name=core\n", info.Info{BaseSnapName: "core"}},
		{"core22", "base-snap-name=core22\n", info.Info{BaseSnapName: "core22"}},
		{"without final newline", "base-snap-name=core\n"[:len("base-snap-name=core")], info.Info{BaseSnapName: "core"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := info.Parse([]byte(tc.input))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.input, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.input, got, tc.want)
			}
			if got.MountNSID != 0 {
				t.Errorf("Parse(%q): MountNSID = %d, want 0 (unknown)", tc.input, got.MountNSID)
			}
		})
	}
}

func TestParseIgnoresUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  info.Info
	}{
		{"unknown key after", "base-snap-name=core\nfuture-key=whatever\n", info.Info{BaseSnapName: "core"}},
		{"unknown key before", "future-key=whatever\nbase-snap-name=core\n", info.Info{BaseSnapName: "core"}},
		{"unknown key twice", "x=1\nbase-snap-name=core\nx=2\n", info.Info{BaseSnapName: "core"}},
		{"unknown key with a bad value", "base-snap-name=core\nbase-revision=../../x\n", info.Info{BaseSnapName: "core"}},
		{"empty key", "=core\nbase-snap-name=core\n", info.Info{BaseSnapName: "core"}},
		{"known key in other case", "BASE-SNAP-NAME=Core\nbase-snap-name=core\n", info.Info{BaseSnapName: "core"}},
		{"unknown key and an id", "base-snap-name=core18\nfuture-snapd-key=/home\nmount-ns-id=42\n", info.Info{BaseSnapName: "core18", MountNSID: 42}},
		{"blank lines", "\n\nbase-snap-name=core\n\n", info.Info{BaseSnapName: "core"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := info.Parse([]byte(tc.input))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.input, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.input, got, tc.want)
			}
		})
	}
}

func TestParseRefusesDuplicateKnownKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
	}{
		{"base twice, same value", "base-snap-name=core\nbase-snap-name=core\n"},
		{"base twice, other value", "base-snap-name=core\nbase-snap-name=core22\n"},
		{"base twice, apart", "base-snap-name=core\nx=1\nbase-snap-name=core22\n"},
		{"id twice", "base-snap-name=core\nmount-ns-id=1\nmount-ns-id=1\n"},
		{"id twice, other value", "mount-ns-id=1\nbase-snap-name=core\nmount-ns-id=2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := info.Parse([]byte(tc.input))
			checkParseError(t, in, err, "duplicate key")
		})
	}
}

func TestParseRefusesBadBaseName(t *testing.T) {
	for _, base := range []string{
		"", "Core", "CORE", "../x", "core/..", "core_x", "core.1", "a", "-core", "core-",
		strings.Repeat("b", 41), "core\r", " core", "core ", "core\x00",
	} {
		t.Run(base, func(t *testing.T) {
			input := "base-snap-name=" + base + "\n"
			in, err := info.Parse([]byte(input))
			checkParseError(t, in, err, "")
		})
	}
}

func TestParseRefusesBadMountNSID(t *testing.T) {
	for _, key := range []string{info.MountNSIDKey, info.MountNSInodeKey, info.ParentMountNSInodeKey} {
		for _, id := range []string{
			"0", "-1", "x", "", "18446744073709551616", "99999999999999999999999",
			"+1", "0x10", " 1", "1 ", "1.0", "1e3", "1_000", "1\r", "1\x00",
		} {
			t.Run(key+"/"+id, func(t *testing.T) {
				input := "base-snap-name=core\n" + key + "=" + id + "\n"
				in, err := info.Parse([]byte(input))
				checkParseError(t, in, err, key)
			})
		}
	}
}

// A file records the kernel's ids or, before Linux 6.8, inodes: never
// both, which would leave it open which one a reader trusts.
func TestParseRefusesIDsAndInodesTogether(t *testing.T) {
	for _, input := range []string{
		"base-snap-name=core\nmount-ns-id=5\nmount-ns-inode=4026532301\n",
		"base-snap-name=core\nmount-ns-inode=4026532301\nparent-mount-ns-id=5\n",
	} {
		in, err := info.Parse([]byte(input))
		checkParseError(t, in, err, "both")
	}
}

func TestParseRefusesMissingBase(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
	}{
		{"empty", ""},
		{"blank line", "\n"},
		{"id only", "mount-ns-id=5\n"},
		{"unknown keys only", "future-key=x\nother=y\n"},
		{"base key with a space", "base-snap-name =core\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := info.Parse([]byte(tc.input))
			checkParseError(t, in, err, "no base-snap-name")
		})
	}
}

func TestParseRefusesLinesThatAreNotKeyValue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
	}{
		{"garbage after", "base-snap-name=core\ngarbage\n"},
		{"garbage before", "garbage\nbase-snap-name=core\n"},
		{"NUL line", "base-snap-name=core\n\x00\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := info.Parse([]byte(tc.input))
			checkParseError(t, in, err, "not key=value")
		})
	}
}

func TestParseRefusesOversizeFile(t *testing.T) {
	valid := "base-snap-name=core\n"
	atMax := valid + strings.Repeat("\n", info.MaxSize-len(valid))
	if _, err := info.Parse([]byte(atMax)); err != nil {
		t.Errorf("Parse of %d bytes (the limit): %v", len(atMax), err)
	}
	for _, tc := range []struct {
		name  string
		input string
	}{
		{"valid file padded", atMax + "\n"},
		{"junk", strings.Repeat("x", info.MaxSize+1)},
		{"many unknown keys", strings.Repeat("x=y\n", info.MaxSize/4) + valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := info.Parse([]byte(tc.input))
			checkParseError(t, in, err, "over the limit")
		})
	}
}

func TestFormatRefusesBadBaseName(t *testing.T) {
	for _, base := range []string{"", "Core", "../x", "core\nmount-ns-id=1", strings.Repeat("b", 41)} {
		t.Run(base, func(t *testing.T) {
			data, err := info.Format(info.Info{BaseSnapName: base, MountNSID: 1})
			if err == nil {
				t.Fatalf("Format accepted base %q and wrote %q", base, data)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cannot format info file") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line starting with \"cannot format info file\"", msg)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"base-snap-name=core\n",
		"base-snap-name=core22\nmount-ns-id=4026531841\n",
		"base-snap-name=core\nfuture-key=x\n",
		"mount-ns-id=01\nbase-snap-name=core\n",
		"base-snap-name=core\nbase-snap-name=core\n",
		"base-snap-name=Core\n",
		"base-snap-name=core\nmount-ns-id=0\n",
		"",
		"\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := info.Parse(data)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "cannot parse info file") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line starting with \"cannot parse info file\"", msg)
			}
			return
		}
		formatted, err := info.Format(in)
		if err != nil {
			t.Fatalf("Parse accepted %q as %+v but Format refuses it: %v", data, in, err)
		}
		again, err := info.Parse(formatted)
		if err != nil {
			t.Fatalf("Format(Parse(%q)) = %q does not parse: %v", data, formatted, err)
		}
		if !reflect.DeepEqual(again, in) {
			t.Errorf("Parse(%q) = %+v but Parse(Format(...)) = %+v", data, in, again)
		}
	})
}
