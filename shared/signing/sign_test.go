package signing

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
)

// pssSigner signs with RSA-PSS whatever the options: not what WAPT expects.
type pssSigner struct{ *rsa.PrivateKey }

func (s pssSigner) Sign(r io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	return rsa.SignPSS(r, s.PrivateKey, crypto.SHA256, digest, nil)
}

func TestSignVerify(t *testing.T) {
	f := testFixture(t)
	data := []byte(`{"package":"tis-test"}`)
	for _, kc := range []keyCert{f.admin, f.simple} {
		t.Run(kc.cert.Subject.CommonName, func(t *testing.T) {
			sig, err := Sign(kc.key, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifySignature(kc.cert, data, sig); err != nil {
				t.Fatalf("verify: %v", err)
			}
			tampered := append([]byte(nil), data...)
			tampered[3] ^= 1
			if err := VerifySignature(kc.cert, tampered, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("tampered data: %v", err)
			}
			badSig := append([]byte(nil), sig...)
			badSig[len(badSig)/2] ^= 0x80
			if err := VerifySignature(kc.cert, data, badSig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("tampered signature: %v", err)
			}
			if err := VerifySignature(f.self.cert, data, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("other certificate: %v", err)
			}
			if err := VerifySignature(nil, data, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("nil certificate: %v", err)
			}
		})
	}
	// RSA PKCS#1 v1.5 is deterministic: WAPT-compatible signatures are stable.
	s1, _ := Sign(f.admin.key, data)
	s2, _ := Sign(f.admin.key, data)
	if string(s1) != string(s2) || len(s1) != 256 {
		t.Errorf("RSA signatures differ or have %d bytes", len(s1))
	}
}

func TestSignRefused(t *testing.T) {
	f := testFixture(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		signer crypto.Signer
		want   error
	}{
		{"ed25519", edKey, ErrUnsupportedKey},
		{"nil", nil, ErrUnsupportedKey},
		{"pss signer", pssSigner{f.admin.key.(*rsa.PrivateKey)}, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(tt.signer, []byte("x")); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	f := testFixture(t)
	fp := Fingerprint(f.admin.cert)
	if len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Fatalf("fingerprint %q", fp)
	}
	if fp == Fingerprint(f.ca.cert) {
		t.Fatal("two certificates, one fingerprint")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	path := filepath.Join(t.TempDir(), "admin.crt")
	if err := os.WriteFile(path, certs.EncodeCertsPEM(f.admin.cert), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "x509", "-in", path, "-noout", "-fingerprint", "-sha256").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	// "sha256 Fingerprint=AB:CD:..."
	_, want, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
	if want = strings.ToLower(strings.ReplaceAll(want, ":", "")); fp != want {
		t.Fatalf("Fingerprint = %s, openssl says %s", fp, want)
	}
}

func TestIsCodeSigning(t *testing.T) {
	f := testFixture(t)
	for _, tc := range []struct {
		kc   keyCert
		want bool
	}{{f.admin, true}, {f.viaInter, true}, {f.simple, false}, {f.ca, false}} {
		if got := IsCodeSigning(tc.kc.cert); got != tc.want {
			t.Errorf("IsCodeSigning(%s) = %v", tc.kc.cert.Subject.CommonName, got)
		}
	}
	if IsCodeSigning(nil) {
		t.Error("IsCodeSigning(nil)")
	}
}

func TestVerifyChain(t *testing.T) {
	f := testFixture(t)
	caTrust := NewTrust(f.ca.cert)
	// admin valid [fixNow-5m, fixNow+3y]; the CA until fixNow+10y.
	// shortInter expires after 48h; longLeaf, issued by it, after 30 days.
	shortInter := keyCertAt(t, certs.Request{CN: "Short CA", Role: certs.RoleCA, KeyType: "ecdsa", Validity: 48 * time.Hour}, &f.ca)
	longLeaf := issue(t, keyCertAt(t, certs.Request{CN: "long leaf", Role: certs.RoleCodeSigning, KeyType: "ecdsa"}, nil), shortInter, fixNow.Add(30*24*time.Hour))
	inOneDay := fixNow.Add(24 * time.Hour)
	tests := []struct {
		name     string
		trust    *Trust
		chain    []*x509.Certificate
		now      time.Time
		codeSign bool
		want     error
	}{
		{"ca to leaf", caTrust, []*x509.Certificate{f.admin.cert}, inOneDay, true, nil},
		{"ca to leaf, CA in chain", caTrust, []*x509.Certificate{f.admin.cert, f.ca.cert}, inOneDay, true, nil},
		{"self-signed leaf anchored", NewTrust(f.self.cert), []*x509.Certificate{f.self.cert}, inOneDay, true, nil},
		{"issued leaf anchored directly", NewTrust(f.admin.cert), []*x509.Certificate{f.admin.cert}, inOneDay, true, nil},
		{"intermediate", caTrust, []*x509.Certificate{f.viaInter.cert, f.inter.cert}, inOneDay, true, nil},
		{"intermediate anchored", NewTrust(f.inter.cert), []*x509.Certificate{f.viaInter.cert}, inOneDay, true, nil},
		{"missing intermediate", caTrust, []*x509.Certificate{f.viaInter.cert}, inOneDay, true, ErrUntrusted},
		{"simple without codeSigning requirement", caTrust, []*x509.Certificate{f.simple.cert}, inOneDay, false, nil},
		{"simple with codeSigning requirement", caTrust, []*x509.Certificate{f.simple.cert}, inOneDay, true, ErrNotCodeSigning},
		{"CA cert signing with codeSigning requirement", caTrust, []*x509.Certificate{f.ca.cert}, inOneDay, true, ErrNotCodeSigning},
		{"CA cert signing, anchored", caTrust, []*x509.Certificate{f.ca.cert}, inOneDay, false, nil},
		{"expired", caTrust, []*x509.Certificate{f.admin.cert}, fixNow.Add(4 * 365 * 24 * time.Hour), true, ErrExpired},
		{"not yet valid", caTrust, []*x509.Certificate{f.admin.cert}, fixNow.Add(-time.Hour), true, ErrExpired},
		{"anchored leaf expired", NewTrust(f.self.cert), []*x509.Certificate{f.self.cert}, fixNow.Add(4 * 365 * 24 * time.Hour), false, ErrExpired},
		{"short intermediate valid", caTrust, []*x509.Certificate{longLeaf, shortInter.cert}, inOneDay, false, nil},
		{"expired intermediate", caTrust, []*x509.Certificate{longLeaf, shortInter.cert}, fixNow.Add(72 * time.Hour), false, ErrExpired},
		{"expired anchor", NewTrust(shortInter.cert), []*x509.Certificate{longLeaf}, fixNow.Add(72 * time.Hour), false, ErrExpired},
		{"wrong anchor", NewTrust(f.otherCA.cert), []*x509.Certificate{f.admin.cert, f.ca.cert}, inOneDay, true, ErrUntrusted},
		{"self-signed not anchored", caTrust, []*x509.Certificate{f.self.cert}, inOneDay, false, ErrUntrusted},
		{"issued by a non-CA anchor", NewTrust(f.admin.cert), []*x509.Certificate{issuedByLeaf(t, f.admin)}, inOneDay, false, ErrUntrusted},
		{"issued by a non-CA intermediate", caTrust, []*x509.Certificate{issuedByLeaf(t, f.admin), f.admin.cert}, inOneDay, false, ErrUntrusted},
		{"empty chain", caTrust, nil, inOneDay, false, ErrUntrusted},
		{"no anchors", NewTrust(), []*x509.Certificate{f.admin.cert}, inOneDay, false, ErrUntrusted},
		{"nil trust", nil, []*x509.Certificate{f.admin.cert}, inOneDay, false, ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.trust.VerifyChain(tt.chain, tt.now, tt.codeSign)
			t.Logf("err: %v", err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && len(tt.chain) > 0 && !strings.Contains(err.Error(), tt.chain[0].Subject.CommonName) {
				t.Errorf("error %q does not name the signer", err)
			}
		})
	}
}

// issue signs a certificate for sub's key with issuer, bypassing the checks
// of certs.Generate (non-CA issuer, validity beyond the issuer's).
func issue(tb testing.TB, sub, issuer keyCert, notAfter time.Time) *x509.Certificate {
	tb.Helper()
	tmpl := *sub.cert
	tmpl.AuthorityKeyId = issuer.cert.SubjectKeyId
	tmpl.SignatureAlgorithm = x509.UnknownSignatureAlgorithm
	tmpl.NotAfter = notAfter
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, issuer.cert, sub.key.Public(), issuer.key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	// Not CheckSignatureFrom: it refuses non-CA parents.
	if err := issuer.cert.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		tb.Fatalf("certificate not signed by %s: %v", issuer.cert.Subject.CommonName, err)
	}
	return c
}

// issuedByLeaf returns a certificate signed by a non-CA certificate's key.
func issuedByLeaf(tb testing.TB, issuer keyCert) *x509.Certificate {
	tb.Helper()
	sub := keyCertAt(tb, certs.Request{CN: "forged", Role: certs.RoleCodeSigning, KeyType: "ecdsa"}, nil)
	return issue(tb, sub, issuer, sub.cert.NotAfter)
}

func keyCertAt(tb testing.TB, r certs.Request, issuer *keyCert) keyCert {
	tb.Helper()
	r.Now = fixNow
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert, issuer.key
	}
	k, c, err := certs.Generate(r)
	if err != nil {
		tb.Fatal(err)
	}
	return keyCert{k, c}
}

func TestTrust(t *testing.T) {
	f := testFixture(t)
	tr := NewTrust(f.ca.cert, nil, f.ca.cert, f.self.cert)
	got := tr.Anchors()
	if len(got) != 2 || !got[0].Equal(f.ca.cert) || !got[1].Equal(f.self.cert) {
		t.Fatalf("Anchors() = %d certs", len(got))
	}
	got[0] = f.otherCA.cert
	if !tr.Anchors()[0].Equal(f.ca.cert) {
		t.Fatal("Anchors() exposes the internal slice")
	}
	var nilTrust *Trust
	if nilTrust.Anchors() != nil {
		t.Fatal("nil Trust has anchors")
	}
}

func TestLoadTrustDir(t *testing.T) {
	f := testFixture(t)
	keyPEM, err := certs.EncodePrivateKeyPEM(f.self.key, nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(tb testing.TB, dir, name string, data []byte) {
		tb.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}

	t.Run("ok", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "cas.crt", certs.EncodeCertsPEM(f.ca.cert, f.inter.cert))
		write(t, dir, "self.PEM", certs.EncodeCertsPEM(f.self.cert))
		write(t, dir, "der.crt", f.otherCA.cert.Raw)
		write(t, dir, "admin-key.pem", keyPEM) // skipped: no certificate
		write(t, dir, "notes.txt", []byte("not a cert"))
		write(t, dir, "other.crt.bak", certs.EncodeCertsPEM(f.otherLeaf.cert))
		if err := os.Mkdir(filepath.Join(dir, "sub.crt"), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "sub.crt"), "deep.crt", certs.EncodeCertsPEM(f.otherLeaf.cert))
		if err := os.Symlink("self.PEM", filepath.Join(dir, "link.pem")); err != nil {
			t.Fatal(err)
		}
		tr, err := LoadTrustDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(tr.Anchors()); n != 4 {
			t.Fatalf("%d anchors, want 4 (ca, inter, self, other CA)", n)
		}
		if err := tr.VerifyChain([]*x509.Certificate{f.viaInter.cert}, fixNow.Add(time.Hour), true); err != nil {
			t.Fatalf("VerifyChain: %v", err)
		}
		if err := tr.VerifyChain([]*x509.Certificate{f.otherLeaf.cert}, fixNow.Add(time.Hour), true); err != nil {
			t.Fatalf("VerifyChain via DER anchor: %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "key.pem", keyPEM)
		_, err := LoadTrustDir(dir)
		if !errors.Is(err, ErrNoAnchors) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("corrupt file", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "good.crt", certs.EncodeCertsPEM(f.ca.cert))
		write(t, dir, "bad.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
		_, err := LoadTrustDir(dir)
		if !errors.Is(err, certs.ErrNoCertificate) || !strings.Contains(err.Error(), "bad.crt") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		_, err := LoadTrustDir(filepath.Join(t.TempDir(), "none"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
}
