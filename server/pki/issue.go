package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/certs"
)

// leafKind names the server's own certificates issued by the host CA.
type leafKind int

const (
	leafTLS leafKind = iota
	leafRepo
	nLeaves
)

type leafSpec struct {
	certFile, keyFile string
	validity          time.Duration
}

var leafSpecs = [nLeaves]leafSpec{
	leafTLS:  {TLSCertFile, TLSKeyFile, TLSValidity},
	leafRepo: {RepoCertFile, RepoKeyFile, RepoValidity},
}

// Bounds of SignHostCSR.
const (
	maxCSRSize   = 64 << 10
	maxHostIDLen = 255
	minRSABits   = 2048
	maxRSABits   = 8192
	serialBits   = 128
	caNamePrefix = "WAPT host CA "
	repoCNPrefix = "WAPT repository "
	pemCSR       = "CERTIFICATE REQUEST"
	pemCSRLegacy = "NEW CERTIFICATE REQUEST"
)

// newKey returns a new ECDSA P-256 key.
func newKey() (crypto.Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate key: %w", err)
	}
	return k, nil
}

// newHostCA creates the self-signed host CA: it may issue end-entity
// certificates only (path length 0).
func newHostCA(name string, now time.Time, rnd io.Reader) (crypto.Signer, *x509.Certificate, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial(rnd)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caNamePrefix + name},
		NotBefore:             now.Add(-backdate).UTC().Truncate(time.Second),
		NotAfter:              now.Add(CAValidity).UTC().Truncate(time.Second),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: create host CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: parse host CA: %w", err)
	}
	return key, cert, nil
}

// issue signs an end-entity certificate for pub with the host CA; its end
// is clipped to the CA's.
func (p *PKI) issue(tmpl *x509.Certificate, pub crypto.PublicKey, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	serial, err := randomSerial(p.rand)
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate).UTC().Truncate(time.Second)
	tmpl.NotAfter = now.Add(validity).UTC().Truncate(time.Second)
	if tmpl.NotAfter.After(p.caCert.NotAfter) {
		tmpl.NotAfter = p.caCert.NotAfter
	}
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	der, err := x509.CreateCertificate(p.rand, tmpl, p.caCert, pub, p.caKey)
	if err != nil {
		return nil, fmt.Errorf("pki: issue %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

// leafTemplate is the template of the TLS or repository certificate.
func (p *PKI) leafTemplate(kind leafKind) *x509.Certificate {
	t := &x509.Certificate{KeyUsage: x509.KeyUsageDigitalSignature}
	switch kind {
	case leafTLS:
		t.Subject = pkix.Name{CommonName: p.names[0]}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, n := range p.names {
			if ip := net.ParseIP(n); ip != nil {
				t.IPAddresses = append(t.IPAddresses, ip)
			} else {
				t.DNSNames = append(t.DNSNames, n)
			}
		}
	case leafRepo:
		t.Subject = pkix.Name{CommonName: repoCNPrefix + p.names[0]}
		t.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDDocumentSigning}
	}
	return t
}

// loadLeaf reads a leaf key and certificate, generating a missing key and
// issuing a missing, expiring or outdated certificate. p.mu is held.
func (p *PKI) loadLeaf(kind leafKind, now time.Time) error {
	s := leafSpecs[kind]
	keyPath, certPath := p.path(s.keyFile), p.path(s.certFile)
	key, err := readKey(keyPath)
	var cert *x509.Certificate
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A certificate without its key is useless: it is replaced below.
		if key, err = newKey(); err != nil {
			return err
		}
		if err := writeKey(keyPath, key); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		cert, err = readCert(certPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			cert = nil // written after the key, then lost: issued again
		case err != nil:
			return err
		case !certs.KeyMatchesCert(key, cert):
			return fmt.Errorf("%w: %s is not the certificate of %s", ErrCorrupt, certPath, keyPath)
		case cert.CheckSignatureFrom(p.caCert) != nil:
			return fmt.Errorf("%w: %s was not issued by the host CA %s", ErrCorrupt, certPath, p.path(HostCACertFile))
		}
	}
	p.leaves[kind] = leaf{key: key, cert: cert}
	if cert == nil || p.needsRenewal(kind, cert, now) {
		if err := p.renewLeaf(kind, now); err != nil {
			return err
		}
		p.created.Issued = append(p.created.Issued, s.certFile)
	}
	return nil
}

