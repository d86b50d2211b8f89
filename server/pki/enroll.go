package pki

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/wapt-go/wapt/shared/atomicfile"
)

// tokenBytes is the size of an enrollment token before encoding.
const tokenBytes = 32

// newToken returns a new enrollment token (base64url without padding) and
// its SHA-256.
func newToken(rnd io.Reader) (string, [32]byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", [32]byte{}, fmt.Errorf("pki: enrollment token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, sha256.Sum256([]byte(tok)), nil
}

func writeTokenHash(path string, sum [32]byte) error {
	return atomicfile.WriteFile(path, []byte(hex.EncodeToString(sum[:])+"\n"), keyMode)
}

// loadToken reads the token hash, or creates a token when the file is
// missing (deleting it is how to get a new one at the next start). p.mu is
// held.
func (p *PKI) loadToken() error {
	path := p.path(EnrollmentFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		tok, sum, err := newToken(p.rand)
		if err != nil {
			return err
		}
		if err := writeTokenHash(path, sum); err != nil {
			return err
		}
		p.tokenHash = sum
		p.created.EnrollmentToken = tok
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	sum, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(sum) != sha256.Size {
		return fmt.Errorf("%w: %s: want the hex SHA-256 of the enrollment token", ErrCorrupt, path)
	}
	copy(p.tokenHash[:], sum)
	return nil
}

// RotateEnrollmentToken replaces the enrollment token and returns the new
// one, in clear for the only time: only its SHA-256 is stored.
func (p *PKI) RotateEnrollmentToken() (string, error) {
	tok, sum, err := newToken(p.rand)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := writeTokenHash(p.path(EnrollmentFile), sum); err != nil {
		return "", err
	}
	p.tokenHash = sum
	return tok, nil
}

// CheckEnrollmentToken reports whether tok is the current enrollment token,
// comparing hashes in constant time.
func (p *PKI) CheckEnrollmentToken(tok string) bool {
	if tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	p.mu.RLock()
	want := p.tokenHash
	p.mu.RUnlock()
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}
