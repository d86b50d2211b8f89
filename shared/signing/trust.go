package signing

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
)

// ErrNoAnchors is returned by LoadTrustDir for a directory without certificates.
var ErrNoAnchors = errors.New("no trusted certificates")

// maxTrustFileSize bounds each file read by LoadTrustDir.
const maxTrustFileSize = 4 << 20

// Trust is a set of trust anchors: CA certificates, or signer certificates
// trusted directly (WAPT trusts admin certificates dropped in ssl/). It is
// immutable and safe for concurrent use.
type Trust struct {
	anchors []*x509.Certificate
	pool    *x509.CertPool
}

// NewTrust returns a Trust over anchors (nil entries and duplicates dropped).
func NewTrust(anchors ...*x509.Certificate) *Trust {
	t := &Trust{pool: x509.NewCertPool()}
	for _, a := range anchors {
		if a == nil || slices.ContainsFunc(t.anchors, a.Equal) {
			continue
		}
		t.anchors = append(t.anchors, a)
		t.pool.AddCert(a)
	}
	return t
}

// LoadTrustDir reads every *.crt and *.pem file of dir (not recursive,
// extensions case-insensitive, several certificates per file allowed, PEM or
// DER). A .pem file holding PEM blocks but no certificate (a private key) is
// skipped; any other unreadable file is an error naming it. A directory
// without any certificate gives ErrNoAnchors.
func LoadTrustDir(dir string) (*Trust, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trust directory: %w", err)
	}
	var all []*x509.Certificate
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if ext != ".crt" && ext != ".pem" {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows links, like c_rehash directories
		if err != nil {
			return nil, fmt.Errorf("trust directory: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := certs.ReadPEMFile(path, maxTrustFileSize)
		if err != nil {
			return nil, err
		}
		cs, err := certs.ParseCertsPEM(data)
		if err != nil {
			if bytes.Contains(data, []byte("-----BEGIN ")) && !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
				continue
			}
			return nil, fmt.Errorf("trust directory: %s: %w", path, err)
		}
		all = append(all, cs...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoAnchors, dir)
	}
	return NewTrust(all...), nil
}

// Anchors returns a copy of the anchor list.
func (t *Trust) Anchors() []*x509.Certificate {
	if t == nil {
		return nil
	}
	return slices.Clone(t.anchors)
}

func (t *Trust) isAnchor(c *x509.Certificate) bool {
	return t != nil && slices.ContainsFunc(t.anchors, c.Equal)
}

// VerifyChain checks that chain[0] (the signer; chain[1:] are intermediates,
// in any order) is trusted at now: either chain[0] is itself an anchor, or
// it chains through the intermediates to an anchor (crypto/x509 path
// building: signatures, CA basic constraints, path length and name
// constraints, critical extensions).
//
// Every certificate of the path must be valid at now (ErrExpired). With
// requireCodeSigning the signer must carry the codeSigning EKU and the path
// must allow it (ErrNotCodeSigning); else any EKU is accepted. Any other
// failure is ErrUntrusted, wrapped with the signer's CN.
func (t *Trust) VerifyChain(chain []*x509.Certificate, now time.Time, requireCodeSigning bool) error {
	if len(chain) == 0 || chain[0] == nil {
		return fmt.Errorf("%w: empty certificate chain", ErrUntrusted)
	}
	leaf := chain[0]
	cn := leaf.Subject.CommonName
	if t == nil || len(t.anchors) == 0 {
		return fmt.Errorf("%w: %q: no trust anchors", ErrUntrusted, cn)
	}
	if requireCodeSigning && !IsCodeSigning(leaf) {
		return fmt.Errorf("%w: %q", ErrNotCodeSigning, cn)
	}
	if t.isAnchor(leaf) {
		return checkDates(leaf, now)
	}

	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if c != nil {
			inter.AddCert(c)
		}
	}
	usage := x509.ExtKeyUsageAny
	if requireCodeSigning {
		usage = x509.ExtKeyUsageCodeSigning
	}
	opts := x509.VerifyOptions{
		Roots:         t.pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}
	// crypto/x509 reports an expired intermediate or anchor of the only
	// candidate path as Expired too.
	_, err := leaf.Verify(opts)
	if err == nil {
		return nil
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		switch invalid.Reason {
		case x509.Expired:
			return fmt.Errorf("%w: %q: %v", ErrExpired, cn, err)
		case x509.IncompatibleUsage:
			if requireCodeSigning {
				return fmt.Errorf("%w: %q: %v", ErrNotCodeSigning, cn, err)
			}
		}
		return fmt.Errorf("%w: %q: %v", ErrUntrusted, cn, err)
	}
	return fmt.Errorf("%w: %q: %v", ErrUntrusted, cn, err)
}

func checkDates(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("%w: %q valid from %s to %s, now %s", ErrExpired, c.Subject.CommonName,
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
