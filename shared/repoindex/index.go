package repoindex

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
)

// Index is a parsed Packages index.
type Index struct {
	// Entries are the control blocks in file order, each with the index
	// attributes filename, size, md5sum and sha256.
	Entries []*control.Control
	// Certs maps a certificate fingerprint (hex sha256 of DER) to the
	// certificate: package signers and the rest of their chains.
	Certs map[string]*x509.Certificate
}

// packagesMember is the name of the text member of the index ZIP.
const packagesMember = "Packages"

// Limits applied by Parse besides maxSize.
const (
	maxMembers      = 100000
	maxCertMember   = 1 << 20 // one ssl/*.crt member
	maxExpansion    = 100     // uncompressed total ≤ maxExpansion × maxSize …
	maxUncompressed = 1 << 30 // … and ≤ 1 GiB
)

// zipDOSDate and zipDOSTime are the fixed modification time of every member Marshal writes, so
// that the same index always gives the same bytes: 1980-01-01 00:00:00, the
// first DOS date.
const (
	zipDOSDate = 1<<5 | 1
	zipDOSTime = 0
)

// Parse parses a Packages ZIP of at most maxSize bytes (DefaultMaxSize when
// maxSize <= 0). The "Packages" member is required; ssl/*.crt members are
// parsed into Certs; other members (crl/*) are ignored. Every entry must have
// a package name, a valid version and a plain file name; size, md5sum and
// sha256, when present, must be well-formed, and file names are unique.
// Errors wrap ErrBadIndex and name the member and line.
func Parse(data []byte, maxSize int64) (*Index, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%w: index is %d bytes, limit %d", ErrBadIndex, len(data), maxSize)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadIndex, err)
	}
	if len(zr.File) > maxMembers {
		return nil, fmt.Errorf("%w: %d members, limit %d", ErrBadIndex, len(zr.File), maxMembers)
	}
	budget := min(maxExpansion*maxSize, maxUncompressed)
	seen := make(map[string]bool, len(zr.File))
	var text *zip.File
	var certFiles []*zip.File
	for _, f := range zr.File {
		if seen[f.Name] {
			return nil, fmt.Errorf("%w: duplicate member %q", ErrBadIndex, f.Name)
		}
		seen[f.Name] = true
		switch {
		case f.Name == packagesMember:
			text = f
		case strings.HasPrefix(f.Name, "ssl/") && strings.HasSuffix(f.Name, ".crt"):
			certFiles = append(certFiles, f)
		}
	}
	if text == nil {
		return nil, fmt.Errorf("%w: no %q member", ErrBadIndex, packagesMember)
	}
	ix := &Index{Certs: map[string]*x509.Certificate{}}
	body, err := readMember(text, &budget, budget)
	if err != nil {
		return nil, err
	}
	if err := ix.parseText(body); err != nil {
		return nil, err
	}
	for _, f := range certFiles {
		pemData, err := readMember(f, &budget, maxCertMember)
		if err != nil {
			return nil, err
		}
		certs, err := parseCertsPEM(pemData)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadIndex, f.Name, err)
		}
		for _, c := range certs {
			ix.Certs[signing.Fingerprint(c)] = c
		}
	}
	return ix, nil
}

// readMember decompresses f, refusing more than limit bytes or more than what
// is left of *budget, which it decrements.
func readMember(f *zip.File, budget *int64, limit int64) ([]byte, error) {
	limit = min(limit, *budget)
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%w: member %s: %d bytes uncompressed, limit %d", ErrBadIndex, f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: member %s: %w", ErrBadIndex, f.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: member %s: %w", ErrBadIndex, f.Name, err)
	}
	if uint64(len(data)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("%w: member %s: %d bytes, header says %d", ErrBadIndex, f.Name, len(data), f.UncompressedSize64)
	}
	*budget -= int64(len(data))
	return data, nil
}

// parseText parses the Packages text member into ix.Entries.
func (ix *Index) parseText(body []byte) error {
	files := map[string]int{}
	err := control.ParseBlocks(packagesMember, body, func(line int, c *control.Control) error {
		if err := checkEntry(c); err != nil {
			return fmt.Errorf("%w: %s:%d: %w", ErrBadIndex, packagesMember, line, err)
		}
		fn := c.Get("filename")
		if first, dup := files[fn]; dup {
			return fmt.Errorf("%w: %s:%d: filename %q already listed at line %d", ErrBadIndex, packagesMember, line, fn, first)
		}
		files[fn] = line
		ix.Entries = append(ix.Entries, c)
		return nil
	})
	if err != nil && !errors.Is(err, ErrBadIndex) {
		return fmt.Errorf("%w: %w", ErrBadIndex, err)
	}
	return err
}

