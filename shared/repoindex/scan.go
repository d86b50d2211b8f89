package repoindex

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
)

// CacheFile is the name of Scan's sidecar cache in the repository directory.
const CacheFile = ".Packages.cache.json"

// Cache bounds and the racy window (see the package comment).
const (
	maxCacheSize = 64 << 20
	racyWindow   = 2 * time.Second
)

// ScanOptions configure Scan.
type ScanOptions struct {
	// Limits bound each package file (zero value: pkgfile.DefaultLimits()).
	Limits pkgfile.Limits
	// Trust, when set, drops the entries whose control signature does not
	// verify (signing.VerifyControl; codeSigning required when the package
	// has a setup.py); they are reported in ScanReport.Errors.
	Trust *signing.Trust
	// Now is the time certificates are checked at (zero: time.Now()).
	Now time.Time
	// IncludeHost also indexes host packages (section "host").
	IncludeHost bool
	// Logf receives progress and non-fatal problems (nil: discarded).
	Logf func(format string, args ...any)
}

// ScanReport tells what Scan did, by file name (relative to the directory).
type ScanReport struct {
	Processed []string         // files read (new or changed)
	Kept      []string         // files unchanged since the cache, not read
	Errors    map[string]error // broken or untrusted packages, skipped
}

// cacheEntry is one file of the sidecar cache.
type cacheEntry struct {
	Size          int64    `json:"size"`
	MtimeUnixNano int64    `json:"mtime_unix_nano"`
	MD5           string   `json:"md5"`
	SHA256        string   `json:"sha256"`
	Certs         []string `json:"certs,omitempty"` // chain fingerprints, signer first
	SetupPy       bool     `json:"setup_py,omitempty"`
	Host          bool     `json:"host,omitempty"`
}

// Scan indexes DIR/*.wapt (not recursive; names starting with "." are
// skipped), in file name order. prev is the current index of DIR (nil: read
// every file); see the package comment for how unchanged files are kept. Host
// packages are left out unless o.IncludeHost. For every new or changed
// package with a WAPT/icon.png, outside the group, host, unit, profile and
// wsus sections, the icon is written to DIR/icons/<package_uuid>.png (or
// <package>.png without uuid) unless that file exists. Scan updates the
// cache file but not Packages: write it with WriteFiles. Broken packages are
// reported in ScanReport.Errors; the error is only for the directory itself
// or a cancelled ctx.
func Scan(ctx context.Context, dir string, prev *Index, o ScanOptions) (*Index, ScanReport, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := ScanReport{Errors: map[string]error{}}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, rep, fmt.Errorf("scan %s: %w", dir, err)
	}
	cache := loadCache(dir, logf)
	// The file system's clock before any package is read decides which
	// files are too recent to be cached (racy).
	racyAfter, clockErr := fsClock(dir)
	if clockErr != nil {
		logf("scan %s: cache disabled: %v", dir, clockErr)
	} else {
		racyAfter -= int64(racyWindow)
	}
	prevBy := map[string]*control.Control{}
	if prev != nil {
		for _, e := range prev.Entries {
			prevBy[e.Get("filename")] = e
		}
	}
	ix := &Index{Certs: map[string]*x509.Certificate{}}
	newCache := map[string]cacheEntry{}
	for _, de := range des {
		name := de.Name()
		if !strings.HasSuffix(name, ".wapt") || strings.HasPrefix(name, ".") || de.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, rep, err
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			rep.Errors[name] = err
			continue
		}
		if !fi.Mode().IsRegular() {
			rep.Errors[name] = fmt.Errorf("%s: not a regular file", path)
			continue
		}
		if ce, ok := cache[name]; ok && ce.Size == fi.Size() && ce.MtimeUnixNano == fi.ModTime().UnixNano() {
			if ce.Host && !o.IncludeHost {
				rep.Kept = append(rep.Kept, name)
				newCache[name] = ce
				continue
			}
			if e, chain, ok := keptEntry(prev, prevBy[name], ce); ok {
				rep.Kept = append(rep.Kept, name)
				newCache[name] = ce
				if err := verifyEntry(e, chain, ce.SetupPy, o.Trust, now); err != nil {
					rep.Errors[name] = fmt.Errorf("%s: %w", path, err)
					continue
				}
				ix.Entries = append(ix.Entries, e)
				addCerts(ix, chain)
				continue
			}
		}
		pf, err := readPackage(ctx, path, o.Limits, true)
		if err != nil {
			if ctx.Err() != nil {
				return nil, rep, ctx.Err()
			}
			logf("scan: %v", err)
			rep.Errors[name] = err
			continue
		}
		rep.Processed = append(rep.Processed, name)
		host := pf.control.Section() == "host"
		if pf.mtime < racyAfter {
			newCache[name] = pf.cacheEntry(host)
		}
		if host && !o.IncludeHost {
			continue
		}
		if err := verifyEntry(pf.control, pf.chain, pf.setupPy, o.Trust, now); err != nil {
			logf("scan: %s discarded: %v", path, err)
			rep.Errors[name] = fmt.Errorf("%s: %w", path, err)
			continue
		}
		if want := pf.control.Filename(); want != name {
			logf("scan: %s: file name should be %s", path, want)
		}
		ix.Entries = append(ix.Entries, pf.entry(name))
		addCerts(ix, pf.chain)
		writeIcon(dir, pf, logf)
	}
	if clockErr == nil {
		if err := saveCache(filepath.Join(dir, CacheFile), newCache); err != nil {
			logf("scan %s: %v", dir, err)
		}
	}
	return ix, rep, nil
}

