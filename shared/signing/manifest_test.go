package signing

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("0123456789abcdef", 4)
)

func TestMarshalManifest(t *testing.T) {
	tests := []struct {
		name    string
		entries []ManifestEntry
		want    string
		err     error
	}{
		{"sorted, lowercased", []ManifestEntry{
			{"setup.py", strings.ToUpper(hashB)},
			{"WAPT/control", hashA},
			{"files/été.txt", hashB},
		}, `[["WAPT/control","` + hashA + `"],["files/\u00e9t\u00e9.txt","` + hashB + `"],["setup.py","` + hashB + `"]]`, nil},
		{"empty", nil, `[]`, nil},
		{"duplicate", []ManifestEntry{{"a", hashA}, {"a", hashB}}, "", ErrBadManifest},
		{"empty path", []ManifestEntry{{"", hashA}}, "", ErrBadManifest},
		{"short hash", []ManifestEntry{{"a", "abc"}}, "", ErrBadManifest},
		{"non-hex hash", []ManifestEntry{{"a", strings.Repeat("g", 64)}}, "", ErrBadManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalManifest(tt.entries)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []ManifestEntry
		err  error
	}{
		{"ours", `[["WAPT/control","` + hashA + `"],["setup.py","` + hashB + `"]]`,
			[]ManifestEntry{{"WAPT/control", hashA}, {"setup.py", hashB}}, nil},
		{"WAPT spacing and order, uppercase hex", "[[\"setup.py\", \"" + strings.ToUpper(hashB) + "\"], [\"WAPT/control\", \"" + hashA + "\"]]\n",
			[]ManifestEntry{{"setup.py", hashB}, {"WAPT/control", hashA}}, nil},
		{"escaped unicode path", `[["files/\u00e9t\u00e9.txt","` + hashA + `"]]`, []ManifestEntry{{"files/été.txt", hashA}}, nil},
		{"empty list", `[]`, []ManifestEntry{}, nil},
		{"null", `null`, nil, ErrBadManifest},
		{"object", `{"a":"b"}`, nil, ErrBadManifest},
		{"empty", ``, nil, ErrBadManifest},
		{"trailing garbage", `[] x`, nil, ErrBadManifest},
		{"truncated", `[["a","` + hashA + `"]`, nil, ErrBadManifest},
		{"three items", `[["a","` + hashA + `","x"]]`, nil, ErrBadManifest},
		{"one item", `[["a"]]`, nil, ErrBadManifest},
		{"number hash", `[["a",1]]`, nil, ErrBadManifest},
		{"null path", `[[null,"` + hashA + `"]]`, nil, ErrBadManifest},
		{"not a pair", `["a"]`, nil, ErrBadManifest},
		{"empty path", `[["","` + hashA + `"]]`, nil, ErrBadManifest},
		{"sha1", `[["a","` + hashA[:40] + `"]]`, nil, ErrBadManifest},
		{"duplicate", `[["a","` + hashA + `"],["a","` + hashB + `"]]`, nil, ErrBadManifest},
		{"invalid utf8", "[[\"\xff\",\"" + hashA + "\"]]", nil, ErrBadManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tt.data))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestManifestRoundTrip(t *testing.T) {
	in := []ManifestEntry{{"z/😀", hashA}, {"WAPT/control", hashB}, {"a b", hashA}}
	data, err := MarshalManifest(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(in)
	slices.SortFunc(want, func(a, b ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func testManifest(tb testing.TB) []byte {
	tb.Helper()
	m, err := MarshalManifest([]ManifestEntry{{"WAPT/control", hashA}, {"setup.py", hashB}, {"WAPT/certificate.crt", hashB}})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestSignVerifyManifest(t *testing.T) {
	f := testFixture(t)
	manifest := testManifest(t)
	for _, kc := range []keyCert{f.admin, f.simple} {
		t.Run(kc.cert.Subject.CommonName, func(t *testing.T) {
			sigFile, err := SignManifest(kc.key, manifest)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.ContainsAny(sigFile, "\r\n ") {
				t.Fatalf("signature file has white space: %q", sigFile)
			}
			if err := VerifyManifest(kc.cert, manifest, sigFile); err != nil {
				t.Fatalf("verify: %v", err)
			}
			// WAPT writes base64 wrapped at 76 columns, with a final newline.
			var wrapped []byte
			for s := sigFile; len(s) > 0; {
				n := min(76, len(s))
				wrapped = append(append(wrapped, s[:n]...), '\r', '\n')
				s = s[n:]
			}
			if err := VerifyManifest(kc.cert, manifest, wrapped); err != nil {
				t.Fatalf("wrapped signature: %v", err)
			}
			tampered := bytes.Replace(manifest, []byte(hashA), []byte(hashB), 1)
			if err := VerifyManifest(kc.cert, tampered, sigFile); !errors.Is(err, ErrBadSignature) {
				t.Errorf("tampered manifest: %v", err)
			}
			if err := VerifyManifest(f.self.cert, manifest, sigFile); !errors.Is(err, ErrBadSignature) {
				t.Errorf("wrong certificate: %v", err)
			}
			if err := VerifyManifest(kc.cert, manifest, []byte("not base64!")); !errors.Is(err, ErrBadSignature) {
				t.Errorf("garbage: %v", err)
			}
			if err := VerifyManifest(kc.cert, manifest, []byte(" \n")); !errors.Is(err, ErrUnsigned) {
				t.Errorf("empty: %v", err)
			}
		})
	}
}

// TestManifestOpenSSL verifies our manifest signature with OpenSSL, the way
// anyone can check a WAPT package by hand.
func TestManifestOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	f := testFixture(t)
	manifest := testManifest(t)
	for _, kc := range []keyCert{f.admin, f.simple} {
		t.Run(kc.cert.Subject.CommonName, func(t *testing.T) {
			sigFile, err := SignManifest(kc.key, manifest)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := decodeBase64(sigFile)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := x509.MarshalPKIXPublicKey(kc.cert.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			write := func(name string, data []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			pubPath := write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
			sigPath := write("sig.bin", sig)
			good := write("manifest.sha256", manifest)
			bad := write("tampered.sha256", bytes.Replace(manifest, []byte("setup.py"), []byte("setup.pz"), 1))

			out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, good).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified OK") {
				t.Fatalf("openssl rejects our signature: %v\n%s", err, out)
			}
			out, err = exec.Command(openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, bad).CombinedOutput()
			if err == nil || strings.Contains(string(out), "Verified OK") {
				t.Fatalf("openssl accepts a tampered manifest: %s", out)
			}
		})
	}
}
