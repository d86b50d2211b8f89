// Package reqsign signs and verifies HTTP requests with an X.509
// certificate and its key (DESIGN §4 "signed requests"): agents sign their
// status posts with the host key, admins without a TLS client certificate
// sign their API calls with their admin key (a file key or a PKCS#11
// crypto.Signer).
//
// A signed request carries four headers: X-Wapt-Signer (hex SHA-256
// fingerprint of the certificate), X-Wapt-Date (RFC 3339, UTC), X-Wapt-Nonce
// (128 random bits, hex) and X-Wapt-Signature (base64 of signing.Sign over
// the canonical string, see Canonical). The Host header is left out, since
// proxies rewrite it; the caller binds the request to its target by
// checking the certificate Verify returns against the route (a status post
// for host A must be signed by host A).
package reqsign

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/signing"
)

// Header names.
const (
	HeaderSigner    = "X-Wapt-Signer"
	HeaderDate      = "X-Wapt-Date"
	HeaderNonce     = "X-Wapt-Nonce"
	HeaderSignature = "X-Wapt-Signature"
)

// DefaultMaxSkew is the clock difference Verify accepts, both ways, when
// Verifier.MaxSkew is not set.
const DefaultMaxSkew = 5 * time.Minute

// Size limits of the headers.
const (
	nonceBytes      = 16
	maxSignatureLen = 4096 // base64; an RSA-8192 signature takes 1368
	maxRequestURI   = 8192
)

var (
	// ErrUnsigned is returned when a signature header is missing or
	// malformed.
	ErrUnsigned = errors.New("request not signed")
	// ErrUnknownSigner is returned when the signer fingerprint names no
	// certificate the caller knows.
	ErrUnknownSigner = errors.New("unknown request signer")
	// ErrStale is returned when X-Wapt-Date is further from now than the
	// allowed skew.
	ErrStale = errors.New("request date out of range")
	// ErrReplay is returned when the nonce was already used.
	ErrReplay = errors.New("replayed request")
	// ErrBadSignature is returned when the signature does not verify.
	ErrBadSignature = errors.New("bad request signature")
	// ErrExpired is returned when the signer's certificate is not valid
	// now; it is signing.ErrExpired.
	ErrExpired = signing.ErrExpired
)

// Canonical returns the string that is signed for a request: the method,
// the request URI (escaped path and raw query, as sent), the signer
// fingerprint, the date, the nonce and the hex SHA-256 of the body, one per
// line.
func Canonical(method, requestURI, signer, date, nonce string, body []byte) []byte {
	return CanonicalDigest(method, requestURI, signer, date, nonce, sha256.Sum256(body))
}

// CanonicalDigest is Canonical for a body known by its SHA-256 (a large
// upload hashed while it streams).
func CanonicalDigest(method, requestURI, signer, date, nonce string, sum [sha256.Size]byte) []byte {
	var b strings.Builder
	for _, s := range []string{"WAPT-REQ-1", method, requestURI, signer, date, nonce} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	b.WriteString(hex.EncodeToString(sum[:]))
	return []byte(b.String())
}

// Sign adds the signature headers to req for body, which must be exactly
// the body that will be sent (Sign does not touch req.Body). now is the
// signing time and rnd the source of the nonce (crypto/rand when nil).
// The signature itself is made by signing.Sign (RSA PKCS#1 v1.5 or ECDSA,
// SHA-256); cert must hold signer's public key.
func Sign(req *http.Request, body []byte, signer crypto.Signer, cert *x509.Certificate, now time.Time, rnd io.Reader) error {
	return SignDigest(req, sha256.Sum256(body), signer, cert, now, rnd)
}

