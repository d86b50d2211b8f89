package certs

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/youmark/pkcs8"
)

// KeyEncryptionIterations is the PBKDF2-HMAC-SHA256 iteration count used by
// EncodePrivateKeyPEM for password-protected keys.
const KeyEncryptionIterations = 200_000

// Size caps for LoadKey and LoadCerts: key and certificate files are small.
const (
	MaxKeyFileSize  = 1 << 20
	MaxCertFileSize = 4 << 20
)

// PEM block types.
const (
	pemCertificate   = "CERTIFICATE"
	pemPKCS8         = "PRIVATE KEY"
	pemPKCS8Enc      = "ENCRYPTED PRIVATE KEY"
	pemPKCS1         = "RSA PRIVATE KEY"
	pemSEC1          = "EC PRIVATE KEY"
	pemLegacyProcHdr = "Proc-Type"
)

// EncodePrivateKeyPEM encodes key as PKCS#8 PEM: "PRIVATE KEY" in clear when
// password is empty, else "ENCRYPTED PRIVATE KEY" (PBES2: PBKDF2-HMAC-SHA256,
// AES-256-CBC), readable by OpenSSL and WAPT.
func EncodePrivateKeyPEM(key crypto.Signer, password []byte) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("encode private key: %w: nil key", ErrNoKey)
	}
	if len(password) == 0 {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encode private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8, Bytes: der}), nil
	}
	opts := &pkcs8.Opts{
		Cipher: pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{
			SaltSize:       16,
			IterationCount: KeyEncryptionIterations,
			HMACHash:       crypto.SHA256,
		},
	}
	der, err := pkcs8.MarshalPrivateKey(key, password, opts)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPKCS8Enc, Bytes: der}), nil
}

// ParsePrivateKeyPEM returns the first private key in data. It accepts
// PKCS#8 (clear or encrypted), PKCS#1 RSA and SEC1 EC keys, and the legacy
// OpenSSL encryption ("Proc-Type: 4,ENCRYPTED"). Other PEM blocks (such as
// certificates) are skipped. password is ignored for clear keys; an
// encrypted key without password gives ErrPasswordRequired, with a wrong one
// ErrBadPassword.
func ParsePrivateKeyPEM(data, password []byte) (crypto.Signer, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no private key PEM block", ErrNoKey)
		}
		switch b.Type {
		case pemPKCS8, pemPKCS1, pemSEC1, pemPKCS8Enc:
			return parseKeyBlock(b, password)
		}
	}
}

func parseKeyBlock(b *pem.Block, password []byte) (crypto.Signer, error) {
	der := b.Bytes
	if b.Type == pemPKCS8Enc {
		if len(password) == 0 {
			return nil, ErrPasswordRequired
		}
		k, err := decryptPKCS8(der, password)
		if err != nil {
			return nil, err
		}
		return asSigner(k)
	}
	if _, ok := b.Headers[pemLegacyProcHdr]; ok {
		if !x509.IsEncryptedPEMBlock(b) { //nolint:staticcheck // legacy WAPT keys
			return nil, fmt.Errorf("%w: unsupported Proc-Type %q", ErrNoKey, b.Headers[pemLegacyProcHdr])
		}
		if len(password) == 0 {
			return nil, ErrPasswordRequired
		}
		plain, err := x509.DecryptPEMBlock(b, password) //nolint:staticcheck // legacy WAPT keys
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, ErrBadPassword
			}
			return nil, fmt.Errorf("%w: %v", ErrNoKey, err)
		}
		k, err := parseClearKey(b.Type, plain)
		if err != nil {
			// The padding check passes by chance for about one wrong password in 256.
			return nil, ErrBadPassword
		}
		return k, nil
	}
	return parseClearKey(b.Type, der)
}

func parseClearKey(typ string, der []byte) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch typ {
	case pemPKCS1:
		k, err = x509.ParsePKCS1PrivateKey(der)
	case pemSEC1:
		k, err = x509.ParseECPrivateKey(der)
	default:
		k, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoKey, typ, err)
	}
	return asSigner(k)
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo. pkcs8 panics on some
// malformed inputs (ciphertext not a multiple of the block size, bad IV
// length); those become errors here.
func decryptPKCS8(der, password []byte) (k any, err error) {
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("%w: malformed encrypted PKCS#8 key: %v", ErrNoKey, r)
		}
	}()
	k, err = pkcs8.ParsePKCS8PrivateKey(der, password)
	if err != nil {
		if err.Error() == "pkcs8: incorrect password" {
			return nil, ErrBadPassword
		}
		return nil, fmt.Errorf("%w: %v", ErrNoKey, err)
	}
	return k, nil
}

func asSigner(k any) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: key type %T cannot sign", ErrNoKey, k)
	}
	return s, nil
}

// EncodeCertsPEM encodes certs as consecutive "CERTIFICATE" PEM blocks.
func EncodeCertsPEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: pemCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// ParseCertsPEM returns the certificates of data, in order. Other PEM blocks
// and text between blocks are ignored. Data holding no PEM block at all is
// tried as DER. At least one certificate is required (ErrNoCertificate).
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var (
		out    []*x509.Certificate
		blocks int
	)
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks++
		if b.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate #%d: %v", ErrNoCertificate, len(out)+1, err)
		}
		out = append(out, c)
	}
	if blocks == 0 && len(data) > 0 && data[0] == 0x30 {
		cs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("%w: DER: %v", ErrNoCertificate, err)
		}
		out = cs
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE PEM block", ErrNoCertificate)
	}
	return out, nil
}

// LoadKey reads a private key file (see ParsePrivateKeyPEM). Errors name the file.
func LoadKey(path string, password []byte) (crypto.Signer, error) {
	data, err := ReadPEMFile(path, MaxKeyFileSize)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKeyPEM(data, password)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadCerts reads a certificate file (see ParseCertsPEM). Errors name the file.
func LoadCerts(path string) ([]*x509.Certificate, error) {
	data, err := ReadPEMFile(path, MaxCertFileSize)
	if err != nil {
		return nil, err
	}
	cs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// ReadPEMFile reads a key or certificate file, failing when it is larger
// than max bytes. Errors name the file.
func ReadPEMFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}
