package repoindex

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
)

// fixtureFP is the fingerprint of testdata/wapt-signer.crt.
const fixtureFP = "a49c50ae63d7230af2d5a849c0d98edb2d3c5401804006c55f37f24979212634"

// makeZip returns a ZIP holding the given name, content pairs in order.
func makeZip(tb testing.TB, members ...string) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i < len(members); i += 2 {
		w, err := zw.Create(members[i])
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(members[i+1]))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestParseWAPTFixture reads an index written like WAPT's
// update_packages_index (testdata/gen_fixture.py): LF and CRLF blocks, extra
// blank lines, no final newline, a crl/ member.
func TestParseWAPTFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/wapt-Packages.zip")
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filenames(ix), []string{"tis-firefox-esr_115.9.1-12_x64_PROD.wapt", "tis-7zip_23.01-3_fr-en.wapt", "grp-office_3.wapt"}; !slices.Equal(got, want) {
		t.Fatalf("filenames = %q, want %q", got, want)
	}
	ff, sz, grp := ix.Entries[0], ix.Entries[1], ix.Entries[2]
	for _, c := range []struct{ got, want string }{
		{ff.Get("description"), "Firefox ESR\nLong term support release"},
		{ff.Get("description_fr"), "Navigateur étendu"},
		{ff.Get("depends"), "tis-vcredist,tis-fonts(>=2.0)"},
		{ff.Get("size"), "61234567"},
		{ff.Get("signer_fingerprint"), fixtureFP},
		{sz.Get("locale"), "fr,en"},
		{sz.Get("md5sum"), "fedcba9876543210fedcba9876543210"},
		{grp.Section(), "group"},
		{grp.Get("md5sum"), "00112233445566778899aabbccddeeff"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if len(ix.Certs) != 1 || ix.Certs[fixtureFP] == nil || ix.Certs[fixtureFP].Subject.CommonName != "fixture-signer" {
		t.Errorf("Certs = %v, want the fixture signer under %s", ix.Certs, fixtureFP)
	}
	if got := ix.Lookup("TIS-7zip"); len(got) != 1 || got[0] != sz {
		t.Errorf("Lookup(TIS-7zip) = %v", got)
	}
	if got := ix.Lookup("missing"); got != nil {
		t.Errorf("Lookup(missing) = %v", got)
	}

	// Our blocks are byte-identical to WAPT's ascontrol (plus the final
	// newline WAPT adds as a separator).
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("Packages")
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	text.ReadFrom(rc)
	firstBlock, _, _ := strings.Cut(text.String(), "\n\n")
	if got := string(ff.Format()); got != firstBlock+"\n" {
		t.Errorf("Format differs from WAPT's block:\n%s\nwant:\n%s", got, firstBlock)
	}

	// Marshal → Parse keeps everything; Marshal is deterministic.
	out, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertSameIndex(t, again, ix)
	out2, _ := again.Marshal()
	if !bytes.Equal(out, out2) {
		t.Error("Marshal is not deterministic")
	}
}

// assertSameIndex compares entries (formatted) and certificate sets.
func assertSameIndex(tb testing.TB, got, want *Index) {
	tb.Helper()
	if len(got.Entries) != len(want.Entries) {
		tb.Fatalf("%d entries, want %d", len(got.Entries), len(want.Entries))
	}
	for i := range got.Entries {
		if g, w := string(got.Entries[i].Format()), string(want.Entries[i].Format()); g != w {
			tb.Errorf("entry %d:\n%s\nwant:\n%s", i, g, w)
		}
	}
	if g, w := slices.Sorted(maps.Keys(got.Certs)), slices.Sorted(maps.Keys(want.Certs)); !slices.Equal(g, w) {
		tb.Errorf("certs %q, want %q", g, w)
	}
}

func TestParseErrors(t *testing.T) {
	good := "package: a\nversion: 1.0-1\nfilename: a_1.0-1.wapt\nsize: 10\n"
	valid := makeZip(t, "Packages", good)
	var bomb bytes.Buffer
	{
		zw := zip.NewWriter(&bomb)
		w, _ := zw.Create("Packages")
		w.Write(bytes.Repeat([]byte("a"), 2<<20))
		zw.Close()
	}
	tests := []struct {
		name    string
		data    []byte
		maxSize int64
		frags   []string
	}{
		{"not a zip", []byte("package: a\n"), 0, nil},
		{"empty", nil, 0, nil},
		{"missing Packages", makeZip(t, "packages.txt", good), 0, []string{`no "Packages" member`}},
		{"duplicate member", makeZip(t, "Packages", good, "Packages", good), 0, []string{"duplicate member"}},
		{"line without colon", makeZip(t, "Packages", good+"\npackage: b\nversion: 2\nfilename: b.wapt\noops\n"), 0, []string{"Packages:9"}},
		{"no package", makeZip(t, "Packages", good+"\n\nversion: 2\nfilename: b.wapt\n"), 0, []string{"Packages:7", "no package name"}},
		{"bad version", makeZip(t, "Packages", "package: a\nversion: 1..2\nfilename: a.wapt\n"), 0, []string{"Packages:1"}},
		{"path in filename", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: ../a.wapt\n"), 0, []string{"bad filename"}},
		{"backslash filename", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: c:\\a.wapt\n"), 0, []string{"bad filename"}},
		{"no filename", makeZip(t, "Packages", "package: a\nversion: 1\n"), 0, []string{"bad filename"}},
		{"bad size", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: a.wapt\nsize: -1\n"), 0, []string{"bad size"}},
		{"bad md5", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: a.wapt\nmd5sum: xyz\n"), 0, []string{"bad md5sum"}},
		{"bad sha256", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: a.wapt\nsha256: 00\n"), 0, []string{"bad sha256"}},
		{"duplicate filename", makeZip(t, "Packages", good+"\n"+good), 0, []string{"Packages:6", "already listed at line 1"}},
		{"bad certificate", makeZip(t, "Packages", good, "ssl/00.crt", "not pem"), 0, []string{"ssl/00.crt"}},
		{"over maxSize", valid, int64(len(valid) - 1), []string{"limit"}},
		{"expands too much", bomb.Bytes(), int64(bomb.Len()), []string{"member Packages", "uncompressed"}},
		{"blank inner line", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: a.wapt\ndescription: x\n \n y\n"), 0, []string{"Packages:1", "blank inner line"}},
		{"line separator", makeZip(t, "Packages", "package: a\nversion: 1\nfilename: a.wapt\ndescription: x\u2028y\n"), 0, []string{"Packages:1", "U+2028"}},
		{"invalid utf-8", makeZip(t, "Packages", "package: a\xff\nversion: 1\nfilename: a.wapt\n"), 0, []string{"Packages:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.data, tt.maxSize)
			wantErr(t, err, ErrBadIndex, tt.frags...)
		})
	}
	t.Run("truncated", func(t *testing.T) {
		data, err := os.ReadFile("testdata/wapt-Packages.zip")
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n += 7 {
			if _, err := Parse(data[:n], 0); !errors.Is(err, ErrBadIndex) {
				t.Fatalf("truncated at %d: err = %v, want ErrBadIndex", n, err)
			}
		}
	})
	t.Run("corrupt deflate data", func(t *testing.T) {
		data, _ := os.ReadFile("testdata/wapt-Packages.zip")
		data = slices.Clone(data)
		data[100] ^= 0xff // inside the compressed Packages member
		_, err := Parse(data, 0)
		wantErr(t, err, ErrBadIndex, "Packages")
	})
}

// hashes returns the hex md5 and sha256 of a file.
func hashes(tb testing.TB, path string) (string, string, int64) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	m, s := md5.Sum(data), sha256.Sum256(data)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), int64(len(data))
}

func TestBuildIndexRoundTrip(t *testing.T) {
	ca := newSigner(t, "Test CA", certs.RoleCA, nil)
	admin := newSigner(t, "admin", certs.RoleCodeSigning, &ca)
	dir := t.TempDir()
	paths := []string{
		buildPkg(t, dir, &admin, pkgSpec{name: "tis-b", version: "2.0-1", files: map[string]string{"setup.py": "def install():\n    pass\n"}}),
		buildPkg(t, dir, &admin, pkgSpec{name: "tis-a", version: "1.0-3", extra: map[string]string{"description_fr": "Paquet accentué"}}),
		buildPkg(t, dir, &admin, pkgSpec{name: "grp-c", version: "1", section: "group", extra: map[string]string{"depends": "tis-a,tis-b(>=2)"}}),
	}
	ix, rep, err := Scan(context.Background(), dir, nil, ScanOptions{Trust: signing.NewTrust(ca.cert()), Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || len(rep.Processed) != 3 || len(rep.Kept) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	want := []string{filepath.Base(paths[2]), filepath.Base(paths[1]), filepath.Base(paths[0])}
	if got := filenames(ix); !slices.Equal(got, want) {
		t.Fatalf("entries %q, want %q (file name order)", got, want)
	}
	for _, p := range paths {
		e := ix.Lookup(strings.SplitN(filepath.Base(p), "_", 2)[0])
		if len(e) != 1 {
			t.Fatalf("Lookup for %s: %v", p, e)
		}
		md, sh, size := hashes(t, p)
		if e[0].Get("md5sum") != md || e[0].Get("sha256") != sh || e[0].Get("size") != strconv.FormatInt(size, 10) {
			t.Errorf("%s: index says %s/%s/%s, file is %s/%s/%d", p, e[0].Get("md5sum"), e[0].Get("sha256"), e[0].Get("size"), md, sh, size)
		}
		if e[0].Get("signer_fingerprint") != signing.Fingerprint(admin.cert()) {
			t.Errorf("%s: signer_fingerprint %q", p, e[0].Get("signer_fingerprint"))
		}
		// The control block still verifies from the index alone.
		if _, err := signing.VerifyControl(e[0], certsOf(ix), signing.NewTrust(ca.cert()), testNow, false); err != nil {
			t.Errorf("%s: control signature from the index: %v", p, err)
		}
	}
	if len(ix.Certs) != 2 || ix.Certs[signing.Fingerprint(admin.cert())] == nil || ix.Certs[signing.Fingerprint(ca.cert())] == nil {
		t.Errorf("Certs has %d certificates, want admin and CA", len(ix.Certs))
	}
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertSameIndex(t, back, ix)
	for i := range back.Entries {
		for _, k := range ix.Entries[i].Keys() {
			if g, w := back.Entries[i].Get(k), ix.Entries[i].Get(k); g != w {
				t.Errorf("entry %d %s = %q, want %q", i, k, g, w)
			}
		}
	}
}

func certsOf(ix *Index) []*x509.Certificate {
	var out []*x509.Certificate
	for _, fp := range slices.Sorted(maps.Keys(ix.Certs)) {
		out = append(out, ix.Certs[fp])
	}
	return out
}

func TestAddRemove(t *testing.T) {
	ca := newSigner(t, "Test CA", certs.RoleCA, nil)
	alice := newSigner(t, "alice", certs.RoleCodeSigning, &ca)
	bob := newSigner(t, "bob", certs.RoleCodeSigning, nil)
	dir, other := t.TempDir(), t.TempDir()
	a1 := buildPkg(t, dir, &alice, pkgSpec{name: "tis-a", version: "1-1"})
	b1 := buildPkg(t, dir, &alice, pkgSpec{name: "tis-b", version: "1-1"})
	ix, _, err := Scan(context.Background(), dir, nil, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, lim := context.Background(), pkgfile.DefaultLimits()

	// A new version is appended.
	a2 := buildPkg(t, dir, &alice, pkgSpec{name: "tis-a", version: "2-1"})
	e, err := ix.Add(ctx, a2, lim)
	if err != nil {
		t.Fatal(err)
	}
	if e.Get("filename") != filepath.Base(a2) || len(ix.Entries) != 3 || ix.Entries[2] != e {
		t.Fatalf("after Add: %q", filenames(ix))
	}
	// Same package key (same name, version, arch, maturity, locale) from
	// another signer and file name: replaced in place, bob's cert added,
	// no longer used certs (none yet) kept.
	b1bob := buildPkg(t, other, &bob, pkgSpec{name: "tis-b", version: "1-1"})
	renamed := filepath.Join(other, "renamed.wapt")
	if err := os.Rename(b1bob, renamed); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Add(ctx, renamed, lim); err != nil {
		t.Fatal(err)
	}
	if got, want := filenames(ix), []string{filepath.Base(a1), "renamed.wapt", filepath.Base(a2)}; !slices.Equal(got, want) {
		t.Fatalf("after replace: %q, want %q", got, want)
	}
	if len(ix.Certs) != 3 {
		t.Errorf("Certs: %d, want alice, CA and bob", len(ix.Certs))
	}
	// Re-adding the same file replaces it (nothing duplicated).
	if _, err := ix.Add(ctx, renamed, lim); err != nil || len(ix.Entries) != 3 {
		t.Fatalf("re-add: %v, %q", err, filenames(ix))
	}
	// Removing bob's only package drops bob's certificate; alice's chain
	// (alice + CA) stays.
	if !ix.Remove("renamed.wapt") {
		t.Fatal("Remove returned false")
	}
	if ix.Remove("renamed.wapt") {
		t.Fatal("second Remove returned true")
	}
	if _, ok := ix.Certs[signing.Fingerprint(bob.cert())]; ok || len(ix.Certs) != 2 {
		t.Errorf("Certs after Remove: %d (bob kept: %v)", len(ix.Certs), ok)
	}
	// A broken file is refused and leaves the index unchanged.
	bad := filepath.Join(dir, "bad.wapt")
	os.WriteFile(bad, []byte("PK\x03\x04 garbage"), 0o644)
	if _, err := ix.Add(ctx, bad, lim); err == nil || !strings.Contains(err.Error(), "bad.wapt") {
		t.Errorf("Add(broken) = %v, want an error naming the file", err)
	}
	if _, err := ix.Add(ctx, filepath.Join(dir, "absent.wapt"), lim); err == nil {
		t.Error("Add(absent) succeeded")
	}
	if got := filenames(ix); len(got) != 2 {
		t.Errorf("entries after failed Adds: %q", got)
	}
	_ = b1
}

func TestMarshalRefusesWhatWAPTMisreads(t *testing.T) {
	for _, v := range []string{"one\n\nthree", "one\n ", "tab\x0bvertical"} {
		e := control.New()
		e.Set("package", "a")
		e.Set("version", "1")
		e.Set("description", v)
		e.Set("filename", "a_1.wapt")
		if _, err := (&Index{Entries: []*control.Control{e}}).Marshal(); err == nil || !strings.Contains(err.Error(), "a_1.wapt") {
			t.Errorf("description %q: err = %v, want a refusal naming the entry", v, err)
		}
	}
	if _, err := (&Index{Entries: []*control.Control{nil}}).Marshal(); err == nil {
		t.Error("nil entry accepted")
	}
	empty, err := (&Index{}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if ix, err := Parse(empty, 0); err != nil || len(ix.Entries) != 0 {
		t.Errorf("empty index: %v, %v", ix, err)
	}
}
