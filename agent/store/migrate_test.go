package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/wapt-go/wapt/agent/engine"
)

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Name != "0001_init.sql" {
		t.Fatalf("migrations: %+v", ms)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int
		wantErr bool
	}{
		{name: "empty", fsys: fstest.MapFS{}},
		{name: "ordered by number", fsys: fstest.MapFS{"0002_b.sql": file("x"), "0001_a.sql": file("x"), "README.md": file("")}, want: []int{1, 2}},
		{name: "numeric, not lexical", fsys: fstest.MapFS{"1_a.sql": file(""), "2_b.sql": file(""), "3_c.sql": file(""), "4_d.sql": file(""), "5_e.sql": file(""), "6_f.sql": file(""), "7_g.sql": file(""), "8_h.sql": file(""), "9_i.sql": file(""), "10_j.sql": file("")}, want: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{name: "gap", fsys: fstest.MapFS{"0001_a.sql": file(""), "0003_c.sql": file("")}, wantErr: true},
		{name: "duplicate", fsys: fstest.MapFS{"0001_a.sql": file(""), "0001_b.sql": file("")}, wantErr: true},
		{name: "starts at zero", fsys: fstest.MapFS{"0000_a.sql": file("")}, wantErr: true},
		{name: "no number", fsys: fstest.MapFS{"init.sql": file("")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fsys)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("loadMigrations = %+v, want error", ms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("versions %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// withMigration returns the embedded migrations plus one more file.
func withMigration(t *testing.T, name, sqlText string) fs.FS {
	t.Helper()
	m := fstest.MapFS{name: &fstest.MapFile{Data: []byte(sqlText)}}
	ents, err := fs.ReadDir(migrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := fs.ReadFile(migrations, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = &fstest.MapFile{Data: b}
	}
	return m
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func versions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

// knownMigrations is the number of embedded migrations.
func knownMigrations(t *testing.T) int {
	t.Helper()
	ms, err := loadMigrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "waptdb.sqlite")
	known := knownMigrations(t)
	next := fmt.Sprintf("%04d", known+1)

	// Fresh database.
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetParam(ctx, "kept", "yes"); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// Re-open: nothing applied twice, data kept.
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.Param(ctx, "kept"); err != nil || v != "yes" {
		t.Fatalf("after re-open: %q, %v", v, err)
	}
	d.Close()
	db := rawDB(t, path)
	if vs := versions(t, db); len(vs) != known || vs[known-1] != known {
		t.Fatalf("schema_migrations: %v", vs)
	}

	// A failing migration leaves nothing behind, not even its first statement.
	bad := withMigration(t, next+"_bad.sql", "CREATE TABLE half (x INTEGER); INSERT INTO nosuchtable VALUES (1);")
	if err := migrate(ctx, db, bad); err == nil {
		t.Fatal("failing migration succeeded")
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("half-applied migration: %d, %v", n, err)
	}
	if vs := versions(t, db); len(vs) != known {
		t.Fatalf("schema_migrations after failure: %v", vs)
	}

	// A new migration is applied once, with several statements.
	good := withMigration(t, next+"_more.sql", "CREATE TABLE more (x INTEGER); INSERT INTO more VALUES (42);")
	for range 2 {
		if err := migrate(ctx, db, good); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM more").Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 0002 rows: %d, %v", n, err)
	}
	if vs := versions(t, db); len(vs) != known+1 || vs[known] != known+1 {
		t.Fatalf("schema_migrations: %v", vs)
	}

	// This binary knows only 0001: it refuses the database now.
	d, err = Open(ctx, path)
	if !errors.Is(err, ErrSchemaTooNew) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	t.Log(err)
}

func TestStoreSatisfiesEngine(t *testing.T) {
	var s engine.Store = openTest(t)
	if _, err := s.Param(context.Background(), "x"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatal(err)
	}
}
