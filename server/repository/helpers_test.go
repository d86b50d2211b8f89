package repository

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

// testNow is the fixed "now" of the tests; certificates are valid around it.
var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// signer is a key with its certificate chain (leaf first).
type signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

func (s signer) cert() *x509.Certificate { return s.chain[0] }

// newSigner returns a key and certificate issued by issuer (nil:
// self-signed), valid from notBefore (zero: an hour before testNow) for
// validity (zero: the certs default).
func newSigner(tb testing.TB, cn string, role certs.Role, issuer *signer, keyType string, notBefore time.Time, validity time.Duration) signer {
	tb.Helper()
	if notBefore.IsZero() {
		notBefore = testNow.Add(-time.Hour)
	}
	r := certs.Request{CN: cn, Role: role, KeyType: keyType, Now: notBefore, Validity: validity}
	if keyType == "rsa" {
		r.Bits = 2048
	}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert(), issuer.key
	}
	key, cert, err := certs.Generate(r)
	if err != nil {
		tb.Fatalf("generate %s: %v", cn, err)
	}
	s := signer{key: key, chain: []*x509.Certificate{cert}}
	if issuer != nil {
		s.chain = append(s.chain, issuer.chain...)
	}
	return s
}

// pki is the set of keys of the tests: an admin CA with a code-signing and
// a simple admin, an expired code-signing admin, an untrusted one, and the
// repository key.
type pki struct {
	ca, code, simple, expired, stranger, repo signer
}

var (
	testPKIOnce sync.Once
	testPKI     pki
)

// keys returns the test keys (ECDSA: fast), generated once per process.
func keys(tb testing.TB) pki {
	tb.Helper()
	testPKIOnce.Do(func() {
		k := &testPKI
		k.ca = newSigner(tb, "admin CA", certs.RoleCA, nil, "ecdsa", testNow.AddDate(-2, 0, 0), 0)
		k.code = newSigner(tb, "code admin", certs.RoleCodeSigning, &k.ca, "ecdsa", time.Time{}, 0)
		k.simple = newSigner(tb, "simple admin", certs.RoleSimple, &k.ca, "ecdsa", time.Time{}, 0)
		k.expired = newSigner(tb, "old admin", certs.RoleCodeSigning, &k.ca, "ecdsa", testNow.AddDate(-1, 0, 0), 24*time.Hour)
		k.stranger = newSigner(tb, "stranger", certs.RoleCodeSigning, nil, "ecdsa", time.Time{}, 0)
		k.repo = newSigner(tb, "repository", certs.RoleRepository, nil, "ecdsa", time.Time{}, 0)
	})
	return testPKI
}

// clock is an adjustable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testConfig returns the configuration of a writable repository in a new
// temporary folder.
func testConfig(tb testing.TB, clk *clock) Config {
	k := keys(tb)
	if clk == nil {
		clk = newClock()
	}
	return Config{
		Root:       tb.TempDir(),
		Trust:      signing.NewTrust(k.ca.cert()),
		RepoSigner: k.repo.key,
		RepoChain:  k.repo.chain,
		Now:        clk.Now,
		Logf:       tb.Logf,
	}
}

// openRepo opens a writable repository with cfg, closed at the end of the test.
func openRepo(tb testing.TB, cfg Config) *Repo {
	tb.Helper()
	r, err := NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// spec describes a package for buildPkg.
type spec struct {
	name, version, section string
	files                  map[string]string // payload, e.g. "setup.py"
	now                    time.Time         // signature date (zero: testNow)
}

// buildPkg builds a package (signed by s unless nil) and returns its bytes.
func buildPkg(tb testing.TB, s *signer, p spec) []byte {
	tb.Helper()
	data, err := buildPkgErr(tb.TempDir(), s, p)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// buildPkgErr is buildPkg for any goroutine: the work is done in dir.
func buildPkgErr(dir string, s *signer, p spec) ([]byte, error) {
	src, err := os.MkdirTemp(dir, "src-")
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp(dir, "out-")
	if err != nil {
		return nil, err
	}
	if p.section == "" {
		p.section = "base"
	}
	if p.now.IsZero() {
		p.now = testNow
	}
	files := map[string]string{"WAPT/control": testControl(p)}
	for k, v := range p.files {
		files[k] = v
	}
	for name, data := range files {
		path := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return nil, err
		}
	}
	o := pkgfile.BuildOptions{OutDir: out, Now: p.now}
	if s != nil {
		o.Signer, o.Chain = s.key, s.chain
	}
	path, _, err := pkgfile.Build(context.Background(), src, o)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", p.name, err)
	}
	return os.ReadFile(path)
}

