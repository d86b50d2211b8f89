package repoindex

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
)

// scanAndWrite scans dir with prev, writes Packages and returns the index as
// parsed back from the written file.
func scanAndWrite(tb testing.TB, dir string, prev *Index, o ScanOptions) (*Index, ScanReport) {
	tb.Helper()
	ix, rep, err := Scan(context.Background(), dir, prev, o)
	if err != nil {
		tb.Fatal(err)
	}
	if err := WriteFiles(dir, ix, nil, nil, nil); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, PackagesFile))
	if err != nil {
		tb.Fatal(err)
	}
	back, err := Parse(data, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return back, rep
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestScanIncremental(t *testing.T) {
	s := newSigner(t, "admin", certs.RoleCodeSigning, nil)
	dir := t.TempDir()
	a := buildPkg(t, dir, &s, pkgSpec{name: "tis-a", version: "1-1"})
	b := buildPkg(t, dir, &s, pkgSpec{name: "tis-b", version: "1-1"})
	c := buildPkg(t, dir, &s, pkgSpec{name: "tis-c", version: "1-1"})
	age(t, a, b, c)
	na, nb, nc := filepath.Base(a), filepath.Base(b), filepath.Base(c)

	ix, rep := scanAndWrite(t, dir, nil, ScanOptions{})
	if !slices.Equal(rep.Processed, []string{na, nb, nc}) || len(rep.Kept) != 0 {
		t.Fatalf("first scan: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, CacheFile)); err != nil {
		t.Fatalf("no cache after scan: %v", err)
	}

	// Nothing changed: nothing is read, and the result is identical.
	ix2, rep := scanAndWrite(t, dir, ix, ScanOptions{})
	if len(rep.Processed) != 0 || !slices.Equal(rep.Kept, []string{na, nb, nc}) {
		t.Fatalf("second scan: %+v", rep)
	}
	assertSameIndex(t, ix2, ix)

	// Proof that kept files are not read: make b unreadable as a package
	// but keep its size and mtime; the scan keeps the old entry.
	fi, _ := os.Stat(b)
	orig, _ := os.ReadFile(b)
	if err := os.WriteFile(b, bytes.Repeat([]byte{0}, int(fi.Size())), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(b, fi.ModTime(), fi.ModTime())
	_, rep = scanAndWrite(t, dir, ix2, ScanOptions{})
	if len(rep.Processed) != 0 || len(rep.Errors) != 0 {
		t.Fatalf("unchanged size+mtime was re-read: %+v", rep)
	}
	os.WriteFile(b, orig, 0o644)
	os.Chtimes(b, fi.ModTime(), fi.ModTime())

	// A touched file is re-read; a removed one leaves the index; a new
	// broken one is reported and skipped; a new good one is read.
	later := fi.ModTime().Add(time.Minute)
	os.Chtimes(c, later, later)
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "broken_1.wapt"), []byte("not a zip"), 0o644)
	d := buildPkg(t, dir, &s, pkgSpec{name: "tis-d", version: "1-1"})
	age(t, d)
	ix3, rep := scanAndWrite(t, dir, ix2, ScanOptions{})
	nd := filepath.Base(d)
	if !slices.Equal(rep.Processed, []string{nc, nd}) || !slices.Equal(rep.Kept, []string{nb}) {
		t.Fatalf("third scan: processed %q kept %q", rep.Processed, rep.Kept)
	}
	if err := rep.Errors["broken_1.wapt"]; err == nil {
		t.Errorf("broken package not reported: %v", rep.Errors)
	}
	if got := filenames(ix3); !slices.Equal(got, []string{nb, nc, nd}) {
		t.Fatalf("entries %q", got)
	}

	// Without prev every file is read again, cache or not.
	_, rep = scanAndWrite(t, dir, nil, ScanOptions{})
	if len(rep.Processed) != 3 || len(rep.Kept) != 0 {
		t.Errorf("scan without prev: %+v", rep)
	}

	// A corrupt cache is ignored.
	os.WriteFile(filepath.Join(dir, CacheFile), []byte("{not json"), 0o644)
	var logged []string
	_, rep = scanAndWrite(t, dir, ix3, ScanOptions{Logf: func(f string, a ...any) { logged = append(logged, f) }})
	if len(rep.Processed) != 3 || len(logged) == 0 {
		t.Errorf("corrupt cache: %+v, log %q", rep, logged)
	}
	// ... and rewritten: the next scan keeps everything.
	_, rep = scanAndWrite(t, dir, ix3, ScanOptions{})
	if len(rep.Kept) != 3 {
		t.Errorf("after cache rewrite: %+v", rep)
	}
	// No temp file is left behind.
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if n := de.Name(); n != CacheFile && n != PackagesFile && filepath.Ext(n) != ".wapt" {
			t.Errorf("unexpected file %s in the repository", n)
		}
	}
}

