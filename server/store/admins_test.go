package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestAdmins(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "s.sqlite"))
	_, cert, err := certs.Generate(certs.Request{CN: "alice", KeyType: "ecdsa"})
	if err != nil {
		t.Fatal(err)
	}
	fp := signing.Fingerprint(cert)
	if n, err := d.CountAdmins(ctx); err != nil || n != 0 {
		t.Fatalf("CountAdmins = %d, %v", n, err)
	}
	if _, err := d.AdminByFingerprint(ctx, fp); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown admin: err = %v", err)
	}
	now := time.Now()
	if err := d.PutAdmin(ctx, auth.Admin{Name: "alice", Fingerprint: fp, Rights: []string{wire.RightView}, Cert: cert}, now); err != nil {
		t.Fatal(err)
	}
	if err := d.PutAdmin(ctx, auth.Admin{Name: "alice", Fingerprint: fp, Rights: []string{wire.RightView, wire.RightAdmin}, Cert: cert}, now); err != nil {
		t.Fatal(err)
	}
	a, err := d.AdminByFingerprint(ctx, fp)
	if err != nil || a.Name != "alice" || len(a.Rights) != 2 || !a.Can(wire.RightUnregisterHost) || !a.Cert.Equal(cert) {
		t.Errorf("admin = %+v, %v", a, err)
	}
	if n, _ := d.CountAdmins(ctx); n != 1 {
		t.Errorf("CountAdmins = %d", n)
	}
	list, err := d.ListAdmins(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "alice" || !list[0].Cert.Equal(cert) {
		t.Errorf("ListAdmins = %+v, %v", list, err)
	}
	if err := d.PutAdmin(ctx, auth.Admin{Name: "x"}, now); err == nil {
		t.Error("admin without certificate accepted")
	}
}