// needsRenewal reports whether cert must be re-issued at now: near its end
// (unless clipped to the CA's own end), not yet valid, or, for TLS, for
// other names than the server's.
func (p *PKI) needsRenewal(kind leafKind, cert *x509.Certificate, now time.Time) bool {
	if cert.NotAfter.Sub(now) < RenewBefore && cert.NotAfter.Before(p.caCert.NotAfter) {
		return true
	}
	if now.Before(cert.NotBefore) {
		return true
	}
	if kind == leafTLS {
		var got []string
		got = append(got, cert.DNSNames...)
		for _, ip := range cert.IPAddresses {
			got = append(got, ip.String())
		}
		want := slices.Clone(p.names)
		slices.Sort(got)
		slices.Sort(want)
		return !slices.Equal(got, want)
	}
	return false
}

// renewLeaf issues the leaf's certificate again for its key and writes it.
// p.mu is held.
func (p *PKI) renewLeaf(kind leafKind, now time.Time) error {
	s := leafSpecs[kind]
	l := p.leaves[kind]
	cert, err := p.issue(p.leafTemplate(kind), l.key.Public(), now, s.validity)
	if err != nil {
		return err
	}
	if err := writeCert(p.path(s.certFile), cert); err != nil {
		return err
	}
	p.leaves[kind].cert = cert
	return nil
}

// Renew re-issues the TLS and repository certificates that need it at now
// (see LoadOrCreate) and returns the files written. Call it periodically
// in a long-running server; new TLS handshakes use the new certificate.
func (p *PKI) Renew(now time.Time) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var renewed []string
	for kind := range nLeaves {
		if !p.needsRenewal(kind, p.leaves[kind].cert, now) {
			continue
		}
		if err := p.renewLeaf(kind, now); err != nil {
			if len(renewed) > 0 {
				p.rebuildTLS()
			}
			return renewed, err
		}
		renewed = append(renewed, leafSpecs[kind].certFile)
	}
	if len(renewed) > 0 {
		p.rebuildTLS()
	}
	return renewed, nil
}

// SignHostCSR issues a host certificate for the key of csrPEM (a PEM
// "CERTIFICATE REQUEST" whose signature must verify; RSA of 2048 to 8192
// bits, or ECDSA P-256 or P-384): CN = uuid, CA:FALSE, EKU clientAuth, key
// usage digitalSignature, valid HostValidity from now, random 128-bit
// serial. Nothing else of the request is used (subject, extensions and a
// CA request are ignored). Refusals are ErrBadCSR, with ErrCSRSignature,
// ErrCSRKey or ErrBadHostID when they apply.
func (p *PKI) SignHostCSR(csrPEM []byte, uuid string, now time.Time) (*x509.Certificate, error) {
	if err := checkHostID(uuid); err != nil {
		return nil, err
	}
	csr, err := parseCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w: %v", ErrBadCSR, ErrCSRSignature, err)
	}
	if err := checkCSRKey(csr.PublicKey); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: uuid},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return p.issue(tmpl, csr.PublicKey, now, HostValidity)
}

func parseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > maxCSRSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadCSR, maxCSRSize)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no %s PEM block", ErrBadCSR, pemCSR)
		}
		if b.Type != pemCSR && b.Type != pemCSRLegacy {
			continue
		}
		csr, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCSR, err)
		}
		return csr, nil
	}
}

func checkCSRKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return fmt.Errorf("%w: %w: RSA key of %d bits (%d to %d required)", ErrBadCSR, ErrCSRKey, n, minRSABits, maxRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return fmt.Errorf("%w: %w: ECDSA curve %s (P-256 or P-384 required)", ErrBadCSR, ErrCSRKey, k.Curve.Params().Name)
	}
	return fmt.Errorf("%w: %w: %T", ErrBadCSR, ErrCSRKey, pub)
}

// checkHostID accepts 1 to 255 bytes of UTF-8 without control characters
// nor surrounding spaces.
func checkHostID(uuid string) error {
	switch {
	case uuid == "" || len(uuid) > maxHostIDLen:
		return fmt.Errorf("%w: %w: length %d", ErrBadCSR, ErrBadHostID, len(uuid))
	case !utf8.ValidString(uuid) || strings.TrimSpace(uuid) != uuid || strings.ContainsFunc(uuid, unicode.IsControl):
		return fmt.Errorf("%w: %w: %q", ErrBadCSR, ErrBadHostID, uuid)
	}
	return nil
}

// randomSerial returns a random, positive serial number of at most 128 bits.
func randomSerial(rnd io.Reader) (*big.Int, error) {
	b := make([]byte, serialBits/8)
	for {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("pki: serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}
