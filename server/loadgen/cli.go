package loadgen

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// TokenEnv is the environment variable read when --token is not given.
const TokenEnv = "WAPT_ENROLLMENT_TOKEN"

// Main is the waptloadgen command: it parses args, runs the load (against
// --server, or a server of its own with --self) and prints the Result.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("waptloadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg        Config
		caFile     string
		self, keep bool
		cpuProfile string
		so         sessionFlags
	)
	fs.StringVar(&cfg.Server, "server", "", "server base URL, such as https://wapt.example.lan:8443")
	fs.StringVar(&caFile, "ca", "", "PEM file of the CA that issued the server's TLS certificate (default: system roots)")
	fs.StringVar(&cfg.Token, "token", "", "enrollment token (default: $"+TokenEnv+")")
	fs.BoolVar(&self, "self", false, "start an in-process server (temporary data directory, plain HTTP on loopback) and load it")
	fs.BoolVar(&keep, "keep-data", false, "with --self: keep the data directory and its server.log")
	fs.IntVar(&cfg.Hosts, "hosts", 100, "simulated hosts to register")
	fs.Float64Var(&cfg.Rate, "rate", 100, "status posts per second, all hosts together (0: register only)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to post status reports")
	fs.IntVar(&cfg.Packages, "packages", DefaultPackages, "packages per status report")
	fs.IntVar(&cfg.Changes, "changes", DefaultChanges, "packages changing state between two reports of a host")
	fs.IntVar(&cfg.Workers, "workers", DefaultWorkers, "requests in flight at most")
	fs.BoolVar(&cfg.Warmup, "warmup", true, "send each host's first report (every package new to the server) before the timed run")
	fs.StringVar(&cfg.Prefix, "prefix", "", "host UUID prefix (default: loadgen- and a random suffix)")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the post phase, or with --sessions of the fan-out, to this file (with --self it covers the server too)")
	so.add(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Token == "" {
		cfg.Token = os.Getenv(TokenEnv)
	}
	logger := log.New(stderr, "waptloadgen: ", log.Ltime|log.Lmicroseconds)
	cfg.Logf = logger.Printf

	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return fmt.Errorf("%s: no PEM certificate", caFile)
		}
	}
	if so.sessions > 0 {
		so.cpuProfile = cpuProfile
		return mainSessions(ctx, cfg, self, keep, so, logger, stdout)
	}
	if so.spawn != "" {
		return errors.New("--spawn-server needs --sessions")
	}
	if self {
		if cfg.Server != "" {
			return errors.New("--self and --server exclude each other")
		}
		dir, err := os.MkdirTemp("", "waptloadgen-")
		if err != nil {
			return err
		}
		if keep {
			logger.Printf("data directory %s kept", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		// The server logs a line per request, as it does in production.
		f, err := os.Create(filepath.Join(dir, "server.log"))
		if err != nil {
			return err
		}
		defer f.Close()
		srv, err := StartServer(ctx, ServerConfig{DataDir: dir, Logf: log.New(f, "", log.LstdFlags).Printf, Stdout: f})
		if err != nil {
			return err
		}
		defer func() {
			if err := srv.Close(); err != nil {
				logger.Printf("stopping the server: %v", err)
			}
		}()
		cfg.Server, cfg.Token = srv.URL, srv.Token
		logger.Printf("in-process server at %s (data %s, GOMAXPROCS %d)", srv.URL, dir, runtime.GOMAXPROCS(0))
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.OnPostStart = func() {
			if err := pprof.StartCPUProfile(f); err != nil {
				logger.Printf("cpu profile: %v", err)
			}
		}
		defer pprof.StopCPUProfile()
	}
	res, err := Run(ctx, cfg)
	pprof.StopCPUProfile() // no-op without a profile
	res.Print(stdout)
	if err != nil {
		return err
	}
	if n := res.RegisterFailed + res.WarmupFailed + res.Failed; n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	return nil
}
