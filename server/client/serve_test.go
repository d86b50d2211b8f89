package client_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/server/pki"
	"github.com/wapt-go/wapt/server/serve"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/wire"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type ident struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newIdent(tb testing.TB, cn string, role certs.Role, issuer *ident) ident {
	tb.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: "ecdsa", Now: time.Now().Add(-time.Hour)}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert, issuer.key
	}
	k, c, err := certs.Generate(r)
	if err != nil {
		tb.Fatal(err)
	}
	return ident{k, c}
}

// server is a real waptserver (serve.Run) on a loopback port over HTTPS.
type server struct {
	base      string
	http      *http.Client // trusts the server's TLS certificate
	bootstrap string
	token     string
}

var (
	bootstrapLine = regexp.MustCompile(`bootstrap admin password .*: (\S+)\n`)
	tokenLine     = regexp.MustCompile(`enrollment token .*: (\S+)\n`)
)

func startServer(tb testing.TB, data string) server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &syncBuffer{}
	o := serve.Options{DataDir: data, Listen: ln.Addr().String(), TLS: true}
	go func() { done <- serve.Run(ctx, o, ln, tb.Logf, out) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("server stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			tb.Error("server did not stop")
		}
	})
	s := server{base: "https://" + ln.Addr().String()}
	for i := 0; ; i++ {
		if s.http == nil {
			if b, err := os.ReadFile(filepath.Join(data, pki.DirName, pki.HostCACertFile)); err == nil {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(b)
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
				tb.Cleanup(tr.CloseIdleConnections)
				s.http = &http.Client{Transport: tr}
			}
		}
		if s.http != nil {
			if resp, err := s.http.Get(s.base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		if i == 200 {
			tb.Fatalf("server not ready:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := bootstrapLine.FindStringSubmatch(out.String()); m != nil {
		s.bootstrap = m[1]
	}
	if m := tokenLine.FindStringSubmatch(out.String()); m != nil {
		s.token = m[1]
	}
	if s.bootstrap == "" || s.token == "" {
		tb.Fatalf("no bootstrap password or enrollment token printed:\n%s", out.String())
	}
	return s
}

func (s server) client(tb testing.TB, id *ident) *client.Client {
	tb.Helper()
	cfg := client.Config{BaseURL: s.base, HTTPClient: s.http, Timeout: 30 * time.Second}
	if id != nil {
		cfg.Signer, cfg.Cert = id.key, id.cert
	}
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestAgainstServer exercises every method of the client against a real
// waptserver: first admin by bootstrap password, host enrollment and status
// posts, host queries, package upload, list and delete, unregistration, and
// the mapping of the server's refusals to the client's sentinels.
func TestAgainstServer(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	adminCA := newIdent(t, "admin CA", certs.RoleCA, nil)
	admin := newIdent(t, "alice", certs.RoleCodeSigning, &adminCA)
	viewer := newIdent(t, "victor", certs.RoleSimple, &adminCA)
	must(t, os.MkdirAll(filepath.Join(data, serve.AdminCADir), 0o755))
	must(t, os.WriteFile(filepath.Join(data, serve.AdminCADir, "ca.crt"), certs.EncodeCertsPEM(adminCA.cert), 0o644))
	srv := startServer(t, data)
	anon, adm, view := srv.client(t, nil), srv.client(t, &admin), srv.client(t, &viewer)

	// Admins: the first with the bootstrap password, the next by that admin.
	if err := anon.RegisterAdmin(ctx, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(admin.cert)),
		Rights: []string{wire.RightAdmin}, BootstrapPassword: "wrong"}); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("wrong bootstrap password: %v", err)
	}
	must(t, anon.RegisterAdmin(ctx, wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(admin.cert)),
		Rights: []string{wire.RightAdmin}, BootstrapPassword: srv.bootstrap}))
	viewReq := wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(viewer.cert)), Rights: []string{wire.RightView}}
	if err := anon.RegisterAdmin(ctx, viewReq); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("second admin unsigned: %v", err)
	}
	must(t, adm.RegisterAdmin(ctx, viewReq))
	if l, err := adm.ListAdmins(ctx); err != nil || len(l.Admins) != 2 {
		t.Fatalf("ListAdmins = %+v, %v", l, err)
	}
	var ae *client.APIError
	if err := adm.RegisterAdmin(ctx, wire.AdminRegisterRequest{Certificate: "not PEM", Rights: []string{"fly"}}); !errors.As(err, &ae) ||
		!errors.Is(err, client.ErrInvalid) || ae.Fields["certificate"] == "" || ae.Fields["rights[0]"] == "" {
		t.Fatalf("invalid admin request: %v (fields %v)", err, ae)
	}

	// A host enrolls with the token and posts its status with its own key.
	hostKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "HOST-1"}}, hostKey)
	must(t, err)
	reg := wire.RegisterRequest{UUID: "HOST-1", FQDN: "host-1.example.lan", Token: "wrong",
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))}
	if _, err := anon.Register(ctx, reg); !errors.Is(err, client.ErrUnauthenticated) {
		t.Fatalf("register with a wrong token: %v", err)
	}
	reg.Token = srv.token
	rr, err := anon.Register(ctx, reg)
	must(t, err)
	hc, err := certs.ParseCertsPEM([]byte(rr.Certificate))
	must(t, err)
	if hc[0].Subject.CommonName != "HOST-1" || rr.CA == "" {
		t.Fatalf("host certificate %q, CA %d bytes", hc[0].Subject.CommonName, len(rr.CA))
	}
	host := srv.client(t, &ident{hostKey, hc[0]})
	report := wire.StatusReport{UUID: "HOST-1", Time: time.Now().UTC(), HostStatus: wire.StateError,
		Packages: []wire.PackageState{
			{Package: "firefox", Version: "114.0-1", Status: "ERROR", State: wire.StateError, LastError: "exit 1603"},
			{Package: "7zip", Version: "23.01-2", Status: "OK", State: wire.StateOK},
		}}
	must(t, host.PostStatus(ctx, "HOST-1", report))
	if err := host.PostStatus(ctx, "HOST-9", report); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("status of another host: %v", err)
	}
	if err := adm.PostStatus(ctx, "HOST-1", report); !errors.Is(err, client.ErrUnauthenticated) {
		t.Errorf("status signed by an admin: %v", err)
	}
	bad := report
	bad.Packages = append(slices.Clone(report.Packages), report.Packages[0])
	if err := host.PostStatus(ctx, "HOST-1", bad); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("invalid status: %v", err)
	}

	// Host queries.
	for _, q := range []client.HostQuery{
		{}, {Status: wire.StateError}, {Package: "firefox(<115)"}, {Text: "host-1"}, {Sort: "status", Desc: true, Limit: 5},
	} {
		l, err := view.ListHosts(ctx, q)
		must(t, err)
		if l.Total != 1 || len(l.Hosts) != 1 || l.Hosts[0].UUID != "HOST-1" || l.Hosts[0].Status != wire.StateError {
			t.Errorf("ListHosts(%+v) = %+v", q, l)
		}
	}
	for _, q := range []client.HostQuery{{Status: wire.StateOK}, {Package: "firefox(>=115)"}, {Text: "nothing-like-it"}} {
		l, err := view.ListHosts(ctx, q)
		must(t, err)
		if l.Total != 0 || len(l.Hosts) != 0 {
			t.Errorf("ListHosts(%+v) = %+v, want none", q, l)
		}
	}
	if _, err := anon.ListHosts(ctx, client.HostQuery{}); !errors.Is(err, client.ErrUnauthenticated) {
		t.Errorf("unsigned ListHosts: %v", err)
	}
	if _, err := host.ListHosts(ctx, client.HostQuery{}); !errors.Is(err, client.ErrUnauthenticated) {
		t.Errorf("ListHosts signed by a host: %v", err)
	}
	d, err := view.Host(ctx, "HOST-1")
	must(t, err)
	if d.Summary.FQDN != "host-1.example.lan" || len(d.Packages) != 2 {
		t.Errorf("Host = %+v", d)
	}
	if _, err := view.Host(ctx, "HOST-404"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown host: %v", err)
	}

	// Packages: upload, list, delete; the viewer may only look.
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "WAPT"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "WAPT", "control"), []byte("package: tis-test\nversion: 1.0-1\narchitecture: all\n"+
		"section: base\npriority: optional\ndescription: test\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "payload.bin"), bytes.Repeat([]byte("payload"), 100000), 0o644))
	pkg, _, err := pkgfile.Build(ctx, src, pkgfile.BuildOptions{OutDir: t.TempDir(), Signer: admin.key, Chain: []*x509.Certificate{admin.cert}})
	must(t, err)
	if _, err := view.UploadPackage(ctx, pkg); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("upload by the viewer: %v", err)
	}
	info, err := adm.UploadPackage(ctx, pkg)
	must(t, err)
	if info.Package != "tis-test" || info.Version != "1.0-1" || info.Filename == "" {
		t.Errorf("UploadPackage = %+v", info)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.wapt")
	must(t, os.WriteFile(garbage, []byte("not a zip"), 0o644))
	if _, err := adm.UploadPackage(ctx, garbage); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("upload of garbage: %v", err)
	}
	pl, err := view.ListPackages(ctx)
	must(t, err)
	if !slices.ContainsFunc(pl.Packages, func(p wire.PackageInfo) bool { return p.Filename == info.Filename }) {
		t.Errorf("ListPackages = %+v, want %s", pl, info.Filename)
	}
	if err := view.DeletePackage(ctx, info.Filename); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("delete by the viewer: %v", err)
	}
	must(t, adm.DeletePackage(ctx, info.Filename))
	if err := adm.DeletePackage(ctx, info.Filename); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	pl, err = view.ListPackages(ctx)
	must(t, err)
	if slices.ContainsFunc(pl.Packages, func(p wire.PackageInfo) bool { return p.Filename == info.Filename }) {
		t.Errorf("%s still listed after delete", info.Filename)
	}

	// Unregistration revokes the host's key.
	if err := view.Unregister(ctx, "HOST-1"); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("unregister by the viewer: %v", err)
	}
	must(t, adm.Unregister(ctx, "HOST-1"))
	report.Time = time.Now().UTC()
	if err := host.PostStatus(ctx, "HOST-1", report); err == nil {
		t.Error("an unregistered host could still post its status")
	}
	// The body is JSON the server decodes: make sure nothing else got in.
	if b, _ := json.Marshal(report); bytes.Contains(b, []byte("bootstrap")) {
		t.Error("unexpected field")
	}
}
