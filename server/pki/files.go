package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/certs"
)

// File modes: keys are readable by the server's account only.
const (
	keyMode  = 0o600
	certMode = 0o644
)

// readCert reads the single certificate of path. A missing file gives an
// error matching fs.ErrNotExist; any other failure is ErrCorrupt naming it.
func readCert(path string) (*x509.Certificate, error) {
	data, err := certs.ReadPEMFile(path, certs.MaxCertFileSize)
	if err != nil {
		return nil, wrapRead(path, err)
	}
	cs, err := certs.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("%w: %s: %d certificates, want 1", ErrCorrupt, path, len(cs))
	}
	return cs[0], nil
}

// readKey reads the clear PKCS#8 (or PKCS#1/SEC1) key of path, with the
// same errors as readCert.
func readKey(path string) (crypto.Signer, error) {
	data, err := certs.ReadPEMFile(path, certs.MaxKeyFileSize)
	if err != nil {
		return nil, wrapRead(path, err)
	}
	key, err := certs.ParsePrivateKeyPEM(data, nil)
	if errors.Is(err, certs.ErrPasswordRequired) {
		return nil, fmt.Errorf("%w: %s is encrypted: the server's keys are stored without password", ErrCorrupt, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	return key, nil
}

func wrapRead(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err // *PathError names the file
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
}

func writeKey(path string, key crypto.Signer) error {
	data, err := certs.EncodePrivateKeyPEM(key, nil)
	if err != nil {
		return fmt.Errorf("pki: %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data, keyMode)
}

func writeCert(path string, cert *x509.Certificate) error {
	return atomicfile.WriteFile(path, certs.EncodeCertsPEM(cert), certMode)
}
