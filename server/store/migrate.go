package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed sql/migrations/*.sql
var migrationFiles embed.FS

// migrations is the embedded migration directory.
var migrations = func() fs.FS {
	sub, err := fs.Sub(migrationFiles, "sql/migrations")
	if err != nil {
		panic(err) // a constant path inside an embed.FS
	}
	return sub
}()

// step is one numbered migration file.
type step struct {
	version int
	name    string
	sql     string
}

// loadSteps reads NNNN_name.sql files of fsys, sorted, numbered 1, 2, 3…
func loadSteps(fsys fs.FS) ([]step, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	steps := make([]step, 0, len(names))
	for _, name := range names {
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{version: v, name: name, sql: string(b)})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })
	for i, s := range steps {
		if s.version != i+1 {
			return nil, fmt.Errorf("migration %s: want number %04d (no gaps or duplicates)", s.name, i+1)
		}
	}
	return steps, nil
}

// migrate applies the steps of fsys the database lacks, each in its own
// write transaction with its schema_migrations row; the current version is
// read inside that transaction, so two processes cannot both apply a step.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	steps, err := loadSteps(fsys)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := applyNext(ctx, db, steps)
		if err != nil || done {
			return err
		}
	}
}

func applyNext(ctx context.Context, db *sql.DB, steps []step) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // no-op after Commit
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case cur > len(steps):
		return false, fmt.Errorf("%w: database at version %d, this program knows up to %d", ErrSchemaTooNew, cur, len(steps))
	case cur == len(steps):
		return true, nil
	}
	s := steps[cur]
	if _, err := tx.ExecContext(ctx, s.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", s.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		s.version, s.name, time.Now().UTC().Format(timeLayout)); err != nil {
		return false, fmt.Errorf("migration %s: %w", s.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", s.name, err)
	}
	return false, nil
}

// SchemaVersion returns the highest migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := d.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}
