// Package store is the agent's persistent state, waptdb.sqlite: an
// engine.Store on SQLite (modernc.org/sqlite, pure Go) with embedded,
// numbered migrations. Every method is one transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wapt-go/wapt/agent/engine"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ engine.Store = (*DB)(nil)

// Sentinel errors of the store.
var (
	// ErrRollback is returned by SaveRepoState when the new state would lower
	// the index version already recorded for the repository.
	ErrRollback = errors.New("repository index version would go backwards")
	// ErrSchemaTooNew is returned by Open when the database was migrated by a
	// newer binary than this one.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
)

// MaxOutput bounds the stored Output and AuditOutput of a package and the
// Output of a session_setup run: only the last MaxOutput bytes are kept.
const MaxOutput = 256 << 10

// truncatedMark starts an output that was cut to MaxOutput.
const truncatedMark = "[... output truncated ...]\n"

// busyTimeout is how long a statement waits for another connection's lock.
const busyTimeout = 10 * time.Second

// DB is the agent's database. It is safe for concurrent use.
type DB struct {
	db *sql.DB
}

// Open opens (creating when needed) the database at path, with its directory
// (0700) and file (0600), and brings its schema up to date. It refuses a
// database whose schema is newer than this binary's (ErrSchemaTooNew).
//
// The connections use WAL journaling, synchronous=FULL (a commit survives a
// power loss, so a recorded index version can never silently go back), a busy
// timeout, foreign keys, and BEGIN IMMEDIATE for write transactions so two
// writers queue on the busy timeout instead of failing on a lock upgrade.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("open store: invalid database path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	dsn := path + "?" + strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	}, "&")
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(4)
	sqlDB.SetMaxIdleConns(4)
	d := &DB{db: sqlDB}
	if err := d.check(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, sqlDB, migrations); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return d, nil
}

// createFile creates path with mode 0600 when it does not exist, so SQLite
// (which gives its -wal and -shm files the database's mode) never makes a
// world-readable database; an existing file readable by others is tightened.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(path, 0o600)
	}
	return nil
}

// check verifies that the connection settings took effect.
func (d *DB) check(ctx context.Context) error {
	var mode string
	if err := d.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// write runs fn in one write transaction (BEGIN IMMEDIATE).
func (d *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return d.inTx(ctx, nil, fn)
}

// read runs fn in one read-only transaction (deferred BEGIN).
func (d *DB) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return d.inTx(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

func (d *DB) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// formatTime is how times are stored: RFC 3339 in UTC, NULL for the zero time.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime reverses formatTime; times come back in UTC.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}

// bound keeps the last MaxOutput bytes of s, starting on a character
// boundary and marked as truncated.
func bound(s string) string {
	if len(s) <= MaxOutput {
		return s
	}
	i := len(s) - (MaxOutput - len(truncatedMark))
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return truncatedMark + s[i:]
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nilIfEmpty normalises empty byte slices so a round trip keeps nil as nil.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// notNil stores a nil slice as an empty BLOB (columns are NOT NULL).
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
