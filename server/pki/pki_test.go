package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var testNames = []string{"wapt.example.com", "WAPT", "127.0.0.1", "::1"}

// newPKI creates the key material in a new data directory at t0.
func newPKI(tb testing.TB) (*PKI, string) {
	tb.Helper()
	data := tb.TempDir()
	p, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0})
	if err != nil {
		tb.Fatal(err)
	}
	return p, data
}

func readCertFile(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	c, err := readCert(path)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// snapshot returns the content of every file of dir.
func snapshot(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestFirstStart(t *testing.T) {
	p, data := newPKI(t)
	dir := filepath.Join(data, DirName)
	c := p.Created()
	if !c.HostCA || len(c.EnrollmentToken) != 43 {
		t.Fatalf("Created = %+v", c)
	}
	if want := []string{TLSCertFile, RepoCertFile}; !slices.Equal(c.Issued, want) {
		t.Errorf("Issued = %v, want %v", c.Issued, want)
	}

	if runtime.GOOS != "windows" {
		modes := map[string]os.FileMode{
			".": 0o700, HostCAKeyFile: 0o600, TLSKeyFile: 0o600, RepoKeyFile: 0o600, EnrollmentFile: 0o600,
			HostCACertFile: 0o644, TLSCertFile: 0o644, RepoCertFile: 0o644,
		}
		for name, want := range modes {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("%s mode = %o, want %o", name, got, want)
			}
		}
	}
	if got := slices.Sorted(maps.Keys(snapshot(t, dir))); len(got) != 7 {
		t.Errorf("pki holds %v", got)
	}
	if left, _ := filepath.Glob(filepath.Join(data, ".pki-new-*")); len(left) > 0 {
		t.Errorf("temporary folder left: %v", left)
	}

	// Keys: clear PKCS#8, ECDSA P-256, matching their certificates.
	for _, pair := range [][2]string{{HostCAKeyFile, HostCACertFile}, {TLSKeyFile, TLSCertFile}, {RepoKeyFile, RepoCertFile}} {
		b, err := os.ReadFile(filepath.Join(dir, pair[0]))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "PRIVATE KEY" {
			t.Fatalf("%s: not a clear PKCS#8 PEM key", pair[0])
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", pair[0], err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok || ek.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", pair[0], k)
		}
		if !certs.KeyMatchesCert(ek, readCertFile(t, filepath.Join(dir, pair[1]))) {
			t.Errorf("%s does not match %s", pair[0], pair[1])
		}
	}

	ca := readCertFile(t, filepath.Join(dir, HostCACertFile))
	if !ca.Equal(p.HostCA()) {
		t.Error("HostCA() differs from host-ca.crt")
	}
	if ca.Subject.CommonName != "WAPT host CA wapt.example.com" || !ca.IsCA || !ca.BasicConstraintsValid ||
		ca.MaxPathLen != 0 || !ca.MaxPathLenZero || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("host CA: CN %q, CA %v, path len %d/%v, key usage %b", ca.Subject.CommonName, ca.IsCA, ca.MaxPathLen, ca.MaxPathLenZero, ca.KeyUsage)
	}
	if ca.NotAfter.Sub(t0) != CAValidity {
		t.Errorf("host CA valid until %s", ca.NotAfter)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("host CA is not self-signed: %v", err)
	}

	leaf := readCertFile(t, filepath.Join(dir, TLSCertFile))
	if leaf.IsCA || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
		leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.NotAfter.Sub(t0) != TLSValidity {
		t.Errorf("TLS certificate: CA %v, EKU %v, key usage %b, until %s", leaf.IsCA, leaf.ExtKeyUsage, leaf.KeyUsage, leaf.NotAfter)
	}
	if !slices.Equal(leaf.DNSNames, []string{"wapt.example.com", "wapt"}) || len(leaf.IPAddresses) != 2 {
		t.Errorf("TLS SANs = %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range []string{"wapt.example.com", "wapt", "127.0.0.1", "::1"} {
		opts := x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("TLS certificate for %s: %v", name, err)
		}
	}

	key, chain := p.RepoSigner()
	repo := chain[0]
	if len(chain) != 2 || !chain[1].Equal(ca) || !certs.KeyMatchesCert(key, repo) {
		t.Fatalf("RepoSigner chain %d", len(chain))
	}
	if repo.Subject.CommonName != "WAPT repository wapt.example.com" || repo.IsCA || len(repo.ExtKeyUsage) != 0 ||
		len(repo.UnknownExtKeyUsage) != 1 || !repo.UnknownExtKeyUsage[0].Equal(OIDDocumentSigning) {
		t.Errorf("repository certificate: CN %q, CA %v, EKU %v %v", repo.Subject.CommonName, repo.IsCA, repo.ExtKeyUsage, repo.UnknownExtKeyUsage)
	}
	if err := signing.NewTrust(ca).VerifyChain(chain, t0, false); err != nil {
		t.Errorf("repository chain: %v", err)
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := repo.Verify(opts); err == nil {
		t.Error("the repository certificate is accepted as a TLS client")
	}

	sum := sha256.Sum256([]byte(c.EnrollmentToken))
	if b, _ := os.ReadFile(filepath.Join(dir, EnrollmentFile)); strings.TrimSpace(string(b)) != hex.EncodeToString(sum[:]) {
		t.Errorf("enrollment.sha256 = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, EnrollmentFile)); strings.Contains(string(b), c.EnrollmentToken) {
		t.Error("the token is stored in clear")
	}
}

func TestReload(t *testing.T) {
	p1, data := newPKI(t)
	tok := p1.Created().EnrollmentToken
	before := snapshot(t, filepath.Join(data, DirName))

	p2, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if c := p2.Created(); c.HostCA || c.EnrollmentToken != "" || len(c.Issued) > 0 {
		t.Errorf("second start Created = %+v", c)
	}
	if signing.Fingerprint(p1.HostCA()) != signing.Fingerprint(p2.HostCA()) {
		t.Error("host CA changed")
	}
	if !maps.Equal(before, snapshot(t, filepath.Join(data, DirName))) {
		t.Error("files changed on reload")
	}
	if !p2.CheckEnrollmentToken(tok) {
		t.Error("token of the first start refused after reload")
	}
}

func TestEnrollmentToken(t *testing.T) {
	p, data := newPKI(t)
	tok := p.Created().EnrollmentToken
	for _, bad := range []string{"", "x", tok[:42], tok + "=", strings.ToUpper(tok)} {
		if bad != tok && p.CheckEnrollmentToken(bad) {
			t.Errorf("CheckEnrollmentToken(%q) = true", bad)
		}
	}
	if !p.CheckEnrollmentToken(tok) {
		t.Fatal("token refused")
	}
	tok2, err := p.RotateEnrollmentToken()
	if err != nil {
		t.Fatal(err)
	}
	if tok2 == tok || len(tok2) != 43 || p.CheckEnrollmentToken(tok) || !p.CheckEnrollmentToken(tok2) {
		t.Errorf("after rotation: old %v, new %v", p.CheckEnrollmentToken(tok), p.CheckEnrollmentToken(tok2))
	}
	p2, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if p2.CheckEnrollmentToken(tok) || !p2.CheckEnrollmentToken(tok2) {
		t.Error("rotation not persisted")
	}

	// A deleted token file gives a new token at the next start, same CA.
	if err := os.Remove(filepath.Join(data, DirName, EnrollmentFile)); err != nil {
		t.Fatal(err)
	}
	p3, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	c := p3.Created()
	if c.HostCA || c.EnrollmentToken == "" || !p3.CheckEnrollmentToken(c.EnrollmentToken) || p3.CheckEnrollmentToken(tok2) {
		t.Errorf("after deleting the token file: %+v", c)
	}
}

func TestCorruptFiles(t *testing.T) {
	_, good := newPKI(t)
	otherKey, err := certs.EncodePrivateKeyPEM(mustKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := certs.EncodePrivateKeyPEM(mustKey(t), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	_, other := newPKI(t)
	otherTLS, err := os.ReadFile(filepath.Join(other, DirName, TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}
	truncate := func(b []byte) []byte { return b[:len(b)/2] }

	tests := []struct {
		name   string
		file   string
		mutate func([]byte) []byte // nil: delete the file
	}{
		{"garbage CA key", HostCAKeyFile, func([]byte) []byte { return []byte("not a key") }},
		{"truncated CA key", HostCAKeyFile, truncate},
		{"truncated CA certificate", HostCACertFile, truncate},
		{"empty CA certificate", HostCACertFile, func([]byte) []byte { return nil }},
		{"missing CA key", HostCAKeyFile, nil},
		{"missing CA certificate", HostCACertFile, nil},
		{"CA key of another certificate", HostCAKeyFile, func([]byte) []byte { return otherKey }},
		{"encrypted CA key", HostCAKeyFile, func([]byte) []byte { return encKey }},
		{"CA certificate is a leaf", HostCACertFile, func([]byte) []byte { return otherTLS }},
		{"garbage TLS key", TLSKeyFile, func([]byte) []byte { return []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }},
		{"truncated TLS certificate", TLSCertFile, truncate},
		{"TLS certificate of another key", TLSCertFile, func([]byte) []byte { return otherTLS }},
		{"truncated repository key", RepoKeyFile, truncate},
		{"bad token hash", EnrollmentFile, func([]byte) []byte { return []byte("abc\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			dir := filepath.Join(data, DirName)
			copyDir(t, filepath.Join(good, DirName), dir)
			path := filepath.Join(dir, tt.file)
			if tt.mutate == nil {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tt.mutate(b), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, dir)
			_, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want ErrCorrupt naming %s", err, path)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Errorf("files changed: %v → %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
			}
		})
	}

	t.Run("leaves without the CA", func(t *testing.T) {
		data := t.TempDir()
		dir := filepath.Join(data, DirName)
		copyDir(t, filepath.Join(good, DirName), dir)
		for _, f := range []string{HostCACertFile, HostCAKeyFile} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if _, err := os.Stat(filepath.Join(dir, HostCAKeyFile)); err == nil {
			t.Error("a new host CA was created")
		}
	})
}

func TestMissingLeavesAreIssued(t *testing.T) {
	p1, data := newPKI(t)
	dir := filepath.Join(data, DirName)
	tlsKey := snapshot(t, dir)[TLSKeyFile]
	oldRepo := readCertFile(t, filepath.Join(dir, RepoCertFile))
	for _, f := range []string{TLSCertFile, RepoKeyFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	p2, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if c := p2.Created(); c.HostCA || c.EnrollmentToken != "" || !slices.Equal(c.Issued, []string{TLSCertFile, RepoCertFile}) {
		t.Errorf("Created = %+v", c)
	}
	if !p1.HostCA().Equal(p2.HostCA()) {
		t.Error("host CA changed")
	}
	after := snapshot(t, dir)
	if after[TLSKeyFile] != tlsKey {
		t.Error("TLS key changed when only its certificate was missing")
	}
	key, chain := p2.RepoSigner()
	if chain[0].Equal(oldRepo) || !certs.KeyMatchesCert(key, chain[0]) {
		t.Error("repository key and certificate not replaced")
	}
}

func TestRenewal(t *testing.T) {
	p1, data := newPKI(t)
	dir := filepath.Join(data, DirName)
	tls1 := readCertFile(t, filepath.Join(dir, TLSCertFile))
	_, chain := p1.RepoSigner()
	repo1 := chain[0]

	if renewed, err := p1.Renew(t0.Add(TLSValidity - RenewBefore - time.Hour)); err != nil || len(renewed) > 0 {
		t.Fatalf("Renew 31 days before expiry = %v, %v", renewed, err)
	}
	later := t0.Add(TLSValidity - 29*24*time.Hour)
	p2, err := LoadOrCreate(data, Options{Hostnames: testNames, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if c := p2.Created(); !slices.Equal(c.Issued, []string{TLSCertFile, RepoCertFile}) {
		t.Errorf("Issued = %v", c.Issued)
	}
	tls2 := readCertFile(t, filepath.Join(dir, TLSCertFile))
	if !tls2.NotAfter.Equal(later.Add(TLSValidity)) || !tls2.PublicKey.(*ecdsa.PublicKey).Equal(tls1.PublicKey) {
		t.Errorf("renewed TLS certificate until %s (key kept: %v)", tls2.NotAfter, tls2.PublicKey.(*ecdsa.PublicKey).Equal(tls1.PublicKey))
	}
	if cert := p2.TLSConfig().GetConfigForClient; cert == nil {
		t.Fatal("no GetConfigForClient")
	}
	if cfg, _ := p2.TLSConfig().GetConfigForClient(nil); !cfg.Certificates[0].Leaf.Equal(tls2) {
		t.Error("TLS configuration serves the old certificate")
	}
	_, chain = p2.RepoSigner()
	if chain[0].Equal(repo1) || !chain[0].NotAfter.After(repo1.NotAfter) {
		t.Error("repository certificate not renewed")
	}
	if !p1.HostCA().Equal(p2.HostCA()) {
		t.Error("host CA changed")
	}

	// A running server renews through Renew, and serves the new certificate.
	renewed, err := p1.Renew(later)
	if err != nil || !slices.Equal(renewed, []string{TLSCertFile, RepoCertFile}) {
		t.Fatalf("Renew = %v, %v", renewed, err)
	}
	if cfg, _ := p1.TLSConfig().GetConfigForClient(nil); !cfg.Certificates[0].Leaf.NotAfter.Equal(later.Add(TLSValidity)) {
		t.Error("TLS configuration not updated by Renew")
	}

	// Other names: only the TLS certificate is issued again.
	p3, err := LoadOrCreate(data, Options{Hostnames: []string{"wapt.example.com", "10.1.2.3"}, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if c := p3.Created(); !slices.Equal(c.Issued, []string{TLSCertFile}) {
		t.Errorf("Issued after a name change = %v", c.Issued)
	}
	tls3 := readCertFile(t, filepath.Join(dir, TLSCertFile))
	if !slices.Equal(tls3.DNSNames, []string{"wapt.example.com"}) || len(tls3.IPAddresses) != 1 || tls3.IPAddresses[0].String() != "10.1.2.3" {
		t.Errorf("SANs = %v %v", tls3.DNSNames, tls3.IPAddresses)
	}

	// Near the CA's own end, leaves clipped to it are not re-issued forever.
	end := p1.HostCA().NotAfter.Add(-10 * 24 * time.Hour)
	if _, err := p3.Renew(end); err != nil {
		t.Fatal(err)
	}
	if renewed, err := p3.Renew(end.Add(time.Hour)); err != nil || len(renewed) > 0 {
		t.Errorf("second Renew near the CA's end = %v, %v", renewed, err)
	}
}

func TestHostnames(t *testing.T) {
	got, err := normalizeHostnames([]string{" WAPT.example.com", "wapt.example.com", "::0001", "", "127.0.0.1"})
	if err != nil || !slices.Equal(got, []string{"wapt.example.com", "::1", "127.0.0.1"}) {
		t.Errorf("normalizeHostnames = %v, %v", got, err)
	}
	for _, bad := range []string{"a b", "a/b", "-x..y", "é.com"} {
		if _, err := normalizeHostnames([]string{bad}); err == nil {
			t.Errorf("normalizeHostnames(%q) accepted", bad)
		}
	}
	if got, err := normalizeHostnames(nil); err != nil || !slices.Contains(got, "localhost") || !slices.Contains(got, "::1") {
		t.Errorf("defaults = %v, %v", got, err)
	}
}

func mustKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		tb.Fatal(err)
	}
}
