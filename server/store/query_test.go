package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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
			if n1, _, err = count(ctx, tx, f); err != nil {
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

// TestGroupAndUnitFilters: group membership comes from host packages
// (recorded even before the host registers), units match the OU and every
// OU below it, case-insensitively, with LIKE wildcards taken literally.
func TestGroupAndUnitFilters(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	units := map[string]string{
		"a": "CN=a,OU=room1,OU=Prod,DC=example,DC=lan",
		"b": "CN=b,OU=room2,OU=prod,DC=example,DC=lan",
		"c": "CN=c,OU=lab,DC=example,DC=lan",
		"d": "",
		"e": "CN=e,OU=x_y%,DC=example,DC=lan",
	}
	must(t, d.SetHostGroups(ctx, "a", []string{"grp-office", "grp-dev"}))
	must(t, d.SetHostGroups(ctx, "c", []string{"grp-office"}))
	for _, uuid := range []string{"a", "b", "c", "d", "e"} {
		c := selfSigned(t, uuid)
		registerRaw(t, d, uuid, c)
		must(t, d.SaveStatus(ctx, inventory.StatusUpdate{UUID: uuid, Fingerprint: signing.Fingerprint(c), Status: wire.StateOK, At: t0, Unit: units[uuid]}))
	}
	must(t, d.SetHostGroups(ctx, "b", []string{"grp-dev"}))
	must(t, d.SetHostGroups(ctx, "a", []string{"grp-office"})) // replaces
	for _, tt := range []struct {
		f    inventory.HostFilter
		want []string
	}{
		{inventory.HostFilter{Group: "grp-office"}, []string{"a", "c"}},
		{inventory.HostFilter{Group: "grp-dev"}, []string{"b"}},
		{inventory.HostFilter{Group: "nope"}, nil},
		{inventory.HostFilter{Unit: "OU=prod,DC=example,DC=lan"}, []string{"a", "b"}},
		{inventory.HostFilter{Unit: "ou=ROOM1,ou=prod,dc=example,dc=lan"}, []string{"a"}},
		{inventory.HostFilter{Unit: "DC=example,DC=lan"}, []string{"a", "b", "c", "e"}},
		{inventory.HostFilter{Unit: "CN=c,OU=lab,DC=example,DC=lan"}, []string{"c"}},
		{inventory.HostFilter{Unit: "rod,DC=example,DC=lan"}, nil}, // not a whole RDN
		{inventory.HostFilter{Unit: "%"}, nil},
		{inventory.HostFilter{Unit: "OU=x_y%,DC=example,DC=lan"}, []string{"e"}},
		{inventory.HostFilter{Unit: "OU=xzyz,DC=example,DC=lan"}, nil},
		{inventory.HostFilter{Unit: "OU=prod,DC=example,DC=lan", Group: "grp-office"}, []string{"a"}},
	} {
		tt.f.Sort, tt.f.Limit = inventory.SortName, 100
		hs, total, err := d.ListHosts(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hs {
			got = append(got, h.UUID)
		}
		if !reflect.DeepEqual(got, tt.want) || total != len(tt.want) {
			t.Errorf("%+v: %v (total %d), want %v", tt.f, got, total, tt.want)
		}
	}
	h, err := d.Host(ctx, "a")
	must(t, err)
	if !reflect.DeepEqual(h.Groups, []string{"grp-office"}) || h.Summary.Unit != units["a"] {
		t.Errorf("detail: groups %v unit %q", h.Groups, h.Summary.Unit)
	}
}

// TestHistory: status posts record what changed (status transitions,
// installs, upgrades, removals, failures), merged with the audit log
// entries about the host, newest first; a repeated report adds nothing.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	c := selfSigned(t, "h1")
	registerRaw(t, d, "h1", c)
	must(t, d.AddAudit(ctx, inventory.AuditEntry{At: t0, Actor: "alice", Action: "edit_host", Target: "h1", Detail: "depends a"}))
	pkg := func(name, v, status, state, lastErr string) inventory.PackageRow {
		return inventory.PackageRow{PackageState: wire.PackageState{Package: name, Version: v, Status: status, State: state, LastError: lastErr},
			VersionKey: inventory.VersionKey(version.MustParse(v))}
	}
	reports := []struct {
		status string
		pkgs   []inventory.PackageRow
		want   []string // new events: kind target detail
	}{
		{wire.StateNeedInstall, []inventory.PackageRow{pkg("a", "1", "", wire.StateNeedInstall, "")},
			[]string{"status  NEED-INSTALL"}},
		{wire.StateNeedInstall, []inventory.PackageRow{pkg("a", "1", "", wire.StateNeedInstall, "")}, nil},
		{wire.StateOK, []inventory.PackageRow{pkg("a", "1", "OK", wire.StateOK, ""), pkg("b", "2", "OK", wire.StateOK, "")},
			[]string{"install a 1", "install b 2", "status  NEED-INSTALL → OK"}},
		{wire.StateError, []inventory.PackageRow{pkg("a", "2", "OK", wire.StateOK, ""), pkg("b", "3", "ERROR", wire.StateError, "exit 1")},
			[]string{"upgrade a 1 → 2", "error b 3 exit 1", "status  OK → ERROR"}},
		{wire.StateError, []inventory.PackageRow{pkg("b", "3", "ERROR", wire.StateError, "exit 2")}, []string{"remove a 2"}},
	}
	var all []string
	for i, r := range reports {
		must(t, d.SaveStatus(ctx, inventory.StatusUpdate{UUID: "h1", Fingerprint: signing.Fingerprint(c), Status: r.status,
			At: t0.Add(time.Duration(i+1) * time.Minute), Packages: r.pkgs, ReplacePackages: true}))
		all = append(all, r.want...)
	}
	ev, err := d.HostHistory(ctx, "h1", 100)
	must(t, err)
	var got []string
	for i := len(ev) - 1; i >= 0; i-- {
		e := ev[i]
		if e.Actor != "" {
			got = append(got, e.Actor+" "+e.Kind+" "+e.Detail)
			continue
		}
		got = append(got, strings.TrimSpace(e.Kind+" "+e.Target+" "+e.Detail))
	}
	// registerRaw writes an audit entry too; keep the ones this test made.
	want := append([]string{"alice edit_host depends a"}, all...)
	if len(got) < len(want) || !reflect.DeepEqual(got[len(got)-len(want):], want) {
		t.Errorf("history:\n got %q\nwant %q", got, want)
	}
	if ev, err := d.HostHistory(ctx, "h1", 2); err != nil || len(ev) != 2 || ev[0].Kind != "remove" {
		t.Errorf("limited history = %+v, %v", ev, err)
	}
	if _, err := d.HostHistory(ctx, "nope", 10); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("unknown host: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
