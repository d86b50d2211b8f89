package admin

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// OpenPKCS11 opens the key of a PKCS#11 token as a crypto.Signer; the
// Closer ends the token session. It is nil unless main plugs in the cgo
// implementation (console/pkcs11). An implementation reports a wrong PIN
// with an error wrapping ErrWrongPassword.
var OpenPKCS11 func(module, tokenLabel, keyLabel string, pin []byte, cert *x509.Certificate) (crypto.Signer, io.Closer, error)

// Timeouts of the connection to the server. A request's own duration is
// bounded by its context (uploads of large packages take long).
const (
	connectTimeout        = 20 * time.Second // Connect's check call
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 10 * time.Minute // a server verifying a large upload
)

// userAgent is sent with every request of the console.
const userAgent = "waptconsole/1"

// Session is an admin connected to a server: the admin's certificate chain
// and signer (a key file or a PKCS#11 token) and the server client. Every
// request is signed; every package and action is signed by the same
// signer, whose key never leaves this process (or the token). It is safe
// for concurrent use.
type Session struct {
	settings Settings
	client   *client.Client
	signer   crypto.Signer
	chain    []*x509.Certificate // the admin's certificate first
	now      func() time.Time

	mu     sync.Mutex
	closer io.Closer // the token session; nil for a key file
}

// Connect loads the admin certificate and its key (the key file's
// password, or the token PIN, is asked through ask, once), builds the
// server client and checks the connection with a cheap signed call (the
// first host). Errors wrap ErrWrongPassword, ErrUntrustedServer,
// ErrUnreachable, ErrNotAdmin or ErrNoRights when that is the reason; a
// cancelled prompt gives context.Canceled.
func Connect(ctx context.Context, s Settings, ask Prompt) (*Session, error) {
	bad := FieldErrors{}
	if s.ServerURL == "" {
		bad["server_url"] = "required"
	}
	if s.CertPath == "" {
		bad["cert_path"] = "required"
	}
	if s.KeyPath == "" && s.PKCS11Module == "" {
		bad["key_path"] = "a key file or a PKCS#11 module is required"
	}
	if err := bad.orNil(); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	chain, err := certs.LoadCerts(s.CertPath)
	if err != nil {
		return nil, fmt.Errorf("admin certificate: %w", err)
	}
	signer, closer, err := openSigner(ctx, s, chain[0], ask)
	if err != nil {
		return nil, err
	}
	sess, err := newSession(s, signer, chain, closer)
	if err != nil {
		sess.Close()
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if _, err := sess.client.ListHosts(cctx, client.HostQuery{Limit: 1}); err != nil {
		sess.Close()
		return nil, fmt.Errorf("connect to %s as %q: %w", s.ServerURL, chain[0].Subject.CommonName, mapErr(err))
	}
	return sess, nil
}

// newSession builds the client of a session. On error the returned
// Session only holds closer (Close it).
func newSession(s Settings, signer crypto.Signer, chain []*x509.Certificate, closer io.Closer) (*Session, error) {
	sess := &Session{settings: s, signer: signer, chain: chain, closer: closer, now: time.Now}
	hc, err := httpClient(s)
	if err != nil {
		return sess, err
	}
	// Requests are signed with the real clock, which the server checks;
	// now dates what the admin signs (packages, actions).
	cfg := client.Config{BaseURL: s.ServerURL, HTTPClient: hc, UserAgent: userAgent}
	if signer != nil {
		cfg.Signer, cfg.Cert = signer, chain[0]
	}
	if sess.client, err = client.New(cfg); err != nil {
		return sess, fmt.Errorf("server %s: %w", s.ServerURL, err)
	}
	return sess, nil
}

// openSigner opens the admin's key: the key file (asking its password
// only when it is encrypted) or the PKCS#11 token (asking its PIN).
func openSigner(ctx context.Context, s Settings, cert *x509.Certificate, ask Prompt) (crypto.Signer, io.Closer, error) {
	if s.KeyPath == "" {
		return openToken(ctx, s, cert, ask)
	}
	data, err := certs.ReadPEMFile(s.KeyPath, certs.MaxKeyFileSize)
	if err != nil {
		return nil, nil, fmt.Errorf("admin key: %w", err)
	}
	key, err := certs.ParsePrivateKeyPEM(data, nil)
	if errors.Is(err, certs.ErrPasswordRequired) {
		var pw []byte
		if pw, err = askSecret(ctx, ask, "Password of the key "+s.KeyPath); err != nil {
			return nil, nil, fmt.Errorf("admin key %s: %w", s.KeyPath, err)
		}
		key, err = certs.ParsePrivateKeyPEM(data, pw)
		clear(pw)
	}
	switch {
	case errors.Is(err, certs.ErrBadPassword):
		return nil, nil, fmt.Errorf("admin key %s: %w", s.KeyPath, ErrWrongPassword)
	case err != nil:
		return nil, nil, fmt.Errorf("admin key %s: %w", s.KeyPath, err)
	case !certs.KeyMatchesCert(key, cert):
		return nil, nil, fmt.Errorf("admin key %s does not match the certificate %s (%q)", s.KeyPath, s.CertPath, cert.Subject.CommonName)
	}
	return key, nil, nil
}

// openToken opens the key on a PKCS#11 token through OpenPKCS11.
func openToken(ctx context.Context, s Settings, cert *x509.Certificate, ask Prompt) (crypto.Signer, io.Closer, error) {
	if OpenPKCS11 == nil {
		return nil, nil, errors.New("PKCS#11 support not built in: use a key file")
	}
	label := s.TokenLabel
	if label == "" {
		label = s.PKCS11Module
	}
	pin, err := askSecret(ctx, ask, "PIN of the token "+label)
	if err != nil {
		return nil, nil, fmt.Errorf("token %s: %w", label, err)
	}
	signer, closer, err := OpenPKCS11(s.PKCS11Module, s.TokenLabel, s.KeyLabel, pin, cert)
	clear(pin)
	if err != nil {
		return nil, nil, fmt.Errorf("token %s: %w", label, err)
	}
	if !certs.KeyMatchesCert(signer, cert) {
		if closer != nil {
			closer.Close()
		}
		return nil, nil, fmt.Errorf("the key of token %s does not match the certificate %s (%q)", label, s.CertPath, cert.Subject.CommonName)
	}
	return signer, closer, nil
}

// askSecret asks once; no prompt or a cancelled one is an error.
func askSecret(ctx context.Context, ask Prompt, prompt string) ([]byte, error) {
	if ask == nil {
		return nil, errors.New("a password is required and there is no way to ask for it")
	}
	b, err := ask(ctx, prompt)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("prompt cancelled: %w", context.Canceled)
	}
	return b, nil
}

