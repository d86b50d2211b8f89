package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// This file holds the encodings around the token operations; it needs no
// cgo, so its tests run everywhere.

// digestInfoPrefix is the DER DigestInfo header (RFC 8017 §9.2 note 1) that
// CKM_RSA_PKCS signs in front of the digest.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// pkcs1DigestInfo returns DigestInfo(h) || digest, what CKM_RSA_PKCS signs for
// a PKCS#1 v1.5 signature.
func pkcs1DigestInfo(h crypto.Hash, digest []byte) ([]byte, error) {
	prefix, ok := digestInfoPrefix[h]
	if !ok {
		return nil, fmt.Errorf("RSA PKCS#1 v1.5 with hash %v: %w", h, errors.ErrUnsupported)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	return append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...), nil
}

// pssSaltLength returns the salt length to ask the token for: the hash
// length for rsa.PSSSaltLengthAuto and rsa.PSSSaltLengthEqualsHash (tokens
// commonly support only that, and verifiers using Auto accept any length),
// else the length asked for, which must fit the key.
func pssSaltLength(opts *rsa.PSSOptions, h crypto.Hash, pub *rsa.PublicKey) (int, error) {
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	maxSalt := emLen - h.Size() - 2
	salt := opts.SaltLength
	switch {
	case salt == rsa.PSSSaltLengthAuto || salt == rsa.PSSSaltLengthEqualsHash:
		salt = h.Size()
	case salt < 0:
		return 0, fmt.Errorf("invalid PSS salt length %d", salt)
	}
	if salt > maxSalt {
		return 0, fmt.Errorf("PSS salt length %d too long for a %d-bit key (at most %d)", salt, pub.N.BitLen(), maxSalt)
	}
	return salt, nil
}

// ecdsaASN1 converts a raw CKM_ECDSA signature (r || s, each as long as the
// curve order) into the ASN.1 SEQUENCE{r, s} of crypto/ecdsa.VerifyASN1.
func ecdsaASN1(raw []byte, curve elliptic.Curve) ([]byte, error) {
	n := (curve.Params().N.BitLen() + 7) / 8
	if len(raw) != 2*n {
		return nil, fmt.Errorf("token returned a %d-byte ECDSA signature, want %d", len(raw), 2*n)
	}
	r := new(big.Int).SetBytes(raw[:n])
	s := new(big.Int).SetBytes(raw[n:])
	if r.Sign() == 0 || s.Sign() == 0 {
		return nil, errors.New("token returned an invalid ECDSA signature (zero r or s)")
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// Named curves of CKA_EC_PARAMS.
var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// curveFromParams parses CKA_EC_PARAMS: the DER of a namedCurve OID.
func curveFromParams(params []byte) (elliptic.Curve, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(params, &oid)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("CKA_EC_PARAMS is not a named curve: %w", errors.ErrUnsupported)
	}
	switch {
	case oid.Equal(oidP256):
		return elliptic.P256(), nil
	case oid.Equal(oidP384):
		return elliptic.P384(), nil
	case oid.Equal(oidP521):
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("curve %v: %w", oid, errors.ErrUnsupported)
}

// ecPublicKey builds the public key from CKA_EC_PARAMS and CKA_EC_POINT. The
// point is a DER OCTET STRING wrapping the uncompressed point (PKCS#11
// v2.20+); a bare uncompressed point, as some old modules store it, is
// accepted too. The point must be on the curve.
func ecPublicKey(params, point []byte) (*ecdsa.PublicKey, error) {
	curve, err := curveFromParams(params)
	if err != nil {
		return nil, err
	}
	n := (curve.Params().BitSize + 7) / 8
	raw := point
	if len(point) != 1+2*n {
		var inner []byte
		rest, err := asn1.Unmarshal(point, &inner)
		if err != nil || len(rest) != 0 {
			return nil, errors.New("CKA_EC_POINT is neither an OCTET STRING nor an uncompressed point")
		}
		raw = inner
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, fmt.Errorf("CKA_EC_POINT: %w", err)
	}
	return pub, nil
}

// ecPointEncodings returns the CKA_EC_POINT values a token may store for
// pub: the DER OCTET STRING first, then the bare point.
func ecPointEncodings(pub *ecdsa.PublicKey) ([][]byte, error) {
	raw, err := pub.Bytes()
	if err != nil {
		return nil, err
	}
	der, err := asn1.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return [][]byte{der, raw}, nil
}

// rsaPublicKey builds the public key from CKA_MODULUS and
// CKA_PUBLIC_EXPONENT (big-endian).
func rsaPublicKey(modulus, exponent []byte) (*rsa.PublicKey, error) {
	n := new(big.Int).SetBytes(modulus)
	e := new(big.Int).SetBytes(exponent)
	if n.Sign() == 0 || n.Bit(0) == 0 {
		return nil, errors.New("invalid RSA modulus")
	}
	if e.Sign() <= 0 || e.BitLen() > 31 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("unsupported RSA public exponent %v", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// samePublicKey reports whether a and b are the same RSA or ECDSA key.
func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && k.Equal(b)
}

// listLabels quotes at most maxListed labels for an error message.
func listLabels(labels []string) string {
	if len(labels) == 0 {
		return "none"
	}
	q := make([]string, 0, min(len(labels), maxListed)+1)
	for i, l := range labels {
		if i == maxListed {
			q = append(q, fmt.Sprintf("and %d more", len(labels)-maxListed))
			break
		}
		q = append(q, fmt.Sprintf("%q", l))
	}
	return strings.Join(q, ", ")
}
