package repoindex

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

func testInfo() SigInfo {
	return SigInfo{Repo: "wapt", Version: 7, Issued: testNow, Expires: testNow.Add(72 * time.Hour)}
}

// editSig decodes a Packages.sig, applies fn to the JSON object and encodes
// it again (the signature is left as it was).
func editSig(tb testing.TB, sig []byte, fn func(m map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(sig, &m); err != nil {
		tb.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestSignVerifyIndex(t *testing.T) {
	ca := newSigner(t, "Repo CA", certs.RoleCA, nil)
	repoKey := newSignerKey(t, "repository", certs.RoleRepository, &ca, "rsa")
	other := newSigner(t, "other", certs.RoleRepository, nil)
	index, err := os.ReadFile("testdata/wapt-Packages.zip")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := SignIndex(index, testInfo(), repoKey.key, repoKey.chain)
	if err != nil {
		t.Fatal(err)
	}
	trust := signing.NewTrust(ca.cert())

	info, err := VerifyIndex(sig, index, trust, testNow.Add(time.Hour), "wapt", 7)
	if err != nil {
		t.Fatal(err)
	}
	want := testInfo()
	want.SHA256, want.Size = sha256Hex(index), int64(len(index))
	if !info.Issued.Equal(want.Issued) || !info.Expires.Equal(want.Expires) {
		t.Errorf("times %v %v, want %v %v", info.Issued, info.Expires, want.Issued, want.Expires)
	}
	info.Issued, info.Expires, want.Issued, want.Expires = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if info != want {
		t.Errorf("info = %+v, want %+v", info, want)
	}

	flipped := slices.Clone(index)
	flipped[len(flipped)/2] ^= 0xff
	selfSigned, err := SignIndex(index, testInfo(), other.key, other.chain)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		sig, index []byte
		now        time.Time
		repo       string
		minVersion int64
		want       []error
		frags      []string
	}{
		{name: "good, no repo check, older min", sig: sig, index: index, minVersion: 3},
		{name: "mix-and-match: other index bytes", sig: sig, index: flipped, want: []error{ErrIndexSignature}, frags: []string{"sha256"}},
		{name: "mix-and-match: other size", sig: sig, index: append(slices.Clone(index), 0), want: []error{ErrIndexSignature}, frags: []string{"bytes"}},
		{name: "rollback", sig: sig, index: index, minVersion: 8, want: []error{ErrRollback}},
		{name: "freeze: expired", sig: sig, index: index, now: testNow.Add(72 * time.Hour), want: []error{ErrExpiredIndex}},
		{name: "other repository", sig: sig, index: index, repo: "mirror", want: []error{ErrIndexSignature}, frags: []string{`"mirror"`}},
		{name: "untrusted signer", sig: selfSigned, index: index, want: []error{ErrIndexSignature, signing.ErrUntrusted}},
		{name: "certificate expired", sig: sig, index: index, now: testNow.AddDate(20, 0, 0), want: []error{ErrIndexSignature, signing.ErrExpired}},
		{name: "raised version", sig: editSig(t, sig, func(m map[string]any) { m["version"] = 99 }), index: index, want: []error{ErrIndexSignature, signing.ErrBadSignature}},
		{name: "extended expiry", sig: editSig(t, sig, func(m map[string]any) { m["expires"] = "2099-01-01T00:00:00Z" }), index: index, want: []error{ErrIndexSignature, signing.ErrBadSignature}},
		{name: "empty chain", sig: editSig(t, sig, func(m map[string]any) { m["signer_chain"] = []any{} }), index: index, want: []error{ErrIndexSignature}},
		{name: "chain entry not PEM", sig: editSig(t, sig, func(m map[string]any) { m["signer_chain"] = []any{"x"} }), index: index, want: []error{ErrIndexSignature}},
		{name: "unknown field", sig: editSig(t, sig, func(m map[string]any) { m["extra"] = 1 }), index: index, want: []error{ErrIndexSignature}},
		{name: "missing field", sig: editSig(t, sig, func(m map[string]any) { delete(m, "size") }), index: index, want: []error{ErrIndexSignature}},
		{name: "bad base64", sig: editSig(t, sig, func(m map[string]any) { m["signature"] = "!!" }), index: index, want: []error{ErrIndexSignature}},
		{name: "trailing data", sig: append(slices.Clone(sig), "{}"...), index: index, want: []error{ErrIndexSignature}},
		{name: "not json", sig: []byte("PK\x03\x04"), index: index, want: []error{ErrIndexSignature}},
		{name: "too large", sig: append(slices.Clone(sig), bytes.Repeat([]byte(" "), maxSigSize)...), index: index, want: []error{ErrIndexSignature}, frags: []string{"limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testNow.Add(time.Hour)
			}
			_, err := VerifyIndex(tt.sig, tt.index, trust, now, tt.repo, tt.minVersion)
			if len(tt.want) == 0 {
				wantErr(t, err, nil)
				return
			}
			for _, w := range tt.want {
				wantErr(t, err, w, tt.frags...)
			}
		})
	}
	t.Run("signer chain of another key", func(t *testing.T) {
		forged := editSig(t, sig, func(m map[string]any) {
			var o map[string]any
			json.Unmarshal(selfSigned, &o)
			m["signer_chain"] = o["signer_chain"]
		})
		_, err := VerifyIndex(forged, index, signing.NewTrust(ca.cert(), other.cert()), testNow, "", 0)
		wantErr(t, err, signing.ErrBadSignature)
	})
}

func TestSignIndexRefuses(t *testing.T) {
	s := newSigner(t, "repository", certs.RoleRepository, nil)
	other := newSigner(t, "other", certs.RoleRepository, nil)
	index := []byte("index")
	mod := func(fn func(*SigInfo)) SigInfo { i := testInfo(); fn(&i); return i }
	tests := []struct {
		name  string
		info  SigInfo
		s     signer
		frags string
	}{
		{"no repo", mod(func(i *SigInfo) { i.Repo = "" }), s, "repo"},
		{"negative version", mod(func(i *SigInfo) { i.Version = -1 }), s, "negative"},
		{"expires before issued", mod(func(i *SigInfo) { i.Expires = i.Issued.Add(-time.Second) }), s, "expires"},
		{"wrong sha256", mod(func(i *SigInfo) { i.SHA256 = strings.Repeat("0", 64) }), s, "do not match"},
		{"wrong size", mod(func(i *SigInfo) { i.Size = 3 }), s, "do not match"},
		{"key of another certificate", testInfo(), signer{key: other.key, chain: s.chain}, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SignIndex(index, tt.info, tt.s.key, tt.s.chain)
			if err == nil || !strings.Contains(err.Error(), tt.frags) {
				t.Errorf("err = %v, want one about %q", err, tt.frags)
			}
		})
	}
	if _, err := SignIndex(index, testInfo(), nil, s.chain); err == nil {
		t.Error("nil signer accepted")
	}
}

