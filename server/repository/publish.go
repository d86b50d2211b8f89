package repository

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

// Errors of the write side.
var (
	// ErrRefused reports an upload that is not published: not a package,
	// corrupt, unsigned, untrusted, expired signer, setup.py without
	// codeSigning, too large, or older than the published file of the same
	// name. The error also wraps the pkgfile, signing or control sentinel
	// that says why.
	ErrRefused = errors.New("package refused")
	// ErrTooLarge reports an upload beyond Config.Limits (the file, or the
	// members it announces); it always comes with ErrRefused.
	ErrTooLarge = pkgfile.ErrTooLarge
	// ErrReadOnly is returned by the write methods of a repository opened
	// without a repository key.
	ErrReadOnly = errors.New("repository is read-only (no repository key)")
)

// Defaults of Config.
const (
	DefaultRepoName      = "wapt"
	DefaultIndexValidity = 72 * time.Hour
)

// Dot-prefixed names of transient files in wapt/: never served (cleanName
// hides dot files) and skipped by repoindex.Scan.
const (
	uploadPrefix = ".upload-" // an upload being received or verified
	prevPrefix   = ".prev-"   // a published file set aside until the index is written
)

// Config configures a writable repository (NewWithConfig).
type Config struct {
	Root string // the folder holding wapt/ and wapt-host/
	// Trust holds the admin CAs (or admin certificates) whose signatures
	// may publish packages.
	Trust *signing.Trust
	// RepoSigner and RepoChain (its certificate first) sign Packages.sig.
	// Without RepoSigner the repository is read-only.
	RepoSigner crypto.Signer
	RepoChain  []*x509.Certificate
	// RepoChainNow, when set, gives the current chain of RepoSigner at each
	// signature (its certificate is renewed while the server runs); a chain
	// whose certificate does not match RepoSigner is ignored for RepoChain.
	RepoChainNow func() []*x509.Certificate
	// RepoName is the "repo" field of Packages.sig (default "wapt").
	RepoName string
	// IndexValidity is how long a Packages.sig is valid (default 72h);
	// RunResigner signs again when less than a third of it remains.
	IndexValidity time.Duration
	// Limits bound each upload (zero value: pkgfile.DefaultLimits()).
	Limits pkgfile.Limits
	Now    func() time.Time                 // default time.Now
	Logf   func(format string, args ...any) // default: discard
}

// writer is the write side of a Repo.
type writer struct {
	cfg        Config
	dir        string // wapt/
	hostDir    string // wapt-host/
	checkEvery time.Duration

	// mu serializes every change of the files or the index, so that the
	// published packages and the index always agree.
	mu       sync.Mutex
	ix       *repoindex.Index // as written; replaced on change, never modified
	packages []byte           // wapt/Packages as written
	sig      []byte           // wapt/Packages.sig as written
	version  int64
	expires  time.Time

	snap atomic.Pointer[[]*control.Control] // ix.Entries for Packages()
}

