package pkgfile

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

const benchSize = 1 << 30

// benchPayload writes a package source with 1 GiB of random data in
// b.TempDir() and returns the source directory and the payload path.
func benchPayload(b *testing.B) (src, payload string) {
	b.Helper()
	if testing.Short() {
		b.Skip("1 GiB benchmark skipped with -short")
	}
	src = filepath.Join(b.TempDir(), "big-wapt")
	writeTree(b, src, map[string][]byte{"WAPT/control": []byte(testControl), "setup.py": []byte("def install():\n    pass\n")})
	payload = filepath.Join(src, "payload.bin")
	f, err := os.Create(payload)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{42})
	if _, err := io.CopyN(f, r, benchSize); err != nil {
		b.Fatal(err)
	}
	// Flush it, so that the timed code does not compete with the writeback
	// of this gigabyte (2 cores, slow virtual disk).
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return src, payload
}

// BenchmarkSHA256Baseline1GiB reads the 1 GiB payload and hashes it: the
// reference the package benchmarks are compared with.
func BenchmarkSHA256Baseline1GiB(b *testing.B) {
	_, payload := benchPayload(b)
	buf := make([]byte, chunkSize)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		f, err := os.Open(payload)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.CopyBuffer(h, f, buf); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkBuildSign1GiB builds and signs a package with a 1 GiB random
// payload (stored). One untimed build runs first: on a fresh virtual
// machine the first write of a page the guest never touched costs a
// host-side fault, which would measure the hypervisor, not this code (it
// halves the throughput of the first 1 GiB written, plain writes included).
func BenchmarkBuildSign1GiB(b *testing.B) {
	src, _ := benchPayload(b)
	k := newPKI(b, "rsa")
	out := b.TempDir()
	o := BuildOptions{OutDir: out, Signer: k.codeKey, Chain: k.codeChain(), Now: testNow}
	path, _, err := Build(context.Background(), src, o)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		if _, _, err := Build(context.Background(), src, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify1GiB opens and verifies a package with a 1 GiB random
// payload.
func BenchmarkVerify1GiB(b *testing.B) {
	src, payload := benchPayload(b)
	k := newPKI(b, "rsa")
	path, _, err := Build(context.Background(), src, BuildOptions{OutDir: b.TempDir(), Signer: k.codeKey, Chain: k.codeChain(), Now: testNow})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(payload); err != nil { // keep only one copy in the page cache
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		p, err := Open(path, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Verify(context.Background(), k.trust, testNow); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}
