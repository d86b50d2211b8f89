package inventory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// swJSON is a software section of name/version pairs.
func swJSON(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, fmt.Sprintf(`{"name":%q,"version":%q,"publisher":"ACME","source":"dpkg"}`, pairs[i], pairs[i+1]))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func hw(manufacturer, model string, ramGiB, freeGiB int64) map[string]string {
	return map[string]string{
		"dmi":    fmt.Sprintf(`{"manufacturer":%q,"model":%q}`, manufacturer, model),
		"memory": fmt.Sprintf(`{"total_bytes":%d}`, ramGiB<<30),
		"disks":  fmt.Sprintf(`{"partitions":[{"device":"/dev/sda1","mountpoint":"/","fstype":"ext4","total_bytes":%d,"free_bytes":%d}]}`, 500<<30, freeGiB<<30),
	}
}

// inventoryFleet registers hosts with software and hardware inventories.
func inventoryFleet(t *testing.T) *inventory.Service {
	t.Helper()
	svc, _ := newService(t)
	ca := newCA(t)
	hosts := map[string]map[string]string{
		"u1": hw("Dell Inc.", "Latitude 7440", 8, 10),
		"u2": hw("LENOVO", "ThinkPad T14", 16, 100),
		"u3": hw("HP", "EliteBook 840 G8", 4, 0),
		"u4": {"host": `{"os":"linux"}`},
		"u5": {},
		"u6": {},
	}
	hosts["u1"]["software"] = swJSON("openssl", "1.1.1f-1ubuntu2", "curl", "7.81.0-1ubuntu1.4")
	hosts["u2"]["software"] = swJSON("openssl", "3.0.2", "Mozilla Firefox (x64 en-US)", "115.0.2", "firefox", "115.0.2")
	hosts["u3"]["software"] = swJSON("openssl", "3.0.19-1~deb12u2", "python3.11", "3.11.2-6+deb12u6", "python3", "3.11.2-1+b1")
	hosts["u4"]["software"] = swJSON("OpenSSL", "1:2.3")
	hosts["u5"]["software"] = swJSON("openssl", "(none)", "100% O'Brien_tool", "1")
	for _, uuid := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
		register(t, svc, ca, uuid, hosts[uuid])
	}
	return svc
}

