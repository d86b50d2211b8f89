package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

//go:generate sh -c "python3 testdata/gen_vectors.py > testdata/json_vectors.json"

type jsonVector struct {
	Input  json.RawMessage `json:"input"`
	Output string          `json:"output"`
}

func loadVectors(tb testing.TB) ([]byte, []jsonVector) {
	tb.Helper()
	data, err := os.ReadFile("testdata/json_vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []jsonVector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatal(err)
	}
	if len(vs) < 40 {
		tb.Fatalf("only %d vectors", len(vs))
	}
	return data, vs
}

// TestCanonicalJSONVectors compares CanonicalJSON with Python's json.dumps
// on the committed vectors.
func TestCanonicalJSONVectors(t *testing.T) {
	_, vs := loadVectors(t)
	for i, v := range vs {
		d := json.NewDecoder(bytes.NewReader(v.Input))
		d.UseNumber()
		var in any
		if err := d.Decode(&in); err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		got, err := CanonicalJSON(in)
		if err != nil {
			t.Errorf("vector %d %s: %v", i, v.Input, err)
			continue
		}
		if string(got) != v.Output {
			t.Errorf("vector %d:\n got %s\nwant %s", i, got, v.Output)
		}
	}
}

// TestCanonicalJSONVectorsFresh re-runs the generator with the local python3
// so the committed vectors cannot drift from Python.
func TestCanonicalJSONVectorsFresh(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	committed, _ := loadVectors(t)
	out, err := exec.Command(py, "testdata/gen_vectors.py").Output()
	if err != nil {
		t.Fatalf("gen_vectors.py: %v", err)
	}
	if !bytes.Equal(out, committed) {
		t.Fatal("testdata/json_vectors.json differs from python3 testdata/gen_vectors.py output; run go generate")
	}
}

func TestCanonicalJSONGoTypes(t *testing.T) {
	type named string
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"int64 min", int64(math.MinInt64), "-9223372036854775808"},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709551615"},
		{"small ints", []any{int8(-8), int16(16), int32(-32), uint8(8), uint16(16), uint32(32), uint(7), 3}, "[-8,16,-32,8,16,32,7,3]"},
		{"string slice", []string{"b", "a\u00e9"}, `["b","a\u00e9"]`},
		{"manifest pairs", [][2]string{{"a", "1"}, {"b", "2"}}, `[["a","1"],["b","2"]]`},
		{"string map", map[string]string{"z": "1", "a": "<&>"}, `{"a":"<&>","z":"1"}`},
		{"nested map", map[string]any{"k": map[string][]int{"x": {1, 2}}}, `{"k":{"x":[1,2]}}`},
		{"nil slice", []any(nil), "[]"},
		{"nil typed slice", []string(nil), "[]"},
		{"nil map", map[string]any(nil), "{}"},
		{"nil pairs", [][2]string(nil), "[]"},
		{"nil string map", map[string]string(nil), "{}"},
		{"named string", named("x"), ""},
		{"float32", float32(0.5), "0.5"},
		{"float64", 1e22, "1e+22"},
		{"json.Number int", json.Number("-0"), "0"},
		{"json.Number big", json.Number("123456789012345678901234567890"), "123456789012345678901234567890"},
		{"json.Number float", json.Number("1.50"), "1.5"},
		{"json.Number exp int", json.Number("1E2"), "100.0"},
		{"key order by code point", map[string]any{"\U0001F600": 1, "\uffff": 2, "a": 3}, `{"a":3,"\uffff":2,"\ud83d\ude00":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalJSON(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrJSON) {
					t.Fatalf("got %s, %v; want ErrJSON", got, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestCanonicalJSONErrors(t *testing.T) {
	deep := any("x")
	for range maxJSONDepth + 1 {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		in   any
	}{
		{"invalid utf8 value", "a\xffb"},
		{"invalid utf8 key", map[string]any{"\xc3": 1}},
		{"NaN", math.NaN()},
		{"Inf", math.Inf(-1)},
		{"Infinity number", json.Number("1e400")},
		{"bad number", json.Number("01")},
		{"number text", json.Number("abc")},
		{"struct", struct{ A int }{1}},
		{"int keys", map[int]string{1: "a"}},
		{"pointer", new(int)},
		{"nested bad", []any{map[string]any{"a": []any{math.NaN()}}}},
		{"too deep", deep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalJSON(tt.in)
			if !errors.Is(err, ErrJSON) {
				t.Fatalf("got %s, %v; want ErrJSON", got, err)
			}
		})
	}
}

// FuzzCanonicalJSONString: any valid UTF-8 string serializes to pure
// printable ASCII JSON that decodes back to the same string.
func FuzzCanonicalJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "é😀\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalJSON(map[string]any{s: s})
		if err != nil {
			if !errors.Is(err, ErrJSON) || strings.ToValidUTF8(s, "") == s {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		for _, c := range out {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("%q: output byte %#x", s, c)
			}
		}
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil || len(back) != 1 || back[s] != s {
			t.Fatalf("%q: %s decodes to %q, %v", s, out, back, err)
		}
	})
}