// keptEntry returns a copy of the previous entry of an unchanged file and its
// certificate chain, when the previous index agrees with the cache.
func keptEntry(prev *Index, e *control.Control, ce cacheEntry) (*control.Control, []*x509.Certificate, bool) {
	if e == nil || e.Get("size") != strconv.FormatInt(ce.Size, 10) ||
		e.Get("md5sum") != ce.MD5 || e.Get("sha256") != ce.SHA256 {
		return nil, nil, false
	}
	chain := make([]*x509.Certificate, 0, len(ce.Certs))
	for _, fp := range ce.Certs {
		c, ok := prev.Certs[fp]
		if !ok {
			return nil, nil, false
		}
		chain = append(chain, c)
	}
	return e.Clone(), chain, true
}

// verifyEntry checks the control signature when t is set.
func verifyEntry(c *control.Control, chain []*x509.Certificate, setupPy bool, t *signing.Trust, now time.Time) error {
	if t == nil {
		return nil
	}
	_, err := signing.VerifyControl(c, chain, t, now, setupPy)
	return err
}

func addCerts(ix *Index, chain []*x509.Certificate) {
	for _, c := range chain {
		ix.Certs[signing.Fingerprint(c)] = c
	}
}

func (pf *pkgFile) cacheEntry(host bool) cacheEntry {
	ce := cacheEntry{Size: pf.size, MtimeUnixNano: pf.mtime, MD5: pf.md5, SHA256: pf.sha256, SetupPy: pf.setupPy, Host: host}
	for _, c := range pf.chain {
		ce.Certs = append(ce.Certs, signing.Fingerprint(c))
	}
	return ce
}

// loadCache reads DIR/CacheFile; a missing, oversized or corrupt cache is
// empty (and logged unless missing).
func loadCache(dir string, logf func(string, ...any)) map[string]cacheEntry {
	path := filepath.Join(dir, CacheFile)
	fi, err := os.Stat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logf("scan: cache ignored: %v", err)
		}
		return nil
	}
	if fi.Size() > maxCacheSize {
		logf("scan: cache %s ignored: %d bytes", path, fi.Size())
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		logf("scan: cache ignored: %v", err)
		return nil
	}
	var m map[string]cacheEntry
	if err := json.Unmarshal(data, &m); err != nil {
		logf("scan: cache %s ignored: %v", path, err)
		return nil
	}
	return m
}

// saveCache writes the cache atomically.
func saveCache(path string, m map[string]cacheEntry) error {
	data, err := json.Marshal(m)
	if err == nil {
		err = atomicfile.WriteFile(path, data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write cache %s: %w", path, err)
	}
	return nil
}

// fsClock returns the file system's current time in dir (Unix ns): the
// mtime of a file created there, then removed.
func fsClock(dir string) (int64, error) {
	tmp, err := os.CreateTemp(dir, CacheFile+".clock-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	fi, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	return fi.ModTime().UnixNano(), nil
}

// writeIcon extracts the package icon like WAPT (never overwriting).
func writeIcon(dir string, pf *pkgFile, logf func(string, ...any)) {
	if pf.icon == nil {
		return
	}
	switch pf.control.Section() {
	case "group", "host", "unit", "profile", "wsus":
		return
	}
	name := pf.control.Get("package_uuid")
	if name == "" {
		name = pf.control.Package()
	}
	if !safeFilename(name) {
		return
	}
	path := filepath.Join(dir, "icons", name+".png")
	if _, err := os.Lstat(path); err == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		logf("scan: icon: %v", err)
		return
	}
	if err := atomicfile.WriteFile(path, pf.icon, 0o644); err != nil {
		logf("scan: icon: %v", err)
	}
}
