package fetch

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
)

// TestHostPackageRequestIsSigned: a registered host signs its host package
// request; the server checks it with reqsign.
func TestHostPackageRequestIsSigned(t *testing.T) {
	host := newSigner(t, "HOST-1", certs.RoleSimple, nil)
	v := &reqsign.Verifier{
		Lookup: func(_ context.Context, fp string) (*x509.Certificate, error) {
			if fp == signing.Fingerprint(host.chain[0]) {
				return host.chain[0], nil
			}
			return nil, nil
		},
		Nonces: reqsign.NewMemoryNonces(10),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.Verify(r.Context(), r, nil); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Write([]byte("host package"))
	}))
	defer srv.Close()
	repo := engine.Repo{Name: "wapt", URL: srv.URL + "/wapt", HostURL: srv.URL + "/wapt-host"}
	dest := filepath.Join(t.TempDir(), "HOST-1.wapt")

	if err := New(Config{}).FetchHostPackage(context.Background(), repo, "HOST-1", dest, 1<<20); err == nil {
		t.Fatal("unsigned host package request accepted by a server that requires a signature")
	}
	f := New(Config{HostSigner: host.key, HostCert: host.chain[0]})
	if err := f.FetchHostPackage(context.Background(), repo, "HOST-1", dest, 1<<20); err != nil {
		t.Fatalf("signed request: %v", err)
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != "host package" {
		t.Errorf("dest = %q, %v", b, err)
	}
}
