package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

func newIdentity(tb testing.TB, cn string) (crypto.Signer, *x509.Certificate) {
	tb.Helper()
	key, cert, err := certs.Generate(certs.Request{CN: cn, KeyType: "ecdsa"})
	if err != nil {
		tb.Fatal(err)
	}
	return key, cert
}

// seen is one request as the test server received it.
type seen struct {
	method, uri, contentType string
	contentLength            int64
	body                     []byte
	signer                   *x509.Certificate // nil: unsigned
	verifyErr                error             // set when signature headers were present but did not verify
}

// signServer is a real HTTP server that checks request signatures with
// reqsign.Verifier against the certificates it knows, records each request
// and answers with answer.
type signServer struct {
	*httptest.Server
	mu     sync.Mutex
	got    []seen
	answer func(w http.ResponseWriter, r *http.Request)
}

func newSignServer(tb testing.TB, known ...*x509.Certificate) *signServer {
	tb.Helper()
	byFP := map[string]*x509.Certificate{}
	for _, c := range known {
		byFP[signing.Fingerprint(c)] = c
	}
	v := &reqsign.Verifier{
		Lookup: func(_ context.Context, fp string) (*x509.Certificate, error) { return byFP[fp], nil },
		Nonces: reqsign.NewMemoryNonces(1000),
	}
	s := &signServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := seen{method: r.Method, uri: r.RequestURI, contentType: r.Header.Get("Content-Type"),
			contentLength: r.ContentLength, body: body}
		if r.Header.Get(reqsign.HeaderSignature) != "" {
			rec.signer, rec.verifyErr = v.Verify(r.Context(), r, body)
		}
		s.mu.Lock()
		s.got = append(s.got, rec)
		answer := s.answer
		s.mu.Unlock()
		if rec.verifyErr != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(wire.Error{Error: rec.verifyErr.Error(), Code: wire.CodeUnauthorized})
			return
		}
		if answer == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{}")
			return
		}
		answer(w, r)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *signServer) last(tb testing.TB) seen {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		tb.Fatal("no request received")
	}
	return s.got[len(s.got)-1]
}

func newClient(tb testing.TB, base string, key crypto.Signer, cert *x509.Certificate) *Client {
	tb.Helper()
	c, err := New(Config{BaseURL: base, Signer: key, Cert: cert, Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestSignedRequests(t *testing.T) {
	key, cert := newIdentity(t, "admin")
	srv := newSignServer(t, cert)
	// A path prefix must be part of what is signed.
	c := newClient(t, srv.URL+"/prefix/", key, cert)
	ctx := context.Background()

	pkg := filepath.Join(t.TempDir(), "tis-firefox_115.0-1_all.wapt")
	pkgData := bytes.Repeat([]byte("PK\x03\x04 not really a zip "), 5000)
	if err := os.WriteFile(pkg, pkgData, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		call        func() error
		method, uri string
		contentType string
		body        []byte // nil: not checked
	}{
		{"Register", func() error {
			_, err := c.Register(ctx, wire.RegisterRequest{UUID: "h1", FQDN: "h1.example.org", CSR: "x"})
			return err
		}, "POST", "/prefix/api/v1/hosts/register", "application/json", nil},
		{"PostStatus", func() error {
			return c.PostStatus(ctx, "h1", wire.StatusReport{UUID: "h1", Time: time.Unix(1e9, 0)})
		}, "POST", "/prefix/api/v1/hosts/h1/status", "application/json", nil},
		{"ListHosts", func() error {
			_, err := c.ListHosts(ctx, HostQuery{Status: "ERROR", Text: "a b&c", Package: "firefox(<115)", OS: "linux",
				Sort: "fqdn", Desc: true, Offset: 20, Limit: 10})
			return err
		}, "GET", "/prefix/api/v1/hosts?desc=true&limit=10&offset=20&os=linux&package=firefox%28%3C115%29&q=a+b%26c&sort=fqdn&status=ERROR", "", []byte{}},
		{"ListHosts no filter", func() error {
			_, err := c.ListHosts(ctx, HostQuery{})
			return err
		}, "GET", "/prefix/api/v1/hosts", "", []byte{}},
		{"Host", func() error { _, err := c.Host(ctx, "h1.example-2_x"); return err },
			"GET", "/prefix/api/v1/hosts/h1.example-2_x", "", []byte{}},
		{"Unregister", func() error { return c.Unregister(ctx, "h1") },
			"DELETE", "/prefix/api/v1/hosts/h1", "", []byte{}},
		{"ListPackages", func() error { _, err := c.ListPackages(ctx); return err },
			"GET", "/prefix/api/v1/packages", "", []byte{}},
		{"UploadPackage", func() error { _, err := c.UploadPackage(ctx, pkg); return err },
			"POST", "/prefix/api/v1/packages", "application/zip", pkgData},
		{"DeletePackage", func() error { return c.DeletePackage(ctx, "tis-firefox_115.0-1_all.wapt") },
			"DELETE", "/prefix/api/v1/packages/tis-firefox_115.0-1_all.wapt", "", []byte{}},
		{"RegisterAdmin", func() error {
			return c.RegisterAdmin(ctx, wire.AdminRegisterRequest{Certificate: "x", Rights: []string{wire.RightView}})
		}, "POST", "/prefix/api/v1/admins", "application/json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			got := srv.last(t)
			if got.method != tt.method || got.uri != tt.uri {
				t.Errorf("request %s %s, want %s %s", got.method, got.uri, tt.method, tt.uri)
			}
			if got.signer == nil || !got.signer.Equal(cert) {
				t.Errorf("request not signed by the admin certificate")
			}
			if got.contentType != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got.contentType, tt.contentType)
			}
			if tt.body != nil && !bytes.Equal(got.body, tt.body) {
				t.Errorf("body of %d bytes, want %d", len(got.body), len(tt.body))
			}
			if tt.contentType == "application/json" && !json.Valid(got.body) {
				t.Errorf("body is not JSON: %q", got.body)
			}
			if got.contentLength != int64(len(got.body)) {
				t.Errorf("Content-Length %d, body %d bytes", got.contentLength, len(got.body))
			}
		})
	}
}

