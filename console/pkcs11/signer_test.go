//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
)

var (
	_ crypto.Signer = (*Signer)(nil)
	_               = OpenForConsole
)

// checkSigns signs a SHA-256 digest through s and verifies it with want.
func checkSigns(tb testing.TB, s crypto.Signer, want crypto.PublicKey) {
	tb.Helper()
	if !samePublicKey(s.Public(), want) {
		tb.Fatalf("Public() = %T, not the expected key", s.Public())
	}
	digest := sha256.Sum256([]byte("wapt"))
	sig, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		tb.Fatalf("Sign: %v", err)
	}
	switch pub := want.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			tb.Fatalf("rsa.VerifyPKCS1v15: %v", err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			tb.Fatal("ecdsa.VerifyASN1 failed")
		}
	default:
		tb.Fatalf("unexpected key %T", want)
	}
}

func TestTokens(t *testing.T) {
	h := newHSM(t)
	h.initToken(t, "T")
	h.initToken(t, "Second token")
	toks, err := Tokens(h.module)
	if err != nil {
		t.Fatal(err)
	}
	byLabel := map[string]TokenInfo{}
	for _, tok := range toks {
		byLabel[tok.Label] = tok
	}
	for _, label := range []string{"T", "Second token"} {
		tok, ok := byLabel[label]
		if !ok {
			t.Fatalf("Tokens() = %+v, no token %q", toks, label)
		}
		if !tok.LoginRequired || tok.PINLocked || tok.PINPad {
			t.Errorf("token %q flags: %+v", label, tok)
		}
		if tok.Manufacturer == "" || tok.Model == "" || tok.Serial == "" {
			t.Errorf("token %q lacks manufacturer, model or serial: %+v", label, tok)
		}
	}
	if byLabel["T"].SlotID == byLabel["Second token"].SlotID {
		t.Errorf("both tokens in slot %d", byLabel["T"].SlotID)
	}
}

func TestOpen(t *testing.T) {
	h, k := standardToken(t)
	tests := []struct {
		name  string
		token string
		key   string
		cert  *x509.Certificate
		want  crypto.PublicKey
	}{
		{"rsa by labels", "T", "admin", nil, k.rsaKey.Public()},
		{"ec by labels", "T", "ec", nil, k.ecKey.Public()},
		{"ec by certificate", "T", "", k.ecCert, k.ecKey.Public()},
		{"rsa by certificate", "T", "", k.rsaCert, k.rsaKey.Public()},
		{"label and matching certificate", "T", "ec", k.ecCert, k.ecKey.Public()},
		{"only token", "", "admin", nil, k.rsaKey.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.open(t, h.config(tt.token, tt.key, tt.cert))
			checkSigns(t, s, tt.want)
		})
	}
}

func TestOpenOnlyKey(t *testing.T) {
	h := newHSM(t)
	k := keys(t)
	h.initToken(t, "T")
	h.importKey(t, "T", "", "05", k.ecKey, false)
	s := h.open(t, h.config("", "", nil))
	checkSigns(t, s, k.ecKey.Public())
}

