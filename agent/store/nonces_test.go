package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/reqsign"
)

var (
	_ action.NonceStore  = (*DB)(nil)
	_ reqsign.NonceStore = (*DB)(nil)
)

// nonce returns a nonce shaped like an action's (64 hex digits).
func nonce(i int) string { return fmt.Sprintf("%064x", i) }

// storedNonces returns the nonces of the table, sorted, with their expiry.
func storedNonces(tb testing.TB, d *DB) map[string]string {
	tb.Helper()
	rows, err := d.db.Query("SELECT nonce, expires FROM action_nonces")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, e string
		if err := rows.Scan(&n, &e); err != nil {
			tb.Fatal(err)
		}
		out[n] = e
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestSeenSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "waptdb.sqlite")
	expires := time.Now().Add(10 * time.Minute)

	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if seen, err := d.Seen(ctx, nonce(1), expires); err != nil || seen {
		t.Fatalf("first Seen = %v, %v; want false", seen, err)
	}
	if seen, err := d.Seen(ctx, nonce(1), expires); err != nil || !seen {
		t.Fatalf("second Seen = %v, %v; want true", seen, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tests := []struct {
		name  string
		nonce string
		want  bool
	}{
		{"same nonce after restart", nonce(1), true},
		{"other nonce", nonce(2), false},
		{"other nonce again", nonce(2), true},
		{"nonces are case-sensitive text", strings.ToUpper(nonce(0xab)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if seen, err := d.Seen(ctx, tt.nonce, expires); err != nil || seen != tt.want {
				t.Errorf("Seen = %v, %v; want %v", seen, err, tt.want)
			}
		})
	}
}

func TestSeenCleanup(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	tests := []struct {
		name    string
		expires time.Time
		kept    bool // after a Seen at now
	}{
		{"expired long ago", now.Add(-48 * time.Hour), false},
		{"expired just over an hour ago", now.Add(-time.Hour - time.Nanosecond), false},
		{"expired an hour ago", now.Add(-time.Hour), true},
		{"expired recently", now.Add(-time.Minute), true},
		{"valid", now.Add(5 * time.Minute), true},
		{"far future", time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	d := openTest(t)
	for i, tt := range tests {
		// Recorded when they were all valid.
		if seen, err := d.seen(ctx, nonce(i), tt.expires, now.Add(-49*time.Hour)); err != nil || seen {
			t.Fatalf("%s: Seen = %v, %v", tt.name, seen, err)
		}
	}
	if seen, err := d.seen(ctx, nonce(100), now.Add(time.Minute), now); err != nil || seen {
		t.Fatalf("Seen = %v, %v", seen, err)
	}
	stored := storedNonces(t, d)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := stored[nonce(i)]; ok != tt.kept {
				t.Errorf("kept = %v, want %v", ok, tt.kept)
			}
			// A cleaned nonce is forgotten; a kept one is still seen.
			seen, err := d.seen(ctx, nonce(i), now.Add(time.Minute), now)
			if err != nil || seen != tt.kept {
				t.Errorf("Seen after cleanup = %v, %v; want %v", seen, err, tt.kept)
			}
		})
	}
}

