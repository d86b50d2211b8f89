package pkgfile

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

// testNow is the build and verification time of the tests.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// pki is a test CA with a code-signing and a simple certificate issued by it.
type pki struct {
	caKey     crypto.Signer
	ca        *x509.Certificate
	codeKey   crypto.Signer
	code      *x509.Certificate
	simpleKey crypto.Signer
	simple    *x509.Certificate
	trust     *signing.Trust
}

func (k pki) codeChain() []*x509.Certificate   { return []*x509.Certificate{k.code, k.ca} }
func (k pki) simpleChain() []*x509.Certificate { return []*x509.Certificate{k.simple, k.ca} }

// newPKI creates a CA and two leaves; keyType is "rsa" (2048 bits) or "ecdsa".
func newPKI(tb testing.TB, keyType string) pki {
	tb.Helper()
	gen := func(cn string, role certs.Role, issuer *x509.Certificate, issuerKey crypto.Signer) (crypto.Signer, *x509.Certificate) {
		tb.Helper()
		bits := 0
		if keyType == "rsa" {
			bits = 2048
		}
		k, c, err := certs.Generate(certs.Request{CN: cn, Role: role, KeyType: keyType, Bits: bits,
			Issuer: issuer, IssuerKey: issuerKey, Now: testNow.Add(-24 * time.Hour), Validity: 365 * 24 * time.Hour})
		if err != nil {
			tb.Fatalf("generate %s: %v", cn, err)
		}
		return k, c
	}
	var k pki
	k.caKey, k.ca = gen("Test CA", certs.RoleCA, nil, nil)
	k.codeKey, k.code = gen("Code Signer", certs.RoleCodeSigning, k.ca, k.caKey)
	k.simpleKey, k.simple = gen("Simple Admin", certs.RoleSimple, k.ca, k.caKey)
	k.trust = signing.NewTrust(k.ca)
	return k
}

const testControl = `package           : test-pkg
version           : 1.2-3
architecture      : all
section           : base
priority          : optional
name              : Test package
description       : Un paquet de test
maintainer        : tester
`

// writeTree writes files (slash-separated name → content) under dir.
func writeTree(tb testing.TB, dir string, files map[string][]byte) {
	tb.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// randomBytes returns n deterministic pseudo-random (incompressible) bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// textBytes returns n bytes of compressible text.
func textBytes(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("Ligne de texte numéro ")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(" qui se compresse bien.\n")
	}
	return b.Bytes()[:n]
}

// sourceFiles is the content of the standard test package: a setup.py,
// the control, a stored (random) and a deflated (text) file in a
// subfolder.
func sourceFiles(storedSize, deflatedSize int) map[string][]byte {
	return map[string][]byte{
		"WAPT/control":     []byte(testControl),
		"setup.py":         []byte("# -*- coding: utf-8 -*-\nfrom setuphelpers import *\n\ndef install():\n    print('ok')\n"),
		"files/random.bin": randomBytes(storedSize, 1),
		"files/readme.txt": textBytes(deflatedSize),
	}
}

// buildTest builds a package from files in a temp dir with the given signer
// (nil: unsigned) and returns its path.
func buildTest(tb testing.TB, files map[string][]byte, signer crypto.Signer, chain []*x509.Certificate) string {
	tb.Helper()
	root := tb.TempDir()
	src := filepath.Join(root, "test-pkg-wapt")
	writeTree(tb, src, files)
	path, _, err := Build(context.Background(), src, BuildOptions{Signer: signer, Chain: chain, Now: testNow, Rand: bytes.NewReader(randomBytes(64, 9))})
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	return path
}

// openBytes opens a package held in memory.
func openBytes(data []byte) (*Package, error) {
	return OpenReader(bytes.NewReader(data), int64(len(data)), "test.wapt", DefaultLimits())
}
