package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// TestExporter: the three formats, an empty export, and agent-reported
// text that a spreadsheet would run as a formula.
func TestExporter(t *testing.T) {
	free := int64(3 << 20)
	hosts := []inventory.HostExport{
		{Summary: wire.HostSummary{UUID: "u1", Hostname: "pc1", FQDN: "pc1.lan", Status: wire.StateOK,
			Hardware: &wire.HostHardware{Manufacturer: "=HYPERLINK(\"http://x\")", RAMBytes: 8 << 30, DiskFreeBytes: &free}},
			Software: []inventory.SoftwareRow{{Name: "openssl", Version: "3.0.2", Publisher: "Debian <d@debian.org>"}, {Name: "@evil", Version: "-1"}}},
		{Summary: wire.HostSummary{UUID: "u2", Hostname: "pc2"}},
	}
	tests := []struct {
		format string
		hosts  []inventory.HostExport
		check  func(t *testing.T, body string)
	}{
		{wire.ExportCSV, hosts, func(t *testing.T, body string) {
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil || len(recs) != 3 {
				t.Fatalf("%d records, %v", len(recs), err)
			}
			h := recs[0]
			row := map[string]string{}
			for i, k := range h {
				row[k] = recs[1][i]
			}
			if row["manufacturer"] != `'=HYPERLINK("http://x")` || row["memory"] != "8192" || row["disk_free"] != "3" ||
				row["softwares"] != "openssl 3.0.2; @evil -1" || row["wapt_uuid"] != "u1" {
				t.Errorf("row %v", row)
			}
		}},
		{wire.ExportCSVRows, hosts, func(t *testing.T, body string) {
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil || len(recs) != 4 { // header, u1 × 2, u2 × 1
				t.Fatalf("%d records, %v", len(recs), err)
			}
			n := len(recs[0])
			if recs[2][n-3] != "'@evil" || recs[2][n-2] != "'-1" || recs[3][n-3] != "" || recs[3][0] != "pc2" {
				t.Errorf("rows %q", recs)
			}
		}},
		{wire.ExportJSON, hosts, func(t *testing.T, body string) {
			var got []wire.HostExport
			if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 2 || got[0].Softwares[0].Publisher != "Debian <d@debian.org>" ||
				got[1].Softwares == nil || !strings.Contains(body, "<d@debian.org>") {
				t.Errorf("%v: %s", err, body)
			}
		}},
		{wire.ExportJSON, nil, func(t *testing.T, body string) {
			if body != "[]\n" {
				t.Errorf("empty: %q", body)
			}
		}},
		{wire.ExportCSV, nil, func(t *testing.T, body string) {
			if !strings.HasPrefix(body, "name,fqdn,") || strings.Count(body, "\n") != 1 {
				t.Errorf("empty: %q", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			w := httptest.NewRecorder()
			e := &exporter{w: w, format: tt.format}
			for _, h := range tt.hosts {
				if err := e.host(h); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.finish(); err != nil {
				t.Fatal(err)
			}
			if ct := w.Header().Get("Content-Type"); (tt.format == wire.ExportJSON) != (ct == "application/json") || w.Code != 200 {
				t.Errorf("status %d, content type %q", w.Code, ct)
			}
			tt.check(t, w.Body.String())
		})
	}
}