// NewWithConfig opens (creating when missing) the repository tree under
// cfg.Root. Without cfg.RepoSigner it is New. With it the repository is
// writable: it loads wapt/Packages (or, when missing or unreadable, scans
// wapt/ once), completes or undoes a change a crash interrupted, indexes
// packages found in wapt/ but not listed (when they verify against
// cfg.Trust), drops entries whose file is gone, and writes a signed index
// when anything changed or Packages.sig is missing, invalid or expired.
func NewWithConfig(ctx context.Context, cfg Config) (*Repo, error) {
	r, err := New(cfg.Root)
	if err != nil {
		return nil, err
	}
	if cfg.RepoSigner == nil {
		return r, nil
	}
	if len(cfg.RepoChain) == 0 || cfg.RepoChain[0] == nil || !certs.KeyMatchesCert(cfg.RepoSigner, cfg.RepoChain[0]) {
		r.Close()
		return nil, errors.New("repository: the repository key does not match RepoChain[0]")
	}
	if cfg.RepoName == "" {
		cfg.RepoName = DefaultRepoName
	}
	if cfg.IndexValidity <= 0 {
		cfg.IndexValidity = DefaultIndexValidity
	}
	if cfg.Limits == (pkgfile.Limits{}) {
		cfg.Limits = pkgfile.DefaultLimits()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	w := &writer{
		cfg:        cfg,
		dir:        filepath.Join(cfg.Root, PublicDir),
		hostDir:    filepath.Join(cfg.Root, HostDir),
		checkEvery: time.Minute,
	}
	if err := w.load(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("repository: %w", err)
	}
	r.w = w
	return r, nil
}

// refuse wraps err with ErrRefused.
func refuse(err error) error { return fmt.Errorf("%w: %w", ErrRefused, err) }

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Upload receives one .wapt (size bytes, or -1 when unknown) and publishes
// it. The upload is streamed to a hidden temporary file in wapt/ (at most
// Limits.MaxFileSize bytes), opened strictly and verified in full against
// Config.Trust at Config.Now (pkgfile.Verify: a signature chaining to an
// anchor, valid dates, codeSigning when it holds a setup.py, every member
// hashed). A refused upload returns an error wrapping ErrRefused and the
// reason's sentinel, and leaves the repository as it was.
//
// A host package (section host) is stored as wapt-host/<package>.wapt and
// not indexed; any other as wapt/<control.Filename()>, then added to the
// index, which is written and signed again before Upload returns. A file of
// the same name is replaced unless the new package's signature_date is
// older. It returns the package's control (for an indexed package, its
// index entry, with filename, size, md5sum and sha256).
func (r *Repo) Upload(ctx context.Context, src io.Reader, size int64) (*control.Control, error) {
	w := r.w
	if w == nil {
		return nil, ErrReadOnly
	}
	lim := w.cfg.Limits
	if size > lim.MaxFileSize {
		return nil, refuse(fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, lim.MaxFileSize))
	}
	tmp, err := os.CreateTemp(w.dir, uploadPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("repository: upload: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // gone already once published
	}()
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, src}, min(lim.MaxFileSize, math.MaxInt64-1)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("repository: upload: receive: %w", err)
	case n > lim.MaxFileSize:
		return nil, refuse(fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxFileSize))
	case size >= 0 && n != size:
		return nil, refuse(fmt.Errorf("received %d bytes, announced %d", n, size))
	}
	if err := errors.Join(tmp.Chmod(0o644), tmp.Sync()); err != nil {
		return nil, fmt.Errorf("repository: upload: %w", err)
	}
	c, err := w.verify(ctx, tmp, n, "uploaded package")
	if err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("repository: upload: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Section() == "host" {
		return w.publishHost(tmp.Name(), c)
	}
	return w.publish(ctx, tmp.Name(), c)
}

// verify opens the package in f strictly and verifies it; errors other than
// ctx's wrap ErrRefused.
func (w *writer) verify(ctx context.Context, f io.ReaderAt, size int64, name string) (*control.Control, error) {
	p, err := pkgfile.OpenReader(f, size, name, w.cfg.Limits)
	if err != nil {
		return nil, refuse(err)
	}
	if _, err := p.Verify(ctx, w.cfg.Trust, w.cfg.Now()); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, refuse(err)
	}
	c := p.Control().Clone()
	if fn := c.Filename(); strings.HasPrefix(fn, ".") {
		return nil, refuse(fmt.Errorf("%w: package %q would be stored as the hidden file %q", control.ErrInvalid, c.Package(), fn))
	}
	return c, nil
}

// olderThan reports whether c was signed before old (signature_date);
// unreadable dates compare as not older.
func olderThan(c, old *control.Control) bool {
	a, err1 := time.Parse(signing.SignatureDateLayout, c.Get("signature_date"))
	b, err2 := time.Parse(signing.SignatureDateLayout, old.Get("signature_date"))
	return err1 == nil && err2 == nil && a.Before(b)
}

