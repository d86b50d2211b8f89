package pkgfile

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/signing"
)

func memberNames(p *Package) []string {
	var names []string
	for _, m := range p.Members() {
		names = append(names, m.Name)
	}
	return names
}

func memberByName(p *Package, name string) (Member, bool) {
	for _, m := range p.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

func TestBuildVerifyExtract(t *testing.T) {
	k := newPKI(t, "rsa")
	files := sourceFiles(200_000, 50_000)
	files["données/été.txt"] = []byte("accentué")
	files["WAPT/icon.png"] = randomBytes(500, 3)
	files["bin/run.sh"] = []byte("#!/bin/sh\necho ok\n")
	files["empty.txt"] = nil
	ignored := map[string][]byte{
		".git/config":           []byte("[core]"),
		"lib/cache.pyc":         []byte("pyc"),
		"WAPT/manifest.sha256":  []byte("stale"),
		"WAPT/signature.sha256": []byte("stale"),
		"WAPT/certificate.crt":  []byte("stale"),
	}
	src := filepath.Join(t.TempDir(), "test-pkg-wapt")
	writeTree(t, src, files)
	writeTree(t, src, ignored)
	if err := os.Chmod(filepath.Join(src, "bin", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	path, c, err := Build(context.Background(), src, BuildOptions{Signer: k.codeKey, Chain: k.codeChain(), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(src), "test-pkg_1.2-3.wapt"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	if c.Get("signer") != "Code Signer" || c.Get("signature") == "" || c.Get("package_uuid") == "" {
		t.Errorf("control not signed: %s", c.Format())
	}
	var payload int64
	for name, data := range files {
		if name != "WAPT/control" {
			payload += int64(len(data))
		}
	}
	if got, _ := c.Int("installed_size"); got != payload {
		t.Errorf("installed_size %d, want %d", got, payload)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("package file: %v, %v", fi, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	p, err := Open(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want := []string{ControlName, CertificateName, "WAPT/icon.png", "bin/run.sh", "données/été.txt", "empty.txt",
		"files/random.bin", "files/readme.txt", "setup.py", ManifestName, SignatureName}
	if got := memberNames(p); !slices.Equal(got, want) {
		t.Errorf("members %q\nwant %q", got, want)
	}
	if m, _ := memberByName(p, "files/random.bin"); m.Method != methodStore || m.CompressedSize != m.Size {
		t.Errorf("random data not stored: %+v", m)
	}
	if m, _ := memberByName(p, "files/readme.txt"); m.Method != methodDeflate || m.CompressedSize >= m.Size/2 {
		t.Errorf("text not deflated: %+v", m)
	}
	if !p.Signed() || !p.HasSetupPy() || p.Control().Get("signature") != c.Get("signature") {
		t.Errorf("signed %v, setup.py %v", p.Signed(), p.HasSetupPy())
	}
	if len(p.Chain()) != 2 || !p.Chain()[0].Equal(k.code) {
		t.Errorf("chain %v", p.Chain())
	}
	if err := p.Extract(context.Background(), filepath.Join(t.TempDir(), "early")); !errors.Is(err, ErrNotVerified) {
		t.Errorf("Extract before Verify: %v, want ErrNotVerified", err)
	}
	signer, err := p.Verify(context.Background(), k.trust, testNow)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !signer.Equal(k.code) {
		t.Errorf("signer %s", signer.Subject)
	}

	out := filepath.Join(t.TempDir(), "out")
	if err := p.Extract(context.Background(), out); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if name == "WAPT/control" {
			data = c.Format()
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: extracted %d bytes (%v), want %d", name, len(got), err, len(data))
		}
	}
	for name := range ignored {
		if name == "WAPT/manifest.sha256" || name == "WAPT/signature.sha256" || name == "WAPT/certificate.crt" {
			got, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
			if bytes.Equal(got, []byte("stale")) {
				t.Errorf("%s copied from the source", name)
			}
			continue
		}
		if _, err := os.Lstat(filepath.Join(out, filepath.FromSlash(name))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s should be excluded: %v", name, err)
		}
	}
	if runtime.GOOS != "windows" {
		for name, mode := range map[string]fs.FileMode{"bin/run.sh": 0o755, "setup.py": 0o644, "bin": 0o755 | fs.ModeDir} {
			fi, err := os.Stat(filepath.Join(out, name))
			if err != nil || fi.Mode() != mode {
				t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode(), err, mode)
			}
		}
	}
	if err := p.Extract(context.Background(), out); err == nil {
		t.Error("Extract into a non-empty directory succeeded")
	}
	c2, chain, err := ReadControl(path, DefaultLimits())
	if err != nil || c2.Get("signature") != c.Get("signature") || len(chain) != 2 {
		t.Errorf("ReadControl: %v", err)
	}
}

// TestManifestOpenSSL checks the manifest signature of a built package
// with openssl dgst -sha256 -verify.
func TestManifestOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	k := newPKI(t, "rsa")
	p, err := Open(buildTest(t, sourceFiles(1000, 1000), k.codeKey, k.codeChain()), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sig, err := base64.StdEncoding.DecodeString(string(p.sigFile))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(k.code.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{
		"pub.pem":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"sig.bin":  sig,
		"manifest": p.manifest,
		"bad":      append(bytes.Clone(p.manifest), ' '),
	})
	run := func(file string) error {
		cmd := exec.Command(openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", file)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		t.Logf("openssl on %s: %s", file, bytes.TrimSpace(out))
		return err
	}
	if err := run("manifest"); err != nil {
		t.Errorf("openssl rejects the manifest signature: %v", err)
	}
	if err := run("bad"); err == nil {
		t.Error("openssl accepts a modified manifest")
	}
}

func TestBuildUnsigned(t *testing.T) {
	files := sourceFiles(100, 100)
	// A stale signature in the source control is dropped.
	files["WAPT/control"] = []byte(testControl + "signature         : c3RhbGU=\nsigner            : someone\nfilename          : x.wapt\n")
	path := buildTest(t, files, nil, nil)
	p, err := Open(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want := []string{ControlName, "files/random.bin", "files/readme.txt", "setup.py"}
	if got := memberNames(p); !slices.Equal(got, want) {
		t.Errorf("members %q, want %q", got, want)
	}
	if p.Signed() || p.Control().Get("signature") != "" || p.Control().Get("signer") != "" || p.Control().Has("filename") {
		t.Errorf("unsigned package looks signed: %s", p.Control().Format())
	}
	if _, err := p.Verify(context.Background(), newPKI(t, "ecdsa").trust, testNow); !errors.Is(err, signing.ErrUnsigned) {
		t.Errorf("Verify: %v, want ErrUnsigned", err)
	}
	// Sign it afterwards, then again with another signer.
	k := newPKI(t, "ecdsa")
	if _, err := Sign(context.Background(), path, k.codeKey, k.codeChain(), testNow, nil); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	before, _ := os.ReadFile(path)
	p2, err := openBytes(before)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Verify(context.Background(), k.trust, testNow); err != nil {
		t.Fatalf("Verify after Sign: %v", err)
	}
	k2 := newPKI(t, "rsa")
	c, err := Sign(context.Background(), path, k2.codeKey, k2.codeChain(), testNow.Add(time.Hour), nil)
	if err != nil {
		t.Fatalf("second Sign: %v", err)
	}
	if c.Get("signer_fingerprint") != signing.Fingerprint(k2.code) {
		t.Errorf("signer_fingerprint %s", c.Get("signer_fingerprint"))
	}
	after, _ := os.ReadFile(path)
	p3, err := openBytes(after)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p3.Verify(context.Background(), k2.trust, testNow); err != nil {
		t.Fatalf("Verify after second Sign: %v", err)
	}
	if _, err := p3.Verify(context.Background(), k.trust, testNow); !errors.Is(err, signing.ErrUntrusted) {
		t.Errorf("old trust: %v, want ErrUntrusted", err)
	}
	// Payload members were copied raw.
	for _, name := range []string{"files/random.bin", "files/readme.txt", "setup.py"} {
		a, b := p2.byName[name], p3.byName[name]
		if !bytes.Equal(before[a.dataOff:a.dataOff+int64(a.csize)], after[b.dataOff:b.dataOff+int64(b.csize)]) || a.method != b.method {
			t.Errorf("%s: data changed by Sign", name)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	k := newPKI(t, "ecdsa")
	tests := []struct {
		name   string
		files  map[string][]byte
		link   string // symlink name to create
		signer crypto.Signer
		chain  []*x509.Certificate
		now    time.Time
		want   error
		inErr  string
	}{
		{name: "no control", files: map[string][]byte{"setup.py": nil}, want: fs.ErrNotExist},
		{name: "invalid control", files: map[string][]byte{"WAPT/control": []byte("package: x\nversion: 1\n")}, want: control.ErrInvalid},
		{name: "control syntax", files: map[string][]byte{"WAPT/control": []byte("package x\n")}, want: control.ErrSyntax},
		{name: "setup.py with a simple certificate", files: sourceFiles(10, 10), signer: k.simpleKey, chain: k.simpleChain(), want: signing.ErrNotCodeSigning},
		{name: "SETUP.PY with a simple certificate", files: map[string][]byte{"WAPT/control": []byte(testControl), "SETUP.PY": nil}, signer: k.simpleKey, chain: k.simpleChain(), want: signing.ErrNotCodeSigning},
		{name: "key does not match", files: sourceFiles(10, 10), signer: k.simpleKey, chain: k.codeChain(), inErr: "does not match"},
		{name: "no chain", files: sourceFiles(10, 10), signer: k.codeKey, inErr: "chain"},
		{name: "expired signer", files: sourceFiles(10, 10), signer: k.codeKey, chain: k.codeChain(), now: testNow.Add(2 * 365 * 24 * time.Hour), want: signing.ErrExpired},
		{name: "symlink", files: sourceFiles(10, 10), link: "files/link", want: ErrUnsafePath, inErr: "link"},
		{name: "case duplicates", files: map[string][]byte{"WAPT/control": []byte(testControl), "a.txt": nil, "A.TXT": nil}, want: ErrUnsafePath},
		{name: "colon in a name", files: map[string][]byte{"WAPT/control": []byte(testControl), "a:b.txt": nil}, want: ErrUnsafePath, inErr: "a:b.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && (tt.link != "" || strings.Contains(tt.name, "colon") || strings.Contains(tt.name, "case")) {
				t.Skip("not on Windows")
			}
			root := t.TempDir()
			src := filepath.Join(root, "src")
			writeTree(t, src, tt.files)
			if err := os.MkdirAll(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.link != "" {
				if err := os.Symlink("/etc/passwd", filepath.Join(src, filepath.FromSlash(tt.link))); err != nil {
					t.Fatal(err)
				}
			}
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			_, _, err := Build(context.Background(), src, BuildOptions{Signer: tt.signer, Chain: tt.chain, Now: now})
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("error %q does not mention %q", err, tt.inErr)
			}
			left, _ := os.ReadDir(root)
			if len(left) != 1 {
				t.Errorf("Build left files: %v", left)
			}
			t.Log(err)
		})
	}
}

// TestSimpleSignerConfigPackage: a package without setup.py may be signed
// by a certificate without codeSigning.
func TestSimpleSignerConfigPackage(t *testing.T) {
	k := newPKI(t, "ecdsa")
	path := buildTest(t, map[string][]byte{"WAPT/control": []byte(testControl), "conf/agent.ini": []byte("[global]\n")}, k.simpleKey, k.simpleChain())
	p, err := Open(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Verify(context.Background(), k.trust, testNow); err != nil {
		t.Fatal(err)
	}
}

// craftOpts describes a package assembled member by member, to produce
// packages Build refuses to make.
type craftOpts struct {
	files          map[string][]byte
	signer         crypto.Signer // manifest signer
	chain          []*x509.Certificate
	controlSigner  crypto.Signer // default: signer with chain[0]
	controlCert    *x509.Certificate
	afterSign      func(c *control.Control)
	manifest       func([]signing.ManifestEntry) []signing.ManifestEntry
	unlisted       map[string][]byte // members left out of the manifest
	skipSignatures bool
}

func craftPackage(tb testing.TB, o craftOpts) []byte {
	tb.Helper()
	c, err := control.Parse("control", []byte(testControl))
	if err != nil {
		tb.Fatal(err)
	}
	cs, cc := o.controlSigner, o.controlCert
	if cs == nil {
		cs, cc = o.signer, o.chain[0]
	}
	if err := signing.SignControl(c, cs, cc, testNow, nil); err != nil {
		tb.Fatal(err)
	}
	if o.afterSign != nil {
		o.afterSign(c)
	}
	var buf bytes.Buffer
	pw := newPackWriter(&buf)
	add := func(name string, data []byte, listed bool) {
		if err := pw.addBytes(name, data, testNow, false, listed); err != nil {
			tb.Fatal(err)
		}
	}
	add(ControlName, c.Format(), true)
	add(CertificateName, certs.EncodeCertsPEM(o.chain...), true)
	names := make([]string, 0, len(o.files))
	for name := range o.files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		add(name, o.files[name], true)
	}
	for name, data := range o.unlisted {
		add(name, data, false)
	}
	entries := pw.manifest
	if o.manifest != nil {
		entries = o.manifest(entries)
	}
	m, err := signing.MarshalManifest(entries)
	if err != nil {
		tb.Fatal(err)
	}
	sig, err := signing.SignManifest(o.signer, m)
	if err != nil {
		tb.Fatal(err)
	}
	if !o.skipSignatures {
		add(ManifestName, m, false)
		add(SignatureName, sig, false)
	}
	if err := pw.zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyRejects(t *testing.T) {
	k := newPKI(t, "ecdsa")
	other := newPKI(t, "ecdsa")
	payload := map[string][]byte{"setup.py": []byte("def install(): pass\n"), "files/a.txt": []byte("a")}
	noSetup := map[string][]byte{"files/a.txt": []byte("a")}
	base := craftOpts{files: payload, signer: k.codeKey, chain: k.codeChain()}
	with := func(f func(o *craftOpts)) craftOpts {
		o := base
		f(&o)
		return o
	}
	sum := func(s string) string { return strings.Repeat(s, 64) }
	tests := []struct {
		name  string
		opts  craftOpts
		trust *signing.Trust
		now   time.Time
		want  error
		inErr string
	}{
		{name: "reference package verifies", opts: base},
		{name: "legacy unlisted members are ignored", opts: with(func(o *craftOpts) {
			o.unlisted = map[string][]byte{"WAPT/signature": []byte("old"), "WAPT/manifest.sha1": []byte("old")}
		})},
		{name: "untrusted signer", opts: base, trust: other.trust, want: signing.ErrUntrusted},
		{name: "no trust", opts: base, trust: signing.NewTrust(), want: signing.ErrUntrusted},
		{name: "expired", opts: base, now: testNow.Add(2 * 365 * 24 * time.Hour), want: signing.ErrExpired},
		{name: "not yet valid", opts: base, now: testNow.Add(-48 * time.Hour), want: signing.ErrExpired},
		{name: "setup.py signed without codeSigning", opts: with(func(o *craftOpts) {
			o.signer, o.chain = k.simpleKey, k.simpleChain()
		}), want: signing.ErrNotCodeSigning},
		{name: "no setup.py, simple certificate", opts: with(func(o *craftOpts) {
			o.files, o.signer, o.chain = noSetup, k.simpleKey, k.simpleChain()
		})},
		{name: "unlisted member", opts: with(func(o *craftOpts) {
			o.unlisted = map[string][]byte{"files/extra.exe": []byte("MZ")}
		}), want: ErrManifest, inErr: "files/extra.exe"},
		{name: "listed member missing", opts: with(func(o *craftOpts) {
			o.manifest = func(m []signing.ManifestEntry) []signing.ManifestEntry {
				return append(m, signing.ManifestEntry{Path: "files/ghost.txt", SHA256: sum("0")})
			}
		}), want: ErrManifest, inErr: "files/ghost.txt"},
		{name: "manifest lists its own signature", opts: with(func(o *craftOpts) {
			o.manifest = func(m []signing.ManifestEntry) []signing.ManifestEntry {
				return append(m, signing.ManifestEntry{Path: SignatureName, SHA256: sum("0")})
			}
		}), want: ErrManifest},
		{name: "hash mismatch", opts: with(func(o *craftOpts) {
			o.manifest = func(m []signing.ManifestEntry) []signing.ManifestEntry {
				for i := range m {
					if m[i].Path == "files/a.txt" {
						m[i].SHA256 = sum("1")
					}
				}
				return m
			}
		}), want: ErrManifest, inErr: "files/a.txt"},
		{name: "tampered control", opts: with(func(o *craftOpts) {
			o.afterSign = func(c *control.Control) { c.Set("depends", "evil") }
		}), want: signing.ErrBadSignature},
		{name: "control signed by another certificate", opts: with(func(o *craftOpts) {
			o.files = noSetup
			o.chain = []*x509.Certificate{k.code, k.ca, k.simple}
			o.controlSigner, o.controlCert = k.simpleKey, k.simple
		}), want: signing.ErrBadSignature},
		{name: "manifest signed by another key", opts: with(func(o *craftOpts) {
			o.signer = other.codeKey
			o.controlSigner, o.controlCert = k.codeKey, k.code
		}), want: signing.ErrBadSignature},
		{name: "no manifest", opts: with(func(o *craftOpts) { o.skipSignatures = true }), want: signing.ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := openBytes(craftPackage(t, tt.opts))
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			trust, now := tt.trust, tt.now
			if trust == nil {
				trust = k.trust
			}
			if now.IsZero() {
				now = testNow
			}
			_, err = p.Verify(context.Background(), trust, now)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.want == nil:
				out := filepath.Join(t.TempDir(), "x")
				if err := p.Extract(context.Background(), out); err != nil {
					t.Fatalf("Extract: %v", err)
				}
				if _, err := os.Stat(filepath.Join(out, "WAPT", "signature")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("legacy WAPT/signature extracted: %v", err)
				}
			case !errors.Is(err, tt.want):
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			case !strings.Contains(err.Error(), "test.wapt") || !strings.Contains(err.Error(), tt.inErr):
				t.Errorf("error %q should name the package and %q", err, tt.inErr)
			}
			if tt.want != nil {
				if err := p.Extract(context.Background(), filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrNotVerified) {
					t.Errorf("Extract after failed Verify: %v", err)
				}
			}
			t.Log(err)
		})
	}
}

// mutableReader is an io.ReaderAt over bytes the test changes after Verify.
type mutableReader struct{ b []byte }

func (m *mutableReader) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.b).ReadAt(p, off)
}

func TestExtractRechecks(t *testing.T) {
	k := newPKI(t, "ecdsa")
	data, err := os.ReadFile(buildTest(t, sourceFiles(3000, 3000), k.codeKey, k.codeChain()))
	if err != nil {
		t.Fatal(err)
	}
	for _, existing := range []bool{false, true} {
		t.Run("existing dir "+strconv.FormatBool(existing), func(t *testing.T) {
			r := &mutableReader{b: bytes.Clone(data)}
			p, err := OpenReader(r, int64(len(data)), "x.wapt", DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Verify(context.Background(), k.trust, testNow); err != nil {
				t.Fatal(err)
			}
			e := p.byName["files/random.bin"]
			r.b[e.dataOff+10] ^= 1
			out := filepath.Join(t.TempDir(), "out")
			if existing {
				if err := os.Mkdir(out, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Extract(context.Background(), out); !errors.Is(err, ErrManifest) {
				t.Fatalf("Extract: %v, want ErrManifest", err)
			}
			left, err := os.ReadDir(out)
			switch {
			case existing && (err != nil || len(left) != 0):
				t.Errorf("Extract left %v (%v)", left, err)
			case !existing && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("Extract left its directory: %v %v", left, err)
			}
		})
	}
	t.Run("target is a file", func(t *testing.T) {
		p, err := openBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verify(context.Background(), k.trust, testNow); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "file")
		writeTree(t, filepath.Dir(f), map[string][]byte{"file": []byte("x")})
		if err := p.Extract(context.Background(), f); err == nil {
			t.Error("Extract onto a file succeeded")
		}
	})
}

func TestOpenNotPackage(t *testing.T) {
	data := craft(t, []zent{{name: "a.txt", data: []byte("x")}}, zopts{})
	if _, err := openBytes(data); !errors.Is(err, ErrNotPackage) {
		t.Errorf("zip without control: %v", err)
	}
	data = craft(t, []zent{{name: "WAPT/control", data: []byte("package: x\n")}}, zopts{})
	if _, err := openBytes(data); !errors.Is(err, control.ErrInvalid) {
		t.Errorf("invalid control: %v", err)
	}
	data = craft(t, []zent{{name: "WAPT/control", data: []byte(testControl)}, {name: CertificateName, data: []byte("junk")}}, zopts{})
	if _, err := openBytes(data); !errors.Is(err, certs.ErrNoCertificate) {
		t.Errorf("bad certificate: %v", err)
	}
	data = craft(t, []zent{{name: "WAPT/control", data: bytes.Repeat([]byte("x"), maxMetadataSize+1)}}, zopts{})
	if _, err := openBytes(data); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge control: %v", err)
	}
	if _, err := Open(t.TempDir(), DefaultLimits()); err == nil {
		t.Error("Open of a directory succeeded")
	}
}

// TestLargeMembers covers the pipelined paths (members over one buffer)
// of Build, Verify, Extract and Sign, and cancellation.
func TestLargeMembers(t *testing.T) {
	k := newPKI(t, "ecdsa")
	files := map[string][]byte{
		"WAPT/control": []byte(testControl),
		"setup.py":     []byte("def install(): pass\n"),
		"big.bin":      randomBytes(chunkSize*2+12345, 4),
		"big.txt":      textBytes(chunkSize*3 + 7),
		"exact.bin":    randomBytes(chunkSize, 5),
	}
	path := buildTest(t, files, k.codeKey, k.codeChain())
	check := func(t *testing.T) {
		t.Helper()
		p, err := Open(path, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if m, _ := memberByName(p, "big.bin"); m.Method != methodStore {
			t.Errorf("big.bin: %+v", m)
		}
		if m, _ := memberByName(p, "big.txt"); m.Method != methodDeflate {
			t.Errorf("big.txt: %+v", m)
		}
		if _, err := p.Verify(context.Background(), k.trust, testNow); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		if err := p.Extract(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"big.bin", "big.txt", "exact.bin"} {
			got, err := os.ReadFile(filepath.Join(out, name))
			if err != nil || !bytes.Equal(got, files[name]) {
				t.Errorf("%s differs after extraction (%v)", name, err)
			}
		}
	}
	t.Run("build", check)
	if _, err := Sign(context.Background(), path, k.codeKey, k.codeChain(), testNow, nil); err != nil {
		t.Fatal(err)
	}
	t.Run("sign", check)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, files)
	if _, _, err := Build(ctx, src, BuildOptions{OutDir: out, Now: testNow}); !errors.Is(err, context.Canceled) {
		t.Errorf("Build with a canceled context: %v", err)
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("canceled Build left %v", left)
	}
	p, err := Open(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Verify(ctx, k.trust, testNow); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a canceled context: %v", err)
	}
}

// TestPythonReadsPackage checks a built package with Python's zipfile
// (what WAPT reads packages with): CRCs, and the manifest against the
// members, the way WAPT's check_package_signature does.
func TestPythonReadsPackage(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	k := newPKI(t, "ecdsa")
	files := sourceFiles(5000, 5000)
	files["données/été.txt"] = []byte("accentué")
	path := buildTest(t, files, k.codeKey, k.codeChain())
	const script = `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
assert bad is None, bad
manifest = dict(json.loads(z.read("WAPT/manifest.sha256")))
names = set(z.namelist()) - {"WAPT/manifest.sha256", "WAPT/signature.sha256"}
assert set(manifest) == names, (sorted(manifest), sorted(names))
for name, digest in manifest.items():
    assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
print(len(names), "members ok")
`
	out, err := exec.Command(python, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	t.Logf("python: %s", bytes.TrimSpace(out))
}

func TestBuildExcludes(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, map[string][]byte{
		"WAPT/control":          []byte(testControl),
		"app.exe":               []byte("MZ"),
		"debug.log":             nil,
		"sub/trace.log":         nil,
		"docs/a.md":             nil,
		"docs/deep/b.md":        nil,
		"sub/docs/kept.md":      nil,
		".git/HEAD":             nil, // kept: the default excludes are replaced
		"WAPT/signature.sha256": []byte("always dropped"),
	})
	tests := []struct {
		excludes []string
		want     []string
	}{
		// A pattern without "/" matches a base name at any depth.
		{[]string{"*.log", "docs"}, []string{ControlName, ".git/HEAD", "app.exe"}},
		// A pattern with "/" matches the whole path.
		{[]string{"sub/*/*.md", "docs/*"}, []string{ControlName, ".git/HEAD", "app.exe", "debug.log", "sub/trace.log"}},
	}
	for _, tt := range tests {
		path, _, err := Build(context.Background(), src, BuildOptions{Now: testNow, OutDir: t.TempDir(), Excludes: tt.excludes})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Open(path, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if got := memberNames(p); !slices.Equal(got, tt.want) {
			t.Errorf("%q: members %q, want %q", tt.excludes, got, tt.want)
		}
		p.Close()
	}
	if _, _, err := Build(context.Background(), src, BuildOptions{Now: testNow, Excludes: []string{"["}}); err == nil || !strings.Contains(err.Error(), `"["`) {
		t.Errorf("bad pattern: %v", err)
	}
}
