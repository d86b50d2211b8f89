// Package repository owns the server's package repository tree: the public
// wapt/ folder (packages, Packages index, Packages.sig, icons) and the
// per-host wapt-host/ folder, and serves their files with validators and ranges.
//
// A repository opened with NewWithConfig and a repository key is also
// writable: Upload verifies a package against the admin trust anchors and
// publishes it, Delete withdraws one, and every change rewrites the
// Packages index and its signed Packages.sig (DESIGN §3) incrementally,
// under one lock, so that the files and the index always agree.
package repository

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// Errors returned by Open. ErrNotFound is also returned for names that are
// never served (hidden files, directories), so that probing learns nothing.
var (
	ErrNotFound = errors.New("not found")
	ErrBadPath  = errors.New("bad path")
)

// Folder names under the repository root.
const (
	PublicDir = "wapt"
	HostDir   = "wapt-host"
)

// Repo is a repository rooted at a directory.
type Repo struct {
	root   string
	public *os.Root
	host   *os.Root
	w      *writer // nil for a read-only repository
}

// New opens (creating when missing) the repository tree under root,
// read-only: it serves files but Upload, Delete and Resign return
// ErrReadOnly (see NewWithConfig).
func New(root string) (*Repo, error) {
	for _, d := range []string{PublicDir, HostDir, path.Join(PublicDir, "icons")} {
		if err := os.MkdirAll(root+"/"+d, 0o755); err != nil {
			return nil, fmt.Errorf("repository: %w", err)
		}
	}
	pub, err := os.OpenRoot(root + "/" + PublicDir)
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	host, err := os.OpenRoot(root + "/" + HostDir)
	if err != nil {
		pub.Close()
		return nil, fmt.Errorf("repository: %w", err)
	}
	return &Repo{root: root, public: pub, host: host}, nil
}

// Close releases the repository.
func (r *Repo) Close() error { return errors.Join(r.public.Close(), r.host.Close()) }

// PublicPath returns the directory of the public repository (wapt/).
func (r *Repo) PublicPath() string { return r.root + "/" + PublicDir }

// cleanName validates a request path relative to wapt/: plain segments only,
// no hidden files, no traversal.
func cleanName(name string) (string, error) {
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.Contains(name, "\\") || strings.Contains(name, "\x00") {
		return "", ErrBadPath
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", ErrBadPath
		}
		if strings.HasPrefix(seg, ".") {
			return "", ErrNotFound
		}
	}
	return name, nil
}

// ServePublic serves one file of wapt/ with ETag, Last-Modified, conditional
// requests and ranges. It returns ErrNotFound or ErrBadPath without writing
// anything when the file cannot be served.
func (r *Repo) ServePublic(w http.ResponseWriter, req *http.Request, name string) error {
	return serve(w, req, r.public, name)
}

// ServeHost serves one host package of wapt-host/ (a flat folder of
// <uuid>.wapt files). The caller decides who may read it.
func (r *Repo) ServeHost(w http.ResponseWriter, req *http.Request, name string) error {
	if strings.Contains(strings.TrimPrefix(name, "/"), "/") || !strings.HasSuffix(name, ".wapt") {
		return ErrNotFound
	}
	return serve(w, req, r.host, name)
}

func serve(w http.ResponseWriter, req *http.Request, root *os.Root, name string) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return ErrBadPath // escapes the root through a link, or unreadable
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("repository: stat %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return ErrNotFound
	}
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size()))
	w.Header().Set("Cache-Control", "no-cache")
	switch {
	case strings.HasSuffix(name, ".wapt") || name == "Packages":
		w.Header().Set("Content-Type", "application/zip")
	case strings.HasSuffix(name, ".sig"):
		w.Header().Set("Content-Type", "application/json")
	}
	http.ServeContent(w, req, path.Base(name), st.ModTime(), f)
	return nil
}