func refuseOlder(c, old *control.Control, fn string) error {
	return refuse(fmt.Errorf("%s: signed %s, older than the published file (signed %s)",
		fn, c.Get("signature_date"), old.Get("signature_date")))
}

// publishHost moves a verified host package into wapt-host/. w.mu is held.
func (w *writer) publishHost(tmp string, c *control.Control) (*control.Control, error) {
	fn := c.Filename()
	dest := filepath.Join(w.hostDir, fn)
	if old, _, err := pkgfile.ReadControl(dest, w.cfg.Limits); err == nil && olderThan(c, old) {
		return nil, refuseOlder(c, old, fn)
	}
	if err := os.Rename(tmp, dest); err != nil {
		// wapt-host/ on another file system: copy.
		err = atomicfile.Write(dest, 0o644, func(out io.Writer) error {
			f, err := os.Open(tmp)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(out, f)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("repository: publish %s: %w", fn, err)
		}
	}
	atomicfile.SyncDir(w.hostDir)
	w.cfg.Logf("repository: published host package %s", fn)
	c.Set("filename", fn)
	return c, nil
}

// publish moves a verified package into wapt/ and writes the index with it.
// On any failure the files and the index are left as they were. w.mu is held.
func (w *writer) publish(ctx context.Context, tmp string, c *control.Control) (*control.Control, error) {
	fn := c.Filename()
	if old := entryOf(w.ix, fn); old != nil && olderThan(c, old) {
		return nil, refuseOlder(c, old, fn)
	}
	dest := filepath.Join(w.dir, fn)
	var set setAside
	fail := func(err error) (*control.Control, error) {
		if !slices.Contains(set.names, fn) {
			os.Remove(dest)
		}
		set.restore(w)
		return nil, fmt.Errorf("repository: publish %s: %w", fn, err)
	}
	if err := set.hide(w, fn); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fail(err)
	}
	next := cloneIndex(w.ix)
	e, err := next.Add(ctx, dest, w.cfg.Limits)
	if err != nil {
		return fail(err)
	}
	// An entry of the same package, version, architecture, maturity and
	// locale under another file name was replaced: withdraw its file too.
	kept := make(map[string]bool, len(next.Entries))
	for _, e := range next.Entries {
		kept[e.Get("filename")] = true
	}
	for _, old := range w.ix.Entries {
		if name := old.Get("filename"); !kept[name] {
			if err := set.hide(w, name); err != nil {
				return fail(err)
			}
		}
	}
	if err := w.writeIndex(next); err != nil {
		return fail(err)
	}
	set.drop(w)
	w.commit(next)
	w.cfg.Logf("repository: published %s (index version %d)", fn, w.version)
	return e.Clone(), nil
}

// setAside tracks published files renamed to prevPrefix+name until the new
// index is written: restore puts them back, drop removes them.
type setAside struct{ names []string }

