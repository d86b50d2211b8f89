package repoindex

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
)

// testNow is the fixed "now" of the tests; certificates are valid around it.
var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// signer is a test key with its certificate chain (leaf first).
type signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

func (s signer) cert() *x509.Certificate { return s.chain[0] }

// newSigner returns an ECDSA key and certificate (fast to generate); issuer
// nil makes it self-signed.
func newSigner(tb testing.TB, cn string, role certs.Role, issuer *signer) signer {
	tb.Helper()
	return newSignerKey(tb, cn, role, issuer, "ecdsa")
}

func newSignerKey(tb testing.TB, cn string, role certs.Role, issuer *signer, keyType string) signer {
	tb.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: keyType, Now: testNow.Add(-time.Hour)}
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

// pkgSpec describes a small package for buildPkg.
type pkgSpec struct {
	name, version, section string
	extra                  map[string]string // more control attributes
	files                  map[string]string // payload, e.g. "setup.py"
}

// buildPkg builds (and signs, unless s is nil) a package into outDir with
// pkgfile.Build and returns its path.
func buildPkg(tb testing.TB, outDir string, s *signer, p pkgSpec) string {
	tb.Helper()
	path, err := buildPkgErr(tb.TempDir(), outDir, s, p)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// buildPkgErr is buildPkg for other goroutines: the sources go to a new
// directory in srcRoot.
func buildPkgErr(srcRoot, outDir string, s *signer, p pkgSpec) (string, error) {
	src, err := os.MkdirTemp(srcRoot, p.name+"-")
	if err != nil {
		return "", err
	}
	if p.section == "" {
		p.section = "base"
	}
	ctl := fmt.Sprintf("package           : %s\nversion           : %s\narchitecture      : all\nsection           : %s\npriority          : optional\ndescription       : test package %s\n",
		p.name, p.version, p.section, p.name)
	for k, v := range p.extra {
		ctl += fmt.Sprintf("%-18s: %s\n", k, v)
	}
	files := map[string]string{"WAPT/control": ctl}
	for k, v := range p.files {
		files[k] = v
	}
	for name, data := range files {
		path := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	o := pkgfile.BuildOptions{OutDir: outDir, Now: testNow}
	if s != nil {
		o.Signer, o.Chain = s.key, s.chain
	}
	path, _, err := pkgfile.Build(context.Background(), src, o)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", p.name, err)
	}
	return path, nil
}

// age sets the modification time of paths one hour back, out of Scan's racy
// window, so that the cache may keep them.
func age(tb testing.TB, paths ...string) {
	tb.Helper()
	old := time.Now().Add(-time.Hour)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			tb.Fatal(err)
		}
	}
}

// filenames returns the filename attribute of every entry.
func filenames(ix *Index) []string {
	var out []string
	for _, e := range ix.Entries {
		out = append(out, e.Get("filename"))
	}
	return out
}

// wantErr checks err against a wanted sentinel (nil: no error) and that its
// text contains every fragment.
func wantErr(tb testing.TB, err, want error, fragments ...string) {
	tb.Helper()
	switch {
	case want == nil && err != nil:
		tb.Fatalf("unexpected error: %v", err)
	case want != nil && err == nil:
		tb.Fatalf("no error, want %v", want)
	case want != nil && !errors.Is(err, want):
		tb.Fatalf("error %v, want %v", err, want)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			tb.Errorf("error %q does not contain %q", err, f)
		}
	}
}
