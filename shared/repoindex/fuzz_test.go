package repoindex

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds each input to Parse twice: as the index ZIP itself, and
// as the text of the "Packages" member of a valid ZIP (random bytes rarely
// get through the ZIP layer). Parse must not panic, must fail with
// ErrBadIndex only, and what it accepts must survive Marshal → Parse with
// Marshal giving the same bytes again.
func FuzzParse(f *testing.F) {
	fixture, err := os.ReadFile("testdata/wapt-Packages.zip")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add(fixtureText(f, fixture))
	f.Add([]byte("package: a\nversion: 1.0-1\nfilename: a_1.0-1.wapt\nsize: 10\nmd5sum: 0123456789abcdef0123456789abcdef\n\n" +
		"package: b\r\nversion: 2\r\ndescription: two\r\n lines\r\nfilename: b.wapt\r\nextra: kept\r\n"))
	f.Add([]byte("package: a\nversion: 1\nfilename: a.wapt\n description\n\n\n\npackage: a\nversion:1\nfilename: b.wapt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, _ := zw.Create(packagesMember)
		w.Write(data)
		zw.Close()
		checkParse(t, b.Bytes())
	})
}

func checkParse(t *testing.T, data []byte) {
	ix, err := Parse(data, 1<<20)
	if err != nil {
		if !errors.Is(err, ErrBadIndex) {
			t.Fatalf("error without ErrBadIndex: %v", err)
		}
		return
	}
	out, err := ix.Marshal()
	if err != nil {
		t.Fatalf("Marshal of a parsed index: %v", err)
	}
	back, err := Parse(out, 0)
	if err != nil {
		t.Fatalf("Parse(Marshal(ix)): %v\n%q", err, fixtureText(t, out))
	}
	if len(back.Entries) != len(ix.Entries) || len(back.Certs) != len(ix.Certs) {
		t.Fatalf("round trip: %d entries %d certs, want %d and %d", len(back.Entries), len(back.Certs), len(ix.Entries), len(ix.Certs))
	}
	again, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, again) {
		t.Fatalf("Marshal not stable:\n%q\n%q", fixtureText(t, out), fixtureText(t, again))
	}
}

// fixtureText returns the "Packages" member of an index ZIP.
func fixtureText(tb testing.TB, data []byte) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := zr.Open(packagesMember)
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}
