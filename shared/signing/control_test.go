package signing

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/control"
)

// controlOf builds a control from "key: value" lines; a line starting with a
// space continues the previous value (as control files do).
func controlOf(tb testing.TB, text string) *control.Control {
	tb.Helper()
	c := control.New()
	key := ""
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, " ") {
			c.Set(key, c.Get(key)+"\n"+strings.TrimSpace(line))
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			tb.Fatalf("bad line %q", line)
		}
		key = strings.ToLower(strings.TrimSpace(k))
		c.Set(key, strings.TrimSpace(v))
	}
	return c
}

const sampleControl = `package: tis-firefox-esr
version: 115.0.2-12
architecture: x64
section: base
priority: optional
name: Firefox ESR
maintainer: Ädmin <admin@example.lan>
description: Navigateur «libre» <stable> & "sûr" 😀
 deuxième ligne
depends: tis-vcredist,tis-7zip(>=19.0)
conflicts: 
maturity: PROD
installed_size: 123456789
x_custom: kept & signed
filename: tis-firefox-esr_115.0.2-12_x64_PROD.wapt
size: 4567
md5sum: d41d8cd98f00b204e9800998ecf8427e
`

func TestDefaultSignedAttributes(t *testing.T) {
	c := controlOf(t, sampleControl+"signature: old\nsha256: "+hashA+"\n")
	got := DefaultSignedAttributes(c)
	var want []string
	for _, a := range control.StandardAttributes {
		if a != "signature" {
			want = append(want, a)
		}
	}
	want = append(want, "x_custom")
	if !slices.Equal(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	for _, a := range []string{"package", "installed_size", "signer", "signer_fingerprint", "signature_date", "signed_attributes"} {
		if !slices.Contains(got, a) {
			t.Errorf("%s missing", a)
		}
	}
}

func TestSignedControlContent(t *testing.T) {
	tests := []struct {
		name    string
		control string
		want    string
		err     error
	}{
		{
			name: "WAPT rules",
			control: "package: tis-test\nversion: 1.2-3\ninstalled_size: 1234\nsize: abc\ndescription: Été <b>&\"x\"\n 2\n" +
				"signed_attributes: package,version,installed_size,size,description,name,signer,unknown_attr,Package, ,signed_attributes\n",
			// python3 testdata/wapt_signed_content.py on the same control
			want: `{"Package":null,"description":"\u00c9t\u00e9 <b>&\"x\"\n2","installed_size":1234,"name":"","package":"tis-test",` +
				`"signed_attributes":"package,version,installed_size,size,description,name,signer,unknown_attr,Package, ,signed_attributes",` +
				`"signer":null,"size":"abc","unknown_attr":null,"version":"1.2-3"}`,
		},
		{
			name:    "python int forms",
			control: "installed_size: -007\nsize: 1_000\nsigned_attributes: installed_size,size\n",
			want:    `{"installed_size":-7,"size":1000}`,
		},
		{
			name:    "empty and non-numeric sizes stay strings",
			control: "installed_size:\nsize: 12 MB\nsigned_attributes: installed_size,size\n",
			want:    `{"installed_size":"","size":"12 MB"}`,
		},
		{name: "no signed_attributes", control: "package: x\n", err: ErrUnsigned},
		{name: "blank signed_attributes", control: "package: x\nsigned_attributes: , ,\n", err: ErrUnsigned},
		{name: "invalid UTF-8", control: "package: \xff\nsigned_attributes: package\n", err: ErrJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SignedControlContent(controlOf(t, tt.control))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

var uuid4Re = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSignControl(t *testing.T) {
	f := testFixture(t)
	c := controlOf(t, sampleControl)
	now := time.Date(2025, 7, 14, 10, 30, 15, 123456789, time.FixedZone("CEST", 2*3600))
	if err := SignControl(c, f.admin.key, f.admin.cert, now, bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))); err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"signer":             "admin",
		"signer_fingerprint": Fingerprint(f.admin.cert),
		"signature_date":     "2025-07-14T08:30:15.123456",
		"package_uuid":       "ffffffff-ffff-4fff-bfff-ffffffffffff",
		"signed_attributes":  strings.Join(DefaultSignedAttributes(c), ","),
		"version":            "115.0.2-12",
	}
	for k, want := range checks {
		if got := c.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if sig := c.Get("signature"); len(sig) != 344 || strings.ContainsAny(sig, "\n ") {
		t.Errorf("signature %q: want 344 base64 chars without newlines (RSA 2048)", sig)
	}
	if strings.Contains(c.Get("signed_attributes"), "filename") || !strings.Contains(c.Get("signed_attributes"), "x_custom") {
		t.Errorf("signed_attributes = %s", c.Get("signed_attributes"))
	}

	// Re-signing replaces the signature fields, with a fresh random UUID.
	first := c.Get("package_uuid")
	if err := SignControl(c, f.admin.key, f.admin.cert, now, nil); err != nil {
		t.Fatal(err)
	}
	if got := c.Get("package_uuid"); got == first || !uuid4Re.MatchString(got) {
		t.Errorf("package_uuid %q after re-signing", got)
	}
	if _, err := VerifyControl(c, []*x509.Certificate{f.admin.cert}, NewTrust(f.ca.cert), now, true); err != nil {
		t.Fatalf("VerifyControl after re-signing: %v", err)
	}
}

func TestSignControlErrors(t *testing.T) {
	f := testFixture(t)
	orig := controlOf(t, sampleControl)
	tests := []struct {
		name string
		run  func(c *control.Control) error
	}{
		{"key does not match certificate", func(c *control.Control) error {
			return SignControl(c, f.simple.key, f.admin.cert, fixNow, nil)
		}},
		{"random source fails", func(c *control.Control) error {
			return SignControl(c, f.admin.key, f.admin.cert, fixNow, bytes.NewReader(nil))
		}},
		{"invalid UTF-8 value", func(c *control.Control) error {
			c.Set("description", "bad \xff")
			defer c.Set("description", orig.Get("description"))
			return SignControl(c, f.admin.key, f.admin.cert, fixNow, nil)
		}},
		{"nil certificate", func(c *control.Control) error {
			return SignControl(c, f.admin.key, nil, fixNow, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := orig.Clone()
			if err := tt.run(c); err == nil {
				t.Fatal("no error")
			}
			if !slices.Equal(c.Keys(), orig.Keys()) || c.Has("signature") {
				t.Fatalf("control modified on error: %v", c.Keys())
			}
		})
	}
	if err := SignControl(nil, f.admin.key, f.admin.cert, fixNow, nil); err == nil {
		t.Fatal("nil control signed")
	}
}

func TestVerifyControl(t *testing.T) {
	f := testFixture(t)
	now := fixNow.Add(24 * time.Hour)
	caTrust := NewTrust(f.ca.cert)
	signed := func(kc keyCert) *control.Control {
		c := controlOf(t, sampleControl)
		if err := SignControl(c, kc.key, kc.cert, fixNow, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	byAdmin, bySimple, byViaInter := signed(f.admin), signed(f.simple), signed(f.viaInter)
	adminChain := []*x509.Certificate{f.admin.cert, f.ca.cert}

	tests := []struct {
		name     string
		c        *control.Control
		mutate   func(c *control.Control)
		chain    []*x509.Certificate
		trust    *Trust
		now      time.Time
		codeSign bool
		signer   *x509.Certificate // on success
		want     error
	}{
		{name: "rsa admin", c: byAdmin, chain: adminChain, trust: caTrust, codeSign: true, signer: f.admin.cert},
		{name: "chain out of order", c: byAdmin, chain: []*x509.Certificate{f.ca.cert, f.admin.cert}, trust: caTrust, codeSign: true, signer: f.admin.cert},
		{name: "ecdsa via intermediate", c: byViaInter, chain: []*x509.Certificate{f.viaInter.cert, f.inter.cert}, trust: caTrust, codeSign: true, signer: f.viaInter.cert},
		{name: "signer found among anchors", c: byAdmin, trust: NewTrust(f.admin.cert), codeSign: true, signer: f.admin.cert},
		{name: "simple signer, no setup.py", c: bySimple, chain: []*x509.Certificate{f.simple.cert}, trust: caTrust, signer: f.simple.cert},
		{name: "simple signer, setup.py", c: bySimple, chain: []*x509.Certificate{f.simple.cert}, trust: caTrust, codeSign: true, want: ErrNotCodeSigning},
		{name: "index attributes not signed", c: byAdmin, chain: adminChain, trust: caTrust, signer: f.admin.cert,
			mutate: func(c *control.Control) { c.Set("filename", "other.wapt"); c.Set("size", "1"); c.Set("sha256", hashA) }},
		{name: "signature wrapped", c: byAdmin, chain: adminChain, trust: caTrust, signer: f.admin.cert,
			mutate: func(c *control.Control) { s := c.Get("signature"); c.Set("signature", s[:76]+"\n"+s[76:]) }},
		{name: "signer_fingerprint uppercased: found, but it is signed", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("signer_fingerprint", strings.ToUpper(c.Get("signer_fingerprint"))) }},

		{name: "tampered version", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("version", "115.0.2-13") }},
		{name: "tampered depends", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("depends", "tis-vcredist,evil") }},
		{name: "tampered description", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) {
				c.Set("description", strings.Replace(c.Get("description"), "😀", "😁", 1))
			}},
		{name: "tampered custom attribute", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("x_custom", "changed") }},
		{name: "signed empty attribute removed", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Del("locale"); c.Del("maturity") }},
		{name: "tampered installed_size", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("installed_size", "1") }},
		{name: "attribute dropped from signed_attributes", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) {
				c.Set("signed_attributes", strings.Replace(c.Get("signed_attributes"), "maintainer,", "", 1))
			}},
		{name: "depends not signed", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) {
				c.Set("signed_attributes", strings.Replace(c.Get("signed_attributes"), "depends,", "", 1))
			}},
		{name: "signature garbage", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("signature", "%%%") }},
		{name: "signature of another control", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("signature", bySimple.Get("signature")) }},
		{name: "no signature", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrUnsigned,
			mutate: func(c *control.Control) { c.Del("signature") }},
		{name: "no signed_attributes", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrUnsigned,
			mutate: func(c *control.Control) { c.Set("signed_attributes", "") }},
		{name: "unsigned control", c: controlOf(t, sampleControl), chain: adminChain, trust: caTrust, want: ErrUnsigned},
		{name: "fingerprint of another chain member", c: byAdmin, chain: adminChain, trust: caTrust, want: ErrBadSignature,
			mutate: func(c *control.Control) { c.Set("signer_fingerprint", Fingerprint(f.ca.cert)) }},
		{name: "signer certificate absent", c: byAdmin, chain: []*x509.Certificate{f.ca.cert}, trust: caTrust, want: ErrUntrusted},
		{name: "untrusted CA", c: byAdmin, chain: adminChain, trust: NewTrust(f.otherCA.cert), want: ErrUntrusted},
		{name: "expired", c: byAdmin, chain: adminChain, trust: caTrust, now: fixNow.Add(4 * 365 * 24 * time.Hour), want: ErrExpired},
		{name: "missing intermediate", c: byViaInter, chain: []*x509.Certificate{f.viaInter.cert}, trust: caTrust, want: ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c.Clone()
			if tt.mutate != nil {
				tt.mutate(c)
			}
			at := tt.now
			if at.IsZero() {
				at = now
			}
			got, err := VerifyControl(c, tt.chain, tt.trust, at, tt.codeSign)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "tis-firefox-esr") {
					t.Errorf("error %q does not name the package", err)
				}
				return
			}
			if !got.Equal(tt.signer) {
				t.Fatalf("signer %s, want %s", got.Subject.CommonName, tt.signer.Subject.CommonName)
			}
		})
	}
}

