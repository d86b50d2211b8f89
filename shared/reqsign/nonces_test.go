package reqsign

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMemoryNonces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type step struct {
		at      time.Duration // clock, from t0
		nonce   string
		expires time.Duration // from t0
		seen    bool
		len     int // Len after the step
	}
	tests := []struct {
		name  string
		limit int
		steps []step
	}{
		{"record and detect", 10, []step{
			{0, "a", 10 * time.Minute, false, 1},
			{0, "b", 10 * time.Minute, false, 2},
			{time.Minute, "a", 10 * time.Minute, true, 2},
		}},
		{"expiry forgets", 10, []step{
			{0, "a", 5 * time.Minute, false, 1},
			{0, "b", 10 * time.Minute, false, 2},
			{6 * time.Minute, "c", 15 * time.Minute, false, 2},  // a pruned
			{11 * time.Minute, "d", 20 * time.Minute, false, 2}, // b pruned
		}},
		{"already expired is not stored", 10, []step{
			{10 * time.Minute, "a", 5 * time.Minute, false, 0},
		}},
		{"full evicts the earliest expiry", 2, []step{
			{0, "a", 3 * time.Minute, false, 1},
			{0, "b", 5 * time.Minute, false, 2},
			{0, "c", 4 * time.Minute, false, 2}, // evicts a
			{0, "b", 5 * time.Minute, true, 2},
			{0, "c", 4 * time.Minute, true, 2},
			// a was evicted: it and anything expiring no later is refused.
			{0, "a", 3 * time.Minute, true, 2},
			{0, "z", 2 * time.Minute, true, 2},
			{0, "d", 6 * time.Minute, false, 2}, // evicts c, floor = 4 min
			{0, "e", 4 * time.Minute, true, 2},
		}},
		{"limit below one", 0, []step{
			{0, "a", time.Minute, false, 1},
			{0, "b", 2 * time.Minute, false, 1},
			{0, "b", 2 * time.Minute, true, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var now time.Time
			m := NewMemoryNonces(tt.limit)
			m.Now = func() time.Time { return now }
			for i, s := range tt.steps {
				now = t0.Add(s.at)
				seen, err := m.Seen(ctx, s.nonce, t0.Add(s.expires))
				if err != nil {
					t.Fatal(err)
				}
				if seen != s.seen {
					t.Errorf("step %d (%s): seen = %v, want %v", i, s.nonce, seen, s.seen)
				}
				if n := m.Len(); n != s.len {
					t.Errorf("step %d (%s): Len = %d, want %d", i, s.nonce, n, s.len)
				}
			}
		})
	}
}

func TestMemoryNoncesConcurrent(t *testing.T) {
	t.Parallel()
	m := NewMemoryNonces(1000)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	fresh := make([]int, 8)
	for g := range fresh {
		wg.Go(func() {
			for i := range 200 {
				seen, err := m.Seen(context.Background(), fmt.Sprint(i), exp)
				if err != nil {
					t.Error(err)
				}
				if !seen {
					fresh[g]++
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range fresh {
		total += n
	}
	if total != 200 {
		t.Errorf("%d nonces accepted as new, want 200", total)
	}
}