func testControl(p spec) string {
	return fmt.Sprintf("package      : %s\nversion      : %s\narchitecture : all\nsection      : %s\npriority     : optional\ndescription  : test package %s\n",
		p.name, p.version, p.section, p.name)
}

// craftSetupPy returns a package holding a setup.py, signed by s whatever
// its role (pkgfile.Build refuses a simple certificate for a setup.py).
func craftSetupPy(tb testing.TB, s signer) []byte {
	tb.Helper()
	c, err := control.Parse("control", []byte(testControl(spec{name: "crafted", version: "1.0-1", section: "base"})))
	if err != nil {
		tb.Fatal(err)
	}
	if err := signing.SignControl(c, s.key, s.cert(), testNow, nil); err != nil {
		tb.Fatal(err)
	}
	members := []struct {
		name string
		data []byte
	}{
		{pkgfile.ControlName, c.Format()},
		{pkgfile.CertificateName, certs.EncodeCertsPEM(s.chain...)},
		{"setup.py", []byte("def install():\n    pass\n")},
	}
	var entries []signing.ManifestEntry
	for _, m := range members {
		sum := sha256.Sum256(m.data)
		entries = append(entries, signing.ManifestEntry{Path: m.name, SHA256: hex.EncodeToString(sum[:])})
	}
	manifest, err := signing.MarshalManifest(entries)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := signing.SignManifest(s.key, manifest)
	if err != nil {
		tb.Fatal(err)
	}
	members = append(members, struct {
		name string
		data []byte
	}{pkgfile.ManifestName, manifest}, struct {
		name string
		data []byte
	}{pkgfile.SignatureName, sig})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Deflate, Modified: testNow}
		h.SetMode(0o644)
		f, err := zw.CreateHeader(h)
		if err == nil {
			_, err = f.Write(m.data)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// upload uploads data with its size.
func upload(tb testing.TB, r *Repo, data []byte) *control.Control {
	tb.Helper()
	c, err := r.Upload(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// tree returns every file under root (relative path → sha256), dot files
// included.
func tree(tb testing.TB, root string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// sameTree fails when the two trees differ, naming the files.
func sameTree(tb testing.TB, before, after map[string]string) {
	tb.Helper()
	var diff []string
	for k, v := range before {
		if after[k] != v {
			diff = append(diff, "changed or removed: "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diff = append(diff, "new: "+k)
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		tb.Errorf("repository changed:\n%s", strings.Join(diff, "\n"))
	}
}

// verifiedIndex checks wapt/Packages.sig against wapt/Packages with the
// repository certificate and returns the info and the parsed index.
func verifiedIndex(tb testing.TB, cfg Config) (repoindex.SigInfo, *repoindex.Index) {
	tb.Helper()
	dir := filepath.Join(cfg.Root, PublicDir)
	data, err := os.ReadFile(filepath.Join(dir, repoindex.PackagesFile))
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, repoindex.SigFile))
	if err != nil {
		tb.Fatal(err)
	}
	info, err := repoindex.VerifyIndex(sig, data, signing.NewTrust(keys(tb).repo.cert()), cfg.Now(), DefaultRepoName, 0)
	if err != nil {
		tb.Fatalf("verify index: %v", err)
	}
	ix, err := repoindex.Parse(data, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return info, ix
}

// publicPackages returns the names of the *.wapt files of wapt/ and the
// file names listed by ix, sorted.
func publicPackages(tb testing.TB, cfg Config, ix *repoindex.Index) (files, listed []string) {
	tb.Helper()
	des, err := os.ReadDir(filepath.Join(cfg.Root, PublicDir))
	if err != nil {
		tb.Fatal(err)
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".wapt") {
			files = append(files, de.Name())
		}
	}
	for _, e := range ix.Entries {
		listed = append(listed, e.Get("filename"))
	}
	sort.Strings(files)
	sort.Strings(listed)
	return files, listed
}

// wantErr checks err against the wanted sentinels.
func wantErr(tb testing.TB, err error, wants ...error) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %v", wants)
	}
	for _, w := range wants {
		if !errors.Is(err, w) {
			tb.Errorf("error %q is not %v", err, w)
		}
	}
}
