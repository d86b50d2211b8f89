package version

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func mustParse(tb testing.TB, s string) Version {
	tb.Helper()
	v, err := Parse(s)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", s, err)
	}
	return v
}

// assertNamesInput checks that err quotes in (its first 30 bytes when long).
func assertNamesInput(tb testing.TB, err error, in string) {
	tb.Helper()
	want := strconv.Quote(in)
	if len(in) > 30 {
		want = in[:30]
	}
	if !strings.Contains(err.Error(), want) {
		tb.Errorf("error %q does not name the input %s", err, want)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2", "1.10", -1},
		{"7", "7.0", 0},
		{"7", "7.0.0.0", 0},
		{"7.0.0.1", "7", 1},
		{"1.2.3-1", "1.2.3-10", -1},
		{"1.2.3-10", "1.2.3-9", 1},
		{"1.2.3", "1.2.3-0", 0}, // missing packaging counts as 0
		{"1.2.3", "1.2.3-1", -1},
		{"1.2.4-1", "1.2.3-99", 1}, // upstream first
		{"1.01", "1.1", 0},         // digit runs compare as integers
		{"1.0a", "1.0b", -1},
		{"1.0", "1.0a", -1}, // a member that is a prefix sorts first
		{"1.0", "1.0rc1", -1},
		{"1.0rc1", "1.0rc2", -1},
		{"1.0rc2", "1.0rc10", -1},
		{"1.0RC1", "1.0rc1", 0}, // text is case-insensitive
		{"1.0A", "1.0b", -1},
		{"1.9", "1.a", -1}, // numeric < text
		{"1.a", "1.0", 1},
		{"1.~", "1.a", 1}, // text runs compare by ASCII code
		{"1.+", "1._", -1},
		{"1.2_3", "1.2_10", -1},
		{"99999999999999999999999999999998", "99999999999999999999999999999999", -1},
		{"100000000000000000000000000000000", "99999999999999999999999999999999", 1},
		{"0000000000000000000000000000000007", "7", 0},
		{"1.2.3.4-5", "1.2.3.4-5", 0},
		{" 1.2 ", "1.2", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			a, b := mustParse(t, tt.a), mustParse(t, tt.b)
			if got := Compare(a, b); got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := Compare(b, a); got != -tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestCompareUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2-1", "1.2-9", 0},
		{"1.2-9", "1.3-1", -1},
		{"1.2", "1.2-5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			if got := CompareUpstream(mustParse(t, tt.a), mustParse(t, tt.b)); got != tt.want {
				t.Errorf("CompareUpstream(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestParseAccessors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, str, upstream string
		packaging         int
		hasPackaging      bool
	}{
		{"1.2.3-4", "1.2.3-4", "1.2.3", 4, true},
		{" 7 ", "7", "7", 0, false},
		{"1.0rc1-007", "1.0rc1-007", "1.0rc1", 7, true},
		{"2024.1.15", "2024.1.15", "2024.1.15", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v := mustParse(t, tt.in)
			if v.String() != tt.str || v.Upstream() != tt.upstream || v.Packaging() != tt.packaging || v.HasPackaging() != tt.hasPackaging || v.IsZero() {
				t.Errorf("Parse(%q) = String %q Upstream %q Packaging %d HasPackaging %v IsZero %v; want %q %q %d %v false",
					tt.in, v.String(), v.Upstream(), v.Packaging(), v.HasPackaging(), v.IsZero(),
					tt.str, tt.upstream, tt.packaging, tt.hasPackaging)
			}
		})
	}
	if !(Version{}).IsZero() {
		t.Error("zero Version: IsZero() = false")
	}
	if got := Compare(Version{}, mustParse(t, "0")); got != 0 {
		t.Errorf("Compare(zero, 0) = %d, want 0", got)
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"spaces", "   "},
		{"five members", "1.2.3.4.5"},
		{"empty member", "1..2"},
		{"leading dot", ".1"},
		{"trailing dot", "1."},
		{"text packaging", "1.2-x"},
		{"empty packaging", "1.2-"},
		{"signed packaging", "1.2-+3"},
		{"empty upstream", "-3"},
		{"two dashes", "1.2-3-4"},
		{"space inside", "1. 2"},
		{"bad char", "1.2$"},
		{"non-ASCII", "1.é"},
		{"huge packaging", "1-99999999999999999999999"},
		{"too long", strings.Repeat("1", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Parse(tt.in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v, %v; want ErrInvalid", tt.in, v, err)
			}
			in := strings.TrimSpace(tt.in)
			if in == "" {
				in = tt.in
			}
			assertNamesInput(t, err, in)
		})
	}
}

func TestMustParsePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"1..2\") did not panic")
		}
	}()
	MustParse("1..2")
}
