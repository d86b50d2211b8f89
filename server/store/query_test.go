package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"testing"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// TestPageForms checks that both plans of a package filter (IN, driven by
// the package index, and EXISTS, walking hosts in order) and both counts
// give the same answers, revoked hosts and extra filters included.
func TestPageForms(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	for i := range 60 {
		uuid := fmt.Sprintf("h%02d", i)
		c := selfSigned(t, uuid)
		registerRaw(t, d, uuid, c)
		var pkgs []inventory.PackageRow
		if i%3 != 0 {
			v := fmt.Sprintf("%d.0-1", 100+i%7)
			pkgs = append(pkgs, inventory.PackageRow{PackageState: wire.PackageState{Package: "firefox", Version: v, State: wire.StateOK},
				VersionKey: inventory.VersionKey(version.MustParse(v))})
		}
		st := []string{wire.StateOK, wire.StateError}[i%2]
		if err := d.SaveStatus(ctx, inventory.StatusUpdate{UUID: uuid, Fingerprint: signing.Fingerprint(c), Status: st, At: t0,
			Packages: pkgs, ReplacePackages: true}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 1 {
			if err := d.Revoke(ctx, uuid, t0, inventory.AuditEntry{At: t0, Actor: "a", Action: "unregister", Target: uuid}); err != nil {
				t.Fatal(err)
			}
		}
	}
	lo := inventory.VersionKey(version.MustParse("103"))
	for _, f := range []inventory.HostFilter{
		{Package: "firefox", Limit: 7},
		{Package: "firefox", Limit: 7, Offset: 14, Desc: true},
		{Package: "firefox", Limit: 100, Revoked: true},
		{Package: "firefox", Versions: &inventory.KeyRange{Lo: lo, LoIncl: true}, Limit: 5, Sort: inventory.SortLastSeen},
		{Package: "firefox", Status: wire.StateError, Limit: 3, Offset: 3},
		{Package: "firefox", Text: "h1", Limit: 100, Sort: inventory.SortStatus},
		{Package: "nope", Limit: 10},
	} {
		var in, ex []wire.HostSummary
		var n1, n2 int
		err := d.read(ctx, func(tx *sql.Tx) error {
			var err error
			if in, err = page(ctx, tx, f, pkgIn); err != nil {
				return err
			}
			if ex, err = page(ctx, tx, f, pkgExists); err != nil {
				return err
			}
			if n1, err = count(ctx, tx, f); err != nil {
				return err
			}
			w, args := where(f, pkgExists)
			return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM hosts h"+w, args...).Scan(&n2)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, ex) || n1 != n2 {
			t.Errorf("%+v: IN gives %d rows (count %d), EXISTS %d rows (count %d)", f, len(in), n1, len(ex), n2)
		}
		if f.Package == "firefox" && f.Limit == 100 && f.Revoked && n1 != 40 {
			t.Errorf("count with revoked = %d, want 40", n1)
		}
		if f.Package == "firefox" && f.Limit == 7 && f.Offset == 0 && n1 != 36 {
			t.Errorf("count without revoked = %d, want 36", n1)
		}
	}
}
