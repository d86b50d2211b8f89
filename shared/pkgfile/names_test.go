package pkgfile

import (
	"errors"
	"testing"
	"time"
)

func TestCheckName(t *testing.T) {
	good := []string{"setup.py", "WAPT/control", "a/b/c.txt", "dir/", "données/été.txt", ".hidden", "a..b", "...x", "x y/z"}
	bad := []string{"", "/a", "../a", "a/..", "a/../b", "./a", "a/.", "a//b", "a\\b", "C:/a", "c:", "a:b",
		"a\x00", "a\x1f", "a\x7f", "a\u0085", "a.", "a ", "a./b", "\xff", string(make([]byte, maxNameLen+1))}
	for _, n := range good {
		if err := checkName(n); err != nil {
			t.Errorf("checkName(%q): %v", n, err)
		}
	}
	for _, n := range bad {
		if err := checkName(n); !errors.Is(err, ErrUnsafePath) {
			t.Errorf("checkName(%q) = %v, want ErrUnsafePath", n, err)
		}
	}
}

func TestNameTree(t *testing.T) {
	tests := []struct {
		names []string
		ok    bool
	}{
		{[]string{"a/b", "a/c", "a/"}, true},
		{[]string{"a/", "a/b"}, true},
		{[]string{"a/b", "A/c"}, true},
		{[]string{"a", "b"}, true},
		{[]string{"a", "A"}, false},
		{[]string{"ä", "Ä"}, false},
		{[]string{"a/b", "a"}, false},
		{[]string{"a", "a/b"}, false},
		{[]string{"a/", "a"}, false},
		{[]string{"a/", "A/"}, false},
	}
	for _, tt := range tests {
		tree := nameTree{}
		var err error
		for _, n := range tt.names {
			if err = tree.add(n); err != nil {
				break
			}
		}
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v, want ok=%v", tt.names, err, tt.ok)
		}
	}
}

func TestDOSTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want time.Time
	}{
		{time.Date(2026, 3, 10, 12, 34, 57, 0, time.UTC), time.Date(2026, 3, 10, 12, 34, 56, 0, time.UTC)},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)},
		{time.Date(2026, 3, 10, 23, 0, 0, 0, time.FixedZone("x", -3600)), time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		d, tm := dosDateTime(tt.in)
		if !validDOSTime(tm, d) {
			t.Errorf("%v: invalid %#x %#x", tt.in, tm, d)
		}
		got := time.Date(int(d>>9)+1980, time.Month(d>>5&0xf), int(d&0x1f), int(tm>>11), int(tm>>5&0x3f), int(tm&0x1f)*2, 0, time.UTC)
		if !got.Equal(tt.want) {
			t.Errorf("%v → %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMethodChoice(t *testing.T) {
	pw := newPackWriter(nil)
	tests := []struct {
		name string
		data []byte
		want uint16
	}{
		{"empty", nil, methodStore},
		{"random", randomBytes(100_000, 1), methodStore},
		{"text", textBytes(100_000), methodDeflate},
		{"tiny", []byte("ab"), methodStore},
		{"random head, text tail", append(randomBytes(sampleSize, 2), textBytes(1_000_000)...), methodStore},
	}
	for _, tt := range tests {
		if got := pw.method(tt.data); got != tt.want {
			t.Errorf("%s: method %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestReservedBase(t *testing.T) {
	for _, s := range []string{"CON", "con.txt", "Nul", "aux.tar.gz", "COM1", "lpt9.log", "PRN "} {
		if !reservedBase(s) {
			t.Errorf("%q not reserved", s)
		}
	}
	for _, s := range []string{"console", "com", "COM0", "LPT10", "a.con", "nul_"} {
		if reservedBase(s) {
			t.Errorf("%q reserved", s)
		}
	}
	if seg, ok := reservedName("dir/CON.txt"); !ok || seg != "CON.txt" {
		t.Errorf("reservedName: %q %v", seg, ok)
	}
}
