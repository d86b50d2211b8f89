package pkgfile

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// flipPackage builds the small signed package of the byte-flip and
// truncation tests: setup.py, WAPT/control and, in a subfolder, a stored
// and a deflated file, signed with a code-signing certificate issued by the
// test CA. It is a few KB.
func flipPackage(tb testing.TB, k pki) []byte {
	tb.Helper()
	data, err := os.ReadFile(buildTest(tb, sourceFiles(600, 1500), k.codeKey, k.codeChain()))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// openVerify opens data from memory and verifies it.
func openVerify(data []byte, k pki) error {
	p, err := openBytes(data)
	if err != nil {
		return err
	}
	_, err = p.Verify(context.Background(), k.trust, testNow)
	return err
}

// TestByteFlip flips every byte of a signed package in turn (b ^= 0xFF):
// Open or Verify must fail for each. Two packages: one built and signed by
// Build, one built unsigned and signed by Sign (raw member copies).
func TestByteFlip(t *testing.T) {
	t.Run("Build", func(t *testing.T) {
		k := newPKI(t, "rsa")
		byteFlip(t, flipPackage(t, k), k)
	})
	t.Run("Sign", func(t *testing.T) {
		k := newPKI(t, "ecdsa")
		path := buildTest(t, sourceFiles(600, 1500), nil, nil)
		if _, err := Sign(context.Background(), path, k.codeKey, k.codeChain(), testNow, nil); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		byteFlip(t, data, k)
	})
}

func byteFlip(t *testing.T, orig []byte, k pki) {
	if err := openVerify(orig, k); err != nil {
		t.Fatalf("unmodified package: %v", err)
	}
	p, _ := openBytes(orig)
	methods := map[uint16]int{}
	for _, m := range p.Members() {
		methods[m.Method]++
	}
	if methods[methodStore] == 0 || methods[methodDeflate] == 0 || !p.HasSetupPy() {
		t.Fatalf("want setup.py, stored and deflated members, got %+v", p.Members())
	}
	t.Logf("package of %d bytes, members %+v", len(orig), p.Members())
	var passed []string
	b := make([]byte, len(orig))
	for i := range orig {
		copy(b, orig)
		b[i] ^= 0xFF
		if err := openVerify(b, k); err == nil {
			passed = append(passed, fmt.Sprint(i))
		}
	}
	if len(passed) > 0 {
		t.Errorf("%d of %d flipped bytes still open and verify, at offsets: %s", len(passed), len(orig), strings.Join(passed, " "))
	}
}

// TestTruncated cuts a signed package at every length: Open or Verify must
// fail for each.
func TestTruncated(t *testing.T) {
	k := newPKI(t, "ecdsa")
	orig := flipPackage(t, k)
	var passed []string
	for n := range len(orig) {
		if err := openVerify(orig[:n], k); err == nil {
			passed = append(passed, fmt.Sprint(n))
		}
	}
	if len(passed) > 0 {
		t.Errorf("truncated packages open and verify at lengths: %s", strings.Join(passed, " "))
	}
	// Appended bytes are refused too.
	if err := openVerify(append(orig[:len(orig):len(orig)], 0), k); err == nil {
		t.Errorf("package with a trailing byte verifies")
	}
}