func (s *setAside) hide(w *writer, name string) error {
	err := os.Rename(filepath.Join(w.dir, name), filepath.Join(w.dir, prevPrefix+name))
	switch {
	case err == nil:
		s.names = append(s.names, name)
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return err
}

func (s *setAside) restore(w *writer) {
	for _, name := range s.names {
		if err := os.Rename(filepath.Join(w.dir, prevPrefix+name), filepath.Join(w.dir, name)); err != nil {
			w.cfg.Logf("repository: restore %s: %v", name, err)
		}
	}
	s.names = nil
}

func (s *setAside) drop(w *writer) {
	for _, name := range s.names {
		if err := os.Remove(filepath.Join(w.dir, prevPrefix+name)); err != nil {
			w.cfg.Logf("repository: remove %s: %v", prevPrefix+name, err)
		}
	}
	s.names = nil
}

// Delete withdraws the package wapt/<filename>: it leaves the index, which
// is written and signed again, and its file is removed. A file present but
// not indexed is just removed. ErrNotFound when there is neither.
func (r *Repo) Delete(ctx context.Context, filename string) error {
	w := r.w
	if w == nil {
		return ErrReadOnly
	}
	if err := plainName(filename); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	path := filepath.Join(w.dir, filename)
	if entryOf(w.ix, filename) == nil {
		fi, err := os.Lstat(path)
		if err != nil || !fi.Mode().IsRegular() {
			return ErrNotFound
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("repository: delete %s: %w", filename, err)
		}
		w.cfg.Logf("repository: removed %s (not indexed)", filename)
		return nil
	}
	var set setAside
	if err := set.hide(w, filename); err != nil {
		return fmt.Errorf("repository: delete %s: %w", filename, err)
	}
	next := cloneIndex(w.ix)
	next.Remove(filename)
	if err := w.writeIndex(next); err != nil {
		set.restore(w)
		return fmt.Errorf("repository: delete %s: %w", filename, err)
	}
	set.drop(w)
	w.commit(next)
	w.cfg.Logf("repository: deleted %s (index version %d)", filename, w.version)
	return nil
}

// plainName checks a package file name of wapt/: one plain segment ending
// in .wapt (ErrBadPath), not hidden (ErrNotFound).
func plainName(name string) error {
	if !strings.HasSuffix(name, ".wapt") || strings.ContainsAny(name, "/\\:\x00") || name != strings.TrimSpace(name) {
		return ErrBadPath
	}
	if strings.HasPrefix(name, ".") {
		return ErrNotFound
	}
	return nil
}

// hostFilename returns the file name of the host package of uuid (the
// name Upload gives it).
func hostFilename(uuid string) (string, error) {
	if uuid == "" || strings.ContainsAny(uuid, "/\\\x00") {
		return "", ErrBadPath
	}
	c := control.New()
	c.Set("package", uuid)
	c.Set("section", "host")
	fn := c.Filename()
	if strings.HasPrefix(fn, ".") || fn == ".wapt" {
		return "", ErrBadPath
	}
	return fn, nil
}

// HostPackage returns the path of the host package of uuid (the host's
// package name), or ErrNotFound.
func (r *Repo) HostPackage(uuid string) (string, error) {
	fn, err := hostFilename(uuid)
	if err != nil {
		return "", err
	}
	path := filepath.Join(r.root, HostDir, fn)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return "", ErrNotFound
	}
	return path, nil
}

// DeleteHost removes the host package of uuid, or returns ErrNotFound.
func (r *Repo) DeleteHost(ctx context.Context, uuid string) error {
	w := r.w
	if w == nil {
		return ErrReadOnly
	}
	fn, err := hostFilename(uuid)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(w.hostDir, fn)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return fmt.Errorf("repository: delete host package %s: %w", fn, err)
	}
	w.cfg.Logf("repository: deleted host package %s", fn)
	return nil
}

// Packages returns a copy of the index entries (nil for a read-only
// repository).
func (r *Repo) Packages() []*control.Control {
	if r.w == nil {
		return nil
	}
	snap := *r.w.snap.Load()
	out := make([]*control.Control, len(snap))
	for i, c := range snap {
		out[i] = c.Clone()
	}
	return out
}

// entryOf returns the entry of ix for filename, or nil.
func entryOf(ix *repoindex.Index, filename string) *control.Control {
	for _, e := range ix.Entries {
		if e.Get("filename") == filename {
			return e
		}
	}
	return nil
}

// cloneIndex returns a copy of ix that Add and Remove can change without
// touching ix (entries are shared: they are replaced, never modified).
func cloneIndex(ix *repoindex.Index) *repoindex.Index {
	out := &repoindex.Index{
		Entries: slices.Clone(ix.Entries),
		Certs:   make(map[string]*x509.Certificate, len(ix.Certs)),
	}
	for k, v := range ix.Certs {
		out.Certs[k] = v
	}
	return out
}
