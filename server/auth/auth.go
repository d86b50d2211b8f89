// Package auth authenticates the callers of the server API: admins by a TLS
// client certificate chained to the admin CAs or by a signed request
// (shared/reqsign), hosts by their host certificate (signed request or
// mTLS), and checks admin rights (ACL).
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// Errors: ErrUnauthenticated → 401, ErrForbidden → 403.
var (
	ErrUnauthenticated = errors.New("authentication required")
	ErrForbidden       = errors.New("forbidden")
	// ErrNotFound is what lookups return for an unknown certificate.
	ErrNotFound = errors.New("unknown certificate")
	// ErrLastAdmin refuses to remove the admin right from the last admin
	// holding it (the server would have no admin left).
	ErrLastAdmin = errors.New("the last admin holding the admin right cannot lose it")
)

// Admin is an authenticated administrator.
type Admin struct {
	Name        string
	Fingerprint string
	Rights      []string
	Cert        *x509.Certificate
}

// Can reports whether the admin holds right; the admin right holds them all.
func (a Admin) Can(right string) bool {
	return slices.Contains(a.Rights, wire.RightAdmin) || slices.Contains(a.Rights, right)
}

// Admins finds registered admin certificates.
type Admins interface {
	// AdminByFingerprint returns the admin whose certificate has this
	// fingerprint, or an error wrapping ErrNotFound.
	AdminByFingerprint(ctx context.Context, fingerprint string) (Admin, error)
}

// Hosts finds the current certificate of registered hosts.
type Hosts interface {
	// HostByCertFingerprint returns the host's uuid and certificate, or an
	// error wrapping ErrNotFound (unknown or revoked).
	HostByCertFingerprint(ctx context.Context, fingerprint string) (string, *x509.Certificate, error)
}

// Authenticator checks requests.
type Authenticator struct {
	Admins     Admins
	Hosts      Hosts
	AdminTrust *signing.Trust // admin CAs: TLS client certificates and signers must chain to them
	HostCAs    *x509.CertPool // host CA: host TLS client certificates must chain to it
	Nonces     reqsign.NonceStore
	Now        func() time.Time
}

func (a *Authenticator) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// Admin authenticates an admin: first by a verified TLS client certificate,
// else by a signed request over body (already read and bounded by the
// caller). The certificate must chain to AdminTrust and be registered.
func (a *Authenticator) Admin(ctx context.Context, r *http.Request, body []byte) (Admin, error) {
	return a.AdminDigest(ctx, r, sha256.Sum256(body))
}

// AdminDigest is Admin for a body known by its SHA-256 (an upload hashed
// while it streamed to a temporary file).
func (a *Authenticator) AdminDigest(ctx context.Context, r *http.Request, sum [sha256.Size]byte) (Admin, error) {
	if a.Admins == nil || a.AdminTrust == nil {
		return Admin{}, fmt.Errorf("%w: no admin registered", ErrUnauthenticated)
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		chain := r.TLS.PeerCertificates
		if err := a.AdminTrust.VerifyChain(chain, a.now(), false); err == nil {
			return a.admin(ctx, chain[0])
		}
		// A host certificate, or one of another CA: try a signed request.
	}
	v := reqsign.Verifier{
		Lookup: func(ctx context.Context, fp string) (*x509.Certificate, error) {
			ad, err := a.Admins.AdminByFingerprint(ctx, fp)
			if errors.Is(err, ErrNotFound) {
				return nil, reqsign.ErrUnknownSigner
			}
			if err != nil {
				return nil, err
			}
			return ad.Cert, nil
		},
		Nonces: a.Nonces,
		Now:    a.now,
	}
	cert, err := v.VerifyDigest(ctx, r, sum)
	if err != nil {
		return Admin{}, classify(err)
	}
	if err := a.AdminTrust.VerifyChain([]*x509.Certificate{cert}, a.now(), false); err != nil {
		return Admin{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	return a.admin(ctx, cert)
}

func (a *Authenticator) admin(ctx context.Context, cert *x509.Certificate) (Admin, error) {
	ad, err := a.Admins.AdminByFingerprint(ctx, signing.Fingerprint(cert))
	if errors.Is(err, ErrNotFound) {
		return Admin{}, fmt.Errorf("%w: certificate %q is not registered as an admin", ErrUnauthenticated, cert.Subject.CommonName)
	}
	if err != nil {
		return Admin{}, err
	}
	ad.Cert = cert
	return ad, nil
}

// Host authenticates a host: a verified TLS client certificate issued by
// the host CA, or a signed request; either way the certificate must be the
// host's current one. It returns the host uuid and certificate.
func (a *Authenticator) Host(ctx context.Context, r *http.Request, body []byte) (string, *x509.Certificate, error) {
	if a.Hosts == nil {
		return "", nil, ErrUnauthenticated
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && a.HostCAs != nil {
		leaf := r.TLS.PeerCertificates[0]
		_, verr := leaf.Verify(x509.VerifyOptions{Roots: a.HostCAs, CurrentTime: a.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		if verr == nil {
			uuid, cert, err := a.Hosts.HostByCertFingerprint(ctx, signing.Fingerprint(leaf))
			if err == nil {
				return uuid, cert, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return "", nil, err
			}
		}
	}
	var uuid string
	v := reqsign.Verifier{
		Lookup: func(ctx context.Context, fp string) (*x509.Certificate, error) {
			u, cert, err := a.Hosts.HostByCertFingerprint(ctx, fp)
			if errors.Is(err, ErrNotFound) {
				return nil, reqsign.ErrUnknownSigner
			}
			if err != nil {
				return nil, err
			}
			uuid = u
			return cert, nil
		},
		Nonces: a.Nonces,
		Now:    a.now,
	}
	cert, err := v.Verify(ctx, r, body)
	if err != nil {
		return "", nil, classify(err)
	}
	return uuid, cert, nil
}

// classify maps signature failures to ErrUnauthenticated, keeping the
// reason; other errors (the store failing) pass through.
func classify(err error) error {
	for _, s := range []error{reqsign.ErrUnsigned, reqsign.ErrUnknownSigner, reqsign.ErrStale, reqsign.ErrReplay, reqsign.ErrBadSignature, reqsign.ErrExpired} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w: %v", ErrUnauthenticated, err)
		}
	}
	return err
}

// Require returns ErrForbidden unless the admin holds right.
func Require(a Admin, right string) error {
	if !a.Can(right) {
		return fmt.Errorf("%w: %s lacks the %q right", ErrForbidden, a.Name, right)
	}
	return nil
}
