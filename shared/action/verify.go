package action

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

// nonceGrace is how long after ExpiresAt a nonce is kept, so that a clock
// stepping back a little does not reopen the replay window.
const nonceGrace = time.Minute

// NonceStore remembers the nonces of accepted actions (the semantics of
// reqsign.NonceStore). An agent's store must be persistent, so that a
// restart does not reopen the replay window.
type NonceStore interface {
	// Seen reports whether nonce was already recorded; if not, it records
	// it until expires.
	Seen(ctx context.Context, nonce string, expires time.Time) (bool, error)
}

// Verifier checks signed actions before an agent runs them. Its fields are
// read-only once in use; it is then safe for concurrent use.
type Verifier struct {
	// Trust holds the admin anchors (the agent's public_certs_dir).
	Trust *signing.Trust
	// HostCAs, optional, holds the CAs that issue host certificates (the
	// issuer of the agent's own certificate). A signer chaining to one of
	// them is refused (ErrRole) even if Trust would accept it: host and
	// simple admin certificates look alike (CA:FALSE, EKU clientAuth).
	HostCAs *signing.Trust
	// Host is this host's UUID.
	Host string
	// Nonces is the replay cache.
	Nonces NonceStore
	// Skew is the clock skew accepted before IssuedAt; DefaultSkew when
	// zero or negative.
	Skew time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Verify checks s and returns the signer's certificate. In order: the
// action is valid (ErrInvalid); the signer chain parses, with at most
// MaxChain certificates (ErrInvalid); the signature verifies with the first
// certificate (ErrBadSignature); that certificate chains to v.Trust and
// every certificate of the path is valid now (ErrUntrusted); its role
// allows the action (ErrRole, see below); v.Host is in the hosts, ignoring
// case (ErrNotForHost); now is in [IssuedAt - skew, ExpiresAt]
// (ErrExpired); and, last, the nonce was never seen (ErrReplayed), so that
// a refused action does not burn its nonce. The nonce is recorded until a
// minute after ExpiresAt. A failing nonce store refuses the action with
// its own error, and so does a Verifier without Host or Nonces: those wrap
// no sentinel.
//
// The role rule follows the roles of shared/certs: the signer must be an
// admin certificate, that is a CA (CA:TRUE), a code-signing certificate
// (EKU codeSigning) or a simple one (EKU clientAuth, without serverAuth or
// documentSigning). So TLS server (serverAuth) and repository
// (documentSigning) certificates, and certificates with no admin role at
// all, are refused. A host certificate (CA:FALSE, EKU clientAuth) cannot
// be told from a simple admin one by its extensions: it is refused because
// the host CA is not among the admin anchors, and, when v.HostCAs is set,
// because it chains to a host CA. A reboot needs a code-signing or CA
// signer.
func (v *Verifier) Verify(ctx context.Context, s Signed) (*x509.Certificate, error) {
	switch {
	case v.Host == "":
		return nil, errors.New("action: verifier has no host")
	case v.Nonces == nil:
		return nil, errors.New("action: verifier has no nonce store")
	}
	a := s.Action
	if err := a.Validate(); err != nil {
		return nil, err
	}
	chain, err := parseChain(s.Signer)
	if err != nil {
		return nil, err
	}
	signer := chain[0]
	cn := signer.Subject.CommonName

	if s.Signature == "" {
		return nil, fmt.Errorf("%w: not signed", ErrBadSignature)
	}
	if len(s.Signature) > maxSignatureLen {
		return nil, fmt.Errorf("%w: signature of %d bytes, at most %d", ErrBadSignature, len(s.Signature), maxSignatureLen)
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64: %v", ErrBadSignature, err)
	}
	data, err := CanonicalBytes(a)
	if err != nil {
		return nil, err
	}
	if err := signing.VerifySignature(signer, data, sig); err != nil {
		return nil, fmt.Errorf("%w: by %q: %w", ErrBadSignature, cn, err)
	}

	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if err := v.Trust.VerifyChain(chain, now, false); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	if err := v.checkRole(a.Action, chain, now); err != nil {
		return nil, err
	}

	if !slices.ContainsFunc(a.Hosts, func(h string) bool { return strings.EqualFold(h, v.Host) }) {
		return nil, fmt.Errorf("%w: %s is not among the %d hosts", ErrNotForHost, v.Host, len(a.Hosts))
	}

	skew := v.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	switch {
	case now.Before(a.IssuedAt.Add(-skew)):
		return nil, fmt.Errorf("%w: issued at %s, now %s (skew %v)", ErrExpired,
			a.IssuedAt.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), skew)
	case now.After(a.ExpiresAt):
		return nil, fmt.Errorf("%w: expired at %s, now %s", ErrExpired,
			a.ExpiresAt.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}

	// Remembered past ExpiresAt, the last instant the action is accepted:
	// stores forget a nonce once its expiry is reached.
	seen, err := v.Nonces.Seen(ctx, a.Nonce, a.ExpiresAt.Add(nonceGrace))
	if err != nil {
		return nil, fmt.Errorf("action: nonce store: %w", err)
	}
	if seen {
		return nil, fmt.Errorf("%w: nonce %s already used", ErrReplayed, a.Nonce)
	}
	return signer, nil
}

// parseChain parses the PEM signer chain: 1 to MaxChain certificates.
func parseChain(pemChain string) ([]*x509.Certificate, error) {
	if pemChain == "" {
		return nil, fmt.Errorf("%w: no signer certificate", ErrInvalid)
	}
	if len(pemChain) > MaxSize {
		return nil, fmt.Errorf("%w: signer chain of %d bytes, at most %d", ErrInvalid, len(pemChain), MaxSize)
	}
	data := []byte(pemChain)
	// Count before parsing, so a long chain costs no parsing.
	if n := bytes.Count(data, []byte("-----BEGIN CERTIFICATE-----")); n > MaxChain {
		return nil, fmt.Errorf("%w: signer chain of %d certificates, at most %d", ErrInvalid, n, MaxChain)
	}
	chain, err := certs.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w: signer chain: %v", ErrInvalid, err)
	}
	if len(chain) > MaxChain {
		return nil, fmt.Errorf("%w: signer chain of %d certificates, at most %d", ErrInvalid, len(chain), MaxChain)
	}
	return chain, nil
}

// checkRole applies the role rule of Verify to the signer chain[0].
func (v *Verifier) checkRole(kind string, chain []*x509.Certificate, now time.Time) error {
	c := chain[0]
	cn := c.Subject.CommonName
	isCA := c.BasicConstraintsValid && c.IsCA
	codeSigning := signing.IsCodeSigning(c)
	if !isCA && !codeSigning {
		// Only a simple admin certificate is left: clientAuth, and neither
		// a TLS server nor a repository certificate.
		switch {
		case certs.IsRepositorySigner(c):
			return fmt.Errorf("%w: %q is a repository certificate (documentSigning)", ErrRole, cn)
		case slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth):
			return fmt.Errorf("%w: %q is a TLS server certificate (serverAuth)", ErrRole, cn)
		case !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth):
			return fmt.Errorf("%w: %q is not an admin certificate (neither CA, codeSigning nor clientAuth)", ErrRole, cn)
		}
	}
	if v.HostCAs != nil && v.HostCAs.VerifyChain(chain, now, false) == nil {
		return fmt.Errorf("%w: %q is a host certificate (chains to a host CA)", ErrRole, cn)
	}
	if kind == KindReboot && !isCA && !codeSigning {
		return fmt.Errorf("%w: %q may not order a reboot (needs a code-signing or CA certificate)", ErrRole, cn)
	}
	return nil
}