// TestControlSignatureInterop computes the signed content of a signed
// control with an independent Python statement of WAPT's rules
// (testdata/wapt_signed_content.py) and checks our signature over those
// bytes with openssl. Skipped only when python3 or openssl is missing.
func TestControlSignatureInterop(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	f := testFixture(t)
	c := controlOf(t, sampleControl)
	if err := SignControl(c, f.admin.key, f.admin.cert, fixNow, nil); err != nil {
		t.Fatal(err)
	}
	// The control file as WAPT would read it (continuation lines start with a space).
	var text strings.Builder
	for _, k := range c.Keys() {
		text.WriteString(k + ": " + strings.ReplaceAll(c.Get(k), "\n", "\n ") + "\n")
	}
	cmd := exec.Command(py, "testdata/wapt_signed_content.py")
	cmd.Stdin = strings.NewReader(text.String())
	pyContent, err := cmd.Output()
	if err != nil {
		t.Fatalf("wapt_signed_content.py: %v", err)
	}
	ours, err := SignedControlContent(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, pyContent) {
		t.Fatalf("signed content differs from Python's\n ours %s\npython %s", ours, pyContent)
	}

	sig, err := decodeBase64([]byte(c.Get("signature")))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(f.admin.cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"pub.pem":      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"sig.bin":      sig,
		"content.json": pyContent,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"),
		"-signature", filepath.Join(dir, "sig.bin"), filepath.Join(dir, "content.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
}
