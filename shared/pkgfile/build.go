package pkgfile

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/signing"
)

// BuildOptions configures Build.
type BuildOptions struct {
	OutDir string              // default: the parent of the source directory; created when missing
	Signer crypto.Signer       // nil → unsigned package (control and payload only)
	Chain  []*x509.Certificate // signer's certificate first, then intermediates
	Now    time.Time           // signature date and metadata member times; zero → time.Now()
	Rand   io.Reader           // package_uuid randomness; nil → crypto/rand
	// Excludes are glob patterns (path.Match) of source paths to leave
	// out: a pattern with a "/" matches the whole slash-separated path
	// relative to the source directory, one without matches the base name
	// at any depth (an excluded directory is skipped whole). nil →
	// DefaultExcludes. WAPT/control, WAPT/certificate.crt and the manifest
	// and signature files are always regenerated, never copied.
	Excludes []string
}

// DefaultExcludes are the Excludes used when BuildOptions.Excludes is nil.
func DefaultExcludes() []string {
	return []string{".git", ".svn", ".gitignore", "*.pyc", "WAPT/manifest.*", "WAPT/signature*"}
}

// srcFile is one payload file of a source directory.
type srcFile struct {
	name string // member name
	path string
	size int64
	mod  time.Time
	exec bool
}

// regenerated reports the members Build and Sign write themselves.
func regenerated(name string) bool {
	return name == ControlName || name == CertificateName || unlisted(name) ||
		strings.HasPrefix(name, "WAPT/manifest.") || strings.HasPrefix(name, "WAPT/signature")
}

// collect lists the payload files of src.
func collect(src string, excludes []string) ([]srcFile, error) {
	var (
		files []srcFile
		names = nameTree{}
	)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, pat := range excludes {
			subject := d.Name()
			if strings.Contains(pat, "/") {
				subject = rel
			}
			if ok, _ := path.Match(pat, subject); ok {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: %w: symbolic links are not allowed in a package", p, ErrUnsafePath)
		case t.IsDir():
			return nil
		case !t.IsRegular():
			return fmt.Errorf("%s: %w: not a regular file (%v)", p, ErrUnsafePath, t)
		}
		if regenerated(rel) {
			return nil
		}
		if err := checkName(rel); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := names.add(rel); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, srcFile{name: rel, path: p, size: fi.Size(), mod: fi.ModTime(), exec: fi.Mode()&0o111 != 0})
		return nil
	})
	return files, err
}

// checkBuildLimits refuses to build what Open with DefaultLimits would
// refuse.
func checkBuildLimits(files []srcFile) error {
	lim := DefaultLimits()
	if len(files)+4 > lim.MaxMembers {
		return largef("%d files (max %d)", len(files), lim.MaxMembers-4)
	}
	var total int64
	for _, f := range files {
		if f.size > lim.MaxMemberSize {
			return largef("%s: %d bytes (max %d)", f.path, f.size, lim.MaxMemberSize)
		}
		total += f.size
	}
	if total > lim.MaxTotalUncompressed-2*maxMetadataSize {
		return largef("%d bytes in total (max %d)", total, lim.MaxTotalUncompressed-2*maxMetadataSize)
	}
	return nil
}

// stripSignature removes the attributes a signature sets, and the index
// attributes, which describe a package file and cannot be inside it.
func stripSignature(c *control.Control) {
	for _, k := range control.SignatureAttributes {
		c.Del(k)
	}
	for _, k := range control.IndexAttributes {
		c.Del(k)
	}
}

// checkSigner checks a signer and its chain before anything is written.
func checkSigner(signer crypto.Signer, chain []*x509.Certificate, setup bool, now time.Time) error {
	switch {
	case len(chain) == 0:
		return errors.New("signing needs the signer's certificate chain")
	case !certs.KeyMatchesCert(signer, chain[0]):
		return fmt.Errorf("private key does not match certificate %q", chain[0].Subject.CommonName)
	case setup && !signing.IsCodeSigning(chain[0]):
		return fmt.Errorf("package has a setup.py: certificate %q: %w", chain[0].Subject.CommonName, signing.ErrNotCodeSigning)
	case now.Before(chain[0].NotBefore) || now.After(chain[0].NotAfter):
		return fmt.Errorf("certificate %q: %w", chain[0].Subject.CommonName, signing.ErrExpired)
	}
	return nil
}

