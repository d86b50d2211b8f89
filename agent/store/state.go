package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
)

// RepoState returns what was saved of repo; engine.ErrNotFound when it was
// never updated.
func (d *DB) RepoState(ctx context.Context, repo string) (engine.RepoState, error) {
	var (
		st      engine.RepoState
		signed  int64
		updated sql.NullString
		expires sql.NullString
	)
	err := d.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT repo, url, etag, last_modified, index_version, signed, index_raw, updated_at, index_expires
			FROM repo_state WHERE repo = ?`, repo).
			Scan(&st.Repo, &st.URL, &st.ETag, &st.LastModified, &st.IndexVersion, &signed, &st.Index, &updated, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return engine.RepoState{}, fmt.Errorf("repository %q state: %w", repo, engine.ErrNotFound)
	}
	if err != nil {
		return engine.RepoState{}, fmt.Errorf("repository %q state: %w", repo, err)
	}
	st.Signed = signed != 0
	st.Index = nilIfEmpty(st.Index)
	if st.UpdatedAt, err = parseTime(updated); err != nil {
		return engine.RepoState{}, fmt.Errorf("repository %q state: %w", repo, err)
	}
	if st.IndexExpires, err = parseTime(expires); err != nil {
		return engine.RepoState{}, fmt.Errorf("repository %q state: %w", repo, err)
	}
	return st, nil
}

// SaveRepoState inserts or replaces the state of st.Repo. It refuses, with
// an error wrapping ErrRollback, a state whose IndexVersion is below the one
// already recorded (an equal version is accepted).
func (d *DB) SaveRepoState(ctx context.Context, st engine.RepoState) error {
	if st.Repo == "" {
		return errors.New("save repository state: empty repository name")
	}
	if st.IndexVersion < 0 {
		return fmt.Errorf("save repository %q state: negative index version %d", st.Repo, st.IndexVersion)
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		// The WHERE of the upsert is the guard: a lower version updates nothing.
		res, err := tx.ExecContext(ctx, `INSERT INTO repo_state
				(repo, url, etag, last_modified, index_version, signed, index_raw, updated_at, index_expires)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repo) DO UPDATE SET
				url = excluded.url, etag = excluded.etag, last_modified = excluded.last_modified,
				index_version = excluded.index_version, signed = excluded.signed,
				index_raw = excluded.index_raw, updated_at = excluded.updated_at,
				index_expires = excluded.index_expires
			WHERE excluded.index_version >= repo_state.index_version`,
			st.Repo, st.URL, st.ETag, st.LastModified, st.IndexVersion, boolInt(st.Signed),
			notNil(st.Index), formatTime(st.UpdatedAt), formatTime(st.IndexExpires))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var have int64
			if err := tx.QueryRowContext(ctx, "SELECT index_version FROM repo_state WHERE repo = ?", st.Repo).Scan(&have); err != nil {
				return err
			}
			return fmt.Errorf("%w: recorded %d, new %d", ErrRollback, have, st.IndexVersion)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save repository %q state: %w", st.Repo, err)
	}
	return nil
}

// Param returns the value of key; engine.ErrNotFound when it is not set.
func (d *DB) Param(ctx context.Context, key string) (string, error) {
	var v string
	err := d.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT value FROM params WHERE key = ?", key).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("param %q: %w", key, engine.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("param %q: %w", key, err)
	}
	return v, nil
}

// SetParam sets key to value.
func (d *DB) SetParam(ctx context.Context, key, value string) error {
	if key == "" {
		return errors.New("set param: empty key")
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO params (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("set param %q: %w", key, err)
	}
	return nil
}

// SessionSetupDone reports whether session_setup() of pkg at version has
// already succeeded (status OK) for user. A failed run is retried at the
// next logon, as is any run of another version.
func (d *DB) SessionSetupDone(ctx context.Context, user, pkg, version string) (bool, error) {
	var n int
	err := d.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM session_setup
			WHERE user = ? AND package = ? AND version = ? AND status = ?`,
			user, pkg, version, string(engine.StatusOK)).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("session setup of %q for %q: %w", pkg, user, err)
	}
	return n > 0, nil
}

// RecordSessionSetup records the last session_setup() run of s.Package for
// s.User, replacing the previous one. Output is cut to its last MaxOutput
// bytes.
func (d *DB) RecordSessionSetup(ctx context.Context, s engine.SessionSetup) error {
	if s.User == "" || s.Package == "" {
		return fmt.Errorf("record session setup: empty user (%q) or package (%q)", s.User, s.Package)
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO session_setup (user, package, version, status, output, date)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user, package) DO UPDATE SET
				version = excluded.version, status = excluded.status,
				output = excluded.output, date = excluded.date`,
			s.User, s.Package, s.Version, string(s.Status), bound(s.Output), formatTime(s.Date))
		return err
	})
	if err != nil {
		return fmt.Errorf("record session setup of %q for %q: %w", s.Package, s.User, err)
	}
	return nil
}

// QueueReport queues a report for the server.
func (d *DB) QueueReport(ctx context.Context, kind string, body []byte, now time.Time) error {
	if kind == "" {
		return errors.New("queue report: empty kind")
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO reports (kind, body, created) VALUES (?, ?, ?)",
			kind, notNil(body), formatTime(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("queue %s report: %w", kind, err)
	}
	return nil
}

// PendingReports returns up to limit queued reports, oldest first; limit <= 0
// means all of them.
func (d *DB) PendingReports(ctx context.Context, limit int) ([]engine.Report, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	var out []engine.Report
	err := d.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id, kind, body, created FROM reports ORDER BY id LIMIT ?", limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r       engine.Report
				created sql.NullString
			)
			if err := rows.Scan(&r.ID, &r.Kind, &r.Body, &created); err != nil {
				return err
			}
			r.Body = nilIfEmpty(r.Body)
			if r.Created, err = parseTime(created); err != nil {
				return fmt.Errorf("report %d: %w", r.ID, err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pending reports: %w", err)
	}
	return out, nil
}

// DeleteReports removes the reports with these ids; unknown ids are ignored.
func (d *DB) DeleteReports(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, "DELETE FROM reports WHERE id = ?")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete reports: %w", err)
	}
	return nil
}
