//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// Signer is a crypto.Signer whose private key is an object of a PKCS#11
// token. It holds one session on the token, used under a mutex (a PKCS#11
// session is not safe for concurrent use), so it is safe for concurrent use.
// Close it when done.
type Signer struct {
	mod   *module
	slot  uint
	token string
	pub   crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey; set by Open
	pss   bool             // the token offers CKM_RSA_PKCS_PSS (or did not say)

	mu       sync.Mutex // guards the fields below and every use of session
	session  p11.SessionHandle
	key      keyObject
	loggedIn bool
	pin      []byte // kept only for a CKA_ALWAYS_AUTHENTICATE key
	closed   bool
}

// keyObject is a private key object found on the token.
type keyObject struct {
	handle     p11.ObjectHandle
	label      string
	id         []byte
	keyType    uint // CKK_RSA or CKK_EC
	alwaysAuth bool
	pub        crypto.PublicKey // nil when the token does not tell
}

// Open logs in to the token cfg selects and finds the private key (see
// Config). The errors wrap ErrTokenNotFound, ErrPINRequired,
// ErrPINIncorrect, ErrPINLocked or ErrKeyNotFound when they apply.
func Open(cfg Config) (*Signer, error) {
	mod, err := acquire(cfg.Module)
	if err != nil {
		return nil, err
	}
	tok, err := mod.findToken(cfg.TokenLabel)
	if err == nil && tok.PINLocked {
		err = fmt.Errorf("token %q: %w", tok.Label, ErrPINLocked)
	}
	if err == nil && len(cfg.PIN) == 0 && tok.LoginRequired && !tok.PINPad {
		err = fmt.Errorf("token %q: %w", tok.Label, ErrPINRequired)
	}
	var session p11.SessionHandle
	if err == nil {
		session, err = mod.ctx.OpenSession(tok.SlotID, p11.CKF_SERIAL_SESSION)
		if err != nil {
			err = fmt.Errorf("token %q: open session: %w", tok.Label, mapError(err))
		}
	}
	if err != nil {
		return nil, errors.Join(err, mod.release())
	}
	s := &Signer{mod: mod, slot: tok.SlotID, token: tok.Label, session: session, pss: true}
	if err := s.open(cfg, tok); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// open logs in and finds the key; on error the caller closes s.
func (s *Signer) open(cfg Config, tok TokenInfo) error {
	if len(cfg.PIN) > 0 || tok.LoginRequired {
		if err := s.mod.login(s.slot, s.session, cfg.PIN, s.token); err != nil {
			return err
		}
		s.loggedIn = true
	}
	if mechs, err := s.mod.ctx.GetMechanismList(s.slot); err == nil {
		s.pss = false
		for _, m := range mechs {
			if m.Mechanism == p11.CKM_RSA_PKCS_PSS {
				s.pss = true
			}
		}
	}
	// The PIN stays only if the key needs it for every signature (the
	// test signature of findKey may need it too).
	s.pin = bytes.Clone(cfg.PIN)
	key, pub, err := s.findKey(cfg)
	if err != nil {
		return err
	}
	s.key, s.pub = key, pub
	if !key.alwaysAuth {
		clear(s.pin)
		s.pin = nil
	}
	return nil
}

// Public returns the public key: the certificate's when Config.Cert was
// given, else the one read from the token.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest, the hash of a message by opts.HashFunc(), with the
// token's key: PKCS#1 v1.5 for RSA (SHA-256, SHA-384 or SHA-512), PSS when
// opts is *rsa.PSSOptions (errors.ErrUnsupported when the token lacks
// CKM_RSA_PKCS_PSS), and for ECDSA an ASN.1 signature. rand is not used:
// the token has its own.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("pkcs11: sign: no signer options (hash)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	sig, err := s.sign(s.key, s.pub, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign with key %q of token %q: %w", s.key.label, s.token, err)
	}
	return sig, nil
}

// pssHash gives the PKCS#11 hash and MGF1 of the PSS hashes supported.
var pssHash = map[crypto.Hash][2]uint{
	crypto.SHA256: {p11.CKM_SHA256, p11.CKG_MGF1_SHA256},
	crypto.SHA384: {p11.CKM_SHA384, p11.CKG_MGF1_SHA384},
	crypto.SHA512: {p11.CKM_SHA512, p11.CKG_MGF1_SHA512},
}

