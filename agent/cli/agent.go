package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/wapt-go/wapt/agent/daemon"
	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/agent/uplink"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

// AgentMain runs the waptagent command (the agent service) and returns the
// process exit code.
func AgentMain(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	env.ReadPassword = func(string) ([]byte, error) {
		return nil, errors.New("the service cannot prompt: set enrollment_token in the ini file or $" + EnrollmentEnv)
	}
	root := agentRoot(&env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(env.Stderr, "waptagent:", err)
		if errors.Is(err, errUsage) {
			return ExitUsage
		}
		return ExitError
	}
	return ExitOK
}

func agentRoot(env *Env) *cobra.Command {
	var cfgPath string
	root := &cobra.Command{
		Use:   "waptagent",
		Short: "The WAPT agent service: scheduled updates, signed remote actions, status reports, local API",
		Long: `waptagent runs the agent as a service (systemd, Windows service, launchd).
It registers the host at its first start (enrollment_token in the ini file or $` + EnrollmentEnv + `),
runs update + download-upgrade at start and every waptupdate_task_period (default 120 min),
an upgrade every waptupgrade_task_period when set, the audits when due, sends status reports,
keeps a websocket to the server for admin-signed actions, serves the local API for the tray
and waptexit, and reloads its ini file when it changes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&cfgPath, "config", "c", "", "agent configuration (default $WAPT_CONFIG or "+defaultConfigPath+")")
	path := func() (string, error) {
		p := (&endpointFlags{config: cfgPath}).configPath(env)
		return filepath.Abs(p)
	}
	svc := func() (service.Service, *agentProgram, error) {
		p, err := path()
		if err != nil {
			return nil, nil, err
		}
		prg := &agentProgram{env: env, path: p}
		s, err := service.New(prg, &service.Config{
			Name:        "waptagent",
			DisplayName: "WAPT agent",
			Description: "WAPT software deployment agent",
			Arguments:   []string{"run", "-c", p},
			Option:      service.KeyValue{"Restart": "always"},
		})
		return s, prg, err
	}
	run := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground (what the service manager starts)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if service.Interactive() {
				p, err := path()
				if err != nil {
					return err
				}
				return runAgent(cmd.Context(), env, p)
			}
			s, prg, err := svc()
			if err != nil {
				return err
			}
			prg.parent = cmd.Context()
			return s.Run()
		},
	}
	control := func(verb, short string) *cobra.Command {
		return &cobra.Command{
			Use:   verb,
			Short: short,
			Args:  exactArgs(0),
			RunE: func(*cobra.Command, []string) error {
				s, _, err := svc()
				if err != nil {
					return err
				}
				if err := service.Control(s, verb); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "waptagent: %s done\n", verb)
				return nil
			},
		}
	}
	root.AddCommand(run,
		control("install", "Install the service (starts at boot) with this configuration"),
		control("uninstall", "Remove the service"),
		control("start", "Start the installed service"),
		control("stop", "Stop the service"),
	)
	return root
}

// agentProgram adapts runAgent to the service manager.
type agentProgram struct {
	env    *Env
	path   string
	parent context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func (p *agentProgram) Start(service.Service) error {
	parent := p.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		if err := runAgent(ctx, p.env, p.path); err != nil && ctx.Err() == nil {
			fmt.Fprintln(p.env.Stderr, "waptagent:", err)
			os.Exit(ExitError)
		}
	}()
	return nil
}

func (p *agentProgram) Stop(service.Service) error {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
	}
	return nil
}

// errReload restarts the agent with its configuration read again.
var errReload = errors.New("reload")

// runAgent runs the agent until ctx ends, starting it again whenever the
// ini file changes or a failed registration is to be tried again.
func runAgent(ctx context.Context, env *Env, path string) error {
	retry := time.Minute
	for {
		registered, err := runAgentOnce(ctx, env, path, retry)
		switch {
		case errors.Is(err, errReload):
			if registered {
				retry = time.Minute
			} else {
				retry = min(retry*2, 30*time.Minute)
			}
			continue
		case ctx.Err() != nil:
			return nil
		default:
			return err
		}
	}
}

// runAgentOnce opens the agent and runs it until ctx ends (nil), the ini
// file changes or, unregistered, retry elapses (errReload).
func runAgentOnce(ctx context.Context, env *Env, path string, retry time.Duration) (registered bool, err error) {
	logf := func(format string, a ...any) {
		fmt.Fprintf(env.Stderr, "%s %s\n", env.Now().Format(time.DateTime), fmt.Sprintf(format, a...))
	}
	s, err := openSession(ctx, env, &endpointFlags{config: path}, env.Stderr)
	if err != nil {
		return false, err
	}
	defer s.close()
	cfg := s.cfg
	key, cert, registered, err := hostIdentity(cfg)
	if err != nil {
		return false, err
	}
	if cfg.Server != "" && !registered {
		tok := cfg.EnrollmentToken
		if tok == "" {
			tok = env.Getenv(EnrollmentEnv)
		}
		renv := *env
		renv.Getenv = func(k string) string {
			if k == EnrollmentEnv {
				return tok
			}
			return env.Getenv(k)
		}
		if tok == "" {
			logf("not registered: set enrollment_token in %s (or $%s)", path, EnrollmentEnv)
		} else if err := register(ctx, &renv, s); err != nil {
			logf("registration with %s failed (retry in %s): %v", cfg.Server, retry, err)
		} else {
			return true, errReload // open again with the host identity
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)

	fwd := &actionHandler{}
	var up *uplink.Client
	dcfg := daemon.Config{
		Engine: s.eng, UpdatePeriod: cfg.UpdatePeriod, UpgradePeriod: cfg.UpgradePeriod,
		AllowReboot: cfg.AllowRemoteReboot, Locales: cfg.Locales, Exit: cfg.ExitPolicy(), Logf: logf, Now: env.Now,
	}
	if s.reporter != nil {
		dcfg.Report = func(ctx context.Context) error { return postStatus(ctx, s, env.Now(), false) }
		dcfg.FullReport = func(ctx context.Context) error { return postStatus(ctx, s, env.Now(), true) }
	}
	if v, err := actionVerifier(ctx, s); err != nil {
		logf("remote actions disabled: %v", err)
	} else {
		dcfg.Verifier = v
	}
	if registered {
		hc, err := serverHTTPClient(cfg)
		if err != nil {
			return registered, err
		}
		uuid, err := s.eng.HostUUID(ctx)
		if err != nil {
			return registered, err
		}
		if up, err = uplink.New(uplink.Config{ServerURL: cfg.Server, UUID: uuid, Key: key, Cert: cert, HTTPClient: hc, Handler: fwd, Logf: logf}); err != nil {
			return registered, err
		}
		dcfg.Uplink = up
	}
	d := daemon.New(dcfg)
	fwd.set(d)
	if up != nil {
		wg.Go(func() { up.Run(ctx) })
	}
	apiPath := cfg.LocalAPI
	if apiPath == "" {
		apiPath = localclient.DefaultPath()
	}
	if l, err := localapi.Listen(apiPath); err != nil {
		logf("local API disabled: %v", err)
	} else {
		srv := localapi.New(d, localapi.WithLogf(logf))
		wg.Go(func() {
			if err := srv.Serve(ctx, l); err != nil {
				logf("local API: %v", err)
			}
		})
	}
	wg.Go(func() { watchConfig(ctx, path, cancel) })
	if cfg.Server != "" && !registered {
		wg.Go(func() {
			select {
			case <-time.After(retry):
				cancel(errReload)
			case <-ctx.Done():
			}
		})
	}
	logf("waptagent started (%s)", path)
	d.Run(ctx)
	if errors.Is(context.Cause(ctx), errReload) {
		logf("restarting: %s changed or registration retry", path)
		return registered, errReload
	}
	return registered, nil
}

// actionVerifier checks admin actions against the admin certificates the
// packages are trusted with (public_certs_dir), the host's own CA being
// refused as a signer, and the store's persistent replay cache.
func actionVerifier(ctx context.Context, s *session) (*action.Verifier, error) {
	if len(s.cfg.Repos) == 0 {
		return nil, errors.New("no repository configured")
	}
	trust, err := signing.LoadTrustDir(s.cfg.Repos[0].TrustDir)
	if err != nil {
		return nil, err
	}
	if len(trust.Anchors()) == 0 {
		return nil, fmt.Errorf("no admin certificate in %s", s.cfg.Repos[0].TrustDir)
	}
	uuid, err := s.eng.HostUUID(ctx)
	if err != nil {
		return nil, err
	}
	v := &action.Verifier{Trust: trust, Host: uuid, Nonces: s.store}
	if cas, err := certs.LoadCerts(filepath.Join(filepath.Dir(s.cfg.HostCert), "server-ca.crt")); err == nil {
		v.HostCAs = signing.NewTrust(cas...)
	}
	return v, nil
}

// actionHandler forwards the uplink's calls to the daemon, created after
// the uplink.
type actionHandler struct {
	mu sync.Mutex
	d  *daemon.Daemon
}

func (h *actionHandler) set(d *daemon.Daemon) {
	h.mu.Lock()
	h.d = d
	h.mu.Unlock()
}

func (h *actionHandler) get() *daemon.Daemon {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d
}

func (h *actionHandler) HandleAction(ctx context.Context, raw json.RawMessage) {
	if d := h.get(); d != nil {
		d.HandleAction(ctx, raw)
	}
}

func (h *actionHandler) StatusRequested(ctx context.Context) {
	if d := h.get(); d != nil {
		d.StatusRequested(ctx)
	}
}

// watchConfig cancels ctx with errReload when the file at path changes
// (size, time or presence), polling every few seconds.
func watchConfig(ctx context.Context, path string, cancel context.CancelCauseFunc) {
	stamp := func() string {
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "missing"
		}
		if err != nil {
			return "error"
		}
		return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	was := stamp()
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if now := stamp(); now != was {
				cancel(errReload)
				return
			}
		}
	}
}
