package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestListHosts(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	ca := newCA(t)
	type host struct {
		uuid, fqdn, os string
		seen           time.Duration // 0: never reported
		pkgs           []wire.PackageState
	}
	hosts := []host{
		{"u1", "alpha.example.org", "debian", time.Hour, []wire.PackageState{pkg("firefox", "115.0-2", wire.StateOK), pkg("7zip", "23-1", wire.StateOK)}},
		{"u2", "beta.example.org", "windows", 2 * time.Hour, []wire.PackageState{pkg("firefox", "102.9-1", wire.StateNeedUpgrade)}},
		{"u3", "gamma.example.org", "windows", 3 * time.Hour, []wire.PackageState{pkg("chrome", "120-1", wire.StateError)}},
		{"u4", "delta.example.org", "debian", 0, nil},
		{"u5", "we%ird_h'st.example.org", "", 0, nil},
		{"u6", "zété.example.org", "", 0, nil},
	}
	for _, h := range hosts {
		req := regReq(h.uuid, nil)
		req.FQDN = h.fqdn
		if h.os != "" {
			req.Sections = map[string]json.RawMessage{"host": json.RawMessage(`{"os":"` + h.os + `"}`)}
		}
		cert := ca.issue(t, h.uuid)
		if err := svc.Register(ctx, req, cert, inventory.ByToken, t0, inventory.RegisterOptions{}); err != nil {
			t.Fatal(err)
		}
		if h.seen != 0 {
			if err := svc.IngestStatus(ctx, h.uuid, cert, report(h.uuid, h.pkgs...), t0.Add(h.seen)); err != nil {
				t.Fatal(err)
			}
		}
	}

	tests := []struct {
		name  string
		q     inventory.Query
		want  []string // uuids in order
		total int      // 0: len(want)
	}{
		{name: "all by name", q: inventory.Query{}, want: []string{"u1", "u2", "u4", "u3", "u5", "u6"}},
		{name: "name desc", q: inventory.Query{Desc: true}, want: []string{"u6", "u5", "u3", "u4", "u2", "u1"}},
		{name: "status OK", q: inventory.Query{Status: wire.StateOK}, want: []string{"u1"}},
		{name: "status ERROR", q: inventory.Query{Status: wire.StateError}, want: []string{"u3"}},
		{name: "text case-insensitive", q: inventory.Query{Text: "ALPHA"}, want: []string{"u1"}},
		{name: "text uuid", q: inventory.Query{Text: "u3"}, want: []string{"u3"}},
		{name: "text common", q: inventory.Query{Text: "example.org"}, want: []string{"u1", "u2", "u4", "u3", "u5", "u6"}},
		{name: "text percent is literal", q: inventory.Query{Text: "%"}, want: []string{"u5"}},
		{name: "text underscore is literal", q: inventory.Query{Text: "_"}, want: []string{"u5"}},
		{name: "text quote", q: inventory.Query{Text: "'"}, want: []string{"u5"}},
		{name: "text backslash", q: inventory.Query{Text: `\`}, want: nil},
		{name: "text injection", q: inventory.Query{Text: "'; DROP TABLE hosts; --"}, want: nil},
		{name: "text injection 2", q: inventory.Query{Text: `" OR 1=1 OR "`}, want: nil},
		{name: "text unicode", q: inventory.Query{Text: "été"}, want: []string{"u6"}},
		{name: "has package", q: inventory.Query{HasPackage: "firefox"}, want: []string{"u1", "u2"}},
		{name: "has package any case", q: inventory.Query{HasPackage: "FireFox"}, want: []string{"u1", "u2"}},
		{name: "has package below", q: inventory.Query{HasPackage: "firefox(<115)"}, want: []string{"u2"}},
		{name: "has package at least", q: inventory.Query{HasPackage: "firefox(>=115)"}, want: []string{"u1"}},
		{name: "has package upstream equal", q: inventory.Query{HasPackage: "firefox(=115.0.0)"}, want: []string{"u1"}},
		{name: "has package exact packaging", q: inventory.Query{HasPackage: "firefox(=115.0-3)"}, want: nil},
		{name: "has package <=", q: inventory.Query{HasPackage: "firefox(<=102.9)"}, want: []string{"u2"}},
		{name: "has package >", q: inventory.Query{HasPackage: "firefox(>102.9)"}, want: []string{"u1"}},
		{name: "has package wildcard literal", q: inventory.Query{HasPackage: "fire%"}, want: nil},
		{name: "has package quote", q: inventory.Query{HasPackage: "x'or'1'='1"}, want: nil},
		{name: "has package and status", q: inventory.Query{HasPackage: "firefox", Status: wire.StateNeedUpgrade}, want: []string{"u2"}},
		{name: "os", q: inventory.Query{OS: "windows"}, want: []string{"u2", "u3"}},
		{name: "os injection", q: inventory.Query{OS: "windows' OR '1'='1"}, want: nil},
		{name: "seen after", q: inventory.Query{SeenAfter: t0.Add(90 * time.Minute)}, want: []string{"u2", "u3"}},
		{name: "seen before", q: inventory.Query{SeenBefore: t0.Add(150 * time.Minute)}, want: []string{"u1", "u2"}},
		{name: "seen window", q: inventory.Query{SeenAfter: t0.Add(90 * time.Minute), SeenBefore: t0.Add(150 * time.Minute)}, want: []string{"u2"}},
		{name: "sort last seen desc", q: inventory.Query{Sort: inventory.SortLastSeen, Desc: true}, want: []string{"u3", "u2", "u1", "u6", "u5", "u4"}},
		{name: "sort last seen", q: inventory.Query{Sort: inventory.SortLastSeen, Limit: 4}, want: []string{"u4", "u5", "u6", "u1"}, total: 6},
		{name: "sort status desc", q: inventory.Query{Sort: inventory.SortStatus, Desc: true, Limit: 3}, want: []string{"u3", "u2", "u1"}, total: 6},
		{name: "page 2", q: inventory.Query{Offset: 2, Limit: 2}, want: []string{"u4", "u3"}, total: 6},
		{name: "page past the end", q: inventory.Query{Offset: 10, Limit: 2}, want: nil, total: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := svc.ListHosts(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range l.Hosts {
				got = append(got, h.UUID)
			}
			total := tt.total
			if total == 0 {
				total = len(tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) || l.Total != total {
				t.Errorf("got %v (total %d), want %v (total %d)", got, l.Total, tt.want, total)
			}
			if l.Hosts == nil {
				t.Error("nil Hosts (encodes as null)")
			}
		})
	}

	bad := []inventory.Query{
		{Limit: inventory.MaxLimit + 1}, {Limit: -1}, {Offset: -1}, {Sort: "uuid; DROP TABLE hosts"},
		{Status: "GOOD"}, {HasPackage: "firefox(~1)"}, {HasPackage: "a b"}, {Text: "\xff"}, {Text: "\x00"}, {Text: "a\nb"}, {OS: "\x00"},
	}
	for _, q := range bad {
		if _, err := svc.ListHosts(ctx, q); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("ListHosts(%+v) = %v, want ErrInvalid", q, err)
		}
	}
	// The hostile strings changed nothing.
	if l, err := svc.ListHosts(ctx, inventory.Query{}); err != nil || l.Total != len(hosts) {
		t.Errorf("after hostile queries: %d hosts, %v", l.Total, err)
	}
	if _, err := svc.Host(ctx, "nope"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Host(nope) = %v", err)
	}
}
