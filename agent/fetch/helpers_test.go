package fetch

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

// testNow is the fixed "now" of the tests; certificates are valid around it.
var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// signer is a test key with its certificate chain (leaf first).
type signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

// newSigner returns an ECDSA key and certificate; issuer nil makes it
// self-signed.
func newSigner(tb testing.TB, cn string, role certs.Role, issuer *signer) signer {
	tb.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: "ecdsa", Now: testNow.Add(-time.Hour)}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.chain[0], issuer.key
	}
	key, cert, err := certs.Generate(r)
	if err != nil {
		tb.Fatalf("generate %s: %v", cn, err)
	}
	s := signer{key: key, chain: []*x509.Certificate{cert}}
	if issuer != nil {
		s.chain = append(s.chain, issuer.chain...)
	}
	return s
}

// pki is a CA with a package signer and a repository key it issued.
type pki struct {
	ca, packager, repoKey signer
	trust                 *signing.Trust
}

var (
	pkiOnce  sync.Once
	pkiValue pki
)

// testPKI returns the shared test PKI (generated once per test binary).
func testPKI(tb testing.TB) pki {
	tb.Helper()
	pkiOnce.Do(func() {
		ca := newSigner(tb, "Test CA", certs.RoleCA, nil)
		pkiValue = pki{
			ca:       ca,
			packager: newSigner(tb, "Packager", certs.RoleCodeSigning, &ca),
			repoKey:  newSigner(tb, "Repository", certs.RoleRepository, &ca),
			trust:    signing.NewTrust(ca.chain[0]),
		}
	})
	return pkiValue
}

// testRepo is a repository directory: packages built with pkgfile.Build and
// an index written with repoindex.WriteFiles.
type testRepo struct {
	tb  testing.TB
	dir string
	ix  *repoindex.Index
}

// newTestRepo builds the packages "tis-<name>" version 1 into a new
// repository directory and writes its index.
func newTestRepo(tb testing.TB, names ...string) *testRepo {
	tb.Helper()
	r := &testRepo{tb: tb, dir: tb.TempDir(), ix: &repoindex.Index{}}
	for _, n := range names {
		r.addPackage("tis-"+n, "1")
	}
	return r
}

// addPackage builds and signs one package into the repository and adds it
// to the index (not written).
func (r *testRepo) addPackage(name, version string) string {
	r.tb.Helper()
	src := r.tb.TempDir()
	ctl := fmt.Sprintf("package           : %s\nversion           : %s\narchitecture      : all\nsection           : base\npriority          : optional\ndescription       : test package %s\n",
		name, version, name)
	files := map[string]string{
		"WAPT/control": ctl,
		"setup.py":     "def install():\n    print('installing " + name + "')\n",
		"payload.txt":  strings.Repeat(name+" ", 500),
	}
	for p, data := range files {
		path := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			r.tb.Fatal(err)
		}
	}
	p := testPKI(r.tb)
	path, _, err := pkgfile.Build(context.Background(), src, pkgfile.BuildOptions{
		OutDir: r.dir, Signer: p.packager.key, Chain: p.packager.chain, Now: testNow,
	})
	if err != nil {
		r.tb.Fatal(err)
	}
	if _, err := r.ix.Add(context.Background(), path, pkgfile.DefaultLimits()); err != nil {
		r.tb.Fatal(err)
	}
	return path
}

// write writes Packages and Packages.sig signed by s (nil: the repository
// key; version < 0: unsigned, Packages.sig removed).
func (r *testRepo) write(version int64, s *signer) {
	r.tb.Helper()
	if version < 0 {
		if err := repoindex.WriteFiles(r.dir, r.ix, nil, nil, nil); err != nil {
			r.tb.Fatal(err)
		}
		return
	}
	if s == nil {
		k := testPKI(r.tb).repoKey
		s = &k
	}
	info := &repoindex.SigInfo{Repo: "test", Version: version, Issued: testNow.Add(-time.Hour), Expires: testNow.Add(24 * time.Hour)}
	if err := repoindex.WriteFiles(r.dir, r.ix, info, s.key, s.chain); err != nil {
		r.tb.Fatal(err)
	}
}

// read returns the content of a file of the repository.
func (r *testRepo) read(name string) []byte {
	r.tb.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.tb.Fatal(err)
	}
	return b
}

// request is what a test server saw of one request.
type request struct {
	Path, Range, IfNoneMatch, IfModifiedSince, UserAgent string
}

// recorder counts and records requests in front of a handler.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (rc *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{
			Path: req.URL.Path, Range: req.Header.Get("Range"),
			IfNoneMatch: req.Header.Get("If-None-Match"), IfModifiedSince: req.Header.Get("If-Modified-Since"),
			UserAgent: req.UserAgent(),
		})
		rc.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// take returns the requests seen since the last call and forgets them.
func (rc *recorder) take() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.reqs
	rc.reqs = nil
	return out
}

// paths returns the paths of reqs.
func paths(reqs []request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Path)
	}
	return out
}

// serveRepo serves the repository directory under /wapt/ with
// http.FileServer, adding a content ETag to every file (FileServer only
// sets Last-Modified, whose one-second resolution cannot tell two indexes
// written within the same second apart).
func serveRepo(tb testing.TB, dir string) (*httptest.Server, *recorder) {
	tb.Helper()
	fs := http.StripPrefix("/wapt", http.FileServer(http.Dir(dir)))
	etag := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if b, err := os.ReadFile(filepath.Join(dir, filepath.Base(req.URL.Path))); err == nil {
			sum := sha256.Sum256(b)
			w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
		}
		fs.ServeHTTP(w, req)
	})
	return newServer(tb, etag)
}

// newServer starts a loopback server on h, recording its requests.
func newServer(tb testing.TB, h http.Handler) (*httptest.Server, *recorder) {
	tb.Helper()
	rc := &recorder{}
	srv := httptest.NewServer(rc.wrap(h))
	tb.Cleanup(srv.Close)
	return srv, rc
}

// newFetcher returns a Fetcher with short timeouts and retry waits whose
// log goes to tb.
func newFetcher(tb testing.TB) *Fetcher {
	tb.Helper()
	f := New(Config{
		Timeout:   5 * time.Second,
		UserAgent: "wapt-test",
		Logf:      func(format string, args ...any) { tb.Logf(format, args...) },
	})
	f.retryWait = time.Millisecond
	return f
}

// wantErr checks err against the wanted sentinels (none: no error) and
// that its text contains every fragment.
func wantErr(tb testing.TB, err error, want []error, fragments ...string) {
	tb.Helper()
	if len(want) == 0 {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		tb.Fatalf("no error, want %v", want)
	}
	for _, w := range want {
		if w != errAny && !errors.Is(err, w) {
			tb.Errorf("error %q does not wrap %q", err, w)
		}
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			tb.Errorf("error %q does not contain %q", err, f)
		}
	}
}

// sums returns the hex sha256 of b.
func sums(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// errAny in a want list accepts any error.
var errAny = errors.New("any error")

// errs is shorthand for a list of sentinels.
func errs(e ...error) []error { return e }