// TestInventoryFilters: software filters with every operator against
// real-world versions, hardware thresholds and substrings, and hostile
// filter text bound as data (no SQL error, no match) or refused.
func TestInventoryFilters(t *testing.T) {
	ctx := context.Background()
	svc := inventoryFleet(t)
	const gib = 1 << 30
	tests := []struct {
		name string
		q    inventory.Query
		want []string
	}{
		{"software name", inventory.Query{Software: "openssl"}, []string{"u1", "u2", "u3", "u4", "u5"}},
		{"software name any case", inventory.Query{Software: "OPENSSL"}, []string{"u1", "u2", "u3", "u4", "u5"}},
		{"software <99 (the done-when)", inventory.Query{Software: "openssl<99"}, []string{"u1", "u2", "u3", "u4"}},
		{"software (<99)", inventory.Query{Software: "openssl(<99)"}, []string{"u1", "u2", "u3", "u4"}},
		{"software <3 (epoch ignored)", inventory.Query{Software: "openssl<3"}, []string{"u1", "u4"}},
		{"software <=", inventory.Query{Software: "openssl<=3.0.2"}, []string{"u1", "u2", "u4"}},
		{"software >", inventory.Query{Software: "openssl>3.0.2"}, []string{"u3"}},
		{"software >=", inventory.Query{Software: "openssl>=3.0.19"}, []string{"u3"}},
		{"software ==", inventory.Query{Software: "openssl==3.0.2"}, []string{"u2"}},
		{"software = upstream", inventory.Query{Software: "openssl=3.0.19"}, []string{"u3"}},
		{"software !=", inventory.Query{Software: "openssl!=3.0.2"}, []string{"u1", "u3", "u4"}},
		{"software letter in version", inventory.Query{Software: "openssl(<1.1.1g)"}, []string{"u1"}},
		{"software prefix", inventory.Query{Software: "python3*"}, []string{"u3"}},
		{"software prefix and version", inventory.Query{Software: "python3*>=3.12"}, nil},
		{"software display name", inventory.Query{Software: "Mozilla Firefox (x64 en-US)<128"}, []string{"u2"}},
		{"software exact, not a substring", inventory.Query{Software: "fire"}, nil},
		{"software percent literal", inventory.Query{Software: "100%"}, nil},
		{"software quote and underscore", inventory.Query{Software: "100% O'Brien_tool"}, []string{"u5"}},
		{"software percent prefix", inventory.Query{Software: "100%*"}, []string{"u5"}},
		{"software underscore prefix", inventory.Query{Software: "_*"}, nil},
		{"software injection", inventory.Query{Software: "' OR 1=1 --"}, nil},
		{"software injection 2", inventory.Query{Software: `x") OR ("1`}, nil},
		{"software longest", inventory.Query{Software: strings.Repeat("a", inventory.MaxSoftwareFilter)}, nil},
		{"software and RAM", inventory.Query{Software: "openssl<99", RAMMax: 8 * gib}, []string{"u1", "u3"}},
		{"software and text", inventory.Query{Software: "openssl", Text: "u2"}, []string{"u2"}},
		{"software and package", inventory.Query{Software: "openssl", HasPackage: "firefox"}, nil},
		{"manufacturer", inventory.Query{Manufacturer: "dell"}, []string{"u1"}},
		{"manufacturer case", inventory.Query{Manufacturer: "Lenovo"}, []string{"u2"}},
		{"manufacturer percent", inventory.Query{Manufacturer: "%"}, nil},
		{"manufacturer underscore", inventory.Query{Manufacturer: "_"}, nil},
		{"model", inventory.Query{Model: "thinkpad"}, []string{"u2"}},
		{"model injection", inventory.Query{Model: "' OR '1'='1"}, nil},
		{"ram max", inventory.Query{RAMMax: 8 * gib}, []string{"u1", "u3"}},
		{"ram min", inventory.Query{RAMMin: 8 * gib}, []string{"u1", "u2"}},
		{"ram window", inventory.Query{RAMMin: 5 * gib, RAMMax: 10 * gib}, []string{"u1"}},
		{"disk free min", inventory.Query{DiskFreeMin: 1}, []string{"u1", "u2"}},
		{"disk free min 50G", inventory.Query{DiskFreeMin: 50 * gib}, []string{"u2"}},
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
			if !reflect.DeepEqual(got, tt.want) || l.Total != len(tt.want) {
				t.Errorf("got %v (total %d), want %v", got, l.Total, tt.want)
			}
			// The export selects the same hosts.
			var exported []string
			if err := svc.ExportHosts(ctx, tt.q, false, func(e inventory.HostExport) error {
				exported = append(exported, e.Summary.UUID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(exported, tt.want) {
				t.Errorf("export %v, want %v", exported, tt.want)
			}
		})
	}
	// Paging over a software filter counts every match.
	if l, err := svc.ListHosts(ctx, inventory.Query{Software: "openssl<99", Limit: 2, Offset: 1}); err != nil || l.Total != 4 ||
		len(l.Hosts) != 2 || l.Hosts[0].UUID != "u2" {
		t.Errorf("page: %+v, %v", l, err)
	}
	for _, q := range []inventory.Query{
		{Software: "<3"}, {Software: "openssl<"}, {Software: "a\x00b"}, {Software: strings.Repeat("a", inventory.MaxSoftwareFilter+1)},
		{Manufacturer: "\x00"}, {Model: strings.Repeat("m", inventory.MaxNameLen+1)}, {RAMMin: -1}, {DiskFreeMin: -5},
		{RAMMin: 2 * gib, RAMMax: gib},
	} {
		if _, err := svc.ListHosts(ctx, q); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("ListHosts(%+v) = %v, want ErrInvalid", q, err)
		}
		called := false
		if err := svc.ExportHosts(ctx, q, true, func(inventory.HostExport) error { called = true; return nil }); !errors.Is(err, inventory.ErrInvalid) || called {
			t.Errorf("ExportHosts(%+v) = %v (called %v), want ErrInvalid before any host", q, err, called)
		}
	}
}