// sign signs with key k, whose public key is pub; s.mu is held.
func (s *Signer) sign(k keyObject, pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if po, ok := opts.(*rsa.PSSOptions); ok {
			alg, ok := pssHash[h]
			if !ok {
				return nil, fmt.Errorf("RSA-PSS with hash %v: %w", h, errors.ErrUnsupported)
			}
			if len(digest) != h.Size() {
				return nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), h, h.Size())
			}
			if !s.pss {
				return nil, fmt.Errorf("token has no CKM_RSA_PKCS_PSS: %w", errors.ErrUnsupported)
			}
			salt, err := pssSaltLength(po, h, pub)
			if err != nil {
				return nil, err
			}
			mech := p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, p11.NewPSSParams(alg[0], alg[1], uint(salt)))
			return s.signRaw(k, mech, digest)
		}
		data, err := pkcs1DigestInfo(h, digest)
		if err != nil {
			return nil, err
		}
		return s.signRaw(k, p11.NewMechanism(p11.CKM_RSA_PKCS, nil), data)
	case *ecdsa.PublicKey:
		if h != 0 && len(digest) != h.Size() {
			return nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), h, h.Size())
		}
		raw, err := s.signRaw(k, p11.NewMechanism(p11.CKM_ECDSA, nil), digest)
		if err != nil {
			return nil, err
		}
		return ecdsaASN1(raw, pub.Curve)
	}
	return nil, fmt.Errorf("key type %T: %w", pub, errors.ErrUnsupported)
}

// signRaw runs C_SignInit and C_Sign, with the context-specific login a
// CKA_ALWAYS_AUTHENTICATE key needs in between; s.mu is held.
func (s *Signer) signRaw(k keyObject, mech *p11.Mechanism, data []byte) ([]byte, error) {
	ctx := s.mod.ctx
	if err := ctx.SignInit(s.session, []*p11.Mechanism{mech}, k.handle); err != nil {
		return nil, mapError(err)
	}
	if k.alwaysAuth {
		if err := ctx.Login(s.session, p11.CKU_CONTEXT_SPECIFIC, string(s.pin)); err != nil {
			// C_Sign without the login fails and ends the operation, so
			// that the session can sign again.
			_, _ = ctx.Sign(s.session, data)
			return nil, s.mod.loginError(s.slot, s.token, err)
		}
	}
	sig, err := ctx.Sign(s.session, data)
	if err != nil {
		return nil, mapError(err)
	}
	return sig, nil
}

// Close logs out (when no other Signer of this process uses the token's
// login), closes the session and releases the module (finalised with its
// last user). Sign then fails with ErrClosed; closing again does nothing.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.loggedIn {
		errs = append(errs, s.mod.logout(s.slot, s.session))
	}
	if err := s.mod.ctx.CloseSession(s.session); err != nil &&
		!isCode(err, p11.CKR_SESSION_HANDLE_INVALID) && !isCode(err, p11.CKR_SESSION_CLOSED) &&
		!isCode(err, p11.CKR_DEVICE_REMOVED) && !isCode(err, p11.CKR_TOKEN_NOT_PRESENT) {
		errs = append(errs, fmt.Errorf("close session: %w", err))
	}
	clear(s.pin)
	s.pin = nil
	errs = append(errs, s.mod.release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pkcs11: close token %q: %w", s.token, err)
	}
	return nil
}

// Tokens lists the initialised tokens present in the slots of module.
func Tokens(module string) ([]TokenInfo, error) {
	m, err := acquire(module)
	if err != nil {
		return nil, err
	}
	toks, err := m.tokens()
	return toks, errors.Join(err, m.release())
}

