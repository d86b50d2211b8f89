package action

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
)

// fixNow is when the fixture certificates are issued; tNow, an hour later,
// is when the test actions are issued and verified.
var (
	fixNow = time.Date(2026, 2, 3, 4, 0, 0, 0, time.UTC)
	tNow   = fixNow.Add(time.Hour)
)

const (
	hostA = "0d9b5a3e-6a5f-4c1e-9c2b-4f1e2a3b4c5d"
	hostB = "8a7b6c5d-1e2f-4a3b-8c9d-0e1f2a3b4c5d"
)

type keyCert struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// chain is the signer chain of k: its certificate and issuers.
func (k keyCert) chain(issuers ...keyCert) []*x509.Certificate {
	out := []*x509.Certificate{k.cert}
	for _, i := range issuers {
		out = append(out, i.cert)
	}
	return out
}

// fixture holds the certificates of the tests, made once per test binary:
// ECDSA everywhere for speed, except the code-signing admin (RSA 2048, the
// key type of WAPT).
type fixture struct {
	adminCA     keyCert // root of the admin anchors
	simple      keyCert // RoleSimple, by adminCA
	codeSigning keyCert // RoleCodeSigning (RSA), by adminCA
	subCA       keyCert // RoleCA, by adminCA
	viaSub      keyCert // RoleSimple, by subCA
	shortLived  keyCert // RoleCodeSigning valid one hour, by adminCA
	repo        keyCert // RoleRepository (documentSigning), by adminCA
	tls         keyCert // serverAuth only, by adminCA
	noEKU       keyCert // CA:FALSE without any EKU, by adminCA
	otherCA     keyCert // a CA the agents do not trust
	otherAdmin  keyCert // RoleCodeSigning, by otherCA
	hostCA      keyCert // the server's host CA
	host        keyCert // host certificate: CN uuid, CA:FALSE, clientAuth, by hostCA
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

func testFixture(tb testing.TB) fixture {
	tb.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture() })
	if fixErr != nil {
		tb.Fatalf("test fixture: %v", fixErr)
	}
	return fix
}

func newFixture() (fixture, error) {
	var f fixture
	var err error
	gen := func(dst *keyCert, r certs.Request, issuer *keyCert) {
		if err != nil {
			return
		}
		r.Now = fixNow
		if r.KeyType == "" {
			r.KeyType = "ecdsa"
		}
		if issuer != nil {
			r.Issuer, r.IssuerKey = issuer.cert, issuer.key
		}
		dst.key, dst.cert, err = certs.Generate(r)
	}
	// issue makes certificates certs.Generate does not: TLS, no EKU, host.
	issue := func(dst *keyCert, tmpl *x509.Certificate, issuer keyCert) {
		if err != nil {
			return
		}
		var key *ecdsa.PrivateKey
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return
		}
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
		tmpl.NotBefore, tmpl.NotAfter = fixNow.Add(-time.Hour), fixNow.Add(365*24*time.Hour)
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		var der []byte
		if der, err = x509.CreateCertificate(rand.Reader, tmpl, issuer.cert, key.Public(), issuer.key); err != nil {
			return
		}
		dst.key = key
		dst.cert, err = x509.ParseCertificate(der)
	}
	gen(&f.adminCA, certs.Request{CN: "Admin CA", Role: certs.RoleCA}, nil)
	gen(&f.simple, certs.Request{CN: "simple", Role: certs.RoleSimple}, &f.adminCA)
	gen(&f.codeSigning, certs.Request{CN: "code-signing", Role: certs.RoleCodeSigning, KeyType: "rsa", Bits: 2048}, &f.adminCA)
	gen(&f.subCA, certs.Request{CN: "Sub CA", Role: certs.RoleCA}, &f.adminCA)
	gen(&f.viaSub, certs.Request{CN: "via-sub", Role: certs.RoleSimple}, &f.subCA)
	gen(&f.shortLived, certs.Request{CN: "short", Role: certs.RoleCodeSigning, Validity: time.Hour}, &f.adminCA)
	gen(&f.repo, certs.Request{CN: "repository", Role: certs.RoleRepository}, &f.adminCA)
	gen(&f.otherCA, certs.Request{CN: "Other CA", Role: certs.RoleCA}, nil)
	gen(&f.otherAdmin, certs.Request{CN: "other", Role: certs.RoleCodeSigning}, &f.otherCA)
	gen(&f.hostCA, certs.Request{CN: "Host CA", Role: certs.RoleCA}, nil)
	issue(&f.tls, &x509.Certificate{Subject: pkix.Name{CommonName: "wapt.example.org"},
		DNSNames: []string{"wapt.example.org"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, f.adminCA)
	issue(&f.noEKU, &x509.Certificate{Subject: pkix.Name{CommonName: "no-eku"}}, f.adminCA)
	issue(&f.host, &x509.Certificate{Subject: pkix.Name{CommonName: hostB},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, f.hostCA)
	return f, err
}

// verifier returns a verifier for hostA trusting the admin CA, at tNow,
// with an empty in-memory nonce cache.
func (f fixture) verifier() *Verifier {
	nonces := reqsign.NewMemoryNonces(1000)
	v := &Verifier{
		Trust:  signing.NewTrust(f.adminCA.cert),
		Host:   hostA,
		Nonces: nonces,
		Now:    func() time.Time { return tNow },
	}
	nonces.Now = func() time.Time { return v.Now() } // the verifier's clock, even once changed
	return v
}

// newAction returns a valid action issued at tNow for hostA and hostB.
func newAction(tb testing.TB, kind string, args Args) Action {
	tb.Helper()
	a, err := New(kind, []string{hostA, hostB}, args, tNow, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func sign(tb testing.TB, a Action, k keyCert, chain []*x509.Certificate) Signed {
	tb.Helper()
	s, err := Sign(a, k.key, chain)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// rawSign signs a without validating it, as a forger or a buggy console would.
func rawSign(tb testing.TB, a Action, k keyCert, chain []*x509.Certificate) Signed {
	tb.Helper()
	data, err := CanonicalBytes(a)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := signing.Sign(k.key, data)
	if err != nil {
		tb.Fatal(err)
	}
	return Signed{Action: a, Signer: string(certs.EncodeCertsPEM(chain...)), Signature: b64(sig)}
}

// countingNonces records the calls to Seen.
type countingNonces struct {
	NonceStore
	mu    sync.Mutex
	calls int
}

func (c *countingNonces) Seen(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.NonceStore.Seen(ctx, nonce, expires)
}

// neverSeen is a NonceStore that accepts every nonce (benchmarks).
type neverSeen struct{}

func (neverSeen) Seen(context.Context, string, time.Time) (bool, error) { return false, nil }
