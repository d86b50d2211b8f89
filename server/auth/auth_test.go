package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

type pair struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func gen(t *testing.T, cn string, role certs.Role, issuer *pair) pair {
	t.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: "ecdsa", Now: time.Now().Add(-time.Hour)}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert, issuer.key
	}
	k, c, err := certs.Generate(r)
	if err != nil {
		t.Fatal(err)
	}
	return pair{k, c}
}

type fakeAdmins map[string]Admin

func (f fakeAdmins) AdminByFingerprint(_ context.Context, fp string) (Admin, error) {
	if a, ok := f[fp]; ok {
		return a, nil
	}
	return Admin{}, ErrNotFound
}

type fakeHosts map[string]pair // fingerprint → host cert (uuid = CN)

func (f fakeHosts) HostByCertFingerprint(_ context.Context, fp string) (string, *x509.Certificate, error) {
	if p, ok := f[fp]; ok {
		return p.cert.Subject.CommonName, p.cert, nil
	}
	return "", nil, ErrNotFound
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	adminCA := gen(t, "admin CA", certs.RoleCA, nil)
	otherCA := gen(t, "other CA", certs.RoleCA, nil)
	hostCA := gen(t, "host CA", certs.RoleCA, nil)
	viewer := gen(t, "viewer", certs.RoleSimple, &adminCA)
	boss := gen(t, "boss", certs.RoleSimple, &adminCA)
	unregistered := gen(t, "nobody", certs.RoleSimple, &adminCA)
	foreign := gen(t, "foreign", certs.RoleSimple, &otherCA)
	host := gen(t, "HOST-1", certs.RoleSimple, &hostCA)
	revoked := gen(t, "HOST-2", certs.RoleSimple, &hostCA)

	admins := fakeAdmins{
		signing.Fingerprint(viewer.cert):  {Name: "viewer", Rights: []string{wire.RightView}, Cert: viewer.cert},
		signing.Fingerprint(boss.cert):    {Name: "boss", Rights: []string{wire.RightAdmin}, Cert: boss.cert},
		signing.Fingerprint(foreign.cert): {Name: "foreign", Rights: []string{wire.RightAdmin}, Cert: foreign.cert},
	}
	hostPool := x509.NewCertPool()
	hostPool.AddCert(hostCA.cert)
	a := &Authenticator{
		Admins: admins, Hosts: fakeHosts{signing.Fingerprint(host.cert): host},
		AdminTrust: signing.NewTrust(adminCA.cert), HostCAs: hostPool,
		Nonces: reqsign.NewMemoryNonces(1000),
	}
	body := []byte(`{"x":1}`)
	req := func(p *pair, tlsCert *pair) *httpRequest {
		r := httptest.NewRequest("POST", "/api/v1/packages", bytes.NewReader(body))
		if p != nil {
			if err := reqsign.Sign(r, body, p.key, p.cert, time.Now(), nil); err != nil {
				t.Fatal(err)
			}
		}
		if tlsCert != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tlsCert.cert}}
		}
		return &httpRequest{r}
	}

	adminTests := []struct {
		name  string
		r     *httpRequest
		want  string // admin name, "" = refused
		right string
		can   bool
	}{
		{"signed by a registered viewer", req(&viewer, nil), "viewer", wire.RightView, true},
		{"viewer may not upload", req(&viewer, nil), "viewer", wire.RightEditBasePackage, false},
		{"admin right holds all", req(&boss, nil), "boss", wire.RightUnregisterHost, true},
		{"tls client certificate", req(nil, &boss), "boss", wire.RightView, true},
		{"unsigned", req(nil, nil), "", "", false},
		{"signed but not registered", req(&unregistered, nil), "", "", false},
		{"registered but from another CA", req(&foreign, nil), "", "", false},
		{"tls certificate of another CA", req(nil, &foreign), "", "", false},
		{"a host is not an admin", req(&host, nil), "", "", false},
	}
	for _, tt := range adminTests {
		t.Run("admin/"+tt.name, func(t *testing.T) {
			ad, err := a.Admin(ctx, tt.r.Request, body)
			if tt.want == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("err = %v, want ErrUnauthenticated", err)
				}
				return
			}
			if err != nil || ad.Name != tt.want {
				t.Fatalf("admin = %+v, %v", ad, err)
			}
			if err := Require(ad, tt.right); (err == nil) != tt.can || (err != nil && !errors.Is(err, ErrForbidden)) {
				t.Errorf("Require(%s) = %v, want can=%v", tt.right, err, tt.can)
			}
		})
	}

	replayed := req(&host, nil)
	if _, _, err := a.Host(ctx, replayed.Request, body); err != nil {
		t.Fatal(err)
	}
	hostTests := []struct {
		name string
		r    *httpRequest
		ok   bool
	}{
		{"signed by the host", req(&host, nil), true},
		{"host tls certificate", req(nil, &host), true},
		{"replayed", replayed, false},
		{"revoked or unknown host", req(&revoked, nil), false},
		{"admin is not a host", req(&boss, nil), false},
		{"unsigned", req(nil, nil), false},
	}
	for _, tt := range hostTests {
		t.Run("host/"+tt.name, func(t *testing.T) {
			uuid, _, err := a.Host(ctx, tt.r.Request, body)
			if tt.ok != (err == nil) {
				t.Fatalf("uuid %q, err %v", uuid, err)
			}
			if tt.ok && uuid != "HOST-1" {
				t.Errorf("uuid = %q", uuid)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

type httpRequest struct{ *http.Request }