// checkEntry checks what the rest of the system relies on in an index entry.
func checkEntry(c *control.Control) error {
	if c.Package() == "" {
		return fmt.Errorf("no package name")
	}
	if _, err := version.Parse(c.Get("version")); err != nil {
		return fmt.Errorf("package %s: %w", c.Package(), err)
	}
	fn := c.Get("filename")
	if !safeFilename(fn) {
		return fmt.Errorf("package %s: bad filename %q", c.Package(), fn)
	}
	if c.Has("size") {
		if n, err := strconv.ParseInt(c.Get("size"), 10, 64); err != nil || n < 0 {
			return fmt.Errorf("package %s: bad size %q", c.Package(), c.Get("size"))
		}
	}
	if err := waptReadable(c); err != nil {
		return fmt.Errorf("package %s: %w", c.Package(), err)
	}
	if c.Get("md5sum") != "" && !isHex(c.Get("md5sum"), 32) {
		return fmt.Errorf("package %s: bad md5sum %q", c.Package(), c.Get("md5sum"))
	}
	if c.Get("sha256") != "" && !isHex(c.Get("sha256"), 64) {
		return fmt.Errorf("package %s: bad sha256 %q", c.Package(), c.Get("sha256"))
	}
	return nil
}

// waptReadable checks that WAPT's reader (Python str.splitlines, a
// whitespace-only line ends the block) sees the same attributes as ours: no
// control character other than tab and line feed, no U+0085/U+2028/U+2029,
// and no whitespace-only inner line in a multi-line value (Format writes it
// as a continuation, WAPT would split the block there).
func waptReadable(c *control.Control) error {
	for _, k := range c.Keys() {
		v := c.Get(k)
		for _, r := range k + v {
			if r != '\n' && r != '\t' && unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				return fmt.Errorf("attribute %s: character %U is read differently by WAPT", k, r)
			}
		}
		if i := strings.IndexByte(v, '\n'); i >= 0 {
			for inner := range strings.SplitSeq(v[i+1:], "\n") {
				if strings.TrimSpace(inner) == "" {
					return fmt.Errorf("attribute %s: blank inner line (WAPT would split the block there)", k)
				}
			}
		}
	}
	return nil
}

// safeFilename reports whether fn is a plain file name that can be joined to
// a repository URL or directory without escaping it.
func safeFilename(fn string) bool {
	return fn != "" && fn != "." && fn != ".." && !strings.ContainsAny(fn, "/\\:\x00") &&
		strings.TrimSpace(fn) == fn
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// parseCertsPEM parses every CERTIFICATE block of data (at least one).
func parseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return out, nil
}

// Marshal returns the index as a deterministic ZIP: the "Packages" member
// (each entry's control.Format, entries separated by a blank line, like WAPT)
// then one ssl/<fingerprint>.crt member per certificate, sorted by
// fingerprint. Every member is deflated and dated 1980-01-01 00:00.
func (ix *Index) Marshal() ([]byte, error) {
	var text bytes.Buffer
	for i, e := range ix.Entries {
		if e == nil {
			return nil, fmt.Errorf("marshal index: entry %d is nil", i)
		}
		if err := waptReadable(e); err != nil {
			return nil, fmt.Errorf("marshal index: entry %d (%s): %w", i, e.Get("filename"), err)
		}
		if i > 0 {
			text.WriteByte('\n')
		}
		text.Write(e.Format())
	}
	byFP := make(map[string]*x509.Certificate, len(ix.Certs))
	for _, c := range ix.Certs {
		if c != nil {
			byFP[signing.Fingerprint(c)] = c
		}
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	if err := writeMember(zw, packagesMember, text.Bytes()); err != nil {
		return nil, err
	}
	for _, fp := range slices.Sorted(maps.Keys(byFP)) {
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: byFP[fp].Raw})
		if err := writeMember(zw, "ssl/"+fp+".crt", data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("marshal index: %w", err)
	}
	return out.Bytes(), nil
}