// SignDigest is Sign for a body known by its SHA-256.
func SignDigest(req *http.Request, sum [sha256.Size]byte, signer crypto.Signer, cert *x509.Certificate, now time.Time, rnd io.Reader) error {
	if req == nil || req.URL == nil {
		return errors.New("reqsign: no request URL")
	}
	if signer == nil || cert == nil {
		return errors.New("reqsign: signer and certificate are required")
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return errors.New("reqsign: certificate does not match the signing key")
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	n := make([]byte, nonceBytes)
	if _, err := io.ReadFull(rnd, n); err != nil {
		return fmt.Errorf("reqsign: nonce: %w", err)
	}
	fp := signing.Fingerprint(cert)
	date := now.UTC().Format(time.RFC3339)
	nonce := hex.EncodeToString(n)
	sig, err := signing.Sign(signer, CanonicalDigest(method(req), req.URL.RequestURI(), fp, date, nonce, sum))
	if err != nil {
		return fmt.Errorf("reqsign: %w", err)
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set(HeaderSigner, fp)
	req.Header.Set(HeaderDate, date)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return nil
}

// NonceStore remembers the nonces of accepted requests.
type NonceStore interface {
	// Seen reports whether nonce was already recorded; if not, it records
	// it until expires.
	Seen(ctx context.Context, nonce string, expires time.Time) (bool, error)
}

// Verifier checks signed requests.
type Verifier struct {
	// Lookup returns the certificate with the given fingerprint, which the
	// caller trusts (a registered host or admin certificate). It returns
	// (nil, nil), or an error wrapping ErrUnknownSigner, for an unknown
	// fingerprint; other errors are internal failures, passed on wrapped.
	Lookup func(ctx context.Context, fingerprint string) (*x509.Certificate, error)
	// Nonces records the nonces of verified requests (required); its clock
	// must agree with Now, since a nonce is kept until the request's date
	// plus MaxSkew.
	Nonces NonceStore
	// MaxSkew is the allowed difference between X-Wapt-Date and now, both
	// ways; DefaultMaxSkew when zero or negative.
	MaxSkew time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Verify checks the signature of req, whose body (read and bounded by the
// caller) is body, and returns the signer's certificate. The checks run in
// this order: headers (ErrUnsigned), date within ±MaxSkew (ErrStale),
// signer lookup (ErrUnknownSigner), certificate validity at now
// (ErrExpired), signature (ErrBadSignature), then the nonce (ErrReplay),
// so that only correctly signed requests reach the nonce store.
func (v *Verifier) Verify(ctx context.Context, req *http.Request, body []byte) (*x509.Certificate, error) {
	return v.VerifyDigest(ctx, req, sha256.Sum256(body))
}

// VerifyDigest is Verify for a body known by its SHA-256 (computed by the
// caller while streaming it; nothing of it may be used before this returns).
func (v *Verifier) VerifyDigest(ctx context.Context, req *http.Request, sum [sha256.Size]byte) (*x509.Certificate, error) {
	if v.Lookup == nil || v.Nonces == nil {
		return nil, errors.New("reqsign: verifier without Lookup or Nonces")
	}
	fp := req.Header.Get(HeaderSigner)
	date := req.Header.Get(HeaderDate)
	nonce := req.Header.Get(HeaderNonce)
	sigText := req.Header.Get(HeaderSignature)
	for _, h := range []struct{ name, value string }{
		{HeaderSigner, fp}, {HeaderDate, date}, {HeaderNonce, nonce}, {HeaderSignature, sigText},
	} {
		if h.value == "" {
			return nil, fmt.Errorf("%w: no %s header", ErrUnsigned, h.name)
		}
	}
	if !isHex(fp, sha256.Size*2) {
		return nil, fmt.Errorf("%w: malformed %s header", ErrUnsigned, HeaderSigner)
	}
	if !isHex(nonce, nonceBytes*2) {
		return nil, fmt.Errorf("%w: malformed %s header", ErrUnsigned, HeaderNonce)
	}
	signed, err := time.Parse(time.RFC3339, date)
	if err != nil || len(date) > len("2006-01-02T15:04:05.999999999-07:00") {
		return nil, fmt.Errorf("%w: malformed %s header", ErrUnsigned, HeaderDate)
	}
	if len(sigText) > maxSignatureLen {
		return nil, fmt.Errorf("%w: %s header too long", ErrUnsigned, HeaderSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: malformed %s header", ErrUnsigned, HeaderSignature)
	}
	uri, err := requestURI(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsigned, err)
	}

	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if d := now.Sub(signed); d > skew || d < -skew {
		return nil, fmt.Errorf("%w: signed at %s, now %s (max skew %s)", ErrStale, date, now.UTC().Format(time.RFC3339), skew)
	}

	cert, err := v.Lookup(ctx, fp)
	switch {
	case errors.Is(err, ErrUnknownSigner):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("reqsign: look up signer %s: %w", fp, err)
	case cert == nil:
		return nil, fmt.Errorf("%w: %s", ErrUnknownSigner, fp)
	case signing.Fingerprint(cert) != fp:
		return nil, fmt.Errorf("%w: lookup of %s returned another certificate", ErrUnknownSigner, fp)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: signer %q valid from %s to %s", ErrExpired, cert.Subject.CommonName,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := signing.VerifySignature(cert, CanonicalDigest(method(req), uri, fp, date, nonce, sum), sig); err != nil {
		return nil, fmt.Errorf("%w: signer %q: %w", ErrBadSignature, cert.Subject.CommonName, err)
	}

	seen, err := v.Nonces.Seen(ctx, nonce, signed.Add(skew))
	if err != nil {
		return nil, fmt.Errorf("reqsign: record nonce: %w", err)
	}
	if seen {
		return nil, fmt.Errorf("%w: nonce %s of signer %q", ErrReplay, nonce, cert.Subject.CommonName)
	}
	return cert, nil
}

func method(req *http.Request) string {
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

// requestURI returns the request target as the client sent it: on the
// server req.RequestURI (so that a handler behind http.StripPrefix still
// sees the signed path), otherwise req.URL.RequestURI().
func requestURI(req *http.Request) (string, error) {
	uri := req.RequestURI
	switch {
	case uri == "":
		if req.URL == nil {
			return "", errors.New("no request URL")
		}
		uri = req.URL.RequestURI()
	case !strings.HasPrefix(uri, "/"):
		// Absolute form ("http://host/path"), as sent to proxies.
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			return "", fmt.Errorf("request URI: %w", err)
		}
		uri = u.RequestURI()
	}
	if len(uri) > maxRequestURI {
		return "", errors.New("request URI too long")
	}
	return uri, nil
}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
