package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
)

func makeCSR(tb testing.TB, key crypto.Signer, tmpl *x509.CertificateRequest) []byte {
	tb.Helper()
	if tmpl == nil {
		tmpl = &x509.CertificateRequest{Subject: pkix.Name{CommonName: "whatever"}}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func rsaKey(tb testing.TB, bits int) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func ecKey(tb testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// caRequest asks for CA:TRUE and keyCertSign through raw extensions.
func caRequest(tb testing.TB) *x509.CertificateRequest {
	tb.Helper()
	bc, err := asn1.Marshal(struct {
		IsCA bool `asn1:"optional"`
	}{true})
	if err != nil {
		tb.Fatal(err)
	}
	ku, err := asn1.Marshal(asn1.BitString{Bytes: []byte{0x06}, BitLength: 7}) // keyCertSign, cRLSign
	if err != nil {
		tb.Fatal(err)
	}
	return &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "Evil CA", Organization: []string{"evil"}},
		DNSNames: []string{"wapt.example.com"},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: bc},
			{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: ku},
		},
	}
}

func TestSignHostCSR(t *testing.T) {
	p, _ := newPKI(t)
	now := t0.Add(time.Hour)
	uuid := "4C4C4544-0042-3510-8052-B4C04F4E3232"
	ecCSR := makeCSR(t, ecKey(t, elliptic.P256()), nil)

	badSig := func() []byte {
		blk, _ := pem.Decode(ecCSR)
		der := append([]byte(nil), blk.Bytes...)
		der[len(der)-1] ^= 0x01 // the last byte of the signature
		return pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: der})
	}()
	// A request signed by another key than the one it carries.
	swapped := func() []byte {
		a, b := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
		req, _ := x509.ParseCertificateRequest(pemBytes(t, makeCSR(t, a, nil)))
		tbs := req.RawTBSCertificateRequest
		h := sha256Sum(tbs)
		sig, err := ecdsa.SignASN1(rand.Reader, b, h)
		if err != nil {
			t.Fatal(err)
		}
		der, err := asn1.Marshal(struct {
			TBS asn1.RawValue
			Alg pkix.AlgorithmIdentifier
			Sig asn1.BitString
		}{asn1.RawValue{FullBytes: tbs}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}()
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)

	tests := []struct {
		name    string
		csr     []byte
		uuid    string
		wantErr error
	}{
		{"ECDSA P-256", ecCSR, uuid, nil},
		{"ECDSA P-384", makeCSR(t, ecKey(t, elliptic.P384()), nil), uuid, nil},
		{"RSA 2048", makeCSR(t, rsaKey(t, 2048), nil), "host.example.com", nil},
		{"CA request ignored", makeCSR(t, ecKey(t, elliptic.P256()), caRequest(t)), uuid, nil},
		{"after other PEM blocks", append(pem.EncodeToMemory(&pem.Block{Type: "COMMENT", Bytes: []byte("x")}), ecCSR...), uuid, nil},
		{"RSA 1024", makeCSR(t, rsaKey(t, 1024), nil), uuid, ErrCSRKey},
		{"ECDSA P-521", makeCSR(t, ecKey(t, elliptic.P521()), nil), uuid, ErrCSRKey},
		{"Ed25519", makeCSR(t, edKey, nil), uuid, ErrCSRKey},
		{"altered signature", badSig, uuid, ErrCSRSignature},
		{"signed by another key", swapped, uuid, ErrCSRSignature},
		{"not PEM", []byte("hello"), uuid, ErrBadCSR},
		{"certificate instead of CSR", certs.EncodeCertsPEM(p.HostCA()), uuid, ErrBadCSR},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), uuid, ErrBadCSR},
		{"too large", append(ecCSR, make([]byte, maxCSRSize)...), uuid, ErrBadCSR},
		{"empty uuid", ecCSR, "", ErrBadHostID},
		{"uuid with newline", ecCSR, "a\nb", ErrBadHostID},
		{"uuid with spaces around", ecCSR, " a ", ErrBadHostID},
		{"uuid too long", ecCSR, strings.Repeat("a", 256), ErrBadHostID},
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.HostCA())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := p.SignHostCSR(tt.csr, tt.uuid, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrBadCSR) || cert != nil {
					t.Fatalf("err = %v, want %v (and ErrBadCSR)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cert.Subject.CommonName != tt.uuid || len(cert.Subject.Organization) > 0 || len(cert.DNSNames) > 0 {
				t.Errorf("subject %v, DNS names %v", cert.Subject, cert.DNSNames)
			}
			if cert.IsCA || !cert.BasicConstraintsValid || cert.KeyUsage != x509.KeyUsageDigitalSignature ||
				len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || len(cert.UnknownExtKeyUsage) > 0 {
				t.Errorf("CA %v (valid %v), key usage %b, EKU %v", cert.IsCA, cert.BasicConstraintsValid, cert.KeyUsage, cert.ExtKeyUsage)
			}
			for _, ext := range cert.Extensions {
				if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 19}) && string(ext.Value) != "\x30\x00" {
					t.Errorf("basic constraints %x, want CA:FALSE", ext.Value)
				}
			}
			if n := cert.SerialNumber.BitLen(); n < 64 || n > 128 {
				t.Errorf("serial of %d bits", n)
			}
			if !cert.NotAfter.Equal(now.Add(HostValidity)) || cert.NotBefore.After(now) {
				t.Errorf("valid %s to %s", cert.NotBefore, cert.NotAfter)
			}
			opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			if _, err := cert.Verify(opts); err != nil {
				t.Errorf("host certificate does not verify as a client: %v", err)
			}
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			if _, err := cert.Verify(opts); err == nil {
				t.Error("host certificate verifies as a TLS server")
			}
		})
	}

	a, _ := p.SignHostCSR(ecCSR, uuid, now)
	b, _ := p.SignHostCSR(ecCSR, uuid, now)
	if a.SerialNumber.Cmp(b.SerialNumber) == 0 {
		t.Error("two certificates with the same serial")
	}
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func pemBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		tb.Fatal("no PEM")
	}
	return blk.Bytes
}

