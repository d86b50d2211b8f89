// Package certs creates and reads the X.509 certificates and private keys of
// WAPT admins, CAs and hosts: key and certificate generation with the WAPT
// roles (code-signing, simple, CA), PEM encoding of certificate chains, and
// private keys in PKCS#8 (clear or password-encrypted), PKCS#1, SEC1 and the
// legacy OpenSSL "Proc-Type: 4,ENCRYPTED" form still found in WAPT key files.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

var (
	// ErrPasswordRequired is returned when an encrypted key is read without a password.
	ErrPasswordRequired = errors.New("private key is encrypted: password required")
	// ErrBadPassword is returned when an encrypted key does not decrypt with the password.
	ErrBadPassword = errors.New("wrong password for private key")
	// ErrNoKey is returned when PEM data holds no private key, or one that cannot be parsed.
	ErrNoKey = errors.New("no usable private key")
	// ErrNoCertificate is returned when data holds no certificate, or a malformed one.
	ErrNoCertificate = errors.New("no usable certificate")
	// ErrIssuerNotCA is returned by Generate when the issuer may not issue certificates.
	ErrIssuerNotCA = errors.New("issuer is not a CA")
	// ErrBadRequest is returned by Generate for an invalid Request.
	ErrBadRequest = errors.New("invalid certificate request")
)

// Role is what a certificate may be used for in WAPT (DESIGN §4).
// The zero value is RoleSimple, the least privileged.
type Role int

const (
	// RoleSimple may sign configuration-only packages and actions:
	// CA:FALSE, EKU clientAuth.
	RoleSimple Role = iota
	// RoleCodeSigning may sign any package, including ones with a setup.py:
	// CA:FALSE, EKU codeSigning + clientAuth.
	RoleCodeSigning
	// RoleCA may issue further certificates: CA:TRUE, no EKU.
	RoleCA
	// RoleRepository signs a repository index (Packages.sig) and nothing
	// else: CA:FALSE, EKU documentSigning only, so that no admin, host or TLS
	// certificate can sign an index, and this one can sign nothing else.
	RoleRepository
)

// OIDDocumentSigning is id-kp-documentSigning (RFC 9336): the only extended
// key usage of repository certificates.
var OIDDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// IsRepositorySigner reports whether cert carries the documentSigning EKU.
func IsRepositorySigner(cert *x509.Certificate) bool {
	for _, o := range cert.UnknownExtKeyUsage {
		if o.Equal(OIDDocumentSigning) {
			return true
		}
	}
	return false
}