func TestOpenErrors(t *testing.T) {
	h, k := standardToken(t)
	tests := []struct {
		name     string
		cfg      Config
		want     error
		contains []string
	}{
		{"wrong PIN", Config{Module: h.module, TokenLabel: "T", KeyLabel: "admin", PIN: []byte("0000")}, ErrPINIncorrect, []string{`"T"`}},
		{"no PIN", Config{Module: h.module, TokenLabel: "T", KeyLabel: "admin"}, ErrPINRequired, nil},
		{"unknown token", h.config("Nope", "admin", nil), ErrTokenNotFound, []string{`"Nope"`, `"T"`}},
		{"unknown key", h.config("T", "nope", nil), ErrKeyNotFound, []string{`"nope"`, `"admin"`, `"ec"`}},
		{"several keys", h.config("T", "", nil), ErrKeyNotFound, []string{"several", `"admin"`, `"ec"`}},
		{"certificate of another key", h.config("T", "", k.otherECCert), ErrKeyNotFound, []string{"Other Admin"}},
		{"label and certificate disagree", h.config("T", "admin", k.ecCert), ErrKeyNotFound, []string{`"admin"`}},
		{"missing module", Config{Module: filepath.Join(t.TempDir(), "nope.so"), PIN: []byte(userPIN)}, os.ErrNotExist, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
			for _, c := range tt.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not mention %s", err, c)
				}
			}
		})
	}
	// One wrong PIN does not lock the token: the right one still works.
	toks, err := Tokens(h.module)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].PINLocked {
		t.Fatalf("after a wrong PIN: %+v", toks)
	}
	checkSigns(t, h.open(t, h.config("T", "admin", nil)), k.rsaKey.Public())
}

func TestSeveralTokens(t *testing.T) {
	h, k := standardToken(t)
	h.initToken(t, "U")
	_, err := Open(h.config("", "admin", nil))
	if !errors.Is(err, ErrTokenNotFound) || !strings.Contains(err.Error(), `"T"`) || !strings.Contains(err.Error(), `"U"`) {
		t.Fatalf("Open without token label: %v, want ErrTokenNotFound listing T and U", err)
	}
	checkSigns(t, h.open(t, h.config("T", "admin", nil)), k.rsaKey.Public())
}

// TestKeyWithoutPublicObject: an EC key imported without its public key is
// found through its certificate (checked by a test signature), and refused
// without one since Public could not answer.
func TestKeyWithoutPublicObject(t *testing.T) {
	h := newHSM(t)
	k := keys(t)
	h.initToken(t, "T")
	h.importKey(t, "T", "bare", "07", k.ecKey, true)
	checkSigns(t, h.open(t, h.config("T", "", k.ecCert)), k.ecKey.Public())

	_, err := Open(h.config("T", "bare", nil))
	if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Open without certificate: %v, want ErrKeyNotFound asking for the certificate", err)
	}
	_, err = Open(h.config("T", "", k.otherECCert))
	if !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Open with another certificate: %v, want ErrKeyNotFound", err)
	}
}

func TestSign(t *testing.T) {
	h, k := standardToken(t)
	rsaS := h.open(t, h.config("T", "admin", nil))
	ecS := h.open(t, h.config("T", "ec", nil))
	rsaPub := k.rsaKey.Public().(*rsa.PublicKey)
	ecPub := k.ecKey.Public().(*ecdsa.PublicKey)
	msg := []byte("a message to sign")
	d256 := sha256.Sum256(msg)
	d384 := sha512.Sum384(msg)
	d512 := sha512.Sum512(msg)
	digests := map[crypto.Hash][]byte{crypto.SHA256: d256[:], crypto.SHA384: d384[:], crypto.SHA512: d512[:]}

	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run("rsa pkcs1v15 "+h.String(), func(t *testing.T) {
			sig, err := rsaS.Sign(nil, digests[h], h)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(rsaPub, h, digests[h], sig); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ecdsa "+h.String(), func(t *testing.T) {
			sig, err := ecS.Sign(nil, digests[h], h)
			if err != nil {
				t.Fatal(err)
			}
			if !ecdsa.VerifyASN1(ecPub, digests[h], sig) {
				t.Fatal("ecdsa.VerifyASN1 failed")
			}
		})
	}
	pss := []struct {
		name string
		opts *rsa.PSSOptions
		salt int // checked with this salt length
	}{
		{"auto", &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthAuto}, 32},
		{"equals hash", &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}, 32},
		{"salt 20", &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}, 20},
		{"sha512", &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: rsa.PSSSaltLengthEqualsHash}, 64},
	}
	for _, tt := range pss {
		t.Run("rsa pss "+tt.name, func(t *testing.T) {
			sig, err := rsaS.Sign(nil, digests[tt.opts.Hash], tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPSS(rsaPub, tt.opts.Hash, digests[tt.opts.Hash], sig, &rsa.PSSOptions{SaltLength: tt.salt}); err != nil {
				t.Fatal(err)
			}
		})
	}

	refused := []struct {
		name   string
		s      *Signer
		digest []byte
		opts   crypto.SignerOpts
		want   error
	}{
		{"rsa sha1", rsaS, make([]byte, 20), crypto.SHA1, errors.ErrUnsupported},
		{"rsa no hash", rsaS, d256[:], crypto.Hash(0), errors.ErrUnsupported},
		{"rsa pss sha1", rsaS, make([]byte, 20), &rsa.PSSOptions{Hash: crypto.SHA1}, errors.ErrUnsupported},
		{"rsa short digest", rsaS, d256[:16], crypto.SHA256, nil},
		{"rsa pss salt too long", rsaS, d256[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 400}, nil},
		{"ecdsa short digest", ecS, d256[:16], crypto.SHA256, nil},
		{"nil options", ecS, d256[:], nil, nil},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := tt.s.Sign(nil, tt.digest, tt.opts)
			if err == nil {
				t.Fatal("Sign succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Sign: %v, want %v", err, tt.want)
			}
		})
	}
	// A refused request leaves the session usable.
	checkSigns(t, rsaS, rsaPub)
	checkSigns(t, ecS, ecPub)
}

