// Package signing signs and verifies WAPT data with X.509 certificates: the
// canonical JSON that WAPT signs, raw signatures (RSA PKCS#1 v1.5 or ECDSA,
// SHA-256) over any crypto.Signer, certificate chains against trust
// anchors, control-file signatures and package manifests (DESIGN §2, §4).
package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

var (
	// ErrUnsigned is returned when data carries no signature.
	ErrUnsigned = errors.New("not signed")
	// ErrBadSignature is returned when a signature does not verify.
	ErrBadSignature = errors.New("bad signature")
	// ErrUntrusted is returned when a signer does not chain to a trust anchor.
	ErrUntrusted = errors.New("signer not trusted")
	// ErrExpired is returned when a certificate of the chain is outside its validity period.
	ErrExpired = errors.New("certificate expired or not yet valid")
	// ErrNotCodeSigning is returned when a certificate without the codeSigning
	// EKU signs (or signed) a package with a setup.py.
	ErrNotCodeSigning = errors.New("certificate may not sign packages with setup.py (no codeSigning EKU)")
	// ErrUnsupportedKey is returned for keys other than RSA and ECDSA.
	ErrUnsupportedKey = errors.New("unsupported key type")
)

// Sign signs data with signer: RSA keys give PKCS#1 v1.5 over SHA-256 (what
// WAPT uses), ECDSA keys an ASN.1 signature over SHA-256. Other keys
// (Ed25519 among them) are refused with ErrUnsupportedKey. The signature is
// checked against the public key before it is returned, so a faulty token
// or a signer that does not do PKCS#1 v1.5 is caught here.
func Sign(signer crypto.Signer, data []byte) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("sign: %w: nil signer", ErrUnsupportedKey)
	}
	pub := signer.Public()
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("sign: %w: %T", ErrUnsupportedKey, pub)
	}
	digest := sha256.Sum256(data)
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := verifyDigest(pub, digest[:], sig); err != nil {
		return nil, fmt.Errorf("sign: signer produced a signature that does not verify: %w", err)
	}
	return sig, nil
}

// VerifySignature checks that sig is cert's signature of data (see Sign).
func VerifySignature(cert *x509.Certificate, data, sig []byte) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrBadSignature)
	}
	digest := sha256.Sum256(data)
	return verifyDigest(cert.PublicKey, digest[:], sig)
}

func verifyDigest(pub crypto.PublicKey, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig); err != nil {
			return fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return fmt.Errorf("%w: ECDSA verification failed", ErrBadSignature)
		}
		return nil
	}
	return fmt.Errorf("%w: %w: %T", ErrBadSignature, ErrUnsupportedKey, pub)
}

// Fingerprint returns the lowercase hex SHA-256 of cert's DER encoding, as
// written in signer_fingerprint.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// IsCodeSigning reports whether cert carries the codeSigning extended key
// usage explicitly (anyExtendedKeyUsage or no EKU at all is not enough,
// as in WAPT).
func IsCodeSigning(cert *x509.Certificate) bool {
	return cert != nil && slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageCodeSigning)
}
