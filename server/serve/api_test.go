package serve

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/pki"
	"github.com/wapt-go/wapt/server/store"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

type ident struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newIdent(t *testing.T, cn string, role certs.Role, issuer *ident) ident {
	t.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: "ecdsa", Now: time.Now().Add(-time.Hour)}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert, issuer.key
	}
	k, c, err := certs.Generate(r)
	if err != nil {
		t.Fatal(err)
	}
	return ident{k, c}
}

// call sends a request, signed by id when not nil, and returns the status and body.
func call(t *testing.T, method, url string, body []byte, id *ident) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if id != nil {
		if err := reqsign.Sign(req, body, id.key, id.cert, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// callHeader sends an unsigned request with one extra header ("" value:
// none).
func callHeader(t *testing.T, method, url string, body []byte, key, value string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if value != "" {
		req.Header.Set(key, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestAPI drives the admin API, registration and status posts of a real
// server: authentication and rights on every endpoint, bad bodies.
func TestAPI(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	adminCA := newIdent(t, "admin CA", certs.RoleCA, nil)
	otherCA := newIdent(t, "other CA", certs.RoleCA, nil)
	admin := newIdent(t, "alice", certs.RoleCodeSigning, &adminCA)
	viewer := newIdent(t, "victor", certs.RoleSimple, &adminCA)
	outsider := newIdent(t, "mallory", certs.RoleCodeSigning, &otherCA)
	must(t, os.MkdirAll(filepath.Join(data, AdminCADir), 0o755))
	must(t, os.WriteFile(filepath.Join(data, AdminCADir, "ca.crt"), certs.EncodeCertsPEM(adminCA.cert), 0o644))
	keys, err := pki.LoadOrCreate(data, pki.Options{})
	must(t, err)
	token := keys.Created().EnrollmentToken
	db, err := store.Open(ctx, filepath.Join(data, DBFile))
	must(t, err)
	for _, a := range []struct {
		id     ident
		rights []string
	}{{admin, []string{wire.RightAdmin}}, {viewer, []string{wire.RightView}}, {outsider, []string{wire.RightAdmin}}} {
		must(t, db.PutAdmin(ctx, auth.Admin{Name: a.id.cert.Subject.CommonName, Fingerprint: signing.Fingerprint(a.id.cert), Rights: a.rights, Cert: a.id.cert}, time.Now()))
	}
	db.Close()
	base := startServerWith(t, Options{DataDir: data})
	api := base + "/api/v1"

	// Registration: a CSR with the enrollment token.
	hostKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "HOST-1"}}, hostKey)
	must(t, err)
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	reg := func(tok string) []byte {
		b, _ := json.Marshal(wire.RegisterRequest{UUID: "HOST-1", FQDN: "host-1.example.lan", CSR: csr, Token: tok})
		return b
	}
	// The token goes in the body and, unsigned, in a header checked first.
	for _, tt := range []struct {
		name         string
		header, body string
		bodyBytes    []byte
	}{
		{"wrong token", "wrong", "wrong", nil},
		{"no header", "", token, nil},
		{"header and body differ", token, "other", nil},
		{"wrong header, huge body: refused before reading", "wrong", "", bytes.Repeat([]byte(" "), 30<<20)},
	} {
		b := tt.bodyBytes
		if b == nil {
			b = reg(tt.body)
		}
		if code, out := callHeader(t, "POST", api+"/hosts/register", b, wire.HeaderEnrollmentToken, tt.header); code != 401 {
			t.Fatalf("register, %s: %d %s", tt.name, code, out)
		}
	}
	code, b := callHeader(t, "POST", api+"/hosts/register", reg(token), wire.HeaderEnrollmentToken, token)
	if code != 200 {
		t.Fatalf("register: %d %s", code, b)
	}
	var rr wire.RegisterResponse
	must(t, json.Unmarshal(b, &rr))
	hc, err := certs.ParseCertsPEM([]byte(rr.Certificate))
	must(t, err)
	host := ident{hostKey, hc[0]}
	other := newIdent(t, "HOST-2", certs.RoleSimple, &adminCA)

	must(t, os.WriteFile(filepath.Join(data, "wapt-host", "HOST-1.wapt"), []byte("host package bytes"), 0o644))
	status, _ := json.Marshal(wire.StatusReport{UUID: "HOST-1", Time: time.Now().UTC(), HostStatus: wire.StateOK,
		Packages: []wire.PackageState{{Package: "firefox", Version: "128.0-1", Status: "OK", State: wire.StateOK}}})
	huge := bytes.Repeat([]byte(" "), 21<<20)

	upload := buildPackage(t, admin, adminCA)
	viewerFP, adminFP, outsiderFP := signing.Fingerprint(viewer.cert), signing.Fingerprint(admin.cert), signing.Fingerprint(outsider.cert)
	rights := func(r ...string) []byte { return mustJSON(t, wire.AdminRightsRequest{Rights: r}) }
	signAction := func(id ident) []byte {
		a, err := action.New(action.KindUpgrade, []string{"HOST-1"}, action.Args{}, time.Now(), 0)
		must(t, err)
		sa, err := action.Sign(a, id.key, []*x509.Certificate{id.cert})
		must(t, err)
		b, err := sa.Marshal()
		must(t, err)
		return b
	}
	act, actByViewer := signAction(admin), signAction(viewer)
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		id     *ident
		want   int
	}{
		{"host package unsigned", "GET", "@/wapt-host/HOST-1.wapt", nil, nil, 401},
		{"host package of another host", "GET", "@/wapt-host/HOST-1.wapt", nil, &other, 401},
		{"host package by its host", "GET", "@/wapt-host/HOST-1.wapt", nil, &host, 200},
		{"host package by a viewer", "GET", "@/wapt-host/HOST-1.wapt", nil, &viewer, 200},
		{"status unsigned", "POST", "/hosts/HOST-1/status", status, nil, 401},
		{"status by another key", "POST", "/hosts/HOST-1/status", status, &other, 401},
		{"status by an admin", "POST", "/hosts/HOST-1/status", status, &admin, 401},
		{"status of another host", "POST", "/hosts/HOST-9/status", status, &host, 403},
		{"status garbage", "POST", "/hosts/HOST-1/status", []byte("{not json"), &host, 400},
		{"status too large", "POST", "/hosts/HOST-1/status", huge, &host, 413},
		{"status unsigned and huge: refused before reading", "POST", "/hosts/HOST-1/status", huge, nil, 401},
		{"status ok", "POST", "/hosts/HOST-1/status", status, &host, 204},
		{"hosts unsigned", "GET", "/hosts", nil, nil, 401},
		{"hosts by a host", "GET", "/hosts", nil, &host, 401},
		{"hosts by an admin of another CA", "GET", "/hosts", nil, &outsider, 401},
		{"hosts by a viewer", "GET", "/hosts?package=firefox(<200)", nil, &viewer, 200},
		{"hosts bad paging", "GET", "/hosts?limit=x", nil, &viewer, 422},
		{"host detail", "GET", "/hosts/HOST-1", nil, &viewer, 200},
		{"host detail unknown", "GET", "/hosts/NOPE", nil, &viewer, 404},
		{"hosts by group", "GET", "/hosts?group=grp-a&unit=OU%3Dprod,DC%3Dlan", nil, &viewer, 200},
		{"hosts bad unit", "GET", "/hosts?unit=%00", nil, &viewer, 422},
		{"hosts by inventory", "GET", "/hosts?software=openssl%3C99&manufacturer=dell&model=x&ram_min=8G&ram_max=64G&disk_free_min=1024&duplicates=1", nil, &viewer, 200},
		{"hosts bad software filter", "GET", "/hosts?software=%3C3", nil, &viewer, 422},
		{"hosts bad ram", "GET", "/hosts?ram_min=lots", nil, &viewer, 422},
		{"hosts bad duplicates", "GET", "/hosts?duplicates=maybe", nil, &viewer, 422},
		{"export unsigned", "GET", "/hosts/export?format=csv", nil, nil, 401},
		{"export by a host", "GET", "/hosts/export?format=csv", nil, &host, 401},
		{"export by an outsider", "GET", "/hosts/export?format=csv", nil, &outsider, 401},
		{"export csv by a viewer", "GET", "/hosts/export?format=csv&software=openssl%3C99", nil, &viewer, 200},
		{"export csv-rows by a viewer", "GET", "/hosts/export?format=csv-rows", nil, &viewer, 200},
		{"export json by a viewer", "GET", "/hosts/export?format=json&status=OK", nil, &viewer, 200},
		{"export bad format", "GET", "/hosts/export?format=xml", nil, &viewer, 422},
		{"export bad filter", "GET", "/hosts/export?format=csv&ram_max=-1", nil, &viewer, 422},
		{"host history unsigned", "GET", "/hosts/HOST-1/history", nil, nil, 401},
		{"host history by an outsider", "GET", "/hosts/HOST-1/history", nil, &outsider, 401},
		{"host history by a host", "GET", "/hosts/HOST-1/history", nil, &host, 401},
		{"host history", "GET", "/hosts/HOST-1/history?limit=10", nil, &viewer, 200},
		{"host history bad limit", "GET", "/hosts/HOST-1/history?limit=-1", nil, &viewer, 422},
		{"host history unknown", "GET", "/hosts/NOPE/history", nil, &viewer, 404},
		{"audit log unsigned", "GET", "/audit", nil, nil, 401},
		{"audit log by an outsider", "GET", "/audit", nil, &outsider, 401},
		{"audit log by a viewer", "GET", "/audit", nil, &viewer, 403},
		{"audit log bad limit", "GET", "/audit?limit=0", nil, &admin, 422},
		{"audit log by an admin", "GET", "/audit?limit=5", nil, &admin, 200},
		{"action unsigned", "POST", "/actions", act, nil, 401},
		{"action by an outsider", "POST", "/actions", act, &outsider, 401},
		{"action by a host", "POST", "/actions", act, &host, 401},
		{"action by a viewer", "POST", "/actions", actByViewer, &viewer, 403},
		{"action signed by another admin", "POST", "/actions", actByViewer, &admin, 403},
		{"action garbage", "POST", "/actions", []byte(`{"action":{}}`), &admin, 422},
		{"action too large", "POST", "/actions", bytes.Repeat([]byte(" "), 2<<20), &admin, 413},
		{"action", "POST", "/actions", act, &admin, 202},
		{"action replayed", "POST", "/actions", act, &admin, 409},
		{"actions unsigned", "GET", "/actions", nil, nil, 401},
		{"actions by a viewer", "GET", "/actions", nil, &viewer, 200},
		{"actions bad limit", "GET", "/actions?limit=0", nil, &viewer, 422},
		{"action unknown", "GET", "/actions/nope", nil, &viewer, 404},
		{"uplink unsigned", "GET", "/hosts/HOST-1/uplink", nil, nil, 401},
		{"uplink by an admin", "GET", "/hosts/HOST-1/uplink", nil, &admin, 401},
		{"uplink of another host", "GET", "/hosts/HOST-9/uplink", nil, &host, 403},
		{"upload by a viewer", "POST", "/packages", upload, &viewer, 403},
		{"upload unsigned", "POST", "/packages", upload, nil, 401},
		{"upload garbage", "POST", "/packages", []byte("not a zip"), &admin, 422},
		{"upload by an admin", "POST", "/packages", upload, &admin, 201},
		{"packages by a viewer", "GET", "/packages", nil, &viewer, 200},
		{"package by a viewer", "GET", "/packages/test-upload_1-1.wapt", nil, &viewer, 200},
		{"package unsigned", "GET", "/packages/test-upload_1-1.wapt", nil, nil, 401},
		{"package by an outsider", "GET", "/packages/test-upload_1-1.wapt", nil, &outsider, 401},
		{"package unknown", "GET", "/packages/nope_1.wapt", nil, &viewer, 404},
		{"packages unsigned", "GET", "/packages", nil, nil, 401},
		{"packages by a host", "GET", "/packages", nil, &host, 401},
		{"host detail unsigned", "GET", "/hosts/HOST-1", nil, nil, 401},
		{"unregister unsigned", "DELETE", "/hosts/HOST-1", nil, nil, 401},
		{"delete package by a viewer", "DELETE", "/packages/test-upload_1-1.wapt", nil, &viewer, 403},
		{"delete package unsigned", "DELETE", "/packages/test-upload_1-1.wapt", nil, nil, 401},
		{"delete unknown package", "DELETE", "/packages/nope_1.wapt", nil, &admin, 404},
		{"register admin unsigned", "POST", "/admins", mustJSON(t, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(viewer.cert)), Rights: []string{wire.RightView}}), nil, 401},
		{"register admin with a bad bootstrap password", "POST", "/admins", mustJSON(t, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(viewer.cert)), Rights: []string{wire.RightView}, BootstrapPassword: "guess"}), nil, 401},
		{"register admin from another CA", "POST", "/admins", mustJSON(t, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(outsider.cert)), Rights: []string{wire.RightView}}), &admin, 422},
		{"register admin", "POST", "/admins", mustJSON(t, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(viewer.cert)), Rights: []string{wire.RightView, wire.RightEditBasePackage}}), &admin, 201},
		{"register admin malformed", "POST", "/admins", []byte("{"), &admin, 400},
		{"admins by a viewer", "GET", "/admins", nil, &viewer, 403},
		{"admins unsigned", "GET", "/admins", nil, nil, 401},
		{"admins by an admin", "GET", "/admins", nil, &admin, 200},
		{"unregister by a viewer", "DELETE", "/hosts/HOST-1", nil, &viewer, 403},
		{"set rights unsigned", "PUT", "/admins/" + viewerFP, rights(wire.RightView), nil, 401},
		{"set rights by an outsider", "PUT", "/admins/" + viewerFP, rights(wire.RightView), &outsider, 401},
		{"set rights by a viewer", "PUT", "/admins/" + viewerFP, rights(wire.RightAdmin), &viewer, 403},
		{"set rights malformed", "PUT", "/admins/" + viewerFP, []byte("{"), &admin, 400},
		{"set rights unknown right", "PUT", "/admins/" + viewerFP, rights("root"), &admin, 422},
		{"set rights none", "PUT", "/admins/" + viewerFP, rights(), &admin, 422},
		{"set rights of an unknown admin", "PUT", "/admins/00ff", rights(wire.RightView), &admin, 404},
		{"set rights", "PUT", "/admins/" + viewerFP, rights(wire.RightView, wire.RightEditGroupPackage), &admin, 204},
		{"remove admin unsigned", "DELETE", "/admins/" + outsiderFP, nil, nil, 401},
		{"remove admin by a viewer", "DELETE", "/admins/" + outsiderFP, nil, &viewer, 403},
		{"remove unknown admin", "DELETE", "/admins/00ff", nil, &admin, 404},
		{"remove admin", "DELETE", "/admins/" + outsiderFP, nil, &admin, 204},
		{"last admin keeps the admin right", "PUT", "/admins/" + adminFP, rights(wire.RightView), &admin, 409},
		{"last admin cannot be removed", "DELETE", "/admins/" + adminFP, nil, &admin, 409},
		{"register admin without rights", "POST", "/admins", mustJSON(t, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(viewer.cert)), Rights: []string{wire.RightView}}), &viewer, 403},
		{"unregister by an admin", "DELETE", "/hosts/HOST-1", nil, &admin, 204},
		{"delete package by an admin", "DELETE", "/packages/test-upload_1-1.wapt", nil, &admin, 204},
		{"status after unregister", "POST", "/hosts/HOST-1/status", status, &host, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := api + tt.path
			if strings.HasPrefix(tt.path, "@") {
				url = base + tt.path[1:]
			}
			code, b := call(t, tt.method, url, tt.body, tt.id)
			if code != tt.want {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.path, code, tt.want, b)
			}
			if code >= 400 && !strings.HasPrefix(tt.path, "@") {
				var e wire.Error
				if err := json.Unmarshal(b, &e); err != nil || e.Code == "" {
					t.Errorf("error body %q is not a wire.Error", b)
				}
			}
		})
	}

	// Every write is in the audit log: who, what, on what.
	adb, err := store.Open(ctx, filepath.Join(data, DBFile))
	must(t, err)
	entries, err := adb.AuditLog(ctx, 100)
	adb.Close()
	must(t, err)
	got := map[string]string{}
	for _, e := range entries {
		got[e.Action] = e.Actor + " " + e.Target
	}
	for action, want := range map[string]string{"upload_package": "alice test-upload_1-1.wapt", "delete_package": "alice test-upload_1-1.wapt",
		"register_admin": "alice victor", "unregister": "alice HOST-1", "set_admin_rights": "alice " + viewerFP,
		"remove_admin": "alice " + outsiderFP} {
		if !strings.HasPrefix(got[action], want) {
			t.Errorf("audit %s = %q, want %q (log: %v)", action, got[action], want, got)
		}
	}

	// The index, re-signed after the upload and the delete by the server's
	// repository key under its host CA, no longer lists the package.
	_, index := call(t, "GET", base+"/wapt/Packages", nil, nil)
	_, sig := call(t, "GET", base+"/wapt/Packages.sig", nil, nil)
	if _, err := repoindex.VerifyIndex(sig, index, signing.NewTrust(keys.HostCA()), time.Now(), "", 0); err != nil {
		t.Errorf("index after upload: %v", err)
	}
	ix, err := repoindex.Parse(index, 0)
	must(t, err)
	if len(ix.Lookup("test-upload")) != 0 {
		t.Errorf("deleted package still in the index")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

// buildPackage builds a small package with a setup.py signed by id.
func buildPackage(t *testing.T, id, ca ident) []byte {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.MkdirAll(filepath.Join(src, "WAPT"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "WAPT", "control"), []byte("package: test-upload\nversion: 1-1\narchitecture: all\nsection: base\npriority: optional\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "setup.py"), []byte("def install():\n    pass\n"), 0o644))
	p, _, err := pkgfile.Build(context.Background(), src, pkgfile.BuildOptions{OutDir: t.TempDir(), Signer: id.key, Chain: []*x509.Certificate{id.cert, ca.cert}, Now: time.Now()})
	must(t, err)
	b, err := os.ReadFile(p)
	must(t, err)
	if !strings.HasSuffix(p, ".wapt") {
		t.Fatal(p)
	}
	return b
}
