package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/wapt-go/wapt/server/pki"
	"github.com/wapt-go/wapt/server/serve"
)

// ServerConfig configures an in-process server.
type ServerConfig struct {
	// DataDir is the server's data directory. It must not hold keys yet:
	// the enrollment token is only known when the server creates it. It
	// may hold an admin CA (ssl/) and a database prepared beforehand.
	DataDir string
	// Logf receives the server's log, one line per request (nothing when
	// nil); Stdout its start-up banner (discarded when nil).
	Logf   func(format string, args ...any)
	Stdout io.Writer
}

// Server is a waptserver running in this process on a loopback port, over
// plain HTTP (serve.Run with TLS off), for self-contained load runs.
type Server struct {
	// URL is the server's base URL; Token its enrollment token.
	URL, Token string

	cancel context.CancelFunc
	done   chan error
}

// StartServer starts a server in cfg.DataDir and waits until it answers.
// Close stops it.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	keys, err := pki.LoadOrCreate(cfg.DataDir, pki.Options{})
	if err != nil {
		return nil, err
	}
	token := keys.Created().EnrollmentToken
	if token == "" {
		return nil, fmt.Errorf("%s already has keys: its enrollment token is unknown (use an empty data directory)", cfg.DataDir)
	}
	logf, stdout := cfg.Logf, cfg.Stdout
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if stdout == nil {
		stdout = io.Discard
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{URL: "http://" + ln.Addr().String(), Token: token, cancel: cancel, done: make(chan error, 1)}
	o := serve.Options{DataDir: cfg.DataDir, Listen: ln.Addr().String(), TLS: false}
	go func() { s.done <- serve.Run(ctx, o, ln, logf, stdout) }()

	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
			err = fmt.Errorf("healthz: %s", resp.Status)
		}
		select {
		case runErr := <-s.done:
			cancel()
			return nil, fmt.Errorf("server stopped: %w", runErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Close()
			return nil, fmt.Errorf("server not ready: %w", err)
		}
	}
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	s.cancel()
	select {
	case err := <-s.done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-time.After(15 * time.Second):
		return errors.New("server did not stop within 15s")
	}
}
