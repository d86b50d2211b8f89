package uplink

import "time"

// backoff computes the pause before each reconnection attempt with "full
// jitter": the n-th pause (n from 0) is drawn uniformly from
// [0, min(max, min·2ⁿ)], so that agents cut off together do not come back
// together.
type backoff struct {
	min, max time.Duration
	// randN returns a uniform value in [0, n); n > 0.
	randN   func(n int64) int64
	attempt int
}

// next returns the pause before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	d := b.ceiling(b.attempt)
	if b.attempt < 63 {
		b.attempt++
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(b.randN(int64(d) + 1))
}

// ceiling returns min(max, min·2^attempt) without overflowing.
func (b *backoff) ceiling(attempt int) time.Duration {
	d := b.min
	for range attempt {
		if d >= b.max/2 {
			return b.max
		}
		d *= 2
	}
	return min(d, b.max)
}

// reset starts over from the shortest pause, after a connection that
// stayed up long enough to count as healthy.
func (b *backoff) reset() { b.attempt = 0 }