// findKey selects the private key per cfg and returns it with the public
// key Public will return.
func (s *Signer) findKey(cfg Config) (keyObject, crypto.PublicKey, error) {
	tmpl := []*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)}
	what := "private key"
	if cfg.KeyLabel != "" {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, cfg.KeyLabel))
		what = fmt.Sprintf("private key labelled %q", cfg.KeyLabel)
	}
	handles, err := s.findObjects(tmpl)
	if err != nil {
		return keyObject{}, nil, err
	}
	var keys []keyObject
	for _, h := range handles {
		if k, ok := s.readKey(h); ok {
			keys = append(keys, k)
		}
	}
	notFound := func(format string, args ...any) error {
		return fmt.Errorf("token %q: %w: %s (private keys: %s)", s.token, ErrKeyNotFound,
			fmt.Sprintf(format, args...), listLabels(s.keyLabels()))
	}

	if cfg.Cert != nil {
		certPub := cfg.Cert.PublicKey
		var certType uint
		switch certPub.(type) {
		case *rsa.PublicKey:
			certType = p11.CKK_RSA
		case *ecdsa.PublicKey:
			certType = p11.CKK_EC
		default:
			return keyObject{}, nil, fmt.Errorf("certificate key %T: %w", certPub, errors.ErrUnsupported)
		}
		var unknown []keyObject
		for _, k := range keys {
			if k.keyType != certType {
				continue
			}
			k.pub = s.publicKeyOf(k)
			if k.pub == nil {
				unknown = append(unknown, k)
				continue
			}
			if samePublicKey(k.pub, certPub) {
				// Several matches are copies of one key: any signs alike.
				return k, certPub, nil
			}
		}
		// A key whose public half the token does not hold (an EC key
		// imported without its public key): try it when it is the only
		// candidate, and keep it if it signs for the certificate.
		if len(unknown) == 1 && s.signsFor(unknown[0], certPub) {
			return unknown[0], certPub, nil
		}
		return keyObject{}, nil, notFound("no %s matches the certificate of %q", what, cfg.Cert.Subject.CommonName)
	}

	switch len(keys) {
	case 0:
		return keyObject{}, nil, notFound("no RSA or EC %s", what)
	case 1:
	default:
		return keyObject{}, nil, notFound("several %ss; choose one by label or give its certificate", what)
	}
	k := keys[0]
	k.pub = s.publicKeyOf(k)
	if k.pub == nil {
		return keyObject{}, nil, notFound("the token holds no public key for the %s; give its certificate", what)
	}
	return k, k.pub, nil
}

// signsFor reports whether k signs a test digest that pub verifies.
func (s *Signer) signsFor(k keyObject, pub crypto.PublicKey) bool {
	msg := make([]byte, 32)
	if _, err := rand.Read(msg); err != nil {
		return false
	}
	digest := sha256.Sum256(append([]byte("wapt pkcs11 key check "), msg...))
	sig, err := s.sign(k, pub, digest[:], crypto.SHA256)
	if err != nil {
		return false
	}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, digest[:], sig)
	}
	return false
}

// keyLabels returns the labels of the private keys, for error messages.
func (s *Signer) keyLabels() []string {
	handles, err := s.findObjects([]*p11.Attribute{p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)})
	if err != nil {
		return nil
	}
	labels := make([]string, 0, len(handles))
	for _, h := range handles {
		l, _ := s.attr(h, p11.CKA_LABEL)
		labels = append(labels, string(l))
	}
	return labels
}

// readKey reads what findKey needs of a private key object; ok is false for
// key types other than RSA and EC.
func (s *Signer) readKey(h p11.ObjectHandle) (keyObject, bool) {
	kt, ok := s.ulongAttr(h, p11.CKA_KEY_TYPE)
	if !ok || (kt != p11.CKK_RSA && kt != p11.CKK_EC) {
		return keyObject{}, false
	}
	k := keyObject{handle: h, keyType: kt}
	label, _ := s.attr(h, p11.CKA_LABEL)
	k.label = string(label)
	k.id, _ = s.attr(h, p11.CKA_ID)
	if v, ok := s.attr(h, p11.CKA_ALWAYS_AUTHENTICATE); ok && len(v) == 1 && v[0] != 0 {
		k.alwaysAuth = true
	}
	return k, true
}

