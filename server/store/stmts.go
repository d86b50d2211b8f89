package store

import (
	"context"
	"database/sql"
	"sync"
)

// execer is what the status path runs its SQL on: a *sql.Tx, or a stmtTx
// that reuses prepared statements.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmtCache keeps the prepared statements of the hot path (status
// reports), so that SQLite parses each SQL text once per connection
// instead of once per report. The texts are fixed strings of this package,
// so the cache is bounded by the code.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// stmtTx runs SQL in tx with the cached prepared statements.
type stmtTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (s stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (s stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (s stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.c.get(ctx, query)
	if err != nil {
		// Let the error surface through Scan, as database/sql does.
		return s.tx.QueryRowContext(ctx, query, args...)
	}
	return s.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

func (s stmtTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := s.c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.tx.StmtContext(ctx, st), nil
}