func TestAnswersDecoded(t *testing.T) {
	key, cert := newIdentity(t, "admin")
	srv := newSignServer(t, cert)
	srv.answer = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/hosts":
			_ = json.NewEncoder(w).Encode(wire.HostList{Hosts: []wire.HostSummary{{UUID: "h1", Status: wire.StateError}}, Total: 7, Limit: 1})
		case "/api/v1/hosts/register":
			_ = json.NewEncoder(w).Encode(wire.RegisterResponse{Certificate: "CERT", CA: "CA"})
		default:
			_, _ = io.WriteString(w, "not json")
		}
	}
	c := newClient(t, srv.URL, key, cert)
	ctx := context.Background()
	l, err := c.ListHosts(ctx, HostQuery{Limit: 1})
	if err != nil || l.Total != 7 || len(l.Hosts) != 1 || l.Hosts[0].Status != wire.StateError {
		t.Fatalf("ListHosts = %+v, %v", l, err)
	}
	rr, err := c.Register(ctx, wire.RegisterRequest{UUID: "h1"})
	if err != nil || rr.Certificate != "CERT" || rr.CA != "CA" {
		t.Fatalf("Register = %+v, %v", rr, err)
	}
	if _, err := c.ListPackages(ctx); err == nil || !strings.Contains(err.Error(), "bad answer") {
		t.Fatalf("ListPackages with a non-JSON answer: %v", err)
	}
}

func TestUnsigned(t *testing.T) {
	_, cert := newIdentity(t, "admin")
	srv := newSignServer(t, cert)
	c := newClient(t, srv.URL, nil, nil)
	if err := c.RegisterAdmin(context.Background(), wire.AdminRegisterRequest{BootstrapPassword: "pw"}); err != nil {
		t.Fatal(err)
	}
	got := srv.last(t)
	if got.signer != nil || got.verifyErr != nil {
		t.Fatalf("unsigned client sent a signature (signer %v, err %v)", got.signer, got.verifyErr)
	}
	var req wire.AdminRegisterRequest
	if err := json.Unmarshal(got.body, &req); err != nil || req.BootstrapPassword != "pw" {
		t.Fatalf("body %q: %v", got.body, err)
	}
}

// TestUnknownSigner checks that the server-side verification is real: a
// key the server does not know is refused, and maps to ErrUnauthenticated.
func TestUnknownSigner(t *testing.T) {
	_, known := newIdentity(t, "admin")
	key, cert := newIdentity(t, "stranger")
	srv := newSignServer(t, known)
	c := newClient(t, srv.URL, key, cert)
	_, err := c.ListHosts(context.Background(), HostQuery{})
	if !errors.Is(err, ErrUnauthenticated) || !errors.Is(srv.last(t).verifyErr, reqsign.ErrUnknownSigner) {
		t.Fatalf("err = %v; server: %v", err, srv.last(t).verifyErr)
	}
}