func writeMember(zw *zip.Writer, name string, data []byte) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, ModifiedDate: zipDOSDate, ModifiedTime: zipDOSTime}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(data)
	}
	if err != nil {
		return fmt.Errorf("marshal index: member %s: %w", name, err)
	}
	return nil
}

// Lookup returns the entries of package name (compared case-insensitively),
// in index order.
func (ix *Index) Lookup(name string) []*control.Control {
	var out []*control.Control
	for _, e := range ix.Entries {
		if strings.EqualFold(e.Package(), name) {
			out = append(out, e)
		}
	}
	return out
}

// Add reads the package file at path (strict open within lim, then md5 and
// sha256 of the whole file) and adds its entry to ix, with its certificate
// chain in Certs. An entry with the same file name, or the same package,
// version, architecture, maturity and locale, is replaced in place;
// otherwise the entry is appended. Certificates no longer used by any entry
// are dropped. It returns the new entry.
func (ix *Index) Add(ctx context.Context, path string, lim pkgfile.Limits) (*control.Control, error) {
	pf, err := readPackage(ctx, path, lim, false)
	if err != nil {
		return nil, err
	}
	e := pf.entry(filepath.Base(path))
	ix.put(e, pf.chain)
	return e, nil
}

// put inserts e (replacing same file name or same key) and its chain.
func (ix *Index) put(e *control.Control, chain []*x509.Certificate) {
	k := keyOf(e)
	fn := e.Get("filename")
	placed := false
	out := ix.Entries[:0]
	for _, old := range ix.Entries {
		if old.Get("filename") == fn || keyOf(old) == k {
			if !placed {
				out = append(out, e)
				placed = true
			}
			continue
		}
		out = append(out, old)
	}
	clear(ix.Entries[len(out):])
	ix.Entries = out
	if !placed {
		ix.Entries = append(ix.Entries, e)
	}
	if ix.Certs == nil {
		ix.Certs = map[string]*x509.Certificate{}
	}
	for _, c := range chain {
		ix.Certs[signing.Fingerprint(c)] = c
	}
	ix.pruneCerts()
}

// Remove removes the entries whose filename is filename and the certificates
// no entry uses any more. It reports whether an entry was removed.
func (ix *Index) Remove(filename string) bool {
	n := len(ix.Entries)
	ix.Entries = slices.DeleteFunc(ix.Entries, func(e *control.Control) bool {
		return e.Get("filename") == filename
	})
	if len(ix.Entries) == n {
		return false
	}
	ix.pruneCerts()
	return true
}

// pruneCerts keeps the certificates that sign an entry (signer_fingerprint)
// and, transitively, those that issued a kept certificate.
func (ix *Index) pruneCerts() {
	if len(ix.Certs) == 0 {
		return
	}
	keep := map[string]bool{}
	var queue []*x509.Certificate
	for _, e := range ix.Entries {
		fp := strings.ToLower(e.Get("signer_fingerprint"))
		if c, ok := ix.Certs[fp]; ok && !keep[fp] {
			keep[fp] = true
			queue = append(queue, c)
		}
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for fp, issuer := range ix.Certs {
			if !keep[fp] && issued(issuer, c) {
				keep[fp] = true
				queue = append(queue, issuer)
			}
		}
	}
	for fp := range ix.Certs {
		if !keep[fp] {
			delete(ix.Certs, fp)
		}
	}
}

// issued reports whether issuer looks like the issuer of c (names and key
// identifiers; no signature check: this only decides what to keep).
func issued(issuer, c *x509.Certificate) bool {
	if issuer == c || !bytes.Equal(issuer.RawSubject, c.RawIssuer) {
		return false
	}
	return len(c.AuthorityKeyId) == 0 || len(issuer.SubjectKeyId) == 0 ||
		bytes.Equal(c.AuthorityKeyId, issuer.SubjectKeyId)
}

// entryKey identifies a package build like WAPT's PackageKey.
type entryKey struct{ name, version, arch, maturity, locale string }

func keyOf(c *control.Control) entryKey {
	v := c.Get("version")
	if pv, err := version.Parse(v); err == nil {
		v = pv.String()
	}
	norm := func(s string) string {
		s = strings.ToLower(s)
		if s == "all" {
			return ""
		}
		return s
	}
	return entryKey{
		name:     strings.ToLower(c.Package()),
		version:  v,
		arch:     strings.ToLower(c.Get("architecture")),
		maturity: norm(c.Get("maturity")),
		locale:   norm(c.Get("locale")),
	}
}
