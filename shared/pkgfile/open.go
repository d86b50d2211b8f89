package pkgfile

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/signing"
)

// Package is an opened .wapt file. Open checks its structure and reads its
// metadata members; Verify checks signatures and hashes; Extract writes it
// out. A Package is not safe for concurrent use.
type Package struct {
	name     string // file name, for errors
	r        io.ReaderAt
	closer   io.Closer // nil for OpenReader
	entries  []*entry  // file order
	byName   map[string]*entry
	control  *control.Control
	chain    []*x509.Certificate
	manifest []byte // WAPT/manifest.sha256, nil when absent
	sigFile  []byte // WAPT/signature.sha256, nil when absent
	// meta holds the content of the metadata members read by Open
	// (control, certificate, manifest, signature): Verify checks these
	// bytes and Extract writes them, so that what was parsed is what was
	// verified even if the file changes in between.
	meta     map[string][]byte
	hashes   map[string][]byte
	verified bool
}

// Open opens the package file at path; see OpenReader. The caller must
// Close the Package.
func Open(path string, lim Limits) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: not a regular file", path, ErrNotPackage)
	}
	p, err := OpenReader(f, st.Size(), path, lim)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.closer = f
	return p, nil
}

// OpenReader parses the package in r (size bytes; name is used in errors)
// strictly and within lim, then reads and parses WAPT/control (which must
// Validate) and, when present, WAPT/certificate.crt, WAPT/manifest.sha256
// and WAPT/signature.sha256. No payload byte is read.
func OpenReader(r io.ReaderAt, size int64, name string, lim Limits) (*Package, error) {
	entries, err := parseZip(r, size, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Package{name: name, r: r, entries: entries, byName: make(map[string]*entry, len(entries)), meta: map[string][]byte{}}
	var nameBytes int64
	for _, e := range entries {
		p.byName[e.name] = e
		nameBytes += int64(len(e.name))
	}
	ce := p.byName[ControlName]
	if ce == nil {
		return nil, fmt.Errorf("%s: %w: no %s member", name, ErrNotPackage, ControlName)
	}
	data, err := p.readSmall(ce, maxMetadataSize)
	if err != nil {
		return nil, err
	}
	if p.control, err = control.Parse(name+":"+ControlName, data); err != nil {
		return nil, err
	}
	if err := p.control.Validate(); err != nil {
		return nil, err
	}
	if e := p.byName[CertificateName]; e != nil {
		if data, err = p.readSmall(e, maxMetadataSize); err != nil {
			return nil, err
		}
		if p.chain, err = certs.ParseCertsPEM(data); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, CertificateName, err)
		}
	}
	if e := p.byName[ManifestName]; e != nil {
		// JSON of [path, 64 hex] per member: at most 6 bytes per name byte.
		if p.manifest, err = p.readSmall(e, maxMetadataSize+6*nameBytes+80*int64(len(entries))); err != nil {
			return nil, err
		}
	}
	if e := p.byName[SignatureName]; e != nil {
		if p.sigFile, err = p.readSmall(e, maxMetadataSize); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// readSmall reads a metadata member of at most max bytes.
func (p *Package) readSmall(e *entry, max int64) ([]byte, error) {
	if e.dir {
		return nil, fmt.Errorf("%s: %w: %s is a directory", p.name, ErrCorrupt, e.name)
	}
	if e.usize > uint64(max) {
		return nil, fmt.Errorf("%s: %w", p.name, largef("member %q: %d bytes (max %d)", e.name, e.usize, max))
	}
	b := make([]byte, e.usize)
	m := p.open(e)
	if _, err := io.ReadFull(m, b); err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	if _, err := m.Read(b[:0]); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	p.meta[e.name] = b
	return b, nil
}

// open returns a reader of e's uncompressed content.
func (p *Package) open(e *entry) *memberReader {
	return newMemberReader(e, io.NewSectionReader(p.r, e.dataOff, int64(e.csize)))
}

// ReadControl opens the package at path strictly and returns its control
// and certificate chain (nil when unsigned); nothing is verified.
func ReadControl(path string, lim Limits) (*control.Control, []*x509.Certificate, error) {
	p, err := Open(path, lim)
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	return p.control, p.chain, nil
}

// Close closes the file opened by Open; it is a no-op for OpenReader.
func (p *Package) Close() error {
	if p.closer == nil {
		return nil
	}
	c := p.closer
	p.closer = nil
	return c.Close()
}

// Name returns the file name given to Open or OpenReader.
func (p *Package) Name() string { return p.name }

// Control returns the parsed WAPT/control. It is not authenticated until
// Verify succeeds.
func (p *Package) Control() *control.Control { return p.control }

// Chain returns the certificates of WAPT/certificate.crt, signer first
// (nil when absent).
func (p *Package) Chain() []*x509.Certificate { return p.chain }

// Members returns the ZIP entries in file order.
func (p *Package) Members() []Member {
	out := make([]Member, len(p.entries))
	for i, e := range p.entries {
		out[i] = e.member()
	}
	return out
}

// Signed reports whether the package carries a signature: a certificate,
// a manifest, a manifest signature and a control signature. It says
// nothing about their validity (see Verify).
func (p *Package) Signed() bool {
	return p.chain != nil && p.manifest != nil && p.sigFile != nil && p.control.Get("signature") != ""
}

// HasSetupPy reports whether the package holds a setup.py at its root
// (compared case-insensitively, as Windows would).
func (p *Package) HasSetupPy() bool {
	for _, e := range p.entries {
		if foldName(e.name) == setupName {
			return true
		}
	}
	return false
}

// unlisted reports whether a member is left out of the manifest.
func unlisted(name string) bool {
	switch name {
	case ManifestName, SignatureName, legacyManifest, legacySignature:
		return true
	}
	return false
}

// Verify checks the package against the trust anchors t at time now
// (DESIGN §2, "Verification on the agent") and returns the signer's
// certificate: a signature is required (signing.ErrUnsigned); the chain
// must reach an anchor of t, with the codeSigning EKU on the signer when
// the package holds a setup.py; the manifest signature must verify with
// the signer's key; the control signature must verify (by the same
// signer); every member but the manifest and signature files must be
// listed in the manifest and every listed path must exist
// (ErrManifest); finally every member is read and its SHA-256 compared
// (ErrManifest). Errors name the package file and the member.
func (p *Package) Verify(ctx context.Context, t *signing.Trust, now time.Time) (*x509.Certificate, error) {
	p.verified = false
	fail := func(err error) (*x509.Certificate, error) { return nil, fmt.Errorf("%s: %w", p.name, err) }
	switch {
	case len(p.chain) == 0:
		return fail(fmt.Errorf("%w: no %s", signing.ErrUnsigned, CertificateName))
	case p.manifest == nil:
		return fail(fmt.Errorf("%w: no %s", signing.ErrUnsigned, ManifestName))
	case p.sigFile == nil:
		return fail(fmt.Errorf("%w: no %s", signing.ErrUnsigned, SignatureName))
	case t == nil:
		return fail(fmt.Errorf("%w: no trust anchors", signing.ErrUntrusted))
	}
	setup := p.HasSetupPy()
	signer := p.chain[0]
	if err := t.VerifyChain(p.chain, now, setup); err != nil {
		return fail(fmt.Errorf("%s: %w", CertificateName, err))
	}
	if err := signing.VerifyManifest(signer, p.manifest, p.sigFile); err != nil {
		return fail(fmt.Errorf("%s: %w", SignatureName, err))
	}
	cs, err := signing.VerifyControl(p.control, p.chain, t, now, setup)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", ControlName, err))
	}
	if !cs.Equal(signer) {
		return fail(fmt.Errorf("%s: %w: control signed by %q, manifest by %q", ControlName,
			signing.ErrBadSignature, cs.Subject.CommonName, signer.Subject.CommonName))
	}
	list, err := signing.ParseManifest(p.manifest)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", ManifestName, err))
	}
	hashes := make(map[string][]byte, len(list))
	for _, m := range list {
		sum, err := hex.DecodeString(m.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return fail(fmt.Errorf("%s: %w: bad hash for %q", ManifestName, ErrManifest, m.Path))
		}
		switch {
		case unlisted(m.Path):
			return fail(fmt.Errorf("%w: %s lists %q, which it cannot cover", ErrManifest, ManifestName, m.Path))
		case p.byName[m.Path] == nil:
			return fail(fmt.Errorf("%w: %q is listed in %s but is not a member", ErrManifest, m.Path, ManifestName))
		}
		hashes[m.Path] = sum
	}
	for _, e := range p.entries {
		if hashes[e.name] == nil && !unlisted(e.name) {
			return fail(fmt.Errorf("%w: member %q is not listed in %s", ErrManifest, e.name, ManifestName))
		}
	}
	var bufs [][]byte
	for _, e := range p.entries {
		want := hashes[e.name]
		if want == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := sha256.New()
		if data, ok := p.meta[e.name]; ok {
			h.Write(data)
		} else if e.usize <= chunkSize {
			if _, err := io.Copy(h, p.open(e)); err != nil {
				return fail(err)
			}
		} else {
			if bufs == nil {
				bufs = newBuffers()
			}
			if err := pipeline(ctx, p.open(e), bufs, func(b []byte) error { h.Write(b); return nil }); err != nil {
				return fail(err)
			}
		}
		if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
			return fail(fmt.Errorf("%w: member %q: SHA-256 differs from %s", ErrManifest, e.name, ManifestName))
		}
	}
	p.hashes = hashes
	p.verified = true
	return signer, nil
}