func TestErrorMapping(t *testing.T) {
	long := strings.Repeat("<html>oops</html>\n", 1000)
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		sentinel error
		code     string
		fields   map[string]string
		msg      string // substring of Message
		maxMsg   int    // 0: unchecked
	}{
		{"401", 401, "application/json", `{"error":"no credentials","code":"unauthorized"}`, ErrUnauthenticated, "unauthorized", nil, "no credentials", 0},
		{"403", 403, "application/json", `{"error":"right view required","code":"forbidden"}`, ErrForbidden, "forbidden", nil, "right view", 0},
		{"404", 404, "application/json", `{"error":"host h9 not found","code":"not_found"}`, ErrNotFound, "not_found", nil, "h9", 0},
		{"409", 409, "application/json", `{"error":"version not newer","code":"conflict"}`, ErrConflict, "conflict", nil, "not newer", 0},
		{"400", 400, "application/json", `{"error":"malformed JSON at offset 3","code":"invalid"}`, ErrInvalid, "invalid", nil, "offset 3", 0},
		{"422 fields", 422, "application/json", `{"error":"invalid request: uuid: required","code":"invalid","fields":{"uuid":"required"}}`,
			wire.ErrInvalid, "invalid", map[string]string{"uuid": "required"}, "uuid", 0},
		{"413", 413, "application/json", `{"error":"body larger than 1 MiB","code":"Request Entity Too Large"}`, ErrTooLarge, "Request Entity Too Large", nil, "1 MiB", 0},
		{"413 from a proxy", 413, "text/html", long, ErrTooLarge, "", nil, "<html>oops</html>", maxExcerpt + len("…")},
		{"500 plain text", 500, "text/plain", "boom\x00\x1b[31m", nil, "", nil, "boom", 0},
		{"502 empty", 502, "text/plain", "", nil, "", nil, "", 0},
		{"redirect", 302, "text/html", "", nil, "", nil, "redirected to https://elsewhere/", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "https://elsewhere/")
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, nil, nil)
			_, err := c.Host(context.Background(), "h9")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want an *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Code != tt.code {
				t.Errorf("Status %d Code %q, want %d %q", ae.Status, ae.Code, tt.status, tt.code)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.sentinel)
			}
			for _, s := range []error{ErrUnauthenticated, ErrForbidden, ErrNotFound, ErrConflict, ErrInvalid, ErrTooLarge} {
				if s != tt.sentinel && errors.Is(err, s) && !(tt.sentinel == wire.ErrInvalid && s == ErrInvalid) {
					t.Errorf("error also is %v", s)
				}
			}
			if !strings.Contains(ae.Message, tt.msg) {
				t.Errorf("Message %q does not contain %q", ae.Message, tt.msg)
			}
			if tt.maxMsg > 0 && len(ae.Message) > tt.maxMsg {
				t.Errorf("Message is %d bytes, want at most %d", len(ae.Message), tt.maxMsg)
			}
			if strings.ContainsAny(ae.Message, "\x00\x1b\n") {
				t.Errorf("Message %q holds control characters", ae.Message)
			}
			if len(tt.fields) > 0 && (len(ae.Fields) != len(tt.fields) || ae.Fields["uuid"] != tt.fields["uuid"]) {
				t.Errorf("Fields %v, want %v", ae.Fields, tt.fields)
			}
		})
	}
}

func TestResponseBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := make([]byte, 1<<20)
		for range MaxResponseSize>>20 + 2 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil, nil)
	_, err := c.ListPackages(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}

func TestBadArguments(t *testing.T) {
	key, cert := newIdentity(t, "admin")
	_, other := newIdentity(t, "other")
	for _, cfg := range []Config{
		{BaseURL: "ftp://x"},
		{BaseURL: "http://"},
		{BaseURL: "http://x?a=b"},
		{BaseURL: "http://x", Signer: key},
		{BaseURL: "http://x", Signer: key, Cert: other},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c := newClient(t, "http://127.0.0.1:1", key, cert)
	ctx := context.Background()
	for _, err := range []error{
		c.Unregister(ctx, "../admins"),
		c.PostStatus(ctx, "", wire.StatusReport{}),
		c.DeletePackage(ctx, "a/b.wapt"),
		c.DeletePackage(ctx, ".."),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	}
	if _, err := c.UploadPackage(ctx, t.TempDir()); err == nil {
		t.Error("uploading a directory was accepted")
	}
}
