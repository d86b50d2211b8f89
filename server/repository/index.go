package repository

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

// maxSigFile bounds the Packages.sig read at startup.
const maxSigFile = 1 << 20

// load reads or rebuilds the index at startup (see NewWithConfig).
func (w *writer) load(ctx context.Context) error {
	w.removeUploads()
	w.version = sigVersion(filepath.Join(w.dir, repoindex.SigFile))
	data, err := readBounded(filepath.Join(w.dir, repoindex.PackagesFile), repoindex.DefaultMaxSize)
	var ix *repoindex.Index
	if err == nil {
		ix, err = repoindex.Parse(data, 0)
	}
	changed := false
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.cfg.Logf("repository: %s unreadable, scanning %s: %v", repoindex.PackagesFile, w.dir, err)
		}
		w.recoverSetAside(nil)
		// Scan logs the packages it leaves out.
		ix, _, err = repoindex.Scan(ctx, w.dir, nil, repoindex.ScanOptions{
			Limits: w.cfg.Limits, Trust: w.cfg.Trust, Now: w.cfg.Now(), Logf: w.cfg.Logf,
		})
		if err != nil {
			return err
		}
		changed = true
	} else {
		w.recoverSetAside(ix)
		if changed, err = w.reconcile(ctx, ix); err != nil {
			return err
		}
	}
	w.ix = ix
	if changed {
		if err := w.writeIndex(ix); err != nil {
			return err
		}
	} else {
		w.packages = data
		sig, err := readBounded(filepath.Join(w.dir, repoindex.SigFile), maxSigFile)
		if err == nil {
			var info repoindex.SigInfo
			info, err = repoindex.VerifyIndex(sig, data, signing.NewTrust(w.cfg.RepoChain[0]), w.cfg.Now(), w.cfg.RepoName, 0)
			if err == nil {
				w.sig, w.expires, w.version = sig, info.Expires, max(w.version, info.Version)
			}
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.cfg.Logf("repository: signing the index again: %v", err)
			}
			if err := w.resign(); err != nil {
				return err
			}
		}
	}
	w.commit(ix)
	return nil
}

// commit publishes ix as the current index. w.mu is held (or w is not
// shared yet).
func (w *writer) commit(ix *repoindex.Index) {
	w.ix = ix
	entries := ix.Entries
	w.snap.Store(&entries)
}

// nextVersion returns the version of the next Packages.sig.
func (w *writer) nextVersion() int64 {
	return max(w.version+1, w.cfg.Now().Unix())
}

// writeIndex writes Packages and a new Packages.sig for ix. When it fails,
// the previous files are put back. w.mu is held.
func (w *writer) writeIndex(ix *repoindex.Index) error {
	now := w.cfg.Now()
	info := &repoindex.SigInfo{
		Repo: w.cfg.RepoName, Version: w.nextVersion(), Issued: now, Expires: now.Add(w.cfg.IndexValidity),
	}
	err := repoindex.WriteFiles(w.dir, ix, info, w.cfg.RepoSigner, w.chain())
	var data, sig []byte
	if err == nil {
		data, err = os.ReadFile(filepath.Join(w.dir, repoindex.PackagesFile))
	}
	if err == nil {
		sig, err = os.ReadFile(filepath.Join(w.dir, repoindex.SigFile))
	}
	if err != nil {
		if w.packages != nil {
			for name, b := range map[string][]byte{repoindex.PackagesFile: w.packages, repoindex.SigFile: w.sig} {
				if b == nil {
					continue
				}
				if err := atomicfile.WriteFile(filepath.Join(w.dir, name), b, 0o644); err != nil {
					w.cfg.Logf("repository: restore %s: %v", name, err)
				}
			}
		}
		return fmt.Errorf("write index: %w", err)
	}
	w.packages, w.sig, w.version, w.expires = data, sig, info.Version, info.Expires
	return nil
}