func TestWriteFiles(t *testing.T) {
	ca := newSigner(t, "Repo CA", certs.RoleCA, nil)
	repoKey := newSigner(t, "repository", certs.RoleRepository, &ca)
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/wapt-Packages.zip")
	ix, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := testInfo()
	if err := WriteFiles(dir, ix, &info, repoKey.key, repoKey.chain); err != nil {
		t.Fatal(err)
	}
	pk, err := os.ReadFile(filepath.Join(dir, PackagesFile))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, SigFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA256 != sha256Hex(pk) || info.Size != int64(len(pk)) {
		t.Errorf("info not filled in: %+v", info)
	}
	got, err := VerifyIndex(sig, pk, signing.NewTrust(ca.cert()), testNow, "wapt", 7)
	if err != nil || got.Version != 7 {
		t.Fatalf("VerifyIndex of written files: %+v, %v", got, err)
	}
	back, err := Parse(pk, got.Size)
	if err != nil {
		t.Fatal(err)
	}
	assertSameIndex(t, back, ix)
	if fi, _ := os.Stat(filepath.Join(dir, PackagesFile)); fi.Mode().Perm() != 0o644 {
		t.Errorf("Packages mode %v", fi.Mode())
	}

	// An unsigned write removes the stale Packages.sig.
	ix.Remove(ix.Entries[0].Get("filename"))
	if err := WriteFiles(dir, ix, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SigFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Packages.sig still there: %v", err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 {
		t.Errorf("directory holds %d files, want Packages only", len(des))
	}
	if err := WriteFiles(dir, ix, &info, nil, nil); err == nil {
		t.Error("SigInfo without signer accepted")
	}
	if err := WriteFiles(filepath.Join(dir, "absent"), ix, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("write into a missing directory: %v", err)
	}
}

// TestVerifyIndexNeedsRepositoryCertificate: a certificate chained to the
// trusted CA but without the documentSigning EKU (an admin's, a host's)
// cannot sign an index, even with a correct signature.
func TestVerifyIndexNeedsRepositoryCertificate(t *testing.T) {
	ca := newSigner(t, "Repo CA", certs.RoleCA, nil)
	for _, role := range []certs.Role{certs.RoleSimple, certs.RoleCodeSigning} {
		s := newSigner(t, "not a repository "+role.String(), role, &ca)
		index := []byte("index bytes")
		info := testInfo()
		content, err := signedContent(info.Repo, info.Version, formatTime(info.Issued), formatTime(info.Expires), sha256Hex(index), int64(len(index)))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := signing.Sign(s.key, content)
		if err != nil {
			t.Fatal(err)
		}
		var chain []string
		for _, c := range s.chain {
			chain = append(chain, string(certs.EncodeCertsPEM(c)))
		}
		sig, err := json.Marshal(map[string]any{
			"repo": info.Repo, "version": info.Version, "issued": formatTime(info.Issued), "expires": formatTime(info.Expires),
			"sha256": sha256Hex(index), "size": len(index), "signer_chain": chain, "signature": base64.StdEncoding.EncodeToString(raw),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = VerifyIndex(sig, index, signing.NewTrust(ca.cert()), testNow, "", 0)
		if !errors.Is(err, ErrIndexSignature) || !errors.Is(err, signing.ErrUntrusted) {
			t.Errorf("%s certificate: err = %v, want ErrIndexSignature + ErrUntrusted", role, err)
		}
	}
}
