package client_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/server/serve"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// TestInventoryAgainstServer: a host registers with the inventory a real
// agent sent (Debian 12, dpkg), then the admin finds it by software and
// exports it as CSV and JSON.
func TestInventoryAgainstServer(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	adminCA := newIdent(t, "admin CA", certs.RoleCA, nil)
	viewer := newIdent(t, "victor", certs.RoleSimple, &adminCA)
	must(t, os.MkdirAll(filepath.Join(data, serve.AdminCADir), 0o755))
	must(t, os.WriteFile(filepath.Join(data, serve.AdminCADir, "ca.crt"), certs.EncodeCertsPEM(adminCA.cert), 0o644))
	srv := startServer(t, data)
	anon, view := srv.client(t, nil), srv.client(t, &viewer)
	must(t, anon.RegisterAdmin(ctx, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(viewer.cert)),
		Rights: []string{wire.RightView}, BootstrapPassword: srv.bootstrap}))

	b, err := os.ReadFile("../inventory/testdata/agent-linux.json")
	must(t, err)
	var secs map[string]json.RawMessage
	must(t, json.Unmarshal(b, &secs))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "VM-1"}}, key)
	must(t, err)
	_, err = anon.Register(ctx, wire.RegisterRequest{UUID: "VM-1", FQDN: "vm.example.lan", Token: srv.token, Sections: secs,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))})
	must(t, err)

	for _, tt := range []struct {
		q    client.HostQuery
		want int
	}{
		{client.HostQuery{Software: "openssl<99"}, 1},
		{client.HostQuery{Software: "openssl>=3.0.19"}, 1},
		{client.HostQuery{Software: "openssl<3.0.19"}, 0},
		{client.HostQuery{Software: "git==2.39.5"}, 1}, // epoch 1: ignored
		{client.HostQuery{Software: "python3*", RAMMin: 1 << 30, DiskFreeMin: 1}, 1},
		{client.HostQuery{Software: "openssl", Manufacturer: "dell"}, 0}, // no DMI in the container
		{client.HostQuery{Duplicates: true}, 0},
	} {
		l, err := view.ListHosts(ctx, tt.q)
		must(t, err)
		if l.Total != tt.want {
			t.Errorf("ListHosts(%+v): %d hosts, want %d", tt.q, l.Total, tt.want)
		}
	}
	var ae *client.APIError
	if _, err := view.ListHosts(ctx, client.HostQuery{Software: "openssl<"}); !errors.As(err, &ae) || ae.Fields["software"] == "" {
		t.Errorf("bad software filter: %v", err)
	}

	var out bytes.Buffer
	must(t, view.ExportHosts(ctx, client.HostQuery{Software: "openssl<99", Limit: 1}, wire.ExportCSV, &out))
	recs, err := csv.NewReader(&out).ReadAll()
	must(t, err)
	if len(recs) != 2 || recs[0][0] != "name" || recs[0][len(recs[0])-1] != "softwares" || recs[1][3] != "VM-1" ||
		!strings.Contains(recs[1][len(recs[1])-1], "openssl 3.0.19-1~deb12u2") || recs[1][7] != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("CSV export: %q", recs)
	}
	out.Reset()
	must(t, view.ExportHosts(ctx, client.HostQuery{}, wire.ExportCSVRows, &out))
	if recs, err := csv.NewReader(&out).ReadAll(); err != nil || len(recs) != 1+16 || recs[0][len(recs[0])-3] != "software_name" {
		t.Errorf("CSV rows export: %d lines, %v", len(recs), err)
	}
	out.Reset()
	must(t, view.ExportHosts(ctx, client.HostQuery{Software: "openssl"}, wire.ExportJSON, &out))
	var hosts []wire.HostExport
	must(t, json.Unmarshal(out.Bytes(), &hosts))
	if len(hosts) != 1 || hosts[0].WAPTUUID != "VM-1" || len(hosts[0].Softwares) != 16 || hosts[0].Memory == 0 ||
		hosts[0].LastInventoryUpdate.IsZero() || time.Since(hosts[0].LastInventoryUpdate) > time.Hour {
		t.Errorf("JSON export: %+v", hosts)
	}
	out.Reset()
	must(t, view.ExportHosts(ctx, client.HostQuery{Software: "nothing"}, wire.ExportJSON, &out))
	if strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("empty JSON export: %q", out.String())
	}
	if err := view.ExportHosts(ctx, client.HostQuery{}, "xml", &out); !errors.As(err, &ae) || !errors.Is(err, client.ErrInvalid) || ae.Fields["format"] == "" {
		t.Errorf("bad format: %v", err)
	}
	if err := anon.ExportHosts(ctx, client.HostQuery{}, wire.ExportCSV, &out); !errors.Is(err, client.ErrUnauthenticated) {
		t.Errorf("unsigned export: %v", err)
	}
}