// chain is the repository key's current certificate chain.
func (w *writer) chain() []*x509.Certificate {
	if f := w.cfg.RepoChainNow; f != nil {
		if c := f(); len(c) > 0 && c[0] != nil && certs.KeyMatchesCert(w.cfg.RepoSigner, c[0]) {
			return c
		}
	}
	return w.cfg.RepoChain
}

// resign writes a new Packages.sig for the current Packages bytes (a new
// version and expiry; Packages itself is not rewritten, so its validators
// do not change). w.mu is held.
func (w *writer) resign() error {
	now := w.cfg.Now()
	info := repoindex.SigInfo{
		Repo: w.cfg.RepoName, Version: w.nextVersion(), Issued: now, Expires: now.Add(w.cfg.IndexValidity),
	}
	sig, err := repoindex.SignIndex(w.packages, info, w.cfg.RepoSigner, w.chain())
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(w.dir, repoindex.SigFile), sig, 0o644)
	}
	if err != nil {
		return fmt.Errorf("sign index: %w", err)
	}
	w.sig, w.version, w.expires = sig, info.Version, info.Expires
	return nil
}

// Resign signs the unchanged index again: a Packages.sig with a new version
// and expiry.
func (r *Repo) Resign(ctx context.Context) error {
	w := r.w
	if w == nil {
		return ErrReadOnly
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.resign(); err != nil {
		return fmt.Errorf("repository: %w", err)
	}
	w.cfg.Logf("repository: index signed again (version %d, expires %s)", w.version, w.expires.UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}

// RunResigner signs the index again whenever less than a third of
// Config.IndexValidity remains before it expires, checking at once and then
// every minute, until ctx ends (it then returns nil). Failures are logged
// and retried at the next check.
func (r *Repo) RunResigner(ctx context.Context) error {
	w := r.w
	if w == nil {
		return ErrReadOnly
	}
	check := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.expires.Sub(w.cfg.Now()) >= w.cfg.IndexValidity/3 {
			return
		}
		if err := w.resign(); err != nil {
			w.cfg.Logf("repository: %v", err)
			return
		}
		w.cfg.Logf("repository: index signed again (version %d)", w.version)
	}
	check()
	t := time.NewTicker(w.checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			check()
		}
	}
}

// IndexVersion returns the version of the current Packages.sig (0 for a
// read-only repository).
func (r *Repo) IndexVersion() int64 {
	if r.w == nil {
		return 0
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.w.version
}

// removeUploads removes the temporary files of uploads a stop interrupted.
func (w *writer) removeUploads() {
	des, _ := os.ReadDir(w.dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), uploadPrefix) {
			if err := os.Remove(filepath.Join(w.dir, de.Name())); err == nil {
				w.cfg.Logf("repository: removed the interrupted upload %s", de.Name())
			}
		}
	}
}

// recoverSetAside finishes or undoes the changes a stop interrupted between
// setting published files aside and writing the index. The index on disk
// decides: a file set aside is put back when the index lists it with the
// set-aside content and the file in place (if any) differs; otherwise it is
// removed. Without an index (ix nil) it is put back when its name is free.
func (w *writer) recoverSetAside(ix *repoindex.Index) {
	des, _ := os.ReadDir(w.dir)
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), prevPrefix) {
			continue
		}
		name := strings.TrimPrefix(de.Name(), prevPrefix)
		aside, path := filepath.Join(w.dir, de.Name()), filepath.Join(w.dir, name)
		var back bool
		if ix == nil {
			_, err := os.Lstat(path)
			back = errors.Is(err, fs.ErrNotExist)
		} else if e := entryOf(ix, name); e != nil {
			back = !fileMatches(path, e) && fileMatches(aside, e)
		}
		var err error
		if back {
			err = os.Rename(aside, path)
			w.cfg.Logf("repository: %s put back after an interrupted change", name)
		} else {
			err = os.Remove(aside)
		}
		if err != nil {
			w.cfg.Logf("repository: recover %s: %v", de.Name(), err)
		}
	}
}

