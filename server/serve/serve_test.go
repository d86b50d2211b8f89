package serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/pki"
)

// startServer runs a real waptserver on a loopback port and returns its base URL.
func startServer(tb testing.TB, dataDir string) string {
	tb.Helper()
	return startServerWith(tb, Options{DataDir: dataDir})
}

func startServerWith(tb testing.TB, o Options) string {
	tb.Helper()
	base, _ := startServerOut(tb, o, io.Discard)
	return base
}

// startServerOut runs a server that prints to stdout and returns its base
// URL and a client for it: over HTTPS, one that trusts only the host CA.
func startServerOut(tb testing.TB, o Options, stdout io.Writer) (string, *http.Client) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	o.Listen = ln.Addr().String()
	go func() { done <- Run(ctx, o, ln, tb.Logf, stdout) }()
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
	base, client := "http://"+ln.Addr().String(), http.DefaultClient
	if o.TLS {
		base = "https://" + ln.Addr().String()
	}
	for i := 0; ; i++ {
		if o.TLS && client == http.DefaultClient {
			client = hostCAClient(tb, o.DataDir) // the server writes it first
		}
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, client
			}
		}
		if i == 100 {
			tb.Fatalf("server not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostCAClient is an HTTPS client trusting only the host CA of dataDir, or
// http.DefaultClient while that CA does not exist yet.
func hostCAClient(tb testing.TB, dataDir string) *http.Client {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, pki.DirName, pki.HostCACertFile))
	if err != nil {
		return http.DefaultClient
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		tb.Fatal("host CA: no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestRepositoryServing(t *testing.T) {
	data := t.TempDir()
	base := startServer(t, data)
	// The server created the tree; drop files into it as scan-packages would.
	pub := filepath.Join(data, "wapt")
	must(t, os.WriteFile(filepath.Join(pub, "Packages"), []byte("PK-index-bytes"), 0o644))
	must(t, os.WriteFile(filepath.Join(pub, ".Packages.cache.json"), []byte("{}"), 0o644))
	must(t, os.WriteFile(filepath.Join(data, "secret.txt"), []byte("secret"), 0o644))
	must(t, os.Symlink(filepath.Join(data, "secret.txt"), filepath.Join(pub, "link.wapt")))

	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		must(t, err)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp, string(b)
	}

	resp, body := get("/wapt/Packages", nil)
	if resp.StatusCode != 200 || body != "PK-index-bytes" {
		t.Fatalf("GET Packages = %d %q", resp.StatusCode, body)
	}
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("missing validators: ETag=%q Last-Modified=%q", etag, lm)
	}

	tests := []struct {
		name   string
		path   string
		hdr    map[string]string
		status int
		body   string
	}{
		{"unchanged by etag", "/wapt/Packages", map[string]string{"If-None-Match": etag}, 304, ""},
		{"unchanged by date", "/wapt/Packages", map[string]string{"If-Modified-Since": lm}, 304, ""},
		{"changed etag", "/wapt/Packages", map[string]string{"If-None-Match": `"other"`}, 200, "PK-index-bytes"},
		{"range", "/wapt/Packages", map[string]string{"Range": "bytes=3-7"}, 206, "index"},
		{"missing", "/wapt/nope.wapt", nil, 404, `"code":"not_found"`},
		{"hidden file", "/wapt/.Packages.cache.json", nil, 404, `"code":"not_found"`},
		{"encoded traversal", "/wapt/..%2fsecret.txt", nil, 404, `"code":"not_found"`},
		{"traversal", "/wapt/icons/../../secret.txt", nil, 400, `"code":"invalid"`},
		{"symlink out of the tree", "/wapt/link.wapt", nil, 400, `"code":"invalid"`},
		{"directory", "/wapt/icons", nil, 404, `"code":"not_found"`},
		{"host packages need auth", "/wapt-host/abc.wapt", nil, 401, `"code":"unauthorized"`},
		{"unknown route", "/nothing", nil, 404, `"code":"not_found"`},
		{"health", "/healthz", nil, 200, `"status":"ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body = %q, want it to contain %q", body, tt.body)
			}
		})
	}
}

func TestPublicHostPackages(t *testing.T) {
	data := t.TempDir()
	base := startServerWith(t, Options{DataDir: data, PublicHostPackages: true})
	must(t, os.WriteFile(filepath.Join(data, "wapt-host", "HOST-1.wapt"), []byte("host package"), 0o644))
	tests := []struct {
		path   string
		status int
	}{
		{"/wapt-host/HOST-1.wapt", 200},
		{"/wapt-host/HOST-2.wapt", 404},
		{"/wapt-host/sub/HOST-1.wapt", 404},
		{"/wapt-host/notes.txt", 404},
		{"/wapt-host/..%2fwapt%2fPackages", 404},
	}
	for _, tt := range tests {
		resp, err := http.Get(base + tt.path)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "waptserver.ini")
	must(t, os.WriteFile(good, []byte("[server]\ndata = /srv/wapt\nlisten = :8443\ntls = false\nhostname = wapt.example.lan, 10.0.0.5\n"), 0o644))
	bad := filepath.Join(dir, "bad.ini")
	must(t, os.WriteFile(bad, []byte("[server]\nlisen = :1\n"), 0o644))
	badValue := filepath.Join(dir, "badvalue.ini")
	must(t, os.WriteFile(badValue, []byte("[server]\ntls = maybe\n"), 0o644))

	o, err := ParseFlags([]string{"--config", good, "--listen", ":9000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.DataDir != "/srv/wapt" || o.Listen != ":9000" || o.TLS || len(o.Hostnames) != 2 {
		t.Errorf("options = %+v (the command line must win over the file)", o)
	}
	for _, p := range []string{bad, badValue, filepath.Join(dir, "missing.ini")} {
		if _, err := ParseFlags([]string{"--config", p}, io.Discard); err == nil {
			t.Errorf("config %s accepted", filepath.Base(p))
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr bool
	}{
		{nil, Options{DataDir: "data", Listen: "127.0.0.1:8080", TLS: true}, false},
		{[]string{"--data", "/tmp/x", "--listen", ":9", "--tls=false"}, Options{DataDir: "/tmp/x", Listen: ":9"}, false},
		{
			[]string{"--hostname", "wapt.example.com, wapt", "--hostname=10.0.0.5", "--public-host-packages"},
			Options{DataDir: "data", Listen: "127.0.0.1:8080", TLS: true, PublicHostPackages: true,
				Hostnames: []string{"wapt.example.com", "wapt", "10.0.0.5"}},
			false,
		},
		{[]string{"--bogus"}, Options{}, true},
		{[]string{"extra"}, Options{}, true},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.args, io.Discard)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseFlags(%v) err = %v, wantErr %v", tt.args, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFlags(%v) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer written by the server and read by the test.
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

var tokenLine = regexp.MustCompile(`enrollment token .*: ([A-Za-z0-9_-]{43})\n`)

func TestHTTPSFirstAndSecondStart(t *testing.T) {
	data := t.TempDir()
	var out1 syncBuffer
	base, client := startServerOut(t, Options{DataDir: data, TLS: true}, &out1)
	if !strings.HasPrefix(base, "https://") || !strings.Contains(out1.String(), "serving "+base+"/wapt/") {
		t.Fatalf("base %s, output:\n%s", base, out1.String())
	}
	m := tokenLine.FindStringSubmatch(out1.String())
	if m == nil {
		t.Fatalf("first start printed no enrollment token:\n%s", out1.String())
	}
	keys, err := pki.LoadOrCreate(data, pki.Options{})
	must(t, err)
	if !keys.CheckEnrollmentToken(m[1]) {
		t.Error("the printed token is not the enrollment token")
	}

	resp, err := client.Get(base + "/healthz")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("GET /healthz over TLS = %d, %+v", resp.StatusCode, resp.TLS)
	}
	// A client that does not trust the host CA is refused.
	_, err = http.Get(base + "/healthz")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("client without the host CA: err = %v, want an unknown authority", err)
	}

	// A second server on the same data keeps the CA and prints no token.
	var out2 syncBuffer
	base2, client2 := startServerOut(t, Options{DataDir: data, TLS: true}, &out2)
	if strings.Contains(out2.String(), "enrollment token") || strings.Contains(out2.String(), "created the host CA") {
		t.Errorf("second start printed a new token or CA:\n%s", out2.String())
	}
	resp, err = client2.Get(base2 + "/wapt/nope.wapt")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET over TLS = %d, want 404", resp.StatusCode)
	}
	// Fingerprint lines are the same: same host CA.
	fp := regexp.MustCompile(`fingerprint ([0-9a-f]{64})`)
	f1, f2 := fp.FindStringSubmatch(out1.String()), fp.FindStringSubmatch(out2.String())
	if f1 == nil || f2 == nil || f1[1] != f2[1] {
		t.Errorf("host CA fingerprints %v, %v", f1, f2)
	}
}

func TestPlainHTTPStillCreatesKeys(t *testing.T) {
	data := t.TempDir()
	var out syncBuffer
	base, _ := startServerOut(t, Options{DataDir: data}, &out)
	if !strings.Contains(out.String(), "serving "+base+"/wapt/") || !strings.HasPrefix(base, "http://") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(data, pki.DirName, pki.HostCAKeyFile)); err != nil {
		t.Error(err)
	}
}

func TestCorruptKeyStopsStart(t *testing.T) {
	data := t.TempDir()
	_, err := pki.LoadOrCreate(data, pki.Options{})
	must(t, err)
	bad := filepath.Join(data, pki.DirName, pki.HostCAKeyFile)
	must(t, os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\ngarbage\n"), 0o600))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	err = Run(context.Background(), Options{DataDir: data, TLS: true}, ln, t.Logf, io.Discard)
	if !errors.Is(err, pki.ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Run = %v, want ErrCorrupt naming %s", err, bad)
	}
}
