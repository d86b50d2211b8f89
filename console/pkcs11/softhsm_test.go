//go:build cgo

package pkcs11

import (
	"crypto"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
)

// The tests run against a real SoftHSM2 token store created in a temporary
// directory (BUILD-NOTES "SoftHSM2 in tests"). They skip when SoftHSM2 is
// not installed; CI installs it (packaging/install-deps.sh all).

const (
	soPIN   = "1234"
	userPIN = "5678"
)

// softhsmModules are where distributions put the SoftHSM2 module;
// SOFTHSM2_MODULE overrides them.
var softhsmModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// hsm is a SoftHSM2 token store private to one test.
type hsm struct {
	module string
	util   string
	dir    string
}

// newHSM creates an empty token store and points SOFTHSM2_CONF at it for
// the test (so the test may not be parallel). At the end of the test no
// module may be left loaded: every Signer must have been closed.
func newHSM(tb testing.TB) *hsm {
	tb.Helper()
	module := os.Getenv("SOFTHSM2_MODULE")
	if module == "" {
		for _, m := range softhsmModules {
			if _, err := os.Stat(m); err == nil {
				module = m
				break
			}
		}
	}
	if module == "" {
		tb.Skip("SoftHSM2 module not installed (apt-get install softhsm2, or set SOFTHSM2_MODULE)")
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		tb.Skip("softhsm2-util not installed (apt-get install softhsm2)")
	}
	tb.Cleanup(func() {
		registry.Lock()
		defer registry.Unlock()
		if n := len(registry.mods); n != 0 {
			tb.Errorf("%d PKCS#11 module(s) still loaded after the test: a Signer was not closed", n)
		}
	})
	dir := tb.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		tb.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Setenv("SOFTHSM2_CONF", conf)
	return &hsm{module: module, util: util, dir: dir}
}

// run runs softhsm2-util.
func (h *hsm) run(tb testing.TB, args ...string) {
	tb.Helper()
	out, err := exec.Command(h.util, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("softhsm2-util %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// initToken initialises a token in the first free slot.
func (h *hsm) initToken(tb testing.TB, label string) {
	tb.Helper()
	h.run(tb, "--init-token", "--free", "--label", label, "--so-pin", soPIN, "--pin", userPIN)
}

// importKey imports key (generated in Go) into token as a key pair labelled
// label with CKA_ID id (hex); noPublic leaves the public key object out.
func (h *hsm) importKey(tb testing.TB, token, label, id string, key crypto.Signer, noPublic bool) {
	tb.Helper()
	pemData, err := certs.EncodePrivateKeyPEM(key, nil)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.CreateTemp(h.dir, "key-*.pem")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(pemData); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	args := []string{"--import", f.Name(), "--token", token, "--label", label, "--id", id, "--pin", userPIN}
	if noPublic {
		args = append(args, "--no-public-key")
	}
	h.run(tb, args...)
}

// config returns a Config for token and key with the right PIN.
func (h *hsm) config(token, key string, cert *x509.Certificate) Config {
	return Config{Module: h.module, TokenLabel: token, KeyLabel: key, Cert: cert, PIN: []byte(userPIN)}
}

// open opens a Signer that the test closes at its end.
func (h *hsm) open(tb testing.TB, cfg Config) *Signer {
	tb.Helper()
	s, err := Open(cfg)
	if err != nil {
		tb.Fatalf("Open(token %q, key %q): %v", cfg.TokenLabel, cfg.KeyLabel, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// testNow is the time certificates are issued and checked at.
var testNow = time.Now().Truncate(time.Second)

// pki holds keys generated once for all tests (RSA-3072 is slow): a CA, an
// RSA-3072 code-signing admin and an ECDSA P-256 code-signing admin.
type pki struct {
	caKey       crypto.Signer
	ca          *x509.Certificate
	rsaKey      crypto.Signer
	rsaCert     *x509.Certificate
	ecKey       crypto.Signer
	ecCert      *x509.Certificate
	otherECKey  crypto.Signer // on no token
	otherECCert *x509.Certificate
	err         error
}

var (
	pkiOnce sync.Once
	testPKI pki
)

func keys(tb testing.TB) pki {
	tb.Helper()
	pkiOnce.Do(func() {
		gen := func(cn string, role certs.Role, keyType string, bits int) (crypto.Signer, *x509.Certificate) {
			if testPKI.err != nil {
				return nil, nil
			}
			k, c, err := certs.Generate(certs.Request{CN: cn, Role: role, KeyType: keyType, Bits: bits,
				Issuer: testPKI.ca, IssuerKey: testPKI.caKey, Now: testNow})
			testPKI.err = err
			return k, c
		}
		testPKI.caKey, testPKI.ca = gen("Test CA", certs.RoleCA, "ecdsa", 256)
		testPKI.rsaKey, testPKI.rsaCert = gen("RSA Admin", certs.RoleCodeSigning, "rsa", 3072)
		testPKI.ecKey, testPKI.ecCert = gen("EC Admin", certs.RoleCodeSigning, "ecdsa", 256)
		testPKI.otherECKey, testPKI.otherECCert = gen("Other Admin", certs.RoleSimple, "ecdsa", 256)
	})
	if testPKI.err != nil {
		tb.Fatalf("generate test keys: %v", testPKI.err)
	}
	return testPKI
}

// standardToken creates token T holding the RSA key ("admin", ID 01) and
// the EC key ("ec", ID 02).
func standardToken(tb testing.TB) (*hsm, pki) {
	tb.Helper()
	h := newHSM(tb)
	k := keys(tb)
	h.initToken(tb, "T")
	h.importKey(tb, "T", "admin", "01", k.rsaKey, false)
	h.importKey(tb, "T", "ec", "02", k.ecKey, false)
	return h, k
}