// fileMatches reports whether the file at path has the size and hash of
// index entry e (sha256, else md5sum).
func fileMatches(path string, e *control.Control) bool {
	want, h := e.Get("sha256"), hash.Hash(sha256.New())
	if want == "" {
		want, h = e.Get("md5sum"), md5.New()
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	return err == nil && strconv.FormatInt(n, 10) == e.Get("size") &&
		strings.EqualFold(hex.EncodeToString(h.Sum(nil)), want)
}

// reconcile makes ix agree with the package files of wapt/ by their names
// and sizes: entries whose file is gone are dropped, and files not listed
// (or whose size changed) are indexed when they verify against Trust; an
// entry they replace (same package, version, architecture, maturity and
// locale) has its file removed. It reports whether ix changed.
func (w *writer) reconcile(ctx context.Context, ix *repoindex.Index) (bool, error) {
	des, err := os.ReadDir(w.dir)
	if err != nil {
		return false, err
	}
	sizes := map[string]string{}
	var names []string
	for _, de := range des {
		name := de.Name()
		if !strings.HasSuffix(name, ".wapt") || strings.HasPrefix(name, ".") || !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		sizes[name] = strconv.FormatInt(fi.Size(), 10)
		names = append(names, name)
	}
	changed := false
	listed := map[string]bool{}
	for _, e := range append([]*control.Control(nil), ix.Entries...) {
		fn := e.Get("filename")
		size, ok := sizes[fn]
		switch {
		case !ok:
			w.cfg.Logf("repository: %s is indexed but missing: dropped from the index", fn)
		case e.Has("size") && e.Get("size") != size:
			w.cfg.Logf("repository: %s changed since it was indexed: reading it again", fn)
		default:
			listed[fn] = true
			continue
		}
		ix.Remove(fn)
		changed = true
	}
	for _, name := range names {
		if listed[name] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		path := filepath.Join(w.dir, name)
		c, err := w.verifyFile(ctx, path)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			w.cfg.Logf("repository: %s not indexed: %v", name, err)
			continue
		}
		if c.Section() == "host" {
			w.cfg.Logf("repository: %s is a host package: not indexed (host packages belong in %s/)", name, HostDir)
			continue
		}
		before := make([]string, 0, len(ix.Entries))
		for _, e := range ix.Entries {
			before = append(before, e.Get("filename"))
		}
		if _, err := ix.Add(ctx, path, w.cfg.Limits); err != nil {
			w.cfg.Logf("repository: %s not indexed: %v", name, err)
			continue
		}
		changed = true
		listed[name] = true
		w.cfg.Logf("repository: %s indexed", name)
		after := make(map[string]bool, len(ix.Entries))
		for _, e := range ix.Entries {
			after[e.Get("filename")] = true
		}
		for _, fn := range before {
			if !after[fn] {
				w.cfg.Logf("repository: %s replaced by %s: removed", fn, name)
				delete(listed, fn)
				if err := os.Remove(filepath.Join(w.dir, fn)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return false, err
				}
			}
		}
	}
	return changed, nil
}

// verifyFile opens and verifies the package at path.
func (w *writer) verifyFile(ctx context.Context, path string) (*control.Control, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return w.verify(ctx, f, fi.Size(), path)
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes", path, max)
	}
	return data, nil
}

// sigVersion returns the version of the Packages.sig at path, unverified
// (0 when missing or unreadable): versions continue from it even when the
// repository key changed.
func sigVersion(path string) int64 {
	data, err := readBounded(path, maxSigFile)
	if err != nil {
		return 0
	}
	var f struct {
		Version int64 `json:"version"`
	}
	if json.Unmarshal(data, &f) != nil {
		return 0
	}
	return max(f.Version, 0)
}
