package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// TestPKCS1DigestInfo checks the DigestInfo prefixes: a raw PKCS#1 v1.5
// signature over DigestInfo || digest (what CKM_RSA_PKCS computes) must
// verify as a signature of the digest.
func TestPKCS1DigestInfo(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("digest info")
	d256, d384, d512 := sha256.Sum256(msg), sha512.Sum384(msg), sha512.Sum512(msg)
	for _, tt := range []struct {
		h      crypto.Hash
		digest []byte
	}{{crypto.SHA256, d256[:]}, {crypto.SHA384, d384[:]}, {crypto.SHA512, d512[:]}} {
		t.Run(tt.h.String(), func(t *testing.T) {
			data, err := pkcs1DigestInfo(tt.h, tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := rsa.SignPKCS1v15(nil, key, 0, data) // hash 0: sign data as is
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, tt.h, tt.digest, sig); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := pkcs1DigestInfo(crypto.SHA1, make([]byte, 20)); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("SHA-1: %v, want ErrUnsupported", err)
	}
	if _, err := pkcs1DigestInfo(crypto.SHA256, d256[:31]); err == nil {
		t.Error("short digest accepted")
	}
}

func TestECDSAASN1(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		t.Run(curve.Params().Name, func(t *testing.T) {
			key, err := ecdsa.GenerateKey(curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("ecdsa"))
			der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			var rs struct{ R, S *big.Int }
			if _, err := asn1.Unmarshal(der, &rs); err != nil {
				t.Fatal(err)
			}
			n := (curve.Params().N.BitLen() + 7) / 8
			raw := make([]byte, 2*n) // what CKM_ECDSA returns
			rs.R.FillBytes(raw[:n])
			rs.S.FillBytes(raw[n:])
			got, err := ecdsaASN1(raw, curve)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(der) || !ecdsa.VerifyASN1(&key.PublicKey, digest[:], got) {
				t.Fatalf("converted signature differs from Go's")
			}
			if _, err := ecdsaASN1(raw[1:], curve); err == nil {
				t.Error("odd length accepted")
			}
			if _, err := ecdsaASN1(make([]byte, 2*n), curve); err == nil {
				t.Error("zero r and s accepted")
			}
		})
	}
}

func TestECPublicKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	params, _ := asn1.Marshal(oidP384)
	encodings, err := ecPointEncodings(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for i, point := range encodings {
		pub, err := ecPublicKey(params, point)
		if err != nil {
			t.Fatalf("encoding %d: %v", i, err)
		}
		if !pub.Equal(&key.PublicKey) {
			t.Fatalf("encoding %d: wrong key", i)
		}
	}
	p256, _ := asn1.Marshal(oidP256)
	if _, err := ecPublicKey(p256, encodings[0]); err == nil {
		t.Error("P-384 point accepted as P-256")
	}
	bad := append([]byte(nil), encodings[1]...)
	bad[len(bad)-1] ^= 1
	if _, err := ecPublicKey(params, bad); err == nil {
		t.Error("point off the curve accepted")
	}
	brainpool, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7})
	if _, err := ecPublicKey(brainpool, encodings[0]); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("brainpool: %v, want ErrUnsupported", err)
	}
	if _, err := curveFromParams([]byte{0x13, 0x02, 'h', 'i'}); err == nil {
		t.Error("non-OID parameters accepted")
	}
}

func TestRSAPublicKey(t *testing.T) {
	tests := []struct {
		name    string
		n, e    []byte
		wantErr bool
	}{
		{"ok", big.NewInt(3233).Bytes(), []byte{1, 0, 1}, false},
		{"even modulus", big.NewInt(3232).Bytes(), []byte{1, 0, 1}, true},
		{"zero exponent", big.NewInt(3233).Bytes(), []byte{0}, true},
		{"huge exponent", big.NewInt(3233).Bytes(), []byte{1, 0, 0, 0, 0, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rsaPublicKey(tt.n, tt.e)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestPSSSaltLength(t *testing.T) {
	pub := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 3071), E: 65537} // 3072 bits
	tests := []struct {
		name string
		salt int
		h    crypto.Hash
		want int // -1: error
	}{
		{"auto", rsa.PSSSaltLengthAuto, crypto.SHA256, 32},
		{"equals hash", rsa.PSSSaltLengthEqualsHash, crypto.SHA512, 64},
		{"explicit", 20, crypto.SHA256, 20},
		{"maximum", 384 - 32 - 2, crypto.SHA256, 384 - 32 - 2},
		{"too long", 384 - 32 - 1, crypto.SHA256, -1},
		{"negative", -5, crypto.SHA256, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pssSaltLength(&rsa.PSSOptions{SaltLength: tt.salt, Hash: tt.h}, tt.h, pub)
			if tt.want < 0 {
				if err == nil {
					t.Fatalf("salt %d accepted", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestListLabels(t *testing.T) {
	if got := listLabels(nil); got != "none" {
		t.Errorf("listLabels(nil) = %q", got)
	}
	if got := listLabels([]string{"a", "b"}); got != `"a", "b"` {
		t.Errorf("listLabels = %q", got)
	}
	many := make([]string, maxListed+5)
	if got := listLabels(many); !strings.HasSuffix(got, "and 5 more") {
		t.Errorf("listLabels(%d labels) = %q", len(many), got)
	}
}
