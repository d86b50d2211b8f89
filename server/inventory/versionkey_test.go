package inventory

import (
	"bytes"
	"testing"

	"github.com/wapt-go/wapt/shared/version"
)

var keyVersions = []string{
	"0", "0.0.0.1", "1", "1.0", "1.0.0.0-0", "1-1", "1.0-2", "1.0a", "1.0b", "1.0rc1", "1.0rc10", "1.0RC2",
	"1.01", "1.1", "1.9", "1.10", "1.a", "1.a1", "1.b", "1.0~1", "1.0+1", "1.0_1", "2", "10", "9.9.9.9",
	"115.0.2-3", "115.0.2-12", "115.0.10", "0001.2", "1.2.3.4", "1.2.3.4-99999999999",
	"123456789012345678901234567890", "123456789012345678901234567891", "a", "b", "a1b2", "a1b10",
}

func TestVersionKeyOrder(t *testing.T) {
	for _, a := range keyVersions {
		for _, b := range keyVersions {
			va, vb := version.MustParse(a), version.MustParse(b)
			want := version.Compare(va, vb)
			if got := bytes.Compare(VersionKey(va), VersionKey(vb)); got != want {
				t.Errorf("keys of %q and %q compare %d, versions %d", a, b, got, want)
			}
		}
	}
}

func inRange(k []byte, r KeyRange) bool {
	if r.Lo != nil {
		c := bytes.Compare(k, r.Lo)
		if c < 0 || c == 0 && !r.LoIncl {
			return false
		}
	}
	if r.Hi != nil {
		c := bytes.Compare(k, r.Hi)
		if c > 0 || c == 0 && !r.HiIncl {
			return false
		}
	}
	return true
}

// TestRangeMatchesRequest checks the SQL-side range against
// version.Request.Matches for every operator, with and without packaging.
func TestRangeMatchesRequest(t *testing.T) {
	ops := []version.Op{version.OpEq, version.OpEqEq, version.OpLt, version.OpLe, version.OpGt, version.OpGe}
	for _, rv := range keyVersions {
		for _, op := range ops {
			r, err := version.ParseRequest("p(" + string(op) + rv + ")")
			if err != nil {
				t.Fatal(err)
			}
			kr, ok := rangeFor(r)
			if !ok {
				t.Fatalf("%s: no range", r)
			}
			for _, v := range keyVersions {
				pv := version.MustParse(v)
				if got, want := inRange(VersionKey(pv), kr), r.Matches("p", pv); got != want {
					t.Errorf("%s against %q: range says %v, Matches %v", r, v, got, want)
				}
			}
		}
	}
}