// TestPSSUnsupported: without CKM_RSA_PKCS_PSS on the token, PSS is a
// clear ErrUnsupported.
func TestPSSUnsupported(t *testing.T) {
	h, _ := standardToken(t)
	s := h.open(t, h.config("T", "admin", nil))
	s.pss = false
	d := sha256.Sum256(nil)
	_, err := s.Sign(nil, d[:], &rsa.PSSOptions{Hash: crypto.SHA256})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "CKM_RSA_PKCS_PSS") {
		t.Fatalf("Sign PSS: %v, want ErrUnsupported naming CKM_RSA_PKCS_PSS", err)
	}
}

// TestPackage builds and signs a package with pkgfile.Build through the
// token only, then verifies it as an agent would.
func TestPackage(t *testing.T) {
	h, k := standardToken(t)
	for _, tt := range []struct {
		name string
		key  string
		cert *x509.Certificate
	}{
		{"rsa", "admin", k.rsaCert},
		{"ecdsa", "ec", k.ecCert},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := h.open(t, h.config("T", tt.key, tt.cert))
			src := t.TempDir()
			files := map[string]string{
				"WAPT/control": "package           : test-pkcs11\nversion           : 1.0-1\narchitecture      : all\n" +
					"section           : base\npriority          : optional\ndescription       : signed on a token\nmaintainer        : tester\n",
				"setup.py":    "def install():\n    print('hello')\n",
				"payload.txt": strings.Repeat("payload ", 1000),
			}
			for name, data := range files {
				p := filepath.Join(src, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			path, _, err := pkgfile.Build(ctx, src, pkgfile.BuildOptions{
				OutDir: t.TempDir(), Signer: s, Chain: []*x509.Certificate{tt.cert, k.ca}, Now: testNow,
			})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			p, err := pkgfile.Open(path, pkgfile.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			signer, err := p.Verify(ctx, signing.NewTrust(k.ca), testNow.Add(time.Minute))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !signer.Equal(tt.cert) {
				t.Fatalf("Verify returned signer %q", signer.Subject.CommonName)
			}
		})
	}
}

// memNonces is an in-memory action.NonceStore.
type memNonces struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (m *memNonces) Seen(_ context.Context, nonce string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[nonce] {
		return true, nil
	}
	m.seen[nonce] = true
	return false, nil
}

func TestAction(t *testing.T) {
	h, k := standardToken(t)
	for _, tt := range []struct {
		name string
		key  string
		cert *x509.Certificate
	}{
		{"rsa", "admin", k.rsaCert},
		{"ecdsa", "ec", k.ecCert},
	} {
		t.Run(tt.name, func(t *testing.T) {
			signer, closer, err := OpenForConsole(h.module, "T", tt.key, []byte(userPIN), tt.cert)
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			now := time.Now()
			a, err := action.New(action.KindInstall, []string{"host-1", "host-2"}, action.Args{Packages: []string{"firefox"}}, now, 0)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := action.Sign(a, signer, []*x509.Certificate{tt.cert, k.ca})
			if err != nil {
				t.Fatalf("action.Sign: %v", err)
			}
			data, err := signed.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := action.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			v := &action.Verifier{Trust: signing.NewTrust(k.ca), Host: "host-2", Nonces: &memNonces{seen: map[string]bool{}},
				Now: func() time.Time { return now }}
			cert, err := v.Verify(context.Background(), parsed)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !cert.Equal(tt.cert) {
				t.Fatalf("Verify returned signer %q", cert.Subject.CommonName)
			}
		})
	}
}

// TestConcurrentSign signs from 8 goroutines on each of two Signers that
// share the module, the token and its login.
func TestConcurrentSign(t *testing.T) {
	h, _ := standardToken(t)
	signers := []*Signer{h.open(t, h.config("T", "admin", nil)), h.open(t, h.config("T", "ec", nil))}
	const goroutines, perGoroutine = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*goroutines*perGoroutine)
	for _, s := range signers {
		for g := range goroutines {
			wg.Go(func() {
				for i := range perGoroutine {
					digest := sha256.Sum256(fmt.Appendf(nil, "%d/%d", g, i))
					sig, err := s.Sign(nil, digest[:], crypto.SHA256)
					if err != nil {
						errs <- err
						continue
					}
					var ok bool
					switch pub := s.Public().(type) {
					case *rsa.PublicKey:
						ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
					case *ecdsa.PublicKey:
						ok = ecdsa.VerifyASN1(pub, digest[:], sig)
					}
					if !ok {
						errs <- fmt.Errorf("signature %d/%d does not verify", g, i)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClose(t *testing.T) {
	h, k := standardToken(t)
	s, err := Open(h.config("T", "admin", nil))
	if err != nil {
		t.Fatal(err)
	}
	checkSigns(t, s, k.rsaKey.Public())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d := sha256.Sum256(nil)
	if _, err := s.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sign after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	registry.Lock()
	n := len(registry.mods)
	registry.Unlock()
	if n != 0 {
		t.Fatalf("module still loaded after the last Close")
	}
}

// TestSharedLogin: Signers on one token share its login; a second Signer
// must still give the right PIN, and closing one leaves the other working.
func TestSharedLogin(t *testing.T) {
	h, k := standardToken(t)
	first, err := Open(h.config("T", "admin", nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	bad := h.config("T", "ec", nil)
	bad.PIN = []byte("0000")
	if _, err := Open(bad); !errors.Is(err, ErrPINIncorrect) {
		t.Fatalf("second Open with a wrong PIN: %v, want ErrPINIncorrect", err)
	}
	second := h.open(t, h.config("T", "ec", nil))
	toks, err := Tokens(h.module)
	if err != nil || len(toks) != 1 {
		t.Fatalf("Tokens while signers are open: %v, %v", toks, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	checkSigns(t, second, k.ecKey.Public())
}

func TestMapError(t *testing.T) {
	tests := []struct {
		code uint
		want error
	}{
		{p11.CKR_PIN_INCORRECT, ErrPINIncorrect},
		{p11.CKR_PIN_LEN_RANGE, ErrPINIncorrect},
		{p11.CKR_PIN_LOCKED, ErrPINLocked},
		{p11.CKR_TOKEN_NOT_PRESENT, ErrTokenNotFound},
		{p11.CKR_DEVICE_REMOVED, ErrTokenNotFound},
		{p11.CKR_MECHANISM_INVALID, errors.ErrUnsupported},
		{p11.CKR_GENERAL_ERROR, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("0x%x", tt.code), func(t *testing.T) {
			err := mapError(p11.Error(tt.code))
			if !isCode(err, tt.code) {
				t.Errorf("%v lost the PKCS#11 code", err)
			}
			for _, s := range []error{ErrPINIncorrect, ErrPINLocked, ErrTokenNotFound, errors.ErrUnsupported} {
				if errors.Is(err, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == tt.want))
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	h, _ := standardToken(b)
	for _, bb := range []struct{ name, key string }{{"RSA-3072", "admin"}, {"ECDSA-P256", "ec"}} {
		b.Run(bb.name, func(b *testing.B) {
			s := h.open(b, h.config("T", bb.key, nil))
			digest := sha256.Sum256([]byte("bench"))
			for b.Loop() {
				if _, err := s.Sign(nil, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
		})
	}
}

// TestAlwaysAuthenticate: a key with CKA_ALWAYS_AUTHENTICATE (a smartcard's
// signature key) needs a context-specific login before each signature; the
// Signer keeps the PIN for it, and only for it.
func TestAlwaysAuthenticate(t *testing.T) {
	h := newHSM(t)
	k := keys(t)
	h.initToken(t, "T")
	h.importKey(t, "T", "plain", "01", k.rsaKey, false)
	createECKey(t, h, "T", "sig", []byte{0x02}, k.ecKey.(*ecdsa.PrivateKey))

	s := h.open(t, h.config("T", "sig", nil))
	if !s.key.alwaysAuth || len(s.pin) == 0 {
		t.Fatalf("key sig: alwaysAuth %v, PIN kept %v", s.key.alwaysAuth, len(s.pin) > 0)
	}
	for range 3 {
		checkSigns(t, s, k.ecKey.Public())
	}
	byCert := h.open(t, h.config("T", "", k.ecCert))
	checkSigns(t, byCert, k.ecKey.Public())

	plain := h.open(t, h.config("T", "plain", nil))
	if plain.key.alwaysAuth || plain.pin != nil {
		t.Fatal("the PIN is kept for a key that does not need it")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.pin != nil {
		t.Fatal("Close kept the PIN")
	}
}

// createECKey creates an EC key pair object with CKA_ALWAYS_AUTHENTICATE on
// the private key, through a read-write session (softhsm2-util cannot set
// it).
func createECKey(tb testing.TB, h *hsm, token, label string, id []byte, key *ecdsa.PrivateKey) {
	tb.Helper()
	m, err := acquire(h.module)
	if err != nil {
		tb.Fatal(err)
	}
	defer m.release()
	tok, err := m.findToken(token)
	if err != nil {
		tb.Fatal(err)
	}
	session, err := m.ctx.OpenSession(tok.SlotID, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		tb.Fatal(err)
	}
	defer m.ctx.CloseSession(session)
	if err := m.ctx.Login(session, p11.CKU_USER, userPIN); err != nil {
		tb.Fatal(err)
	}
	defer m.ctx.Logout(session)
	params, err := asn1.Marshal(oidP256)
	if err != nil {
		tb.Fatal(err)
	}
	scalar, err := key.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	points, err := ecPointEncodings(&key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	common := func(class uint) []*p11.Attribute {
		return []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, class),
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
			p11.NewAttribute(p11.CKA_EC_PARAMS, params),
		}
	}
	priv := append(common(p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_ALWAYS_AUTHENTICATE, true),
		p11.NewAttribute(p11.CKA_VALUE, scalar))
	pub := append(common(p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_VERIFY, true),
		p11.NewAttribute(p11.CKA_EC_POINT, points[0]))
	for _, tmpl := range [][]*p11.Attribute{priv, pub} {
		if _, err := m.ctx.CreateObject(session, tmpl); err != nil {
			tb.Fatalf("create key object: %v", err)
		}
	}
}
