package ui

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/wapt-go/wapt/shared/wire"
)

func TestCertFormRefusesMismatchedPasswords(t *testing.T) {
	h := newHarness(t, newFakeCore(0))
	h.connect()
	f := h.c.certs.form
	test.Type(f.cn, "jdoe")
	f.outDir.entry.SetText("/tmp/keys")
	test.Type(f.pw1, "correct horse")
	test.Type(f.pw2, "correct house")
	test.Tap(f.generate)
	h.q.drain()
	if len(h.generated) != 0 {
		t.Fatal("GenerateCert called with mismatched passwords")
	}
	if got := f.fieldError("password2"); got != "The passwords do not match." {
		t.Errorf("password2 error %q", got)
	}

	f.pw2.SetText("correct horse")
	test.Tap(f.generate)
	h.q.drain()
	if len(h.generated) != 1 {
		t.Fatalf("GenerateCert calls %d", len(h.generated))
	}
	s := h.generated[0]
	if s.CN != "jdoe" || s.Kind != "code-signing" || s.KeyType != "rsa" || s.Bits != 3072 ||
		s.Validity != 730*24*time.Hour || string(s.Password) != "correct horse" || s.OutDir != "/tmp/keys" {
		t.Errorf("spec %+v", s)
	}
	if f.fieldError("password2") != "" || !strings.Contains(f.result.Text, "/tmp/keys/jdoe.crt") {
		t.Errorf("after success: error %q result %q", f.fieldError("password2"), f.result.Text)
	}
	if f.pw1.Text != "" || f.pw2.Text != "" {
		t.Error("passwords kept in the form")
	}
}

func TestACLEditorSavesRights(t *testing.T) {
	core := newFakeCore(0)
	h := newHarness(t, core)
	h.connect()
	h.c.tabs.SelectIndex(2)
	h.q.drain()
	a := h.c.certs.acl
	if len(a.admins) != 1 {
		t.Fatalf("admins %+v", a.admins)
	}
	a.list.Select(0)
	a.rights.SetSelected([]string{wire.RightView, wire.RightTriggerAction})
	test.Tap(a.save)
	h.q.drain()
	if got := core.rights["ab12"]; !slices.Equal(got, []string{wire.RightView, wire.RightTriggerAction}) {
		t.Errorf("SetAdminRights: %v", core.rights)
	}
}

func TestDescribeChain(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "demo-admin"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	out := describeChain(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	for _, want := range []string{"CN=demo-admin", "2026-01-01 → 2028-01-01", "code signing", "SHA-256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("describeChain lacks %q:\n%s", want, out)
		}
	}
	if got := describeChain([]byte("nothing")); got != "no certificate in this file" {
		t.Errorf("empty: %q", got)
	}
}
