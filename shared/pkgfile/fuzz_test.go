package pkgfile

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to OpenReader, reads every member of what
// opens, and verifies and extracts it. Nothing may panic; a member that
// reads without error has exactly its declared size; a package that
// verifies extracts. Seeds: a real signed package, the Python fixtures and
// hand-made ZIPs.
func FuzzOpen(f *testing.F) {
	k := newPKI(f, "ecdsa")
	pkg, err := os.ReadFile(buildTest(f, sourceFiles(300, 2000), k.codeKey, k.codeChain()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pkg)
	for _, name := range []string{"python_seekable.zip", "python_stream.zip"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(craft(f, []zent{
		{name: "WAPT/control", data: []byte(testControl), method: methodDeflate, descriptor: 1, zeroLocal: true},
		{name: "d/"},
		{name: "d/x", data: []byte("x"), zip64: true, needed: 45},
	}, zopts{zip64: true, comment: []byte("c")}))
	lim := Limits{MaxFileSize: 1 << 20, MaxTotalUncompressed: 4 << 20, MaxMemberSize: 2 << 20, MaxMembers: 1000, MaxRatio: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := OpenReader(bytes.NewReader(data), int64(len(data)), "fuzz.wapt", lim)
		if err != nil {
			return
		}
		_ = p.Members()
		for _, e := range p.entries {
			n, err := io.Copy(io.Discard, p.open(e))
			if err == nil && uint64(n) != e.usize {
				t.Errorf("member %q: read %d bytes without error, declared %d", e.name, n, e.usize)
			}
		}
		if _, err := p.Verify(context.Background(), k.trust, testNow); err != nil {
			return
		}
		if err := p.Extract(context.Background(), filepath.Join(t.TempDir(), "x")); err != nil {
			t.Errorf("verified package does not extract: %v", err)
		}
	})
}
