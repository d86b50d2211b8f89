package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Replay cache of remote actions (table action_nonces).
const (
	// nonceRetention is how long a nonce is kept after its expiry.
	nonceRetention = time.Hour
	// nonceCleanupBatch bounds the expired rows one Seen deletes; each Seen
	// adds at most one row, so the cleanup keeps up.
	nonceCleanupBatch = 256
	// maxNonceLen bounds a stored nonce (actions use 64 hex digits).
	maxNonceLen = 256
)

// nonceTimeLayout is RFC 3339 in UTC with a fixed-width fraction, so that
// stored expiries sort as text in time order.
const nonceTimeLayout = "2006-01-02T15:04:05.000000000Z"

// Seen reports whether nonce was already recorded and records it otherwise,
// until expires (an action.NonceStore, persistent across restarts). In the
// same write transaction it deletes a bounded batch of nonces that expired
// more than an hour ago.
func (d *DB) Seen(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	return d.seen(ctx, nonce, expires, time.Now())
}

func (d *DB) seen(ctx context.Context, nonce string, expires, now time.Time) (bool, error) {
	if nonce == "" || len(nonce) > maxNonceLen {
		return false, fmt.Errorf("action nonce: length %d not in [1, %d]", len(nonce), maxNonceLen)
	}
	exp := formatNonceTime(expires)
	var seen bool
	err := d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM action_nonces WHERE nonce IN (
				SELECT nonce FROM action_nonces WHERE expires < ? ORDER BY expires LIMIT ?)`,
			formatNonceTime(now.Add(-nonceRetention)), nonceCleanupBatch); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO action_nonces (nonce, expires) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING", nonce, exp)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if seen = n == 0; seen {
			// Keep the later expiry of the two, never shorten the memory.
			_, err = tx.ExecContext(ctx, "UPDATE action_nonces SET expires = ? WHERE nonce = ? AND expires < ?", exp, nonce, exp)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("action nonce: %w", err)
	}
	return seen, nil
}

// formatNonceTime formats t with nonceTimeLayout, clamped to years 1 to
// 9999 so that the width never changes.
func formatNonceTime(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Year() < 1:
		t = time.Time{}
	case t.Year() > 9999:
		t = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	}
	return t.Format(nonceTimeLayout)
}
