// Package serve wires the waptserver daemon together: flags, data directory,
// HTTP listener and graceful shutdown.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wapt-go/wapt/server/httpapi"
	"github.com/wapt-go/wapt/server/repository"
)

// Options are the server settings; each has a flag and a default.
type Options struct {
	DataDir string
	Listen  string
	// PublicHostPackages serves wapt-host/ to anyone (labs and demos only):
	// until host registration exists, host packages are otherwise refused.
	PublicHostPackages bool
}

// ParseFlags parses command-line arguments into Options.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("waptserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.DataDir, "data", "data", "data directory (repository, keys, database); created when missing")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&o.PublicHostPackages, "public-host-packages", false, "serve wapt-host/ without authentication (labs and demos only)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}

// Main parses args and runs the server until ctx is done.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := ParseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	return Run(ctx, o, ln, log.New(stderr, "waptserver: ", log.LstdFlags).Printf, stdout)
}

// Run serves on ln until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, o Options, ln net.Listener, logf func(string, ...any), stdout io.Writer) error {
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	repo, err := repository.New(o.DataDir)
	if err != nil {
		return err
	}
	defer repo.Close()

	srv := &http.Server{
		Handler:           httpapi.New(httpapi.Config{Repo: repo, Logf: logf, PublicHostPackages: o.PublicHostPackages}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if o.PublicHostPackages {
		logf("WARNING: host packages (wapt-host/) are served WITHOUT authentication (--public-host-packages): for labs and demos only")
	}
	fmt.Fprintf(stdout, "waptserver: repository %s\nwaptserver: serving http://%s/wapt/ (Ctrl-C to stop)\n", repo.PublicPath(), ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
