package cli

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/wapt-go/wapt/agent/config"
	"github.com/wapt-go/wapt/agent/hostinfo"
	"github.com/wapt-go/wapt/agent/inventory"
	"github.com/wapt-go/wapt/agent/report"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// EnrollmentEnv holds the enrollment token for wapt-get register.
const EnrollmentEnv = "WAPT_ENROLLMENT_TOKEN"

// serverHTTPClient trusts cfg.ServerCA (or the system roots).
func serverHTTPClient(cfg config.Config) (*http.Client, error) {
	if cfg.ServerCA == "" {
		return &http.Client{}, nil
	}
	cas, err := certs.LoadCerts(cfg.ServerCA)
	if err != nil {
		return nil, fmt.Errorf("verify_cert: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// hostIdentity loads the registered host key and certificate; ok is false
// when the host is not registered yet.
func hostIdentity(cfg config.Config) (crypto.Signer, *x509.Certificate, bool, error) {
	if _, err := os.Stat(cfg.HostCert); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, nil
	}
	key, err := certs.LoadKey(cfg.HostKey, nil)
	if err != nil {
		return nil, nil, false, err
	}
	cs, err := certs.LoadCerts(cfg.HostCert)
	if err != nil {
		return nil, nil, false, err
	}
	if !certs.KeyMatchesCert(key, cs[0]) {
		return nil, nil, false, fmt.Errorf("%s does not match %s", cfg.HostKey, cfg.HostCert)
	}
	return key, cs[0], true, nil
}

// newReporter returns the status sender of a registered host, or nil.
func newReporter(cfg config.Config, st report.Queue, logf func(string, ...any)) (*report.Sender, error) {
	if cfg.Server == "" {
		return nil, nil
	}
	key, cert, ok, err := hostIdentity(cfg)
	if err != nil || !ok {
		return nil, err
	}
	hc, err := serverHTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{BaseURL: cfg.Server, HTTPClient: hc, Signer: key, Cert: cert, Timeout: 30 * time.Second, UserAgent: "wapt-get"})
	if err != nil {
		return nil, err
	}
	return &report.Sender{Poster: c, Queue: st, Logf: logf}, nil
}

// sendStatus builds and sends this host's status report with its changed
// inventory; a server that cannot be reached only queues it.
func (s *session) sendStatus(ctx context.Context, env *Env) {
	if s.reporter == nil {
		return
	}
	if err := postStatus(ctx, s, env.Now(), false); err != nil {
		fmt.Fprintf(env.Stderr, "status report: %v\n", err)
	}
}

func registerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "register",
		Short: "Register this host with the server (wapt_server): key, certificate, first status report",
		Long: "Generates the host key (kept in private/host.pem), sends a certificate request and gets\n" +
			"the host certificate. A new host authenticates with the enrollment token in $" + EnrollmentEnv + "\n" +
			"(or typed at the prompt); a registered host renews with its current key.",
		Args: exactArgs(0),
	}
}

// register does what registerCmd describes.
func register(ctx context.Context, env *Env, s *session) error {
	cfg := s.cfg
	if cfg.Server == "" {
		return fmt.Errorf("%s: no wapt_server in [global]", cfg.Path)
	}
	uuid, err := s.eng.HostUUID(ctx)
	if err != nil {
		return err
	}
	oldKey, oldCert, registered, err := hostIdentity(cfg)
	if err != nil {
		return err
	}
	key := oldKey
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		key = k
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: uuid}}, key)
	if err != nil {
		return err
	}
	info := hostinfo.Detect()
	req := wire.RegisterRequest{UUID: uuid, FQDN: info.FQDN, Hostname: info.Hostname,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))}
	secs, _, err := collectInventory(ctx)
	if err != nil {
		return err
	}
	req.Sections = secs
	ccfg := client.Config{BaseURL: cfg.Server, Timeout: 30 * time.Second, UserAgent: "wapt-get"}
	if ccfg.HTTPClient, err = serverHTTPClient(cfg); err != nil {
		return err
	}
	if registered {
		ccfg.Signer, ccfg.Cert = oldKey, oldCert
	} else {
		tok := env.Getenv(EnrollmentEnv)
		if tok == "" {
			b, err := env.ReadPassword("Enrollment token: ")
			if err != nil {
				return fmt.Errorf("enrollment token: %w", err)
			}
			tok = string(b)
		}
		req.Token = tok
	}
	c, err := client.New(ccfg)
	if err != nil {
		return err
	}
	resp, err := c.Register(ctx, req)
	if err != nil {
		return err
	}
	cs, err := certs.ParseCertsPEM([]byte(resp.Certificate))
	if err != nil || !certs.KeyMatchesCert(key, cs[0]) {
		return fmt.Errorf("the server answered with an unusable certificate: %v", err)
	}
	keyPEM, err := certs.EncodePrivateKeyPEM(key, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.HostKey), 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(cfg.HostKey, keyPEM, 0o600); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(cfg.HostCert, []byte(resp.Certificate), 0o644); err != nil {
		return err
	}
	if resp.CA != "" {
		if err := atomicfile.WriteFile(filepath.Join(filepath.Dir(cfg.HostCert), "server-ca.crt"), []byte(resp.CA), 0o644); err != nil {
			return err
		}
	}
	acked := map[string]string{}
	for name, data := range secs {
		acked[name] = inventory.Hash(data)
	}
	if err := saveAcked(ctx, s, acked); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "registered %s with %s (certificate valid until %s)\n", uuid, cfg.Server, cs[0].NotAfter.UTC().Format(time.DateOnly))
	if s.reporter, err = newReporter(cfg, s.store, func(f string, a ...any) { fmt.Fprintf(env.Stderr, f+"\n", a...) }); err != nil {
		return err
	}
	return nil
}
