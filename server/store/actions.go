package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wapt-go/wapt/server/relay"
	"github.com/wapt-go/wapt/shared/wire"
)

var _ relay.Store = (*DB)(nil)

// PutAction implements relay.Store: the action and a pending row per host,
// in one transaction.
func (d *DB) PutAction(ctx context.Context, a relay.StoredAction) error {
	pkgs, err := json.Marshal(nonNil(a.Packages))
	if err != nil {
		return err
	}
	exp := formatTime(a.ExpiresAt)
	return d.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM actions WHERE id = ?", a.ID).Scan(&one)
		if err == nil {
			return fmt.Errorf("action %s: %w", a.ID, relay.ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO actions (id, kind, packages, signer, signer_fp, issued_at, expires_at, received_at, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Kind, string(pkgs), a.Signer, a.SignerFP,
			formatTime(a.IssuedAt), exp, formatTime(a.Received), a.Body); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO action_hosts (action_id, host, state, progress, message, expires_at)
			VALUES (?, ?, 'pending', 0, '', ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, h := range a.Hosts {
			if _, err := st.ExecContext(ctx, a.ID, h, exp); err != nil {
				return err
			}
		}
		return nil
	})
}

// PendingActions implements relay.Store.
func (d *DB) PendingActions(ctx context.Context, host string, now time.Time, limit int) ([]relay.StoredAction, error) {
	var out []relay.StoredAction
	err := d.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT a.id, a.kind, a.body FROM action_hosts h JOIN actions a ON a.id = h.action_id
			WHERE h.host = ? AND h.state = 'pending' AND h.expires_at > ? ORDER BY a.received_at, a.id LIMIT ?`,
			host, formatTime(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a relay.StoredAction
			if err := rows.Scan(&a.ID, &a.Kind, &a.Body); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// SetActionState implements relay.Store.
func (d *DB) SetActionState(ctx context.Context, id, host string, st wire.HostActionState, from []string) (bool, error) {
	if len(from) == 0 {
		return false, nil
	}
	args := []any{st.State, st.Progress, st.Message, formatTime(st.Updated), id, host}
	for _, f := range from {
		args = append(args, f)
	}
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE action_hosts SET state = ?, progress = ?, message = ?, updated = ?
			WHERE action_id = ? AND host = ? AND state IN (?`+strings.Repeat(", ?", len(from)-1)+`)`, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// stateExpr is a per-host state with pending past expiry shown as expired.
const stateExpr = `CASE WHEN h.state = 'pending' AND h.expires_at <= ? THEN 'expired' ELSE h.state END`

// ListActions implements relay.Store.
func (d *DB) ListActions(ctx context.Context, limit int, now time.Time) ([]wire.ActionSummary, error) {
	var out []wire.ActionSummary
	err := d.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, kind, packages, signer, issued_at, expires_at, received_at
			FROM actions ORDER BY received_at DESC, id DESC LIMIT ?`, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			s, err := scanAction(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			if out[i].Hosts, err = actionCounts(ctx, tx, out[i].ID, now); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func actionCounts(ctx context.Context, tx *sql.Tx, id string, now time.Time) (map[string]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+stateExpr+` AS st, COUNT(*) FROM action_hosts h WHERE h.action_id = ? GROUP BY st`,
		formatTime(now), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		m[st] = n
	}
	return m, rows.Err()
}

func scanAction(sc interface{ Scan(...any) error }) (wire.ActionSummary, error) {
	var s wire.ActionSummary
	var pkgs string
	var issued, expires, received sql.NullString
	if err := sc.Scan(&s.ID, &s.Action, &pkgs, &s.Signer, &issued, &expires, &received); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(pkgs), &s.Packages); err != nil {
		return s, err
	}
	var err error
	if s.IssuedAt, err = parseTime(issued); err != nil {
		return s, err
	}
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return s, err
	}
	s.Received, err = parseTime(received)
	return s, err
}

// ActionDetail implements relay.Store.
func (d *DB) ActionDetail(ctx context.Context, id string, now time.Time) (wire.ActionDetail, error) {
	var out wire.ActionDetail
	err := d.read(ctx, func(tx *sql.Tx) error {
		s, err := scanAction(tx.QueryRowContext(ctx, `SELECT id, kind, packages, signer, issued_at, expires_at, received_at
			FROM actions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return relay.ErrNotFound
		}
		if err != nil {
			return err
		}
		out.ActionSummary = s
		if out.Hosts, err = actionCounts(ctx, tx, id, now); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT h.host, `+stateExpr+`, h.progress, h.message, h.updated
			FROM action_hosts h WHERE h.action_id = ? ORDER BY h.host`, formatTime(now), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r wire.HostActionState
			var upd sql.NullString
			if err := rows.Scan(&r.Host, &r.State, &r.Progress, &r.Message, &upd); err != nil {
				return err
			}
			if r.Updated, err = parseTime(upd); err != nil {
				return err
			}
			out.Results = append(out.Results, r)
		}
		return rows.Err()
	})
	return out, err
}
