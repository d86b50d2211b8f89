package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RepoUpdate is the outcome of updating one repository.
type RepoUpdate struct {
	Repo     string
	Changed  bool  // a new index was fetched and stored
	Version  int64 // Packages.sig version now stored
	Signed   bool  // false: WAPT-compat repository without Packages.sig
	Packages int
	Err      error // the repository was refused or unreachable; its previous state is kept
}

// UpdateResult is the outcome of Update.
type UpdateResult struct {
	Repos       []RepoUpdate
	HostPackage string // path of the verified host package, "" when none
	HostErr     error
}

// Update fetches every repository index (one conditional request each when
// nothing changed), verifies and stores the new ones, and fetches this
// host's package. A refused repository keeps its previous state; the error
// of each is in the result and joined in the returned error.
func (e *Engine) Update(ctx context.Context) (UpdateResult, error) {
	var res UpdateResult
	var errs []error
	now := e.cfg.Now()
	for _, r := range e.cfg.Repos {
		ru := RepoUpdate{Repo: r.Name}
		prev, err := e.cfg.Store.RepoState(ctx, r.Name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return res, err
		}
		if prev.URL != "" && prev.URL != r.URL {
			// Another URL for the same name: start over, but never accept a
			// lower signed version than the one seen.
			prev.ETag, prev.LastModified, prev.Index = "", "", nil
		}
		up, err := e.cfg.Fetcher.FetchIndex(ctx, r, prev, now)
		if err != nil {
			ru.Err = fmt.Errorf("repository %s (%s): %w", r.Name, r.URL, err)
			ru.Version, ru.Signed = prev.IndexVersion, prev.Signed
			errs = append(errs, ru.Err)
			res.Repos = append(res.Repos, ru)
			continue
		}
		if up.NotModified {
			ru.Version, ru.Signed = prev.IndexVersion, prev.Signed
			if ix, err := parseIndex(prev.Index); err == nil {
				ru.Packages = len(ix.Entries)
			}
			res.Repos = append(res.Repos, ru)
			continue
		}
		st := RepoState{
			Repo: r.Name, URL: r.URL, ETag: up.ETag, LastModified: up.LastModified,
			IndexVersion: prev.IndexVersion, Signed: up.Signed, Index: up.Raw, UpdatedAt: now,
		}
		if up.Signed {
			st.IndexVersion, st.IndexExpires = up.Info.Version, up.Info.Expires
		} else {
			e.cfg.Logf("WARNING: repository %s (%s) has no Packages.sig: its index is not protected against rollback or tampering (WAPT-compat mode)", r.Name, r.URL)
		}
		if err := e.cfg.Store.SaveRepoState(ctx, st); err != nil {
			ru.Err = fmt.Errorf("repository %s: %w", r.Name, err)
			errs = append(errs, ru.Err)
			res.Repos = append(res.Repos, ru)
			continue
		}
		ru.Changed, ru.Version, ru.Signed = true, st.IndexVersion, st.Signed
		if up.Index != nil {
			ru.Packages = len(up.Index.Entries)
		}
		res.Repos = append(res.Repos, ru)
	}

	if e.cfg.Host.UseHostPackages {
		path, err := e.updateHostPackage(ctx)
		res.HostPackage, res.HostErr = path, err
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// hostPackagePath is where the verified host package is kept.
func (e *Engine) hostPackagePath(uuid string) string {
	return filepath.Join(e.cfg.CacheDir, "host", uuid+".wapt")
}

// updateHostPackage fetches <uuid>.wapt from the first repository serving
// host packages, verifies it, and keeps it. No host package is not an error.
func (e *Engine) updateHostPackage(ctx context.Context) (string, error) {
	uuid, err := e.HostUUID(ctx)
	if err != nil {
		return "", err
	}
	final := e.hostPackagePath(uuid)
	for _, r := range e.cfg.Repos {
		if r.HostURL == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
			return "", err
		}
		tmp := final + ".new"
		err := e.cfg.Fetcher.FetchHostPackage(ctx, r, uuid, tmp, e.cfg.Limits.MaxFileSize)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("host package from %s: %w", r.Name, err)
		}
		if _, err := e.verifyFile(ctx, tmp, r); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("host package from %s: %w", r.Name, err)
		}
		if err := os.Rename(tmp, final); err != nil {
			return "", err
		}
		return final, nil
	}
	// The server has none (any more): forget the stale copy.
	if err := os.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return "", nil
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