// String returns "code-signing", "simple" or "ca".
func (r Role) String() string {
	switch r {
	case RoleCodeSigning:
		return "code-signing"
	case RoleSimple:
		return "simple"
	case RoleCA:
		return "ca"
	case RoleRepository:
		return "repository"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Defaults used by Generate.
const (
	DefaultRSABits    = 3072
	MinRSABits        = 2048
	DefaultValidity   = 3 * 365 * 24 * time.Hour
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	// Backdate is subtracted from Request.Now for NotBefore, so that a
	// certificate is usable at once on machines whose clock lags a little.
	Backdate = 5 * time.Minute
)

// Request describes a key pair and certificate to generate.
type Request struct {
	CN           string
	Role         Role
	KeyType      string        // "rsa" (default) or "ecdsa"
	Bits         int           // RSA: default 3072, at least 2048; ECDSA: 256 (default), 384 or 521
	Validity     time.Duration // default 3 years, 10 years for RoleCA; clipped to the issuer's NotAfter
	Email        string        // subject emailAddress and SAN rfc822Name
	Organization string
	// Issuer and IssuerKey sign the new certificate; both nil → self-signed.
	Issuer    *x509.Certificate
	IssuerKey crypto.Signer
	Now       time.Time // zero → time.Now()
	Rand      io.Reader // nil → crypto/rand
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// Generate creates a key pair and a certificate for it per r.
func Generate(r Request) (crypto.Signer, *x509.Certificate, error) {
	if strings.TrimSpace(r.CN) == "" {
		return nil, nil, fmt.Errorf("%w: empty CN", ErrBadRequest)
	}
	if r.Role < RoleSimple || r.Role > RoleRepository {
		return nil, nil, fmt.Errorf("%w: unknown role %v", ErrBadRequest, r.Role)
	}
	if r.Validity < 0 {
		return nil, nil, fmt.Errorf("%w: negative validity", ErrBadRequest)
	}
	if (r.Issuer == nil) != (r.IssuerKey == nil) {
		return nil, nil, fmt.Errorf("%w: Issuer and IssuerKey must be given together", ErrBadRequest)
	}
	if r.Issuer != nil {
		if !r.Issuer.BasicConstraintsValid || !r.Issuer.IsCA {
			return nil, nil, fmt.Errorf("%w: %q", ErrIssuerNotCA, r.Issuer.Subject.CommonName)
		}
		if r.Issuer.KeyUsage != 0 && r.Issuer.KeyUsage&x509.KeyUsageCertSign == 0 {
			return nil, nil, fmt.Errorf("%w: %q lacks keyCertSign", ErrIssuerNotCA, r.Issuer.Subject.CommonName)
		}
		if !KeyMatchesCert(r.IssuerKey, r.Issuer) {
			return nil, nil, fmt.Errorf("%w: IssuerKey does not match the issuer certificate %q", ErrBadRequest, r.Issuer.Subject.CommonName)
		}
	}
	rnd := r.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}

	key, err := generateKey(r.KeyType, r.Bits, rnd)
	if err != nil {
		return nil, nil, err
	}

	serial, err := randomSerial(rnd)
	if err != nil {
		return nil, nil, err
	}
	skid, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, err
	}

	validity := r.Validity
	if validity == 0 {
		validity = DefaultValidity
		if r.Role == RoleCA {
			validity = DefaultCAValidity
		}
	}
	notBefore := now.Add(-Backdate).UTC().Truncate(time.Second)
	notAfter := now.Add(validity).UTC().Truncate(time.Second)
	if r.Issuer != nil && notAfter.After(r.Issuer.NotAfter) {
		notAfter = r.Issuer.NotAfter
	}

	subject := pkix.Name{CommonName: r.CN}
	if r.Organization != "" {
		subject.Organization = []string{r.Organization}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		SubjectKeyId:          skid,
	}
	if r.Email != "" {
		tmpl.EmailAddresses = []string{r.Email}
		tmpl.Subject.ExtraNames = append(tmpl.Subject.ExtraNames, pkix.AttributeTypeAndValue{
			Type:  oidEmailAddress,
			Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(r.Email)},
		})
	}
	switch r.Role {
	case RoleCA:
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	case RoleCodeSigning:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth}
	case RoleSimple:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case RoleRepository:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDDocumentSigning}
	}

	parent, parentKey := tmpl, crypto.Signer(key)
	if r.Issuer != nil {
		parent, parentKey = r.Issuer, r.IssuerKey
		tmpl.AuthorityKeyId = r.Issuer.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rnd, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate %q: %w", r.CN, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse new certificate %q: %w", r.CN, err)
	}
	return key, cert, nil
}

func generateKey(keyType string, bits int, rnd io.Reader) (crypto.Signer, error) {
	switch strings.ToLower(keyType) {
	case "", "rsa":
		if bits == 0 {
			bits = DefaultRSABits
		}
		if bits < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits, at least %d required", ErrBadRequest, bits, MinRSABits)
		}
		k, err := rsa.GenerateKey(rnd, bits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return k, nil
	case "ecdsa", "ec":
		var curve elliptic.Curve
		switch bits {
		case 0, 256:
			curve = elliptic.P256()
		case 384:
			curve = elliptic.P384()
		case 521:
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("%w: no ECDSA curve of %d bits", ErrBadRequest, bits)
		}
		k, err := ecdsa.GenerateKey(curve, rnd)
		if err != nil {
			return nil, fmt.Errorf("generate ECDSA key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown key type %q", ErrBadRequest, keyType)
}

// randomSerial returns a positive 127-bit serial number.
func randomSerial(rnd io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never zero, always 16 bytes long
	return new(big.Int).SetBytes(b), nil
}

// subjectKeyID is RFC 7093 method 1: the leftmost 160 bits of the SHA-256
// of the subjectPublicKey BIT STRING.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// KeyMatchesCert reports whether key is the private key of cert.
func KeyMatchesCert(key crypto.Signer, cert *x509.Certificate) bool {
	if key == nil || cert == nil {
		return false
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
