// Package localapi is the agent service's local API: HTTP/1.1 and JSON over
// a unix socket (a named pipe on Windows), used by the tray, waptexit,
// self-service and wapt-get through agent/localclient. The caller's
// identity is read from the OS for each connection (SO_PEERCRED,
// LOCAL_PEERCRED, the pipe client's token), never from the request; the
// Backend decides what that caller may do.
package localapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

// Backend is what the agent service implements. Every call gets the
// OS-authenticated caller; errors wrap the sentinels below to choose the
// answer's status.
type Backend interface {
	// Status returns the host's state and pending packages.
	Status(ctx context.Context, c wire.LocalCaller) (wire.LocalStatus, error)
	// StartTask queues a task (r has been validated) and returns it.
	StartTask(ctx context.Context, c wire.LocalCaller, r wire.LocalTaskRequest) (wire.LocalTask, error)
	// Tasks returns the recent tasks.
	Tasks(ctx context.Context, c wire.LocalCaller) ([]wire.LocalTask, error)
	// Cancel cancels a queued or running task.
	Cancel(ctx context.Context, c wire.LocalCaller, id int64) error
	// Events returns the events with Seq > after, at once when there are
	// some. Otherwise it waits until one arrives or ctx is done, then
	// returns what it has: no events with a nil error or ctx's error both
	// answer an empty list. ctx always has a deadline, already past when
	// the client asked not to wait.
	Events(ctx context.Context, c wire.LocalCaller, after int64) ([]wire.LocalEvent, error)
	// SelfService returns the self-service catalogue as seen by c.
	SelfService(ctx context.Context, c wire.LocalCaller) ([]wire.SelfServicePackage, error)
}

// Sentinels a Backend wraps; writeError maps them to HTTP statuses. Any
// other error is a 500 whose details are logged, not sent.
var (
	// ErrForbidden is a 403: the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound is a 404.
	ErrNotFound = errors.New("not found")
	// ErrBusy is a 409: a conflicting task is running.
	ErrBusy = errors.New("agent busy")
	// ErrInvalid is a 400. It is wire.ErrInvalid, so a *wire.FieldsError
	// is one too, and its fields are sent to the client.
	ErrInvalid = wire.ErrInvalid
)

// Limits of the server.
const (
	// MaxRequestBody bounds the body of POST /v1/tasks.
	MaxRequestBody = 64 << 10
	// MaxWait caps the long poll of GET /v1/events.
	MaxWait = 60 * time.Second
	// shutdownTimeout is how long Serve lets requests in flight finish.
	shutdownTimeout = 5 * time.Second
)

// Logf is the logger the server is built with.
type Logf func(format string, args ...any)

// Option configures a Server.
type Option func(*Server)

// WithLogf sets the logger of refused connections, internal errors and
// panics; by default they are dropped.
func WithLogf(logf Logf) Option {
	return func(s *Server) {
		if logf != nil {
			s.logf = logf
		}
	}
}

// Server serves the local API of a Backend.
type Server struct {
	b       Backend
	logf    Logf
	handler http.Handler
}

// New returns a server of b.
func New(b Backend, opts ...Option) *Server {
	s := &Server{b: b, logf: func(string, ...any) {}}
	for _, o := range opts {
		o(s)
	}
	s.handler = s.routes()
	return s
}

// DefaultPath is where the agent service listens: the unix socket on Linux
// and macOS, the named pipe on Windows (localclient.DefaultPath).
func DefaultPath() string { return localclient.DefaultPath() }

// servingKey is the context key of Serve's ctx: requests are not cancelled
// when it is done, so that they finish gracefully, but long polls end.
type servingKey struct{}

// Serve answers HTTP/1.1 requests on l until ctx is done, then shuts down
// gracefully: long polls end at once, other requests get a few seconds. It
// closes l. A connection whose caller cannot be identified is closed
// before any request on it is handled. It returns nil after a shutdown
// asked by ctx.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      MaxWait + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(logWriter(s.logf), "localapi: ", 0),
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.WithoutCancel(ctx), servingKey{}, ctx)
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(&identListener{Listener: l, logf: s.logf}) }()
	select {
	case err := <-errc:
		return fmt.Errorf("local API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("local API shutdown: %w", err)
	}
	<-errc
	return err
}

// logWriter sends the http.Server's own messages to a Logf.
type logWriter Logf

func (w logWriter) Write(p []byte) (int, error) {
	w("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}
