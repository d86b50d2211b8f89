// Package store is the server's SQLite database: an inventory.Store on
// modernc.org/sqlite (pure Go) with embedded, numbered migrations. Every
// method is one transaction; statements use bound parameters only.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/server/inventory"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ inventory.Store = (*DB)(nil)

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer binary than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this program")

// busyTimeout is how long a statement waits for another connection's (or
// process's) lock.
const busyTimeout = 10 * time.Second

// DB is the server database. It is safe for concurrent use.
type DB struct {
	db *sql.DB
	// wmu serialises this process's write transactions, so they queue here
	// instead of spinning in SQLite's busy handler (whose sleeps grow to
	// 100 ms). Readers never take it: WAL lets them run beside the writer.
	wmu sync.Mutex

	// The status writer (group commit of SaveStatus).
	statusQ    chan *statusReq
	stop       chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer has stopped
	closeOnce  sync.Once

	stmts stmtCache // prepared statements of the status path
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("store closed")

// Open opens (creating when needed) the database at path, with its directory
// (0700) and file (0600), and brings its schema up to date.
//
// The connections use WAL journaling with synchronous=NORMAL: a commit that
// returned survives a crash or kill of the server process (the WAL is
// written before COMMIT returns); only an OS crash or power loss may drop the
// last commits, never corrupt the database. BEGIN IMMEDIATE makes write
// transactions take the write lock up front, and a busy timeout covers other
// processes.
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
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=cache_size(-65536)", // 64 MiB of page cache per connection, at most
		"_pragma=mmap_size(1073741824)",
		"_txlock=immediate",
	}, "&")
	sqlDB, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	d := &DB{db: sqlDB, stmts: stmtCache{db: sqlDB}, statusQ: make(chan *statusReq, 4*maxStatusBatch), stop: make(chan struct{}), writerDone: make(chan struct{})}
	if err := d.check(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, sqlDB, migrations); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	go d.statusWriter()
	return d, nil
}

// createFile creates path with mode 0600 when it does not exist; an
// existing file readable by others is tightened.
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

// Close stops the status writer (updates already queued are refused with
// ErrClosed, none is half-written) and closes the database.
func (d *DB) Close() error {
	d.closeOnce.Do(func() { close(d.stop) })
	<-d.writerDone
	d.stmts.close()
	return d.db.Close()
}

// write runs fn in one write transaction (BEGIN IMMEDIATE).
func (d *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.inTx(ctx, nil, fn)
}

// read runs fn in one read-only transaction (deferred BEGIN), a consistent
// snapshot.
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

// timeLayout is fixed-width so that stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// formatTime is how times are stored: UTC, microseconds, NULL for zero.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reverses formatTime.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