// TestTLSClientCertificates serves HTTPS with TLSConfig and checks which
// client certificates are verified.
func TestTLSClientCertificates(t *testing.T) {
	p, _ := newPKI(t)
	now := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cn := "-"
			if len(r.TLS.VerifiedChains) > 0 {
				cn = r.TLS.VerifiedChains[0][0].Subject.CommonName
			}
			fmt.Fprintf(w, "%s %d", cn, r.TLS.Version)
		}),
		TLSConfig:         p.TLSConfig(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/"

	roots := x509.NewCertPool()
	roots.AddCert(p.HostCA())
	get := func(cert *tls.Certificate, maxVersion uint16) (string, error) {
		cfg := &tls.Config{RootCAs: roots, MaxVersion: maxVersion}
		if cert != nil { // sent even when its CA is not among the server's
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.Proto + " " + string(b), err
	}

	hostKey := ecKey(t, elliptic.P256())
	hostCert, err := p.SignHostCSR(makeCSR(t, hostKey, nil), "HOST-1", now)
	if err != nil {
		t.Fatal(err)
	}
	hostTLS := &tls.Certificate{Certificate: [][]byte{hostCert.Raw}, PrivateKey: hostKey}

	adminCAKey, adminCA, err := certs.Generate(certs.Request{CN: "admin CA", Role: certs.RoleCA, KeyType: "ecdsa"})
	if err != nil {
		t.Fatal(err)
	}
	adminKey, admin, err := certs.Generate(certs.Request{CN: "admin", Role: certs.RoleSimple, KeyType: "ecdsa", Issuer: adminCA, IssuerKey: adminCAKey})
	if err != nil {
		t.Fatal(err)
	}
	adminTLS := &tls.Certificate{Certificate: [][]byte{admin.Raw}, PrivateKey: adminKey}
	repoKey, repoChain := p.RepoSigner()
	repoTLS := &tls.Certificate{Certificate: [][]byte{repoChain[0].Raw}, PrivateKey: repoKey}

	if got, err := get(nil, 0); err != nil || got != "HTTP/2.0 - 772" {
		t.Errorf("no client certificate: %q, %v", got, err)
	}
	if got, err := get(nil, tls.VersionTLS12); err != nil || !strings.HasSuffix(got, " - 771") {
		t.Errorf("TLS 1.2: %q, %v", got, err)
	}
	if _, err := get(nil, tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	if got, err := get(hostTLS, 0); err != nil || !strings.Contains(got, " HOST-1 ") {
		t.Errorf("host certificate: %q, %v", got, err)
	}
	if _, err := get(adminTLS, 0); err == nil {
		t.Error("admin certificate accepted before SetAdminCAs")
	}
	if _, err := get(repoTLS, 0); err == nil {
		t.Error("repository certificate accepted as a client")
	}
	pool := x509.NewCertPool()
	pool.AddCert(adminCA)
	p.SetAdminCAs(pool)
	if got, err := get(adminTLS, 0); err != nil || !strings.Contains(got, " admin ") {
		t.Errorf("admin certificate after SetAdminCAs: %q, %v", got, err)
	}
	if got, err := get(hostTLS, 0); err != nil || !strings.Contains(got, " HOST-1 ") {
		t.Errorf("host certificate after SetAdminCAs: %q, %v", got, err)
	}
}
