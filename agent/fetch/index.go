package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/repoindex"
)

// FetchIndex makes one conditional GET of <repo.URL>/Packages. On 304 it
// returns IndexUpdate{NotModified: true} and sends nothing else. On 200 it
// fetches Packages.sig and verifies it against repo.IndexTrustOrDefault() at now (rollback
// against prev.IndexVersion, freeze, mix-and-match, untrusted signer): a
// refusal wraps engine.ErrBadRepository and the repoindex sentinel. When the
// signature does not match the index, the pair is fetched once more (the
// repository may have been rewritten between the two GETs). Without
// Packages.sig the index is accepted only when repo.AllowUnsigned and prev
// was not signed; otherwise the error wraps engine.ErrUnprotected.
//
// The conditional headers are sent only when prev holds an index that the
// current configuration still accepts (signed, or unsigned with
// AllowUnsigned), so that a 304 never keeps an index the agent would refuse.
func (f *Fetcher) FetchIndex(ctx context.Context, repo engine.Repo, prev engine.RepoState, now time.Time) (engine.IndexUpdate, error) {
	if repo.URL == "" {
		return engine.IndexUpdate{}, fmt.Errorf("repository %q: no URL", repo.Name)
	}
	pkgURL := joinURL(repo.URL, repoindex.PackagesFile)
	hdr := map[string]string{}
	// An expired signed index is never revalidated by a 304: a server (or a
	// man in the middle) answering 304 forever must not freeze the agent.
	fresh := !prev.Signed || prev.IndexExpires.IsZero() || now.Before(prev.IndexExpires)
	if len(prev.Index) > 0 && (prev.Signed || repo.AllowUnsigned) && fresh {
		if prev.ETag != "" {
			hdr["If-None-Match"] = prev.ETag
		}
		if prev.LastModified != "" {
			hdr["If-Modified-Since"] = prev.LastModified
		}
	}
	for attempt := 1; ; attempt++ {
		up, sig, err := f.fetchPair(ctx, repo, hdr)
		if err != nil || up.NotModified {
			return up, err
		}
		if sig == nil {
			return f.unsigned(repo, prev, up)
		}
		if attempt == 1 && !sigCovers(sig, up.Raw) {
			// Packages and Packages.sig are renamed into place one after
			// the other: we may have read one of each generation.
			f.logf("fetch: %s: Packages.sig does not match Packages; fetching both again", redact(pkgURL))
			hdr = nil
			continue
		}
		info, err := repoindex.VerifyIndex(sig, up.Raw, repo.IndexTrustOrDefault(), now, "", prev.IndexVersion)
		if err != nil {
			return engine.IndexUpdate{}, refused(repo, err)
		}
		if prev.Signed && len(prev.Index) > 0 && info.Version == prev.IndexVersion && !bytes.Equal(up.Raw, prev.Index) {
			return engine.IndexUpdate{}, refused(repo, fmt.Errorf("%w: version %d already seen with other content", repoindex.ErrRollback, info.Version))
		}
		ix, err := repoindex.Parse(up.Raw, info.Size)
		if err != nil {
			return engine.IndexUpdate{}, refused(repo, err)
		}
		up.Index, up.Info, up.Signed = ix, info, true
		return up, nil
	}
}

// fetchPair GETs Packages (with hdr) and, when it changed, Packages.sig; sig
// is nil when the repository has none.
func (f *Fetcher) fetchPair(ctx context.Context, repo engine.Repo, hdr map[string]string) (up engine.IndexUpdate, sig []byte, err error) {
	pkgURL := joinURL(repo.URL, repoindex.PackagesFile)
	r, err := f.get(ctx, pkgURL, hdr)
	if err != nil {
		return up, nil, err
	}
	defer r.Close()
	switch r.status {
	case http.StatusNotModified:
		return engine.IndexUpdate{NotModified: true}, nil, nil
	case http.StatusOK:
	default:
		return up, nil, statusError(pkgURL, r)
	}
	raw, ok, err := readBounded(r.body, f.maxIndexSize)
	switch {
	case err != nil:
		return up, nil, fmt.Errorf("GET %s: %w", redact(pkgURL), err)
	case !ok:
		return up, nil, refused(repo, fmt.Errorf("%w: Packages larger than %d bytes", repoindex.ErrBadIndex, f.maxIndexSize))
	}
	up = engine.IndexUpdate{Raw: raw, ETag: r.header.Get("ETag"), LastModified: r.header.Get("Last-Modified")}
	r.Close() // let the connection serve the next request

	sigURL := joinURL(repo.URL, repoindex.SigFile)
	s, err := f.get(ctx, sigURL, nil)
	if err != nil {
		return up, nil, err
	}
	defer s.Close()
	switch s.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		return up, nil, nil
	default:
		return up, nil, statusError(sigURL, s)
	}
	sig, ok, err = readBounded(s.body, maxSigSize)
	switch {
	case err != nil:
		return up, nil, fmt.Errorf("GET %s: %w", redact(sigURL), err)
	case !ok:
		return up, nil, refused(repo, fmt.Errorf("%w: larger than %d bytes", repoindex.ErrIndexSignature, maxSigSize))
	}
	return up, sig, nil
}

// unsigned decides on an index served without Packages.sig.
func (f *Fetcher) unsigned(repo engine.Repo, prev engine.RepoState, up engine.IndexUpdate) (engine.IndexUpdate, error) {
	u := redact(repo.URL)
	switch {
	case !repo.AllowUnsigned:
		return engine.IndexUpdate{}, fmt.Errorf("repository %s has no Packages.sig: %w (allow unsigned indexes only for WAPT-compatible repositories)", u, engine.ErrUnprotected)
	case prev.Signed:
		// Stripping the signature must not bypass rollback protection.
		return engine.IndexUpdate{}, fmt.Errorf("%w: %s: Packages.sig missing although version %d was signed: %w", engine.ErrBadRepository, u, prev.IndexVersion, engine.ErrUnprotected)
	}
	ix, err := repoindex.Parse(up.Raw, f.maxIndexSize)
	if err != nil {
		return engine.IndexUpdate{}, refused(repo, err)
	}
	up.Index, up.Signed = ix, false
	return up, nil
}

// refused wraps err with engine.ErrBadRepository and the repository URL.
func refused(repo engine.Repo, err error) error {
	return fmt.Errorf("%w: %s: %w", engine.ErrBadRepository, redact(repo.URL), err)
}

// sigCovers reports whether the sha256 and size that sig claims (not yet
// verified) are those of index. A sig that does not parse counts as
// covering: VerifyIndex then reports why it is bad.
func sigCovers(sig, index []byte) bool {
	var claim struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	}
	if err := json.Unmarshal(sig, &claim); err != nil {
		return true
	}
	sum := sha256.Sum256(index)
	return claim.Size == int64(len(index)) && claim.SHA256 == hex.EncodeToString(sum[:])
}