// publicKeyOf finds the public key of k: an RSA private key object carries
// its modulus and exponent; otherwise the public key object, then the
// certificate object, with the same CKA_ID (or, without an ID, the same
// label). It returns nil when the token does not tell.
func (s *Signer) publicKeyOf(k keyObject) crypto.PublicKey {
	if k.keyType == p11.CKK_RSA {
		n, ok1 := s.attr(k.handle, p11.CKA_MODULUS)
		e, ok2 := s.attr(k.handle, p11.CKA_PUBLIC_EXPONENT)
		if ok1 && ok2 {
			if pub, err := rsaPublicKey(n, e); err == nil {
				return pub
			}
		}
	}
	var same *p11.Attribute
	switch {
	case len(k.id) > 0:
		same = p11.NewAttribute(p11.CKA_ID, k.id)
	case k.label != "":
		same = p11.NewAttribute(p11.CKA_LABEL, k.label)
	default:
		return nil
	}
	pubs, _ := s.findObjects([]*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, k.keyType),
		same,
	})
	for _, h := range pubs {
		if pub := s.readPublicKey(h, k.keyType); pub != nil {
			return pub
		}
	}
	certs, _ := s.findObjects([]*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_CERTIFICATE),
		p11.NewAttribute(p11.CKA_CERTIFICATE_TYPE, p11.CKC_X_509),
		same,
	})
	for _, h := range certs {
		der, ok := s.attr(h, p11.CKA_VALUE)
		if !ok {
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		switch cert.PublicKey.(type) {
		case *rsa.PublicKey:
			if k.keyType == p11.CKK_RSA {
				return cert.PublicKey
			}
		case *ecdsa.PublicKey:
			if k.keyType == p11.CKK_EC {
				return cert.PublicKey
			}
		}
	}
	return nil
}

// readPublicKey parses a public key object of type kt, nil when it cannot.
func (s *Signer) readPublicKey(h p11.ObjectHandle, kt uint) crypto.PublicKey {
	switch kt {
	case p11.CKK_RSA:
		n, ok1 := s.attr(h, p11.CKA_MODULUS)
		e, ok2 := s.attr(h, p11.CKA_PUBLIC_EXPONENT)
		if ok1 && ok2 {
			if pub, err := rsaPublicKey(n, e); err == nil {
				return pub
			}
		}
	case p11.CKK_EC:
		params, ok1 := s.attr(h, p11.CKA_EC_PARAMS)
		point, ok2 := s.attr(h, p11.CKA_EC_POINT)
		if ok1 && ok2 {
			if pub, err := ecPublicKey(params, point); err == nil {
				return pub
			}
		}
	}
	return nil
}

// findObjects returns the objects matching tmpl, reading handles by chunks
// of findChunk; more than maxObjects matches is an error.
func (s *Signer) findObjects(tmpl []*p11.Attribute) ([]p11.ObjectHandle, error) {
	ctx := s.mod.ctx
	if err := ctx.FindObjectsInit(s.session, tmpl); err != nil {
		return nil, fmt.Errorf("token %q: find objects: %w", s.token, mapError(err))
	}
	defer ctx.FindObjectsFinal(s.session)
	var out []p11.ObjectHandle
	for {
		hs, _, err := ctx.FindObjects(s.session, findChunk)
		if err != nil {
			return nil, fmt.Errorf("token %q: find objects: %w", s.token, mapError(err))
		}
		if len(hs) == 0 {
			return out, nil
		}
		out = append(out, hs...)
		if len(out) > maxObjects {
			return nil, fmt.Errorf("token %q: more than %d objects match a search", s.token, maxObjects)
		}
	}
}

// attr reads one attribute; ok is false when the object lacks it or it is
// sensitive. (One at a time: C_GetAttributeValue fails as a whole when any
// attribute asked for is missing.)
func (s *Signer) attr(h p11.ObjectHandle, typ uint) ([]byte, bool) {
	a, err := s.mod.ctx.GetAttributeValue(s.session, h, []*p11.Attribute{p11.NewAttribute(typ, nil)})
	if err != nil || len(a) != 1 || a[0].Value == nil {
		return nil, false
	}
	return a[0].Value, true
}

// ulongAttr reads a CK_ULONG attribute (native byte order, 4 or 8 bytes).
func (s *Signer) ulongAttr(h p11.ObjectHandle, typ uint) (uint, bool) {
	v, ok := s.attr(h, typ)
	switch {
	case !ok:
		return 0, false
	case len(v) == 8:
		return uint(binary.NativeEndian.Uint64(v)), true
	case len(v) == 4:
		return uint(binary.NativeEndian.Uint32(v)), true
	}
	return 0, false
}
