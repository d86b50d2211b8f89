package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func openTest(tb testing.TB, path string) *DB {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "server.sqlite")
	}
	d, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// selfSigned returns a throwaway certificate with CN cn (the store does not
// verify chains; the service's callers do).
func selfSigned(tb testing.TB, cn string) *x509.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestOpenMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "server.sqlite")
	d := openTest(t, path)
	steps, err := loadSteps(migrations)
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.SchemaVersion(ctx)
	if err != nil || v != len(steps) || v < 2 {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(steps))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
		t.Errorf("database mode %v", fi.Mode().Perm())
	}
	d.Close()
	d = openTest(t, path) // reopening applies nothing and keeps the data
	if v, _ := d.SchemaVersion(ctx); v != len(steps) {
		t.Errorf("version after reopen = %d", v)
	}
	if _, err := d.db.ExecContext(ctx, "INSERT INTO schema_migrations VALUES (99, 'future', 'x')"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := Open(ctx, path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open of a newer schema = %v, want ErrSchemaTooNew", err)
	}
	for _, bad := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := Open(ctx, bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestLoadStepsRejectsGaps(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"0001_a.sql": {}, "0003_c.sql": {}},
		"duplicate": {"0001_a.sql": {}, "0001_b.sql": {}},
		"bad name":  {"first.sql": {}},
	} {
		if _, err := loadSteps(fsys); err == nil {
			t.Errorf("%s: loadSteps succeeded", name)
		}
	}
}

// TestStrictTables checks that the schema refuses values of the wrong type.
func TestStrictTables(t *testing.T) {
	d := openTest(t, "")
	_, err := d.db.Exec(`INSERT INTO host_packages (uuid, package, version, status, state, last_error, audit_status, explicit)
		VALUES ('u', 'p', '1', 'OK', 'OK', '', '', 'yes')`)
	if err == nil {
		t.Error("STRICT table accepted text in an INTEGER column")
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{t0, t0.Add(123456 * time.Microsecond), time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))} {
		s := formatTime(tm).(string)
		got, err := parseTime(sql.NullString{String: s, Valid: true})
		if err != nil || !got.Equal(tm) {
			t.Errorf("%v → %q → %v, %v", tm, s, got, err)
		}
	}
	if formatTime(time.Time{}) != nil {
		t.Error("zero time not NULL")
	}
}

// registerRaw registers uuid through the store directly.
func registerRaw(tb testing.TB, d *DB, uuid string, cert *x509.Certificate) {
	tb.Helper()
	r := inventory.Registration{UUID: uuid, FQDN: uuid, Hostname: uuid, Fingerprint: signing.Fingerprint(cert), CertDER: cert.Raw, At: t0, By: "token"}
	if err := d.Register(context.Background(), r, inventory.AuditEntry{At: t0, Actor: "token", Action: "register", Target: uuid}); err != nil {
		tb.Fatal(err)
	}
}

// TestRegisterConflict checks the compare-and-swap on the host row.
func TestRegisterConflict(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	c1, c2 := selfSigned(t, "h"), selfSigned(t, "h")
	registerRaw(t, d, "h", c1)
	r := inventory.Registration{UUID: "h", FQDN: "h", Fingerprint: signing.Fingerprint(c2), CertDER: c2.Raw, At: t0, By: "x"}
	if err := d.Register(ctx, r, inventory.AuditEntry{}); !errors.Is(err, inventory.ErrConflict) {
		t.Errorf("Register with Prev nil over an existing host = %v", err)
	}
	r.Prev = &inventory.HostAuth{UUID: "h", Fingerprint: "stale"}
	if err := d.Register(ctx, r, inventory.AuditEntry{}); !errors.Is(err, inventory.ErrConflict) {
		t.Errorf("Register with a stale Prev = %v", err)
	}
	r.Prev = &inventory.HostAuth{UUID: "h", Fingerprint: signing.Fingerprint(c1)}
	if err := d.Register(ctx, r, inventory.AuditEntry{At: t0, Actor: "x", Action: "reregister", Target: "h"}); err != nil {
		t.Errorf("Register with the right Prev = %v", err)
	}
	var n int
	d.db.QueryRow("SELECT COUNT(*) FROM host_certs WHERE uuid = 'h' AND revoked_at IS NOT NULL").Scan(&n)
	if n != 1 {
		t.Errorf("%d superseded certificates, want 1", n)
	}
	if err := d.SaveStatus(ctx, inventory.StatusUpdate{UUID: "h", Fingerprint: signing.Fingerprint(c1), Status: wire.StateOK}); !errors.Is(err, inventory.ErrForbidden) {
		t.Errorf("SaveStatus with the old certificate = %v", err)
	}
}

