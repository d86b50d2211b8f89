package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// sessionFlags are the flags of the websocket session mode.
type sessionFlags struct {
	sessions, fanout, sourceIPs, serverPID int
	spawn, adminKey, adminCert, memProfile string
	cpuProfile                             string // the shared --cpuprofile
	hold, ping, fanoutTimeout, settle      time.Duration
	serverEnv                              []string
}

func (o *sessionFlags) add(fs *flag.FlagSet) {
	fs.IntVar(&o.sessions, "sessions", 0, "websocket session mode: register this many hosts and keep their uplinks open (instead of posting status reports)")
	fs.IntVar(&o.fanout, "fanout", 0, "with --sessions: send an admin-signed update action to this many connected hosts and time its delivery")
	fs.IntVar(&o.sourceIPs, "source-ips", -1, "with --sessions: open the uplinks from 127.0.0.1 to 127.0.0.K (default: ceil(sessions/20000) for a loopback server, else the system's choice)")
	fs.StringVar(&o.spawn, "spawn-server", "", "with --sessions: start this waptserver binary as a separate process (temporary data directory, plain HTTP on loopback) and measure its memory")
	fs.Func("server-env", "with --spawn-server: KEY=VALUE added to the server's environment, such as GOMEMLIMIT=1800MiB (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("%q: want KEY=VALUE", v)
		}
		o.serverEnv = append(o.serverEnv, v)
		return nil
	})
	fs.IntVar(&o.serverPID, "server-pid", 0, "with --sessions and --server: the server's process id, to read its memory (Linux)")
	fs.StringVar(&o.adminKey, "admin-key", "", "with --sessions --server --fanout: PEM key of an admin holding the trigger_action right")
	fs.StringVar(&o.adminCert, "admin-cert", "", "with --sessions --server --fanout: PEM certificate (and chain) of that admin")
	fs.StringVar(&o.memProfile, "memprofile", "", "with --sessions: write a heap profile once the uplinks are open (with --self it covers the server too)")
	fs.DurationVar(&o.hold, "hold", 0, "with --sessions: keep the sessions open this long after the fan-out")
	fs.DurationVar(&o.ping, "ping-interval", wire.UplinkPingInterval, "with --sessions: period of each session's ping")
	fs.DurationVar(&o.settle, "settle", DefaultSettle, "with --sessions: pause between the last handshake and the memory reading")
	fs.DurationVar(&o.fanoutTimeout, "fanout-timeout", DefaultFanOutTimeout, "with --sessions: how long to wait for the action frames")
}

// fileReserve is the open files a process needs besides one per session:
// handshakes and registrations in flight, the database, logs.
const fileReserve = 512