// httpClient returns the HTTP client of s: the server CA as the only TLS
// root when set (else the system roots), and bounded dial and handshake
// times.
func httpClient(s Settings) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = tlsHandshakeTimeout
	tr.ResponseHeaderTimeout = responseHeaderTimeout
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if s.ServerCA != "" {
		roots, err := certs.LoadCerts(s.ServerCA)
		if err != nil {
			return nil, fmt.Errorf("server CA: %w", err)
		}
		pool := x509.NewCertPool()
		for _, c := range roots {
			pool.AddCert(c)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

// Close ends the session (and the token session).
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	c := s.closer
	s.closer = nil
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.Close()
}

// AdminName returns the common name of the admin certificate.
func (s *Session) AdminName() string { return s.chain[0].Subject.CommonName }

// Settings returns the settings the session was opened with.
func (s *Session) Settings() Settings { return s.settings }

// RegisterFirstAdmin registers the certificate of s.CertPath as the first
// admin of the server, with rights, using the bootstrap password the
// server printed at its first start. The request is not signed. A wrong
// password (or a server that already has an admin) gives ErrWrongPassword.
func RegisterFirstAdmin(ctx context.Context, s Settings, bootstrapPassword string, rights []string) error {
	if s.CertPath == "" {
		return fmt.Errorf("register the first admin: %w", FieldErrors{"cert_path": "required"})
	}
	chain, err := certs.LoadCerts(s.CertPath)
	if err != nil {
		return fmt.Errorf("admin certificate: %w", err)
	}
	req := wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(chain...)), Rights: rights, BootstrapPassword: bootstrapPassword}
	if bootstrapPassword == "" {
		return fmt.Errorf("register the first admin: %w", FieldErrors{"bootstrap_password": "required"})
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("register the first admin: %w", wireFields(err))
	}
	sess, err := newSession(s, nil, chain, nil)
	if err != nil {
		return err
	}
	err = sess.client.RegisterAdmin(ctx, req)
	if errors.Is(err, client.ErrUnauthenticated) {
		return fmt.Errorf("register %q on %s: %w (or an admin is already registered: ask them to register you): %w",
			chain[0].Subject.CommonName, s.ServerURL, ErrWrongPassword, err)
	}
	if err != nil {
		return fmt.Errorf("register %q on %s: %w", chain[0].Subject.CommonName, s.ServerURL, mapErr(err))
	}
	return nil
}

// wireFields turns a *wire.FieldsError into FieldErrors.
func wireFields(err error) error {
	var fe *wire.FieldsError
	if errors.As(err, &fe) {
		return FieldErrors(fe.Fields)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}