// TestExportGLPI: the export carries the inventory under GLPI's names.
func TestExportGLPI(t *testing.T) {
	ctx := context.Background()
	svc := inventoryFleet(t)
	var got []wire.HostExport
	err := svc.ExportHosts(ctx, inventory.Query{Software: "openssl<3.0.3", Limit: 1, Sort: inventory.SortLastSeen, Desc: true}, true,
		func(e inventory.HostExport) error {
			got = append(got, e.GLPI())
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("exported %d hosts, want 3 (u1, u2, u4): %+v", len(got), got)
	}
	u1 := got[0]
	free := int64(10 << 10)
	want := wire.HostExport{Name: "u1", FQDN: "u1.example.org", WAPTUUID: "u1", Manufacturer: "Dell Inc.", ComputerModel: "Latitude 7440",
		Memory: 8 << 10, DiskTotal: 500 << 10, DiskFree: &free, LastInventoryUpdate: t0,
		Softwares: []wire.ExportSoftware{{Name: "curl", Version: "7.81.0-1ubuntu1.4", Publisher: "ACME"}, {Name: "openssl", Version: "1.1.1f-1ubuntu2", Publisher: "ACME"}}}
	if !reflect.DeepEqual(u1, want) {
		t.Errorf("u1 exported as\n%+v\nwant\n%+v", u1, want)
	}
	stop := errors.New("stop")
	n := 0
	if err := svc.ExportHosts(ctx, inventory.Query{}, false, func(inventory.HostExport) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("an error of fn: %v after %d hosts", err, n)
	}
}

// TestRejectedSectionKeepsInventory: a software section over its size
// limit, or with more entries than MaxSoftwareRows, is refused with
// ErrInvalid and changes nothing of the host's stored inventory; a
// software section of another shape is accepted (kept, not queryable).
func TestRejectedSectionKeepsInventory(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	ca := newCA(t)
	secs := hw("Dell Inc.", "Latitude", 8, 10)
	secs["software"] = swJSON("openssl", "3.0.2")
	cert := register(t, svc, ca, "h", secs)
	snapshot := func() (wire.HostDetail, []inventory.SoftwareRow) {
		d, err := svc.Host(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		var sw []inventory.SoftwareRow
		must(t, svc.ExportHosts(ctx, inventory.Query{}, true, func(e inventory.HostExport) error { sw = e.Software; return nil }))
		return d, sw
	}
	var tooMany bytes.Buffer
	tooMany.WriteString("[")
	for i := range inventory.MaxSoftwareRows + 1 {
		if i > 0 {
			tooMany.WriteString(",")
		}
		fmt.Fprintf(&tooMany, `{"name":"p%d"}`, i)
	}
	tooMany.WriteString("]")
	huge := `[{"name":"x","version":"` + strings.Repeat("1", inventory.MaxSoftwareSectionSize) + `"}]`
	for _, tt := range []struct{ name, data string }{
		{"over 8 MiB", huge},
		{"too many entries", tooMany.String()},
		{"not JSON", `[{"name":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeSW := snapshot()
			rep := report("h")
			rep.SectionHashes = map[string]string{}
			for k, v := range secs {
				rep.SectionHashes[k] = inventory.SectionHash([]byte(v))
			}
			s := sec(tt.data)
			rep.Sections = map[string]wire.Section{"software": s}
			rep.SectionHashes["software"] = s.Hash
			err := svc.IngestStatus(ctx, "h", cert, rep, t0)
			if !errors.Is(err, inventory.ErrInvalid) {
				t.Fatalf("IngestStatus = %v, want ErrInvalid", err)
			}
			after, afterSW := snapshot()
			if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(beforeSW, afterSW) || len(afterSW) != 1 {
				t.Errorf("a refused section changed the host:\n%+v %+v\n%+v %+v", before.Summary.Hardware, beforeSW, after.Summary.Hardware, afterSW)
			}
		})
	}
	// A software section just under 8 MiB is taken (not the 1 MiB of the
	// other sections).
	big := swJSON("openssl", "3.0.2", "big", strings.Repeat("1", 2<<20))
	rep := report("h")
	rep.SectionHashes = map[string]string{"software": inventory.SectionHash([]byte(big))}
	rep.Sections = map[string]wire.Section{"software": sec(big)}
	if err := svc.IngestStatus(ctx, "h", cert, rep, t0); err != nil {
		t.Fatalf("2 MiB software section: %v", err)
	}
	// Another shape: stored, no rows, the post succeeds.
	odd := `{"packages":"unknown agent"}`
	rep.SectionHashes = map[string]string{"software": inventory.SectionHash([]byte(odd))}
	rep.Sections = map[string]wire.Section{"software": sec(odd)}
	if err := svc.IngestStatus(ctx, "h", cert, rep, t0); err != nil {
		t.Fatalf("odd software section: %v", err)
	}
	d, sw := snapshot()
	if string(d.Sections["software"]) != odd || len(sw) != 0 {
		t.Errorf("odd section: stored %s, %d rows", d.Sections["software"], len(sw))
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
