package reqsign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/signing"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type identity struct {
	key  crypto.Signer
	cert *x509.Certificate
}

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func keys(tb testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	tb.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

// newIdentity returns a self-signed certificate for key, valid around t0
// unless notBefore/notAfter say otherwise.
func newIdentity(tb testing.TB, key crypto.Signer, cn string, notBefore, notAfter time.Time) identity {
	tb.Helper()
	if notBefore.IsZero() {
		notBefore, notAfter = t0.Add(-24*time.Hour), t0.Add(24*time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return identity{key: key, cert: cert}
}

// verifierFor returns a verifier that knows certs, at time now.
func verifierFor(now time.Time, certs ...*x509.Certificate) *Verifier {
	known := map[string]*x509.Certificate{}
	for _, c := range certs {
		known[signing.Fingerprint(c)] = c
	}
	clock := func() time.Time { return now }
	nonces := NewMemoryNonces(100)
	nonces.Now = clock
	return &Verifier{
		Lookup: func(_ context.Context, fp string) (*x509.Certificate, error) { return known[fp], nil },
		Nonces: nonces,
		Now:    clock,
	}
}

func signedRequest(tb testing.TB, id identity, method, target string, body []byte, at time.Time) *http.Request {
	tb.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.RequestURI = "" // sign as a client would
	if err := Sign(req, body, id.key, id.cert, at, rand.Reader); err != nil {
		tb.Fatal(err)
	}
	req.RequestURI = req.URL.RequestURI() // and receive as a server would
	return req
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	rk, ek := keys(t)
	for _, tt := range []struct {
		name string
		key  crypto.Signer
	}{{"rsa", rk}, {"ecdsa", ek}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := newIdentity(t, tt.key, "host-"+tt.name, time.Time{}, time.Time{})
			body := []byte(`{"uuid":"host-1"}`)
			req := signedRequest(t, id, http.MethodPost, "/api/v1/hosts/host-1/status?x=1&y=%2F", body, t0)
			if got := req.Header.Get(HeaderSigner); got != signing.Fingerprint(id.cert) {
				t.Errorf("signer header = %q", got)
			}
			if got := req.Header.Get(HeaderDate); got != "2026-03-01T12:00:00Z" {
				t.Errorf("date header = %q", got)
			}
			if got := req.Header.Get(HeaderNonce); len(got) != 32 {
				t.Errorf("nonce header = %q", got)
			}
			cert, err := verifierFor(t0, id.cert).Verify(context.Background(), req, body)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !cert.Equal(id.cert) {
				t.Errorf("Verify returned another certificate")
			}
		})
	}
}

func TestTampering(t *testing.T) {
	t.Parallel()
	rk, ek := keys(t)
	id := newIdentity(t, ek, "host-1", time.Time{}, time.Time{})
	other := newIdentity(t, rk, "host-2", time.Time{}, time.Time{})
	sameKey := newIdentity(t, ek, "host-1-renewed", time.Time{}, time.Time{})
	stranger := newIdentity(t, rk, "stranger", time.Time{}, time.Time{})
	body := []byte(`{"uuid":"host-1","packages":[]}`)
	const target = "/api/v1/hosts/host-1/status?full=1"

	tests := []struct {
		name string
		mod  func(req *http.Request) []byte // returns the body to verify
		want error
	}{
		{"untouched", func(req *http.Request) []byte { return body }, nil},
		{"method", func(req *http.Request) []byte { req.Method = http.MethodPut; return body }, ErrBadSignature},
		{"path", func(req *http.Request) []byte { req.RequestURI = "/api/v1/hosts/host-2/status?full=1"; return body }, ErrBadSignature},
		{"query", func(req *http.Request) []byte { req.RequestURI = "/api/v1/hosts/host-1/status?full=0"; return body }, ErrBadSignature},
		{"query dropped", func(req *http.Request) []byte { req.RequestURI = "/api/v1/hosts/host-1/status"; return body }, ErrBadSignature},
		{"body", func(req *http.Request) []byte { return []byte(`{"uuid":"host-2","packages":[]}`) }, ErrBadSignature},
		{"body empty", func(req *http.Request) []byte { return nil }, ErrBadSignature},
		{"date", func(req *http.Request) []byte {
			req.Header.Set(HeaderDate, t0.Add(time.Second).Format(time.RFC3339))
			return body
		}, ErrBadSignature},
		{"nonce", func(req *http.Request) []byte { req.Header.Set(HeaderNonce, strings.Repeat("0", 32)); return body }, ErrBadSignature},
		{"signature byte", func(req *http.Request) []byte {
			sig, _ := base64.StdEncoding.DecodeString(req.Header.Get(HeaderSignature))
			sig[len(sig)/2] ^= 1
			req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
			return body
		}, ErrBadSignature},
		{"signature from other key", func(req *http.Request) []byte {
			o := signedRequest(t, other, http.MethodPost, target, body, t0)
			req.Header.Set(HeaderSignature, o.Header.Get(HeaderSignature))
			return body
		}, ErrBadSignature},
		{"signer header other known cert", func(req *http.Request) []byte {
			req.Header.Set(HeaderSigner, signing.Fingerprint(other.cert))
			return body
		}, ErrBadSignature},
		{"signer header other cert same key", func(req *http.Request) []byte {
			req.Header.Set(HeaderSigner, signing.Fingerprint(sameKey.cert))
			return body
		}, ErrBadSignature},
		{"signer header unknown", func(req *http.Request) []byte {
			req.Header.Set(HeaderSigner, signing.Fingerprint(stranger.cert))
			return body
		}, ErrUnknownSigner},
		{"no signer", func(req *http.Request) []byte { req.Header.Del(HeaderSigner); return body }, ErrUnsigned},
		{"no date", func(req *http.Request) []byte { req.Header.Del(HeaderDate); return body }, ErrUnsigned},
		{"no nonce", func(req *http.Request) []byte { req.Header.Del(HeaderNonce); return body }, ErrUnsigned},
		{"no signature", func(req *http.Request) []byte { req.Header.Del(HeaderSignature); return body }, ErrUnsigned},
		{"signer not hex", func(req *http.Request) []byte { req.Header.Set(HeaderSigner, strings.Repeat("Z", 64)); return body }, ErrUnsigned},
		{"signer uppercase", func(req *http.Request) []byte {
			req.Header.Set(HeaderSigner, strings.ToUpper(req.Header.Get(HeaderSigner)))
			return body
		}, ErrUnsigned},
		{"nonce short", func(req *http.Request) []byte { req.Header.Set(HeaderNonce, "abcd"); return body }, ErrUnsigned},
		{"date not rfc3339", func(req *http.Request) []byte { req.Header.Set(HeaderDate, t0.Format(time.RFC1123)); return body }, ErrUnsigned},
		{"signature not base64", func(req *http.Request) []byte { req.Header.Set(HeaderSignature, "!!!"); return body }, ErrUnsigned},
		{"signature too long", func(req *http.Request) []byte {
			req.Header.Set(HeaderSignature, strings.Repeat("A", maxSignatureLen+4))
			return body
		}, ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := signedRequest(t, id, http.MethodPost, target, body, t0)
			got := tt.mod(req)
			v := verifierFor(t0, id.cert, other.cert, sameKey.cert)
			_, err := v.Verify(context.Background(), req, got)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if n := v.Nonces.(*MemoryNonces).Len(); n != 0 {
				t.Errorf("a refused request left %d nonces in the store", n)
			}
		})
	}
}

