package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type keyCert struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// fixture is a CA (RSA 2048) with one RSA code-signing leaf, generated once
// per test binary.
type fixture struct {
	ca, leaf keyCert
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

func testFixture(tb testing.TB) fixture {
	tb.Helper()
	fixOnce.Do(func() {
		var f fixture
		f.ca.key, f.ca.cert, fixErr = Generate(Request{CN: "Test CA", Role: RoleCA, Bits: 2048, Now: testNow})
		if fixErr != nil {
			return
		}
		f.leaf.key, f.leaf.cert, fixErr = Generate(Request{
			CN: "admin", Role: RoleCodeSigning, Bits: 2048, Now: testNow,
			Email: "admin@example.lan", Organization: "Example",
			Issuer: f.ca.cert, IssuerKey: f.ca.key,
		})
		fix = f
	})
	if fixErr != nil {
		tb.Fatalf("fixture: %v", fixErr)
	}
	return fix
}

func genEC(tb testing.TB, r Request) keyCert {
	tb.Helper()
	r.KeyType = "ecdsa"
	if r.Now.IsZero() {
		r.Now = testNow
	}
	k, c, err := Generate(r)
	if err != nil {
		tb.Fatalf("Generate(%s): %v", r.CN, err)
	}
	return keyCert{k, c}
}

func TestGenerateRoles(t *testing.T) {
	f := testFixture(t)
	ecCA := genEC(t, Request{CN: "EC CA", Role: RoleCA})
	tests := []struct {
		name     string
		kc       keyCert
		issuer   *x509.Certificate
		isCA     bool
		eku      []x509.ExtKeyUsage
		ku       x509.KeyUsage
		validity time.Duration
	}{
		{"rsa ca", f.ca, nil, true, nil,
			x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, DefaultCAValidity},
		{"rsa code-signing", f.leaf, f.ca.cert, false,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature, DefaultValidity},
		{"ec simple", genEC(t, Request{CN: "simple", Role: RoleSimple, Issuer: ecCA.cert, IssuerKey: ecCA.key}), ecCA.cert, false,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature, DefaultValidity},
		{"ec self-signed code-signing", genEC(t, Request{CN: "self", Role: RoleCodeSigning}), nil, false,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth}, x509.KeyUsageDigitalSignature, DefaultValidity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.kc.cert
			if !c.BasicConstraintsValid || c.IsCA != tt.isCA {
				t.Errorf("BasicConstraints valid=%v CA=%v, want CA=%v", c.BasicConstraintsValid, c.IsCA, tt.isCA)
			}
			if !slices.Equal(c.ExtKeyUsage, tt.eku) {
				t.Errorf("EKU = %v, want %v", c.ExtKeyUsage, tt.eku)
			}
			if c.KeyUsage != tt.ku {
				t.Errorf("KeyUsage = %b, want %b", c.KeyUsage, tt.ku)
			}
			if len(c.SubjectKeyId) != 20 {
				t.Errorf("SubjectKeyId = %x, want 20 bytes", c.SubjectKeyId)
			}
			if !KeyMatchesCert(tt.kc.key, c) {
				t.Error("key does not match its certificate")
			}
			if got := c.NotAfter.Sub(testNow); got != tt.validity {
				t.Errorf("NotAfter - now = %v, want %v", got, tt.validity)
			}
			if !c.NotBefore.Equal(testNow.Add(-Backdate)) {
				t.Errorf("NotBefore = %v", c.NotBefore)
			}
			if c.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %v not positive", c.SerialNumber)
			}
			root := tt.issuer
			if root == nil {
				root = c
				if len(c.AuthorityKeyId) != 0 && !bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
					t.Errorf("self-signed AKI %x != SKI %x", c.AuthorityKeyId, c.SubjectKeyId)
				}
			} else if !bytes.Equal(c.AuthorityKeyId, root.SubjectKeyId) {
				t.Errorf("AKI %x, want issuer SKI %x", c.AuthorityKeyId, root.SubjectKeyId)
			}
			if root == c {
				if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
					t.Errorf("not self-signed: %v", err)
				}
			} else if err := c.CheckSignatureFrom(root); err != nil {
				t.Errorf("not signed by its issuer: %v", err)
			}
		})
	}
	if f.leaf.cert.Subject.CommonName != "admin" || !slices.Equal(f.leaf.cert.Subject.Organization, []string{"Example"}) ||
		!slices.Equal(f.leaf.cert.EmailAddresses, []string{"admin@example.lan"}) {
		t.Errorf("subject = %v, emails %v", f.leaf.cert.Subject, f.leaf.cert.EmailAddresses)
	}
	if !slices.ContainsFunc(f.leaf.cert.Subject.Names, func(a pkix.AttributeTypeAndValue) bool {
		return a.Type.Equal(oidEmailAddress) && a.Value == "admin@example.lan"
	}) {
		t.Errorf("subject %v lacks the emailAddress attribute", f.leaf.cert.Subject.Names)
	}
	if k, ok := f.leaf.key.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("leaf key %T, want RSA 2048", f.leaf.key)
	}
}

