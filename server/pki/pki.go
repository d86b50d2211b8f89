// Package pki creates, on the waptserver's first start, and then reloads its
// key material (DESIGN §4), all under DATA/pki (mode 0700):
//
//	host-ca.crt, host-ca.key   the host CA ("WAPT host CA <hostname>", ECDSA P-256,
//	                           10 years, path length 0): signs host certificates at
//	                           registration, the TLS and the repository certificates
//	tls.crt, tls.key           the HTTPS certificate (ECDSA P-256, 2 years, serverAuth,
//	                           the server's names as SANs)
//	repo.crt, repo.key         the repository key that signs Packages.sig (ECDSA P-256,
//	                           2 years, EKU documentSigning only: never a TLS client)
//	enrollment.sha256          the SHA-256 (hex) of the enrollment token
//
// Keys are PKCS#8 PEM files of mode 0600 and carry no password: the server
// must use them unattended, so their protection is the file mode of DATA/pki
// and of the host they live on. Back up host-ca.crt and host-ca.key: losing
// them orphans every registered host. Every file is written atomically; the
// first creation happens in a temporary directory renamed into place.
//
// A missing leaf (TLS or repository) is issued again; a leaf certificate is
// re-issued for its existing key when fewer than RenewBefore remain or, for
// TLS, when the server's names changed. Delete a leaf key to rotate it, and
// enrollment.sha256 to get a new token at the next start. A file that is
// present but unreadable, or inconsistent with the others, is an ErrCorrupt
// error naming it: nothing is ever regenerated over it, above all not the
// host CA.
package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
)

// Validity periods and the renewal margin.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	TLSValidity  = 2 * 365 * 24 * time.Hour
	RepoValidity = 2 * 365 * 24 * time.Hour
	HostValidity = 3 * 365 * 24 * time.Hour
	// RenewBefore is how long before expiry the TLS and repository
	// certificates are re-issued.
	RenewBefore = 30 * 24 * time.Hour
	// backdate is subtracted from now for NotBefore, for clocks that lag.
	backdate = 5 * time.Minute
)

// DirName is the folder of the data directory that holds the key material;
// the other names are its files.
const (
	DirName        = "pki"
	HostCACertFile = "host-ca.crt"
	HostCAKeyFile  = "host-ca.key"
	TLSCertFile    = "tls.crt"
	TLSKeyFile     = "tls.key"
	RepoCertFile   = "repo.crt"
	RepoKeyFile    = "repo.key"
	EnrollmentFile = "enrollment.sha256"
)

var (
	// ErrCorrupt is returned for a key material file that is unreadable,
	// partial or inconsistent with the others; the error names the file.
	ErrCorrupt = errors.New("corrupt or inconsistent PKI file")
	// ErrBadCSR is returned by SignHostCSR for any refused request; the
	// errors below are returned together with it.
	ErrBadCSR = errors.New("invalid certificate request")
	// ErrCSRSignature: the request is not signed by the key it carries.
	ErrCSRSignature = errors.New("certificate request signature does not verify")
	// ErrCSRKey: the key is not RSA of 2048 to 8192 bits nor ECDSA P-256/P-384.
	ErrCSRKey = errors.New("unsupported key in certificate request")
	// ErrBadHostID: the uuid is empty, too long or holds control characters.
	ErrBadHostID = errors.New("invalid host uuid")
)

// OIDDocumentSigning is id-kp-documentSigning (RFC 9336), the only extended
// key usage of the repository certificate: verifiers of Packages.sig
// require it (repoindex.VerifyIndex), so that a host certificate (also
// issued by the host CA) cannot sign an index, and TLS refuses the
// repository certificate as a client.
var OIDDocumentSigning = certs.OIDDocumentSigning

// Options are the settings of LoadOrCreate.
type Options struct {
	// Hostnames are the DNS names and IP addresses of the server, the SANs
	// of its TLS certificate; the first name also names the host CA and the
	// repository certificate. Default: os.Hostname, localhost, 127.0.0.1, ::1.
	Hostnames []string
	// Now is the time of the checks and of new certificates; zero → time.Now().
	Now time.Time
	// Rand is the source of serial numbers and of the enrollment token;
	// nil → crypto/rand.
	Rand io.Reader
}

// Created tells what LoadOrCreate made, for the start-up message.
type Created struct {
	// HostCA is true on the first start: the host CA was just created.
	HostCA bool
	// EnrollmentToken is the new token in clear when one was created, else "".
	EnrollmentToken string
	// Issued lists the certificate files (re)issued by this call.
	Issued []string
}

// PKI is the server's key material. It is safe for concurrent use.
type PKI struct {
	dir    string
	rand   io.Reader
	names  []string // normalized hostnames; names[0] is the server's name
	caCert *x509.Certificate
	caKey  crypto.Signer

	mu        sync.RWMutex
	leaves    [nLeaves]leaf
	tokenHash [32]byte
	adminCAs  *x509.CertPool
	serverTLS *tls.Config // rebuilt when a certificate or the client CAs change
	created   Created
}

