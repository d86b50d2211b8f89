package uplink

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	highest := func(n int64) int64 { return n - 1 } // the top of the range
	lowest := func(int64) int64 { return 0 }
	tests := []struct {
		name     string
		min, max time.Duration
		randN    func(int64) int64
		want     []time.Duration
	}{
		{"doubles up to max", time.Second, 5 * time.Second, highest,
			[]time.Duration{1, 2, 4, 5, 5}},
		{"full jitter reaches zero", time.Second, 5 * time.Second, lowest,
			[]time.Duration{0, 0, 0, 0, 0}},
		{"min equals max", 3 * time.Second, 3 * time.Second, highest,
			[]time.Duration{3, 3, 3}},
		{"defaults", defaultMinBackoff, defaultMaxBackoff, highest,
			[]time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := backoff{min: tt.min, max: tt.max, randN: tt.randN}
			var got []time.Duration
			for range tt.want {
				got = append(got, b.next()/time.Second)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pauses (s) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffJitterAndReset(t *testing.T) {
	t.Parallel()
	b := backoff{min: 10 * time.Millisecond, max: time.Second, randN: rand.Int64N}
	seen := map[bool]int{} // below/above half the ceiling
	for attempt := range 200 {
		ceiling := b.ceiling(b.attempt)
		d := b.next()
		if d < 0 || d > ceiling || d > time.Second {
			t.Fatalf("attempt %d: pause %s outside [0, %s]", attempt, d, ceiling)
		}
		seen[d > ceiling/2]++
	}
	if seen[false] == 0 || seen[true] == 0 {
		t.Errorf("pauses not spread over the range: %v", seen)
	}
	// Many failures must not overflow.
	if c := b.ceiling(1000); c != time.Second {
		t.Errorf("ceiling(1000) = %s, want 1s", c)
	}
	b.reset()
	if d := b.next(); d > 10*time.Millisecond {
		t.Errorf("after reset: pause %s, want ≤ 10ms", d)
	}
	if b.attempt != 1 {
		t.Errorf("after reset and next: attempt %d, want 1", b.attempt)
	}
}

func res(id, state string, progress int) wire.ActionResult {
	return wire.ActionResult{ID: id, State: state, Progress: progress}
}

// sendAll simulates one connection writing every pending result.
func sendAll(q *results) []wire.ActionResult {
	var out []wire.ActionResult
	for _, p := range q.pending() {
		out = append(out, p.r)
		q.written(p.r.ID, p.seq)
	}
	return out
}

func ids(rs []wire.ActionResult) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s:%s:%d", r.ID, r.State, r.Progress))
	}
	return strings.Join(s, " ")
}

func TestResultsQueue(t *testing.T) {
	t.Parallel()
	q := newResults(100)
	q.put(res("a", wire.ActionRunning, 10))
	q.put(res("b", wire.ActionReceived, 0))
	q.put(res("a", wire.ActionRunning, 50)) // latest wins, moves to the end
	q.put(res("c", wire.ActionDone, 100))
	if got, want := ids(sendAll(q)), "b:received:0 a:running:50 c:done:100"; got != want {
		t.Errorf("first connection sent %q, want %q", got, want)
	}
	if got := ids(sendAll(q)); got != "" {
		t.Errorf("same connection re-sent %q", got)
	}
	// Reconnection: the non-final results again, not the final one.
	q.reconnected()
	if got, want := ids(sendAll(q)), "b:received:0 a:running:50"; got != want {
		t.Errorf("after reconnection sent %q, want %q", got, want)
	}
	// A result updated while its previous version was being written is
	// still sent.
	p := q.pending()
	q.put(res("a", wire.ActionDone, 100))
	for _, x := range p {
		q.written(x.r.ID, x.seq)
	}
	if got, want := ids(sendAll(q)), "a:done:100"; got != want {
		t.Errorf("after an update sent %q, want %q", got, want)
	}
	if q.len() != 1 { // b, still received
		t.Errorf("kept %d results, want 1", q.len())
	}
	// A final result that could not be written stays.
	q.put(res("d", wire.ActionError, 0))
	q.reconnected()
	if got, want := ids(sendAll(q)), "b:received:0 d:error:0"; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	q.drop("b", 1) // old version: no effect
	if q.len() != 1 {
		t.Errorf("drop of an old version removed the result")
	}
}

func TestResultsBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		put     []wire.ActionResult
		dropped []string
		kept    string
	}{
		{
			name:    "oldest non-final first",
			put:     []wire.ActionResult{res("a", wire.ActionDone, 0), res("b", wire.ActionRunning, 0), res("c", wire.ActionRunning, 0), res("d", wire.ActionReceived, 0)},
			dropped: []string{"", "", "", "b"},
			kept:    "a:done:0 c:running:0 d:received:0",
		},
		{
			name:    "update refreshes age",
			put:     []wire.ActionResult{res("a", wire.ActionRunning, 0), res("b", wire.ActionRunning, 0), res("a", wire.ActionRunning, 5), res("c", wire.ActionRunning, 0), res("d", wire.ActionRunning, 0)},
			dropped: []string{"", "", "", "", "b"},
			kept:    "a:running:5 c:running:0 d:running:0",
		},
		{
			name:    "all final: oldest final",
			put:     []wire.ActionResult{res("a", wire.ActionDone, 0), res("b", wire.ActionError, 0), res("c", wire.ActionDone, 0), res("d", wire.ActionRunning, 0)},
			dropped: []string{"", "", "", "a"},
			kept:    "b:error:0 c:done:0 d:running:0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := newResults(3)
			for i, r := range tt.put {
				if got := q.put(r); got != tt.dropped[i] {
					t.Errorf("put %s dropped %q, want %q", r.ID, got, tt.dropped[i])
				}
			}
			if got := ids(sendAll(q)); got != tt.kept {
				t.Errorf("kept %q, want %q", got, tt.kept)
			}
		})
	}
}

