package loadgen

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/server/serve"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// SpawnConfig configures a waptserver started in its own process, so that
// its memory is measured apart from the load generator's.
type SpawnConfig struct {
	// Path is the waptserver binary.
	Path string
	// DataDir is the server's data directory (empty, or prepared with
	// PrepareAdmin only: the enrollment token and the bootstrap password
	// are printed on the first start only).
	DataDir string
	// Log receives the server's standard output and error (discarded when
	// nil).
	Log io.Writer
	// Env is added to the server's environment (GOMEMLIMIT=..., for
	// instance).
	Env []string
	// StartTimeout bounds the start (30 s when zero).
	StartTimeout time.Duration
}

// Spawned is a waptserver process serving plain HTTP on a loopback port.
type Spawned struct {
	// URL is its base URL, Token its enrollment token, and
	// BootstrapPassword the password that registers the first admin.
	URL, Token, BootstrapPassword string
	// PID is the server's process id (for ProcMem).
	PID int

	cmd  *exec.Cmd
	done chan error // the result of cmd.Wait
}

// SpawnServer starts cfg.Path --data cfg.DataDir --listen 127.0.0.1:0
// --tls=false, reads its URL, enrollment token and bootstrap password from
// the lines it prints at start-up (server/serve), and waits until it
// answers. Close stops it.
func SpawnServer(ctx context.Context, cfg SpawnConfig) (*Spawned, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	b := newBanner(logw)
	// Not CommandContext: Close stops the server gracefully (SIGINT).
	cmd := exec.Command(cfg.Path, "--data", cfg.DataDir, "--listen", "127.0.0.1:0", "--tls=false")
	cmd.Stdout, cmd.Stderr = b, &syncWriter{w: logw, mu: &b.mu}
	if len(cfg.Env) > 0 {
		cmd.Env = append(os.Environ(), cfg.Env...)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	s := &Spawned{PID: cmd.Process.Pid, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()

	t := time.NewTimer(cfg.StartTimeout)
	defer t.Stop()
	select {
	case <-b.ready:
	case err := <-s.done:
		s.done <- err
		return nil, fmt.Errorf("%s stopped at start: %v", cfg.Path, err)
	case <-ctx.Done():
		_ = s.Close()
		return nil, ctx.Err()
	case <-t.C:
		_ = s.Close()
		return nil, fmt.Errorf("%s printed no \"serving\" line within %s", cfg.Path, cfg.StartTimeout)
	}
	s.URL, s.Token, s.BootstrapPassword = b.values()
	if s.Token == "" {
		_ = s.Close()
		return nil, fmt.Errorf("%s printed no enrollment token: is %s a fresh data directory?", cfg.Path, cfg.DataDir)
	}
	if err := waitHealthy(ctx, s.URL, cfg.StartTimeout, s.done); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the server (an interrupt, then a kill after 15 s) and waits
// for it.
func (s *Spawned) Close() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		_ = s.cmd.Process.Kill() // Windows has no interrupt to send
	}
	select {
	case err := <-s.done:
		s.done <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) && !exit.Exited() {
			return nil // ended by the signal
		}
		return err
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("server did not stop within 15s: killed")
	}
}

// waitHealthy polls url/healthz until it answers 200, the process ends or
// wait passes.
func waitHealthy(ctx context.Context, url string, wait time.Duration, done chan error) error {
	deadline := time.Now().Add(wait)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("healthz: %s", resp.Status)
		}
		select {
		case runErr := <-done:
			done <- runErr
			return fmt.Errorf("server stopped: %v", runErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready: %w", err)
		}
	}
}

// banner copies a waptserver's standard output and picks out what it
// prints at start-up (server/serve): the bootstrap admin password, the
// enrollment token and, last, the URL it serves; ready is closed then.
type banner struct {
	mu      sync.Mutex // guards the fields and out
	out     io.Writer
	partial []byte
	url     string
	token   string
	pass    string
	ready   chan struct{}
}

func newBanner(out io.Writer) *banner { return &banner{out: out, ready: make(chan struct{})} }

// Banner lines of server/serve.
const (
	bannerPassword = "waptserver: bootstrap admin password"
	bannerToken    = "waptserver: enrollment token"
	bannerServing  = "waptserver: serving "
)

func (b *banner) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _ = b.out.Write(p) // the log is best effort
	if b.url != "" {
		return len(p), nil // past the start-up lines
	}
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(b.partial[:i]), "\r")
		b.partial = b.partial[i+1:]
		switch {
		case strings.HasPrefix(line, bannerPassword):
			b.pass = lastField(line)
		case strings.HasPrefix(line, bannerToken):
			b.token = lastField(line)
		case strings.HasPrefix(line, bannerServing):
			u, _, _ := strings.Cut(strings.TrimPrefix(line, bannerServing), "/wapt/")
			if u != "" {
				b.url = u
				b.partial = nil
				close(b.ready)
				return len(p), nil
			}
		}
	}
	return len(p), nil
}

// values returns the URL, the enrollment token and the bootstrap password.
func (b *banner) values() (url, token, password string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.url, b.token, b.pass
}

// lastField returns what follows the last ": " of line.
func lastField(line string) string {
	i := strings.LastIndex(line, ": ")
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(line[i+2:])
}

// syncWriter serialises writes to w with the banner's.
type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Admin is an admin identity of a load run: it signs the actions it
// sends, and the requests that send them.
type Admin struct {
	Key   crypto.Signer
	Chain []*x509.Certificate // the admin certificate, then its CA
}

// PrepareAdmin makes an admin CA and an admin certificate it issues, and
// writes the CA into dataDir's admin CA folder (ssl/) so that a server
// started on dataDir trusts it. The admin still has to be registered
// (RegisterAdmin).
func PrepareAdmin(dataDir string, now time.Time) (Admin, error) {
	now = now.Add(-time.Hour) // some clock skew
	caKey, ca, err := certs.Generate(certs.Request{CN: "waptloadgen admin CA", Role: certs.RoleCA, KeyType: "ecdsa", Now: now})
	if err != nil {
		return Admin{}, err
	}
	key, cert, err := certs.Generate(certs.Request{CN: "waptloadgen admin", Role: certs.RoleSimple, KeyType: "ecdsa", Now: now, Issuer: ca, IssuerKey: caKey})
	if err != nil {
		return Admin{}, err
	}
	dir := filepath.Join(dataDir, serve.AdminCADir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Admin{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "waptloadgen-ca.crt"), certs.EncodeCertsPEM(ca), 0o644); err != nil {
		return Admin{}, err
	}
	return Admin{Key: key, Chain: []*x509.Certificate{cert, ca}}, nil
}

// RegisterAdmin registers a as the server's first admin with the bootstrap
// password, with the rights to view and to trigger actions.
func RegisterAdmin(ctx context.Context, server string, hc *http.Client, a Admin, bootstrapPassword string) error {
	c, err := client.New(client.Config{BaseURL: server, HTTPClient: hc, Timeout: DefaultTimeout})
	if err != nil {
		return err
	}
	err = c.RegisterAdmin(ctx, wire.AdminRegisterRequest{
		Certificate:       string(certs.EncodeCertsPEM(a.Chain...)),
		Rights:            []string{wire.RightView, wire.RightTriggerAction},
		BootstrapPassword: bootstrapPassword,
	})
	if err != nil {
		return fmt.Errorf("register the admin: %w", err)
	}
	return nil
}