type leaf struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// LoadOrCreate loads the key material under dir/pki, creating it on the
// first start, issuing missing leaves and renewing those near expiry.
func LoadOrCreate(dir string, o Options) (*PKI, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	rnd := o.Rand
	if rnd == nil {
		rnd = rand.Reader
	} else {
		rnd = &lockedReader{r: rnd}
	}
	names, err := normalizeHostnames(o.Hostnames)
	if err != nil {
		return nil, err
	}
	p := &PKI{dir: filepath.Join(dir, DirName), rand: rnd, names: names}
	fresh, err := p.isFresh()
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := p.create(dir, now); err != nil {
			return nil, err
		}
	}
	if err := p.load(now); err != nil {
		return nil, err
	}
	return p, nil
}

// Created tells what LoadOrCreate made.
func (p *PKI) Created() Created {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c := p.created
	c.Issued = slices.Clone(c.Issued)
	return c
}

// Dir is the folder holding the key material.
func (p *PKI) Dir() string { return p.dir }

// HostCA returns the host CA certificate: agents trust it for the server's
// TLS certificate and the repository signature.
func (p *PKI) HostCA() *x509.Certificate { return p.caCert }

// RepoSigner returns the repository key and its chain (certificate, then
// the host CA) to sign Packages.sig. Call it for each signature: the
// certificate is renewed while the server runs.
func (p *PKI) RepoSigner() (crypto.Signer, []*x509.Certificate) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	l := p.leaves[leafRepo]
	return l.key, []*x509.Certificate{l.cert, p.caCert}
}

// isFresh reports whether the pki folder is missing or empty.
func (p *PKI) isFresh() (bool, error) {
	entries, err := os.ReadDir(p.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("pki: %w", err)
	}
	return len(entries) == 0, nil
}

// create makes the host CA and the enrollment token in a temporary folder
// of dataDir, then renames it to dataDir/pki: a crash leaves either no pki
// folder or a complete one. load issues the leaves.
func (p *PKI) create(dataDir string, now time.Time) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	// Leftovers of an interrupted first start were never used: drop them.
	if old, _ := filepath.Glob(filepath.Join(dataDir, ".pki-new-*")); len(old) > 0 {
		for _, o := range old {
			os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(dataDir, ".pki-new-*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	key, cert, err := newHostCA(p.names[0], now, p.rand)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(tmp, HostCAKeyFile), key); err != nil {
		return err
	}
	if err := writeCert(filepath.Join(tmp, HostCACertFile), cert); err != nil {
		return err
	}
	tok, sum, err := newToken(p.rand)
	if err != nil {
		return err
	}
	if err := writeTokenHash(filepath.Join(tmp, EnrollmentFile), sum); err != nil {
		return err
	}
	if err := os.Remove(p.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pki: %w", err) // only an empty folder is removed
	}
	if err := os.Rename(tmp, p.dir); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	p.created.HostCA = true
	p.created.EnrollmentToken = tok
	return nil
}

// load reads the host CA, loads or issues the leaves and reads the token hash.
func (p *PKI) load(now time.Time) error {
	caCertPath, caKeyPath := p.path(HostCACertFile), p.path(HostCAKeyFile)
	cert, certErr := readCert(caCertPath)
	key, keyErr := readKey(caKeyPath)
	for _, e := range []struct {
		path string
		err  error
	}{{caCertPath, certErr}, {caKeyPath, keyErr}} {
		if errors.Is(e.err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s is missing: the host CA signs every host certificate, restore it from a backup "+
				"(remove %s only to start over with a new CA, which orphans every registered host)", ErrCorrupt, e.path, p.dir)
		}
		if e.err != nil {
			return e.err
		}
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: %s is not a CA certificate", ErrCorrupt, caCertPath)
	}
	if !certs.KeyMatchesCert(key, cert) {
		return fmt.Errorf("%w: %s is not the key of %s", ErrCorrupt, caKeyPath, caCertPath)
	}
	p.caCert, p.caKey = cert, key

	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range nLeaves {
		if err := p.loadLeaf(leafKind(i), now); err != nil {
			return err
		}
	}
	if err := p.loadToken(); err != nil {
		return err
	}
	p.rebuildTLS()
	return nil
}

func (p *PKI) path(name string) string { return filepath.Join(p.dir, name) }

// defaultHostnames are the TLS names when none are given.
func defaultHostnames() []string {
	var names []string
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	return append(names, "localhost", "127.0.0.1", "::1")
}

// normalizeHostnames lowercases, checks and de-duplicates names, keeping
// their order.
func normalizeHostnames(in []string) ([]string, error) {
	if len(in) == 0 {
		in = defaultHostnames()
	}
	var out []string
	for _, n := range in {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		} else if !validDNSName(n) {
			return nil, fmt.Errorf("pki: invalid hostname %q", n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("pki: no hostname")
	}
	return out, nil
}

// validDNSName accepts letters, digits, '-', '_' and '.', with a leading
// "*." wildcard, up to 253 characters.
func validDNSName(n string) bool {
	n = strings.TrimPrefix(n, "*.")
	if len(n) == 0 || len(n) > 253 || strings.HasPrefix(n, ".") || strings.Contains(n, "..") {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// lockedReader serializes reads of an injected source of randomness.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(b)
}