// TestScanRacy: a file modified just before the scan is not cached, so a
// change within the same clock tick cannot be missed.
func TestScanRacy(t *testing.T) {
	s := newSigner(t, "admin", certs.RoleCodeSigning, nil)
	dir := t.TempDir()
	a := buildPkg(t, dir, &s, pkgSpec{name: "tis-a", version: "1-1"})
	ix, rep := scanAndWrite(t, dir, nil, ScanOptions{})
	if len(rep.Processed) != 1 {
		t.Fatalf("%+v", rep)
	}
	_, rep = scanAndWrite(t, dir, ix, ScanOptions{})
	if !slices.Equal(rep.Processed, []string{filepath.Base(a)}) {
		t.Errorf("fresh file was kept from the cache: %+v", rep)
	}
}

func TestScanHostAndTrust(t *testing.T) {
	ca := newSigner(t, "Test CA", certs.RoleCA, nil)
	admin := newSigner(t, "admin", certs.RoleCodeSigning, &ca)
	stranger := newSigner(t, "stranger", certs.RoleCodeSigning, nil)
	dir := t.TempDir()
	good := buildPkg(t, dir, &admin, pkgSpec{name: "tis-good", version: "1-1", files: map[string]string{"setup.py": "def install():\n    pass\n"}})
	host := buildPkg(t, dir, &admin, pkgSpec{name: "0f5d2a1e-1b7c-4f9e-9c61-7d7b6a2b8c11", version: "1", section: "host"})
	strange := buildPkg(t, dir, &stranger, pkgSpec{name: "tis-strange", version: "1-1"})
	unsigned := buildPkg(t, dir, nil, pkgSpec{name: "tis-unsigned", version: "1-1"})
	age(t, good, host, strange, unsigned)
	base := filepath.Base

	ix, rep := scanAndWrite(t, dir, nil, ScanOptions{})
	if got := filenames(ix); !slices.Equal(sorted(got), sorted([]string{base(good), base(strange), base(unsigned)})) {
		t.Errorf("without trust: %q (host package must be left out)", got)
	}
	if len(rep.Processed) != 4 {
		t.Errorf("host package not processed: %+v", rep)
	}

	trust := signing.NewTrust(ca.cert())
	for _, prev := range []*Index{nil, ix} { // read, then kept from the cache
		ix2, rep := scanAndWrite(t, dir, prev, ScanOptions{Trust: trust, Now: testNow, IncludeHost: true})
		if got := filenames(ix2); !slices.Equal(sorted(got), sorted([]string{base(good), base(host)})) {
			t.Errorf("prev=%v: with trust: %q", prev != nil, got)
		}
		if err := rep.Errors[base(strange)]; !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("prev=%v: untrusted signer: %v", prev != nil, err)
		}
		if err := rep.Errors[base(unsigned)]; !errors.Is(err, signing.ErrUnsigned) {
			t.Errorf("prev=%v: unsigned: %v", prev != nil, err)
		}
		if len(ix2.Certs) != 2 {
			t.Errorf("prev=%v: %d certs, want admin and CA only", prev != nil, len(ix2.Certs))
		}
	}
	// Trust checked at a time the certificates are expired.
	_, rep = scanAndWrite(t, dir, nil, ScanOptions{Trust: trust, Now: testNow.AddDate(20, 0, 0)})
	if err := rep.Errors[base(good)]; !errors.Is(err, signing.ErrExpired) {
		t.Errorf("expired: %v", err)
	}
}

func TestScanIcon(t *testing.T) {
	s := newSigner(t, "admin", certs.RoleCodeSigning, nil)
	dir := t.TempDir()
	png := "\x89PNG\r\n\x1a\nfake image"
	withIcon := buildPkg(t, dir, &s, pkgSpec{name: "tis-icon", version: "1-1", files: map[string]string{"WAPT/icon.png": png}})
	buildPkg(t, dir, &s, pkgSpec{name: "grp-icon", version: "1", section: "group", files: map[string]string{"WAPT/icon.png": png}})
	buildPkg(t, dir, &s, pkgSpec{name: "tis-noicon", version: "1-1"})
	if _, _, err := Scan(context.Background(), dir, nil, ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	c, _, err := pkgfile.ReadControl(withIcon, pkgfile.DefaultLimits())
	if err != nil || c.Get("package_uuid") == "" {
		t.Fatalf("control of %s: %v (package_uuid %q)", withIcon, err, c.Get("package_uuid"))
	}
	got, err := os.ReadFile(filepath.Join(dir, "icons", c.Get("package_uuid")+".png"))
	if err != nil || string(got) != png {
		t.Errorf("icon: %q, %v", got, err)
	}
	des, _ := os.ReadDir(filepath.Join(dir, "icons"))
	if len(des) != 1 {
		t.Errorf("icons/ holds %d files, want 1 (no icon for group packages)", len(des))
	}
}

func TestScanCancelled(t *testing.T) {
	s := newSigner(t, "admin", certs.RoleCodeSigning, nil)
	dir := t.TempDir()
	buildPkg(t, dir, &s, pkgSpec{name: "tis-a", version: "1-1"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Scan(ctx, dir, nil, ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, _, err := Scan(context.Background(), filepath.Join(dir, "absent"), nil, ScanOptions{}); err == nil {
		t.Error("scan of a missing directory succeeded")
	}
}