// mainSessions runs the websocket session mode against --server, a
// spawned server (--spawn-server) or an in-process one (--self).
func mainSessions(ctx context.Context, base Config, self, keep bool, o sessionFlags, logger *log.Logger, stdout io.Writer) error {
	modes := 0
	for _, on := range []bool{base.Server != "", self, o.spawn != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return errors.New("--sessions needs exactly one of --server, --spawn-server and --self")
	}
	if o.serverPID != 0 && base.Server == "" {
		return errors.New("--server-pid goes with --server")
	}
	if len(o.serverEnv) > 0 && o.spawn == "" {
		return errors.New("--server-env goes with --spawn-server")
	}
	// Each session is a socket in this process and, on the server's side,
	// in the server's (this one too with --self); a spawned server
	// inherits this process's limit.
	need := uint64(o.sessions) + fileReserve
	if self {
		need += uint64(o.sessions)
	}
	limit, err := raiseFileLimit(need)
	switch {
	case errors.Is(err, errNoFileLimit):
	case err != nil:
		return fmt.Errorf("raise the open file limit: %w", err)
	case limit < need:
		per := uint64(1)
		if self {
			per = 2
		}
		return fmt.Errorf("%d sessions need about %d open files per process, but RLIMIT_NOFILE stops at %d here (raising the hard limit needs CAP_SYS_RESOURCE: ulimit -Hn); at most %d sessions fit",
			o.sessions, need, limit, (limit-min(limit, fileReserve))/per)
	default:
		logger.Printf("open file limit %d (%d needed)", limit, need)
	}

	if o.memProfile != "" {
		runtime.MemProfileRate = 16 << 10 // a finer sample than the default 512 KiB
	}
	cfg := SessionConfig{
		Server: base.Server, RootCAs: base.RootCAs, Token: base.Token, Sessions: o.sessions,
		Workers: base.Workers, Prefix: base.Prefix, PingInterval: o.ping, FanOut: o.fanout,
		FanOutTimeout: o.fanoutTimeout, Hold: o.hold, Settle: o.settle, Logf: logger.Printf,
	}
	if o.settle == 0 {
		cfg.Settle = -1 // none
	}
	label := "server"
	if self || o.spawn != "" {
		dir, err := os.MkdirTemp("", "waptloadgen-")
		if err != nil {
			return err
		}
		if keep {
			logger.Printf("data directory %s kept", dir)
		} else {
			defer os.RemoveAll(dir)
		}
		if cfg.Admin, err = PrepareAdmin(dir, time.Now()); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dir, "server.log"))
		if err != nil {
			return err
		}
		defer f.Close()
		var password string
		if self {
			b := newBanner(f)
			srv, err := StartServer(ctx, ServerConfig{DataDir: dir, Logf: log.New(f, "", log.LstdFlags).Printf, Stdout: b})
			if err != nil {
				return err
			}
			defer closeLogged(srv.Close, logger)
			cfg.Server, cfg.Token = srv.URL, srv.Token
			_, _, password = b.values()
			cfg.ServerMem, label = func() (Mem, error) { return ProcMem(0) }, "process"
			logger.Printf("in-process server at %s (data %s, GOMAXPROCS %d)", srv.URL, dir, runtime.GOMAXPROCS(0))
		} else {
			sp, err := SpawnServer(ctx, SpawnConfig{Path: o.spawn, DataDir: dir, Log: f, Env: o.serverEnv})
			if err != nil {
				return err
			}
			defer closeLogged(sp.Close, logger)
			cfg.Server, cfg.Token, password = sp.URL, sp.Token, sp.BootstrapPassword
			cfg.ServerMem = func() (Mem, error) { return ProcMem(sp.PID) }
			logger.Printf("server %s (pid %d) at %s (data %s)", o.spawn, sp.PID, sp.URL, dir)
		}
		if err := RegisterAdmin(ctx, cfg.Server, nil, cfg.Admin, password); err != nil {
			return err
		}
	} else {
		if o.serverPID != 0 {
			cfg.ServerMem = func() (Mem, error) { return ProcMem(o.serverPID) }
		}
		if o.fanout > 0 {
			if o.adminKey == "" || o.adminCert == "" {
				return errors.New("--fanout with --server needs --admin-key and --admin-cert")
			}
			if cfg.Admin.Key, err = certs.LoadKey(o.adminKey, nil); err != nil {
				return err
			}
			if cfg.Admin.Chain, err = certs.LoadCerts(o.adminCert); err != nil {
				return err
			}
		}
	}
	cfg.SourceIPs = o.sourceIPs
	if cfg.SourceIPs < 0 {
		cfg.SourceIPs = 0
		if onLoopback(cfg.Server) {
			cfg.SourceIPs = DefaultSourceIPs(o.sessions)
		}
	}
	cfg.OnEstablished = func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		logger.Printf("this process: %d goroutines, heap in use %s, goroutine stacks %s, Go runtime total %s",
			runtime.NumGoroutine(), MiB(ms.HeapInuse), MiB(ms.StackInuse), MiB(ms.Sys))
		if o.memProfile == "" {
			return
		}
		if err := writeHeapProfile(o.memProfile); err != nil {
			logger.Printf("heap profile: %v", err)
		}
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.OnFanOut = func(start bool) {
			if !start {
				pprof.StopCPUProfile()
			} else if err := pprof.StartCPUProfile(f); err != nil {
				logger.Printf("cpu profile: %v", err)
			}
		}
		defer pprof.StopCPUProfile() // no-op once stopped
	}
	res, err := RunSessions(ctx, cfg)
	res.Print(stdout, label)
	if err != nil {
		return err
	}
	failed := res.RegisterFailed + res.DialFailed + res.Dropped
	if f := res.FanOut; f != nil {
		failed += f.Corrupt + f.Missing
	}
	if failed > 0 {
		return fmt.Errorf("%d hosts failed (registration, handshake, dropped session or action frame)", failed)
	}
	return nil
}

// onLoopback reports whether server's host is an IPv4 loopback address
// (a name such as localhost may resolve to ::1, which 127.0.0.x cannot
// reach).
func onLoopback(server string) bool {
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback() && ip.To4() != nil
}

func writeHeapProfile(path string) error {
	runtime.GC() // the profile shows live memory as of the last GC
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func closeLogged(close func() error, logger *log.Logger) {
	if err := close(); err != nil {
		logger.Printf("stopping the server: %v", err)
	}
}