func TestGenerateValidityClippedToIssuer(t *testing.T) {
	ca := genEC(t, Request{CN: "short CA", Role: RoleCA, Validity: 24 * time.Hour})
	leaf := genEC(t, Request{CN: "leaf", Issuer: ca.cert, IssuerKey: ca.key, Validity: 48 * time.Hour})
	if !leaf.cert.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("leaf NotAfter %v, want issuer's %v", leaf.cert.NotAfter, ca.cert.NotAfter)
	}
}

func TestGenerateErrors(t *testing.T) {
	ca := genEC(t, Request{CN: "CA", Role: RoleCA})
	other := genEC(t, Request{CN: "other CA", Role: RoleCA})
	leaf := genEC(t, Request{CN: "leaf", Issuer: ca.cert, IssuerKey: ca.key})
	tests := []struct {
		name string
		r    Request
		want error
	}{
		{"empty CN", Request{CN: " "}, ErrBadRequest},
		{"unknown role", Request{CN: "x", Role: Role(7)}, ErrBadRequest},
		{"small RSA", Request{CN: "x", Bits: 1024}, ErrBadRequest},
		{"bad curve", Request{CN: "x", KeyType: "ecdsa", Bits: 200}, ErrBadRequest},
		{"bad key type", Request{CN: "x", KeyType: "dsa"}, ErrBadRequest},
		{"negative validity", Request{CN: "x", Validity: -time.Hour}, ErrBadRequest},
		{"issuer without key", Request{CN: "x", KeyType: "ecdsa", Issuer: ca.cert}, ErrBadRequest},
		{"issuer not CA", Request{CN: "x", KeyType: "ecdsa", Issuer: leaf.cert, IssuerKey: leaf.key}, ErrIssuerNotCA},
		{"issuer key mismatch", Request{CN: "x", KeyType: "ecdsa", Issuer: ca.cert, IssuerKey: other.key}, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Generate(tt.r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRoleString(t *testing.T) {
	for r, want := range map[Role]string{RoleCodeSigning: "code-signing", RoleSimple: "simple", RoleCA: "ca", 9: "Role(9)"} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestKeyMatchesCert(t *testing.T) {
	f := testFixture(t)
	if KeyMatchesCert(f.ca.key, f.leaf.cert) {
		t.Error("CA key matches leaf cert")
	}
	if KeyMatchesCert(nil, f.leaf.cert) || KeyMatchesCert(f.leaf.key, nil) {
		t.Error("nil matches")
	}
}

func TestPrivateKeyPEMRoundTrip(t *testing.T) {
	f := testFixture(t)
	ec := genEC(t, Request{CN: "ec"})
	pw := []byte("s3cret pässword")
	for _, kc := range []keyCert{f.leaf, ec} {
		name := kc.cert.Subject.CommonName
		t.Run(name+" clear", func(t *testing.T) {
			data, err := EncodePrivateKeyPEM(kc.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil || b.Type != "PRIVATE KEY" {
				t.Fatalf("PEM type: %q", data)
			}
			k, err := ParsePrivateKeyPEM(data, []byte("ignored"))
			if err != nil || !KeyMatchesCert(k, kc.cert) {
				t.Fatalf("parse: %v (match %v)", err, KeyMatchesCert(k, kc.cert))
			}
		})
		t.Run(name+" encrypted", func(t *testing.T) {
			data, err := EncodePrivateKeyPEM(kc.key, pw)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil || b.Type != "ENCRYPTED PRIVATE KEY" {
				t.Fatalf("PEM type: %q", data)
			}
			if _, err := ParsePrivateKeyPEM(data, nil); !errors.Is(err, ErrPasswordRequired) {
				t.Errorf("no password: %v", err)
			}
			if _, err := ParsePrivateKeyPEM(data, []byte("wrong")); !errors.Is(err, ErrBadPassword) {
				t.Errorf("wrong password: %v", err)
			}
			k, err := ParsePrivateKeyPEM(data, pw)
			if err != nil || !KeyMatchesCert(k, kc.cert) {
				t.Fatalf("parse: %v", err)
			}
		})
	}
}

func TestParsePrivateKeyPEMFormats(t *testing.T) {
	f := testFixture(t)
	ec := genEC(t, Request{CN: "ec"})
	rsaKey := f.leaf.key.(*rsa.PrivateKey)
	ecKey := ec.key.(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaKey)
	pw := []byte("legacy")
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", pkcs1, pw, x509.PEMCipherAES256) //nolint:staticcheck // WAPT legacy format
	if err != nil {
		t.Fatal(err)
	}
	legacyEC, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", sec1, pw, x509.PEMCipherAES128) //nolint:staticcheck // WAPT legacy format
	if err != nil {
		t.Fatal(err)
	}
	certFirst := append(EncodeCertsPEM(f.leaf.cert), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1})...)

	tests := []struct {
		name string
		data []byte
		pw   []byte
		cert *x509.Certificate
		want error
	}{
		{"pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1}), nil, f.leaf.cert, nil},
		{"sec1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), nil, ec.cert, nil},
		{"cert block skipped", certFirst, nil, f.leaf.cert, nil},
		{"legacy rsa", pem.EncodeToMemory(legacy), pw, f.leaf.cert, nil},
		{"legacy ec", pem.EncodeToMemory(legacyEC), pw, ec.cert, nil},
		{"legacy no password", pem.EncodeToMemory(legacy), nil, nil, ErrPasswordRequired},
		{"legacy wrong password", pem.EncodeToMemory(legacy), []byte("nope"), nil, ErrBadPassword},
		{"no key", EncodeCertsPEM(f.leaf.cert), nil, nil, ErrNoKey},
		{"empty", nil, nil, nil, ErrNoKey},
		{"garbage pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 1, 2}}), nil, nil, ErrNoKey},
		{"garbage encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("xx")}), pw, nil, ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(tt.data, tt.pw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.cert != nil && !KeyMatchesCert(k, tt.cert) {
				t.Fatal("parsed key does not match")
			}
		})
	}
}

// TestParseEncryptedPKCS8Malformed feeds corrupted encrypted keys: never a panic.
func TestParseEncryptedPKCS8Malformed(t *testing.T) {
	ec := genEC(t, Request{CN: "ec"})
	pw := []byte("pw")
	data, err := EncodePrivateKeyPEM(ec.key, pw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	for n := 0; n < len(b.Bytes); n += 7 {
		der := b.Bytes[:n]
		k, err := ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), pw)
		if err == nil || k != nil {
			t.Fatalf("truncated to %d: key %v err %v", n, k, err)
		}
	}
	// Ciphertext not a multiple of the AES block size: pkcs8 would panic.
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Data []byte
	}
	if _, err := asn1.Unmarshal(b.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	info.Data = info.Data[:len(info.Data)-1]
	der, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), pw)
	if !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("odd ciphertext: %v", err)
	}
}

func TestEncodePrivateKeyPEMNil(t *testing.T) {
	if _, err := EncodePrivateKeyPEM(nil, nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("err = %v", err)
	}
}

func TestCertsPEM(t *testing.T) {
	f := testFixture(t)
	both := EncodeCertsPEM(f.leaf.cert, f.ca.cert)
	if n := bytes.Count(both, []byte("-----BEGIN CERTIFICATE-----")); n != 2 {
		t.Fatalf("%d blocks", n)
	}
	withText := append([]byte("Bag Attributes\n  friendlyName: x\n"), both...)
	withKey := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), both...)
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})
	tests := []struct {
		name string
		data []byte
		want []*x509.Certificate
		err  error
	}{
		{"chain", both, []*x509.Certificate{f.leaf.cert, f.ca.cert}, nil},
		{"text before", withText, []*x509.Certificate{f.leaf.cert, f.ca.cert}, nil},
		{"other block skipped", withKey, []*x509.Certificate{f.leaf.cert, f.ca.cert}, nil},
		{"der", f.ca.cert.Raw, []*x509.Certificate{f.ca.cert}, nil},
		{"empty", nil, nil, ErrNoCertificate},
		{"only a key", withKey[:bytes.Index(withKey, []byte("-----BEGIN CERT"))], nil, ErrNoCertificate},
		{"malformed", append(both, bad...), nil, ErrNoCertificate},
		{"bad der", []byte{0x30, 0x03, 1, 2, 3}, nil, ErrNoCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCertsPEM(tt.data)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !slices.EqualFunc(got, tt.want, (*x509.Certificate).Equal) {
				t.Fatalf("got %d certs, want %d", len(got), len(tt.want))
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	f := testFixture(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPEM, err := EncodePrivateKeyPEM(f.leaf.key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := write("admin.pem", keyPEM)
	crtPath := write("admin.crt", EncodeCertsPEM(f.leaf.cert, f.ca.cert))
	big := write("big.crt", bytes.Repeat([]byte("x"), MaxCertFileSize+1))

	k, err := LoadKey(keyPath, []byte("pw"))
	if err != nil || !KeyMatchesCert(k, f.leaf.cert) {
		t.Fatalf("LoadKey: %v", err)
	}
	cs, err := LoadCerts(crtPath)
	if err != nil || len(cs) != 2 {
		t.Fatalf("LoadCerts: %d, %v", len(cs), err)
	}
	for _, tc := range []struct {
		name string
		err  error
		path string
		is   error
	}{
		{"key no password", func() error { _, err := LoadKey(keyPath, nil); return err }(), keyPath, ErrPasswordRequired},
		{"key missing", func() error { _, err := LoadKey(filepath.Join(dir, "none.pem"), nil); return err }(), "none.pem", os.ErrNotExist},
		{"certs from key file", func() error { _, err := LoadCerts(keyPath); return err }(), keyPath, ErrNoCertificate},
		{"certs too big", func() error { _, err := LoadCerts(big); return err }(), big, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || !strings.Contains(tc.err.Error(), tc.path) {
				t.Fatalf("err = %v, want it to name %s", tc.err, tc.path)
			}
			if tc.is != nil && !errors.Is(tc.err, tc.is) {
				t.Fatalf("err = %v, want %v", tc.err, tc.is)
			}
		})
	}
}

// TestOpenSSLInterop checks that OpenSSL reads our encrypted keys and that we
// read OpenSSL's. Skipped only when openssl is not installed.
func TestOpenSSLInterop(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	ec := genEC(t, Request{CN: "ec"})
	dir := t.TempDir()
	ours, err := EncodePrivateKeyPEM(ec.key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	oursPath := filepath.Join(dir, "ours.pem")
	if err := os.WriteFile(oursPath, ours, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "pkey", "-in", oursPath, "-passin", "pass:pw", "-pubout").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, out)
	}
	pub, err := x509.MarshalPKIXPublicKey(ec.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if want := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}); !bytes.Equal(out, want) {
		t.Fatalf("openssl public key\n%s\nwant\n%s", out, want)
	}
	if out, err := exec.Command("openssl", "pkey", "-in", oursPath, "-passin", "pass:bad", "-noout").CombinedOutput(); err == nil {
		t.Fatalf("openssl accepted a wrong password: %s", out)
	}

	theirsPath := filepath.Join(dir, "theirs.pem")
	out, err = exec.Command("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-aes-256-cbc", "-pass", "pass:pw2", "-out", theirsPath).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl genpkey: %v\n%s", err, out)
	}
	k, err := LoadKey(theirsPath, []byte("pw2"))
	if err != nil {
		t.Fatalf("LoadKey(openssl key): %v", err)
	}
	if _, ok := k.(*ecdsa.PrivateKey); !ok || k.(*ecdsa.PrivateKey).Curve != elliptic.P256() {
		t.Fatalf("key %T", k)
	}
	if _, err := LoadKey(theirsPath, []byte("bad")); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}