// TestMigrateKeepsData opens a database created by the first migration
// only, holding a host, and checks the later migrations keep it.
func TestMigrateKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "server.sqlite")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := fs.ReadFile(migrations, "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, raw, fstest.MapFS{"0001_init.sql": {Data: first}}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO hosts (uuid, fqdn, hostname, os, os_version, status, pending, errors, registered_at,
		registered_by, cert_fingerprint, revoked, problems, last_update, last_upgrade)
		VALUES ('H1', 'h1.lan', 'h1', 'linux', '12', 'OK', 0, 0, '2026-01-01T00:00:00.000000Z', 'token', 'ff', 0, '[]', 'null', 'null')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	d := openTest(t, path)
	hs, total, err := d.ListHosts(ctx, inventory.HostFilter{Sort: inventory.SortName, Limit: 10})
	if err != nil || total != 1 || hs[0].UUID != "H1" || hs[0].Unit != "" {
		t.Fatalf("after migration: %+v %d %v", hs, total, err)
	}
}

// TestGroupCommit: concurrent status saves are committed together, yet
// each gets its own answer: refused ones (wrong certificate, missing
// sections) write nothing, the others are all stored. Saves after Close
// are refused.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "server.sqlite")
	d := openTest(t, path)
	const n = 60
	fps := make([]string, n)
	for i := range n {
		uuid := fmt.Sprintf("g%02d", i)
		c := selfSigned(t, uuid)
		registerRaw(t, d, uuid, c)
		fps[i] = signing.Fingerprint(c)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := inventory.StatusUpdate{UUID: fmt.Sprintf("g%02d", i), Fingerprint: fps[i], Status: wire.StateOK, At: t0,
				Problems: []string{fmt.Sprint("p", i)}}
			switch i % 3 {
			case 1:
				u.Fingerprint = "00"
			case 2:
				u.ReconcileSections, u.KeepSections = true, map[string]string{"dmi": "abc"}
				u.Status = wire.StateError
			}
			errs[i] = d.SaveStatus(ctx, u)
		}()
	}
	wg.Wait()
	for i := range n {
		h, err := d.Host(ctx, fmt.Sprintf("g%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		var missing *inventory.MissingSectionsError
		switch i % 3 {
		case 0:
			if errs[i] != nil || h.Summary.Status != wire.StateOK || len(h.Problems) != 1 || h.Problems[0] != fmt.Sprint("p", i) {
				t.Errorf("%d: %v, stored %q %v", i, errs[i], h.Summary.Status, h.Problems)
			}
		case 1:
			if !errors.Is(errs[i], inventory.ErrForbidden) || h.Summary.Status != "" || !h.Summary.LastSeen.IsZero() {
				t.Errorf("%d: %v, stored %q", i, errs[i], h.Summary.Status)
			}
		case 2:
			if !errors.As(errs[i], &missing) || h.Summary.Status != "" {
				t.Errorf("%d: %v, stored %q", i, errs[i], h.Summary.Status)
			}
		}
	}
	d.Close()
	if err := d.SaveStatus(ctx, inventory.StatusUpdate{UUID: "g00", Fingerprint: fps[0], Status: wire.StateOK, At: t0}); !errors.Is(err, ErrClosed) {
		t.Errorf("save after close: %v", err)
	}
}
