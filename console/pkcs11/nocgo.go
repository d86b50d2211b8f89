//go:build !cgo

package pkcs11

import (
	"crypto"
	"errors"
	"fmt"
	"io"
)

// errNoCgo is what a build without cgo answers: github.com/miekg/pkcs11
// loads the module through cgo.
var errNoCgo = fmt.Errorf("PKCS#11 needs a cgo build: %w", errors.ErrUnsupported)

// Signer is a crypto.Signer whose private key is an object of a PKCS#11
// token. This build has no cgo: Open always fails.
type Signer struct{}

// Open fails: PKCS#11 needs a cgo build (errors.ErrUnsupported).
func Open(cfg Config) (*Signer, error) { return nil, errNoCgo }

// Public returns nil.
func (s *Signer) Public() crypto.PublicKey { return nil }

// Sign fails: PKCS#11 needs a cgo build.
func (s *Signer) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, errNoCgo }

// Close does nothing.
func (s *Signer) Close() error { return nil }

// Tokens fails: PKCS#11 needs a cgo build (errors.ErrUnsupported).
func Tokens(module string) ([]TokenInfo, error) { return nil, errNoCgo }
