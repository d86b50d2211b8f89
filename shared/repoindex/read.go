package repoindex

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
)

// iconMember is the optional package icon WAPT extracts into icons/.
const (
	iconMember  = "WAPT/icon.png"
	maxIconSize = 1 << 20
)

// pkgFile is what indexing needs from one package file.
type pkgFile struct {
	control     *control.Control
	chain       []*x509.Certificate
	size        int64
	mtime       int64 // UnixNano
	md5, sha256 string
	setupPy     bool
	icon        []byte // WAPT/icon.png when asked for and present
}

// readPackage opens path once, parses it strictly within lim (control,
// certificates, member list), then hashes the whole file with md5 and
// sha256 in one pass. It fails when the file changes while being read.
func readPackage(ctx context.Context, path string, lim pkgfile.Limits, wantIcon bool) (*pkgFile, error) {
	if lim == (pkgfile.Limits{}) {
		lim = pkgfile.DefaultLimits()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	pf := &pkgFile{size: before.Size(), mtime: before.ModTime().UnixNano()}
	p, err := pkgfile.OpenReader(f, pf.size, path, lim)
	if err != nil {
		return nil, err
	}
	pf.control = p.Control().Clone()
	pf.chain = p.Chain()
	hasIcon := false
	for _, m := range p.Members() {
		switch m.Name {
		case "setup.py":
			pf.setupPy = true
		case iconMember:
			hasIcon = m.Size <= maxIconSize
		}
	}
	p.Close()
	if wantIcon && hasIcon {
		pf.icon = readIcon(f, pf.size)
	}
	if pf.md5, pf.sha256, err = hashFile(ctx, f, pf.size); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return nil, fmt.Errorf("%s: file changed while being indexed", path)
	}
	return pf, nil
}

// readIcon returns the icon member (already bounds-checked by the strict
// parser), or nil when it cannot be read or is not a PNG.
func readIcon(r io.ReaderAt, size int64) []byte {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil
	}
	rc, err := zr.Open(iconMember)
	if err != nil {
		return nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxIconSize+1))
	if err != nil || len(data) > maxIconSize || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		return nil
	}
	return data
}

// hashChunk is the read size of hashFile; above one chunk, md5 runs in a
// second goroutine beside sha256 (each about as costly on a SHA-NI CPU).
const hashChunk = 1 << 20

// hashFile returns the hex md5 and sha256 of the first size bytes of r.
func hashFile(ctx context.Context, r io.ReaderAt, size int64) (md5hex, sha256hex string, err error) {
	m, s := md5.New(), sha256.New()
	buf := make([]byte, min(size, hashChunk))
	var wg sync.WaitGroup
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return "", "", err
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 && err != nil {
			return "", "", err
		}
		chunk := buf[:n]
		if size <= hashChunk {
			m.Write(chunk)
			s.Write(chunk)
		} else {
			wg.Go(func() { m.Write(chunk) })
			s.Write(chunk)
			wg.Wait()
		}
		off += int64(n)
	}
	return hexSum(m), hexSum(s), nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// entry returns the index entry: the package control (without any index
// attribute it may carry) followed by filename, size, md5sum and sha256.
func (pf *pkgFile) entry(filename string) *control.Control {
	e := pf.control.Clone()
	for _, k := range control.IndexAttributes {
		e.Del(k)
	}
	e.Set("filename", filename)
	e.Set("size", strconv.FormatInt(pf.size, 10))
	e.Set("md5sum", pf.md5)
	e.Set("sha256", pf.sha256)
	return e
}
