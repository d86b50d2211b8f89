package signing

import (
	"crypto"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
)

// fixNow is the time the fixture certificates are issued at; they are valid
// from fixNow-5min (certs.Backdate) for 3 years (CAs 10).
var fixNow = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

type keyCert struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// fixture holds the certificates shared by the tests of this package,
// generated once per test binary: RSA 2048 for the CA and the main
// code-signing admin (WAPT's key type), ECDSA elsewhere for speed.
type fixture struct {
	ca        keyCert // RSA root CA
	admin     keyCert // RSA code-signing, issued by ca
	simple    keyCert // ECDSA simple (clientAuth only), issued by ca
	inter     keyCert // ECDSA intermediate CA, issued by ca
	viaInter  keyCert // ECDSA code-signing, issued by inter
	self      keyCert // ECDSA self-signed code-signing
	otherCA   keyCert // ECDSA root CA nobody trusts
	otherLeaf keyCert // ECDSA code-signing, issued by otherCA
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
		if issuer != nil {
			r.Issuer, r.IssuerKey = issuer.cert, issuer.key
		}
		dst.key, dst.cert, err = certs.Generate(r)
	}
	gen(&f.ca, certs.Request{CN: "Test Admin CA", Role: certs.RoleCA, Bits: 2048}, nil)
	gen(&f.admin, certs.Request{CN: "admin", Role: certs.RoleCodeSigning, Bits: 2048}, &f.ca)
	gen(&f.simple, certs.Request{CN: "simple", Role: certs.RoleSimple, KeyType: "ecdsa"}, &f.ca)
	gen(&f.inter, certs.Request{CN: "Intermediate CA", Role: certs.RoleCA, KeyType: "ecdsa"}, &f.ca)
	gen(&f.viaInter, certs.Request{CN: "via-inter", Role: certs.RoleCodeSigning, KeyType: "ecdsa"}, &f.inter)
	gen(&f.self, certs.Request{CN: "self", Role: certs.RoleCodeSigning, KeyType: "ecdsa"}, nil)
	gen(&f.otherCA, certs.Request{CN: "Other CA", Role: certs.RoleCA, KeyType: "ecdsa"}, nil)
	gen(&f.otherLeaf, certs.Request{CN: "other", Role: certs.RoleCodeSigning, KeyType: "ecdsa"}, &f.otherCA)
	return f, err
}
