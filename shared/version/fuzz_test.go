package version

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{"1.2", "1.10"}, {"7", "7.0"}, {"1.2.3-1", "1.2.3-10"}, {"1.0a", "1.0B"},
		{"1.0rc1", "1.0"}, {"00012345678901234567890", "12345678901234567890"},
		{"1..2", "1.2-x"}, {"", "1.2.3.4.5"}, {"~+_", "a_b+c~d"}, {"1-0", "1-00"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := Parse(a)
		vb, errB := Parse(b)
		for _, c := range []struct {
			in  string
			v   Version
			err error
		}{{a, va, errA}, {b, vb, errB}} {
			if c.err != nil {
				if !errors.Is(c.err, ErrInvalid) {
					t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", c.in, c.err)
				}
				continue
			}
			again, err := Parse(c.v.String())
			if err != nil {
				t.Fatalf("Parse(%q).String() = %q does not parse: %v", c.in, c.v, err)
			}
			if again.String() != c.v.String() || Compare(again, c.v) != 0 {
				t.Fatalf("round trip of %q: got %q (Compare %d)", c.in, again, Compare(again, c.v))
			}
			if Compare(c.v, c.v) != 0 {
				t.Fatalf("Compare(%q, itself) != 0", c.in)
			}
		}
		if errA == nil && errB == nil {
			ab, ba := Compare(va, vb), Compare(vb, va)
			if ab != -ba || ab < -1 || ab > 1 {
				t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, ab, b, a, ba)
			}
			if u := CompareUpstream(va, vb); u != 0 && u != ab {
				t.Fatalf("CompareUpstream(%q, %q) = %d but Compare = %d", a, b, u, ab)
			}
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"tis-firefox", "tis-firefox(=1.2)", "app(>=1.2-3)", "app (>=1.2)", "app ( <= 1.2 )",
		"(", "name(>=)", "name()", "a(=>1)", "OU=room1", "x(<1.0rc1)", "a,b",
	} {
		f.Add(s, "1.2-3")
	}
	f.Fuzz(func(t *testing.T, s, ver string) {
		r, err := ParseRequest(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRequest(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		again, err := ParseRequest(r.String())
		if err != nil {
			t.Fatalf("ParseRequest(%q).String() = %q does not parse: %v", s, r, err)
		}
		if again.Name != r.Name || again.Op != r.Op || again.Version.String() != r.Version.String() {
			t.Fatalf("round trip of %q: %+v, then %+v", s, r, again)
		}
		if v, err := Parse(ver); err == nil {
			if r.Matches(r.Name, v) != again.Matches(r.Name, v) {
				t.Fatalf("%q and its round trip disagree on %q", s, ver)
			}
			if r.Op == OpAny && !r.Matches(r.Name, v) {
				t.Fatalf("%q (no condition) does not match %q", s, ver)
			}
		}
	})
}
