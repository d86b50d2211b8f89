package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"testing"
)

// missingRunner behaves as if no command were installed.
func missingRunner(_ context.Context, name string, _ ...string) ([]byte, error) {
	return nil, fmt.Errorf("exec: %q: %w", name, exec.ErrNotFound)
}

func sectionNamesOf(secs []Section) []string {
	var n []string
	for _, s := range secs {
		n = append(n, s.Name)
	}
	return n
}

func TestCollectFailingRunner(t *testing.T) {
	t.Parallel()
	secs, err := Collect(t.Context(), Options{Runner: missingRunner, Root: "testdata/root"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sectionNamesOf(secs); !slices.Equal(got, allSections) || !slices.IsSorted(got) {
		t.Fatalf("sections = %q, want %q", got, allSections)
	}
	m := Map(secs)
	for _, s := range secs {
		if !json.Valid(s.Data) {
			t.Errorf("%s: invalid JSON %s", s.Name, s.Data)
		}
		switch s.Name {
		case SectionSoftware:
			if s.Err == nil || !errors.Is(s.Err, exec.ErrNotFound) {
				t.Errorf("software err = %v, want one wrapping exec.ErrNotFound", s.Err)
			}
			var body struct{ Error string }
			if err := json.Unmarshal(s.Data, &body); err != nil || body.Error == "" {
				t.Errorf("software data = %s, want {\"error\": …}", s.Data)
			}
		case SectionHost, SectionCPU, SectionMemory:
			if s.Err != nil {
				t.Errorf("%s: %v", s.Name, s.Err)
			}
		}
		if string(m[s.Name]) != string(s.Data) {
			t.Errorf("Map[%s] differs", s.Name)
		}
	}
	var host hostInfo
	if err := json.Unmarshal(m[SectionHost], &host); err != nil || host.Hostname == "" || host.OS == "" {
		t.Errorf("host = %s (%v)", m[SectionHost], err)
	}
}

func TestCollectSections(t *testing.T) {
	t.Parallel()
	secs, err := Collect(t.Context(), Options{Runner: missingRunner, Sections: []string{SectionMemory, SectionHost, SectionMemory}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sectionNamesOf(secs); !slices.Equal(got, []string{SectionHost, SectionMemory}) {
		t.Errorf("sections = %q", got)
	}
	var mem map[string]any
	if err := json.Unmarshal(Map(secs)[SectionMemory], &mem); err != nil {
		t.Fatal(err)
	}
	if _, ok := mem["total_bytes"]; !ok {
		t.Errorf("memory = %v, want total_bytes", mem)
	}
	if _, ok := mem["available_bytes"]; ok {
		t.Error("memory carries available_bytes, which would change its hash at every report")
	}

	if _, err := Collect(t.Context(), Options{Sections: []string{"host", "bogus"}}); !errors.Is(err, ErrUnknownSection) {
		t.Errorf("unknown section: err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Collect(ctx, Options{Runner: missingRunner}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestCollectRecoversPanic(t *testing.T) {
	t.Parallel()
	boom := func(context.Context, string, ...string) ([]byte, error) { panic("boom") }
	secs, err := Collect(t.Context(), Options{Runner: boom, Sections: []string{SectionSoftware, SectionHost}, Root: "testdata/root"})
	if err != nil {
		t.Fatal(err)
	}
	// Whether software calls the runner depends on the OS; either way the
	// panic must not escape and the host section must be there.
	if s := secs[0]; s.Name != SectionHost || s.Err != nil {
		t.Errorf("host = %+v", s)
	}
}

// The hashed sections must not change between two collections of an
// unchanged machine.
func TestCollectDeterministic(t *testing.T) {
	t.Parallel()
	opt := Options{Sections: []string{SectionHost, SectionCPU, SectionMemory, SectionSoftware, SectionDMI}}
	a, err := Collect(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Collect(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if Hash(a[i].Data) != Hash(b[i].Data) {
			t.Errorf("%s changed:\n%s\n%s", a[i].Name, a[i].Data, b[i].Data)
		}
	}
}

func TestHashAndMap(t *testing.T) {
	t.Parallel()
	if got, want := Hash([]byte("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
	m := Map([]Section{{Name: "a", Data: json.RawMessage(`1`)}, {Name: "b", Data: json.RawMessage(`{"error":"x"}`)}})
	if len(m) != 2 || string(m["a"]) != "1" || string(m["b"]) != `{"error":"x"}` {
		t.Errorf("Map = %q", m)
	}
}

// TestEncodeStableUnderRemarshal: a section's bytes are what a client
// sends after marshalling the report (encoding/json escapes HTML in a
// RawMessage again), so the hash the agent computes is the hash of what the
// server receives.
func TestEncodeStableUnderRemarshal(t *testing.T) {
	t.Parallel()
	b, err := encode([]Software{{Name: "a", Publisher: "A <a@example.org> & co", Source: "dpkg"}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(struct {
		D json.RawMessage `json:"d"`
	}{b})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":` + string(b) + `}`; string(again) != want {
		t.Errorf("re-marshalled %s, want %s", again, want)
	}
	var back []Software
	if err := json.Unmarshal(b, &back); err != nil || back[0].Publisher != "A <a@example.org> & co" {
		t.Errorf("decoded %+v %v", back, err)
	}
}

// BenchmarkCollect is one full real collection of this machine.
func BenchmarkCollect(b *testing.B) {
	b.ReportAllocs()
	var bytes int
	for b.Loop() {
		secs, err := Collect(b.Context(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		bytes = 0
		for _, s := range secs {
			bytes += len(s.Data)
		}
	}
	b.ReportMetric(float64(bytes), "json-bytes")
}