// Build builds the package in srcDir (which holds WAPT/control) into
// OutDir/<control.Filename()> and returns its path and control. The
// control must Validate; signature and index attributes in it are dropped,
// and installed_size is set to the sum of the payload sizes when empty.
// Each source file is read once: hashed, then stored or deflated. The file
// is written to a temporary name and renamed when complete (no fsync).
// With o.Signer, the control is signed (signing.SignControl) and
// WAPT/certificate.crt, WAPT/manifest.sha256 and WAPT/signature.sha256 are
// added; a package with a setup.py needs a codeSigning certificate
// (signing.ErrNotCodeSigning, checked before anything is written).
// Symbolic links and special files in srcDir are errors naming them, and so
// are sources Open would refuse with DefaultLimits (ErrTooLarge).
func Build(ctx context.Context, srcDir string, o BuildOptions) (string, *control.Control, error) {
	src, err := filepath.Abs(srcDir)
	if err != nil {
		return "", nil, err
	}
	cpath := filepath.Join(src, filepath.FromSlash(ControlName))
	data, err := readFileMax(cpath, maxMetadataSize)
	if err != nil {
		return "", nil, err
	}
	c, err := control.Parse(cpath, data)
	if err != nil {
		return "", nil, err
	}
	if err := c.Validate(); err != nil {
		return "", nil, err
	}
	excludes := o.Excludes
	if excludes == nil {
		excludes = DefaultExcludes()
	}
	for _, pat := range excludes {
		if _, err := path.Match(pat, ""); err != nil {
			return "", nil, fmt.Errorf("build %s: exclude pattern %q: %w", src, pat, err)
		}
	}
	files, err := collect(src, excludes)
	if err != nil {
		return "", nil, err
	}
	if err := checkBuildLimits(files); err != nil {
		return "", nil, fmt.Errorf("build %s: %w", src, err)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	stripSignature(c)
	if strings.TrimSpace(c.Get("installed_size")) == "" {
		var total int64
		for _, f := range files {
			total += f.size
		}
		c.Set("installed_size", strconv.FormatInt(total, 10))
	}
	setup := false
	for _, f := range files {
		setup = setup || foldName(f.name) == setupName
	}
	if o.Signer != nil {
		if err := checkSigner(o.Signer, o.Chain, setup, now); err != nil {
			return "", nil, fmt.Errorf("build %s: %w", src, err)
		}
		if err := signing.SignControl(c, o.Signer, o.Chain[0], now, o.Rand); err != nil {
			return "", nil, fmt.Errorf("build %s: %w", src, err)
		}
	}
	outDir := o.OutDir
	if outDir == "" {
		outDir = filepath.Dir(src)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("build %s: %w", src, err)
	}
	name := c.Filename()
	if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return "", nil, fmt.Errorf("build %s: unusable package file name %q", src, name)
	}
	out := filepath.Join(outDir, name)
	err = writeAtomic(out, func(w io.Writer) error {
		pw := newPackWriter(w)
		if err := pw.addBytes(ControlName, c.Format(), now, false, true); err != nil {
			return err
		}
		if o.Signer != nil {
			if err := pw.addBytes(CertificateName, certs.EncodeCertsPEM(o.Chain...), now, false, true); err != nil {
				return err
			}
		}
		for _, f := range files {
			if err := pw.addFile(ctx, f.name, f.path, f.size, f.mod, f.exec); err != nil {
				return err
			}
		}
		return pw.finish(o.Signer, now)
	}, nil)
	if err != nil {
		return "", nil, fmt.Errorf("build %s: %w", out, err)
	}
	return out, c, nil
}

// finish appends the manifest and its signature (when signer is set) and
// closes the ZIP.
func (pw *packWriter) finish(signer crypto.Signer, now time.Time) error {
	if signer != nil {
		manifest, err := signing.MarshalManifest(pw.manifest)
		if err != nil {
			return err
		}
		sig, err := signing.SignManifest(signer, manifest)
		if err != nil {
			return err
		}
		if err := pw.addBytes(ManifestName, manifest, now, false, false); err != nil {
			return err
		}
		if err := pw.addBytes(SignatureName, sig, now, false, false); err != nil {
			return err
		}
	}
	return pw.zw.Close()
}

// writeAtomic writes path through a temporary file in the same directory,
// renamed over path once write succeeded and the file is closed; before
// the rename it calls release (when not nil), so that a file open on path
// is closed first (Windows cannot rename over an open file). The result has
// mode 0644.
func writeAtomic(path string, write func(w io.Writer) error, release func()) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if release != nil {
		release()
	}
	return os.Rename(f.Name(), path)
}

// readFileMax reads a file of at most max bytes.
func readFileMax(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", name, ErrTooLarge, max)
	}
	return data, nil
}

// Sign signs the package at path again, in place (a temporary file renamed
// over it): the control gets a new signature (signing.SignControl), the
// certificate, manifest and signature members are replaced, and every other
// member is copied without recompression while its size, deflate stream
// and CRC are checked and its SHA-256 computed for the new manifest. The
// package is opened with DefaultLimits; its old signature is not checked.
// A package with a setup.py needs a codeSigning certificate
// (signing.ErrNotCodeSigning, checked before anything is written).
func Sign(ctx context.Context, path string, signer crypto.Signer, chain []*x509.Certificate, now time.Time, rnd io.Reader) (*control.Control, error) {
	if signer == nil {
		return nil, fmt.Errorf("sign %s: no signer", path)
	}
	p, err := Open(path, DefaultLimits())
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if err := checkSigner(signer, chain, p.HasSetupPy(), now); err != nil {
		return nil, fmt.Errorf("sign %s: %w", path, err)
	}
	c := p.control.Clone()
	stripSignature(c)
	if err := signing.SignControl(c, signer, chain[0], now, rnd); err != nil {
		return nil, fmt.Errorf("sign %s: %w", path, err)
	}
	err = writeAtomic(path, func(w io.Writer) error {
		pw := newPackWriter(w)
		if err := pw.addBytes(ControlName, c.Format(), now, false, true); err != nil {
			return err
		}
		if err := pw.addBytes(CertificateName, certs.EncodeCertsPEM(chain...), now, false, true); err != nil {
			return err
		}
		for _, e := range p.entries {
			if regenerated(e.name) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := pw.copyRaw(ctx, p.r, e); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		return pw.finish(signer, now)
	}, func() { p.Close() })
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", path, err)
	}
	return c, nil
}