func TestSkew(t *testing.T) {
	t.Parallel()
	_, ek := keys(t)
	id := newIdentity(t, ek, "host-1", time.Time{}, time.Time{})
	tests := []struct {
		name    string
		maxSkew time.Duration
		offset  time.Duration // verifier clock minus signing time
		want    error
	}{
		{"same time", 0, 0, nil},
		{"default skew late edge", 0, DefaultMaxSkew, nil},
		{"default skew early edge", 0, -DefaultMaxSkew, nil},
		{"default skew too late", 0, DefaultMaxSkew + time.Second, ErrStale},
		{"default skew too early", 0, -DefaultMaxSkew - time.Second, ErrStale},
		{"custom skew ok", time.Minute, 59 * time.Second, nil},
		{"custom skew too late", time.Minute, 61 * time.Second, ErrStale},
		{"custom skew too early", time.Minute, -61 * time.Second, ErrStale},
		{"a day late", 0, 24 * time.Hour, ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := signedRequest(t, id, http.MethodGet, "/api/v1/hosts", nil, t0)
			v := verifierFor(t0.Add(tt.offset), id.cert)
			v.MaxSkew = tt.maxSkew
			_, err := v.Verify(context.Background(), req, nil)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	_, ek := keys(t)
	id := newIdentity(t, ek, "admin", time.Time{}, time.Time{})
	v := verifierFor(t0, id.cert)
	body := []byte(`{"rights":["view"]}`)
	req := signedRequest(t, id, http.MethodPost, "/api/v1/admins", body, t0)
	if _, err := v.Verify(context.Background(), req, body); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if _, err := v.Verify(context.Background(), req, body); !errors.Is(err, ErrReplay) {
		t.Fatalf("second Verify error = %v, want ErrReplay", err)
	}
	// A fresh signature of the same request is a new request.
	req2 := signedRequest(t, id, http.MethodPost, "/api/v1/admins", body, t0)
	if _, err := v.Verify(context.Background(), req2, body); err != nil {
		t.Fatalf("Verify of a new signature: %v", err)
	}
}

func TestCertificateValidity(t *testing.T) {
	t.Parallel()
	_, ek := keys(t)
	tests := []struct {
		name          string
		from, to      time.Time
		wantErr       error
		wantUnchanged bool
	}{
		{"valid", t0.Add(-time.Hour), t0.Add(time.Hour), nil, false},
		{"expired", t0.Add(-48 * time.Hour), t0.Add(-time.Minute), ErrExpired, false},
		{"not yet valid", t0.Add(time.Minute), t0.Add(48 * time.Hour), ErrExpired, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id := newIdentity(t, ek, "host-1", tt.from, tt.to)
			req := signedRequest(t, id, http.MethodGet, "/x", nil, t0)
			_, err := verifierFor(t0, id.cert).Verify(context.Background(), req, nil)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	_, ek := keys(t)
	id := newIdentity(t, ek, "host-1", time.Time{}, time.Time{})
	other := newIdentity(t, ek, "host-2", time.Time{}, time.Time{})
	errDB := errors.New("database is locked")
	tests := []struct {
		name    string
		lookup  func(context.Context, string) (*x509.Certificate, error)
		want    error
		notWant error
	}{
		{"internal error passed on", func(context.Context, string) (*x509.Certificate, error) { return nil, errDB }, errDB, ErrUnknownSigner},
		{"wrapped unknown", func(_ context.Context, fp string) (*x509.Certificate, error) {
			return nil, fmt.Errorf("host cert %s: %w", fp, ErrUnknownSigner)
		}, ErrUnknownSigner, nil},
		{"wrong certificate returned", func(context.Context, string) (*x509.Certificate, error) { return other.cert, nil }, ErrUnknownSigner, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := signedRequest(t, id, http.MethodGet, "/x", nil, t0)
			v := verifierFor(t0)
			v.Lookup = tt.lookup
			_, err := v.Verify(context.Background(), req, nil)
			if !errors.Is(err, tt.want) || tt.notWant != nil && errors.Is(err, tt.notWant) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	rk, ek := keys(t)
	id := newIdentity(t, ek, "host-1", time.Time{}, time.Time{})
	tests := []struct {
		name   string
		signer crypto.Signer
		cert   *x509.Certificate
		rnd    io.Reader
	}{
		{"key does not match certificate", rk, id.cert, rand.Reader},
		{"no certificate", ek, nil, rand.Reader},
		{"no signer", nil, id.cert, rand.Reader},
		{"random source fails", ek, id.cert, bytes.NewReader([]byte{1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if err := Sign(req, nil, tt.signer, tt.cert, t0, tt.rnd); err == nil {
				t.Fatal("Sign succeeded")
			}
			if req.Header.Get(HeaderSignature) != "" {
				t.Error("a failed Sign set headers")
			}
		})
	}
}

func TestVerifierNeedsConfig(t *testing.T) {
	t.Parallel()
	_, ek := keys(t)
	id := newIdentity(t, ek, "host-1", time.Time{}, time.Time{})
	req := signedRequest(t, id, http.MethodGet, "/x", nil, t0)
	v := verifierFor(t0, id.cert)
	v.Nonces = nil
	if _, err := v.Verify(context.Background(), req, nil); err == nil {
		t.Fatal("Verify without a nonce store succeeded")
	}
}

// TestHTTP signs on the client side and verifies in a handler of a real
// server, behind http.StripPrefix, with the real clock.
func TestHTTP(t *testing.T) {
	t.Parallel()
	rk, _ := keys(t)
	now := time.Now()
	id := newIdentity(t, rk, "host-1", now.Add(-time.Hour), now.Add(time.Hour))
	v := verifierFor(time.Time{}, id.cert)
	v.Now, v.Nonces = nil, NewMemoryNonces(100) // real clock

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/hosts/{uuid}/status", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		cert, err := v.Verify(r.Context(), r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if cert.Subject.CommonName != r.PathValue("uuid") {
			http.Error(w, "signed by another host", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "ok %s %d", cert.Subject.CommonName, len(body))
	})
	srv := httptest.NewServer(http.StripPrefix("/wapt-server", mux))
	t.Cleanup(srv.Close)

	post := func(t *testing.T, path string, body []byte, tamper func(*http.Request)) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := Sign(req, body, id.key, id.cert, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
		if tamper != nil {
			tamper(req)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	body := []byte(`{"uuid":"host-1"}`)
	code, text := post(t, "/wapt-server/api/v1/hosts/host-1/status?full=1&q=a%20b", body, nil)
	if code != http.StatusOK || text != fmt.Sprintf("ok host-1 %d", len(body)) {
		t.Fatalf("signed post: %d %q", code, text)
	}
	code, _ = post(t, "/wapt-server/api/v1/hosts/host-2/status", body, nil)
	if code != http.StatusForbidden {
		t.Errorf("post for another host: %d, want 403", code)
	}
	code, _ = post(t, "/wapt-server/api/v1/hosts/host-1/status", body, func(r *http.Request) { r.Header.Del(HeaderSignature) })
	if code != http.StatusUnauthorized {
		t.Errorf("unsigned post: %d, want 401", code)
	}

	// Replay the exact same request (same headers, same body).
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wapt-server/api/v1/hosts/host-1/status", bytes.NewReader(body))
	if err := Sign(req, body, id.key, id.cert, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		again := req.Clone(context.Background())
		again.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := srv.Client().Do(again)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("send #%d: %d %q, want %d", i+1, resp.StatusCode, msg, want)
		}
		if i == 1 && !strings.Contains(string(msg), ErrReplay.Error()) {
			t.Errorf("replay refused with %q", msg)
		}
	}
}

func TestDigestVariants(t *testing.T) {
	_, ek := keys(t)
	id := newIdentity(t, ek, "uploader", time.Time{}, time.Time{})
	body := bytes.Repeat([]byte("package bytes "), 1000)
	req := signedRequest(t, id, "POST", "/api/v1/packages", body, t0)
	if _, err := verifierFor(t0, id.cert).VerifyDigest(context.Background(), req, sha256.Sum256(body)); err != nil {
		t.Fatalf("VerifyDigest of a Sign'ed request: %v", err)
	}
	req = signedRequest(t, id, "POST", "/api/v1/packages", body, t0)
	other := sha256.Sum256(append(body, 'x'))
	if _, err := verifierFor(t0, id.cert).VerifyDigest(context.Background(), req, other); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another digest: err = %v, want ErrBadSignature", err)
	}
}