func TestResultMessageBounded(t *testing.T) {
	t.Parallel()
	q := newResults(10)
	q.put(wire.ActionResult{ID: "a", State: wire.ActionError, Message: strings.Repeat("é", maxResultMessage)})
	if got := q.pending()[0].r.Message; len(got) > maxResultMessage || !strings.HasPrefix(got, "éé") {
		t.Errorf("message of %d bytes kept, want ≤ %d", len(got), maxResultMessage)
	}
}

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, frame string
		wantType    string // "" → error
	}{
		{"action", `{"type":"action","action":{"a":1}}`, wire.UplinkAction},
		{"status", `{"type":"status"}`, wire.UplinkStatus},
		{"unknown field tolerated", `{"type":"status","later":true}`, wire.UplinkStatus},
		{"unknown type decodes", `{"type":"bogus"}`, "bogus"},
		{"not json", `hello`, ""},
		{"empty", ``, ""},
		{"truncated", `{"type":"action","action":{`, ""},
		{"trailing data", `{"type":"status"}{"type":"status"}`, ""},
		{"array", `[]`, ""},
		{"null", `null`, ""},
		{"no type", `{"action":{}}`, ""},
		{"wrong type kind", `{"type":1}`, ""},
		{"action missing", `{"type":"action"}`, ""},
		{"action not an object", `{"type":"action","action":"x"}`, ""},
		{"action null", `{"type":"action","action":null}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := decodeFrame([]byte(tt.frame))
			switch {
			case tt.wantType == "" && err == nil:
				t.Errorf("decodeFrame(%q) = %+v, want an error", tt.frame, m)
			case tt.wantType != "" && err != nil:
				t.Errorf("decodeFrame(%q): %v", tt.frame, err)
			case tt.wantType != "" && m.Type != tt.wantType:
				t.Errorf("decodeFrame(%q).Type = %q, want %q", tt.frame, m.Type, tt.wantType)
			}
		})
	}
}