func TestSeenCleanupIsBounded(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	const old = nonceCleanupBatch + 44
	for i := range old {
		if _, err := d.seen(ctx, nonce(i), now.Add(-2*time.Hour-time.Duration(i)*time.Second), now.Add(-3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	want := []int{old + 1 - nonceCleanupBatch, 2} // after each Seen: leftovers plus the new nonces
	for i, w := range want {
		if _, err := d.seen(ctx, nonce(1000+i), now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if got := len(storedNonces(t, d)); got != w {
			t.Errorf("after Seen #%d: %d rows, want %d", i+1, got, w)
		}
	}
	// The oldest go first.
	d2 := openTest(t)
	for i := range old {
		if _, err := d2.seen(ctx, nonce(i), now.Add(-2*time.Hour-time.Duration(i)*time.Second), now.Add(-3*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d2.seen(ctx, nonce(1000), now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	left := storedNonces(t, d2)
	for i := range old {
		_, ok := left[nonce(i)]
		if oldest := i >= old-nonceCleanupBatch; ok == oldest {
			t.Fatalf("nonce %d (expired %ds before the others): kept = %v", i, i, ok)
		}
	}
}

func TestSeenKeepsLaterExpiry(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	if seen, err := d.seen(ctx, nonce(1), now.Add(10*time.Minute), now); err != nil || seen {
		t.Fatalf("Seen = %v, %v", seen, err)
	}
	for _, exp := range []time.Duration{3 * time.Hour, time.Minute} {
		if seen, err := d.seen(ctx, nonce(1), now.Add(exp), now); err != nil || !seen {
			t.Fatalf("Seen = %v, %v", seen, err)
		}
	}
	if got, want := storedNonces(t, d)[nonce(1)], formatNonceTime(now.Add(3*time.Hour)); got != want {
		t.Errorf("expires %q, want %q", got, want)
	}
}

func TestSeenRefusesBadNonce(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	for _, n := range []string{"", strings.Repeat("a", maxNonceLen+1)} {
		if _, err := d.Seen(ctx, n, time.Now().Add(time.Minute)); err == nil {
			t.Errorf("Seen(%.10q...) succeeded", n)
		}
	}
	if seen, err := d.Seen(ctx, strings.Repeat("a", maxNonceLen), time.Now().Add(time.Minute)); err != nil || seen {
		t.Errorf("Seen of the longest nonce = %v, %v", seen, err)
	}
}

func TestFormatNonceTime(t *testing.T) {
	base := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	times := []time.Time{
		{}, // zero
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		base.Add(-time.Nanosecond),
		base,
		base.Add(time.Nanosecond),
		base.Add(500 * time.Millisecond),
		base.Add(time.Second).In(time.FixedZone("CET", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	var texts []string
	for _, tm := range times {
		s := formatNonceTime(tm)
		if len(s) != len(nonceTimeLayout) {
			t.Errorf("%v formats as %q: width %d", tm, s, len(s))
		}
		if p, err := time.Parse(time.RFC3339Nano, s); err != nil {
			t.Errorf("%q is not RFC 3339: %v", s, err)
		} else if tm.Year() >= 1 && tm.Year() <= 9999 && !p.Equal(tm) {
			t.Errorf("%q parses as %v, want %v", s, p, tm)
		}
		texts = append(texts, s)
	}
	if !sort.StringsAreSorted(texts) {
		t.Errorf("text order is not time order: %q", texts)
	}
	if formatNonceTime(time.Time{}) != formatNonceTime(time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("years before 1 are not clamped")
	}
}

// TestSeenConcurrent has two handles on one file (two agent processes) race
// on the same nonces: each nonce is new exactly once.
func TestSeenConcurrent(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	d2, err := Open(ctx, d.path(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	const nonces, workers = 20, 8
	expires := time.Now().Add(time.Minute)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fresh = map[string]int{}
	)
	for w := range workers {
		db := d
		if w%2 == 1 {
			db = d2
		}
		wg.Go(func() {
			for i := range nonces {
				seen, err := db.Seen(ctx, nonce(i), expires)
				if err != nil {
					t.Error(err)
					return
				}
				if !seen {
					mu.Lock()
					fresh[nonce(i)]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(fresh) != nonces {
		t.Errorf("%d nonces reported new, want %d", len(fresh), nonces)
	}
	for n, c := range fresh {
		if c != 1 {
			t.Errorf("nonce %s reported new %d times", n[len(n)-4:], c)
		}
	}
}

func BenchmarkSeen(b *testing.B) {
	ctx := context.Background()
	d := openTest(b)
	expires := time.Now().Add(10 * time.Minute)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Seen(ctx, nonce(i), expires); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
