package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wapt-go/wapt/agent/config"
	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/fetch"
	"github.com/wapt-go/wapt/agent/hostinfo"
	"github.com/wapt-go/wapt/agent/installer"
	"github.com/wapt-go/wapt/agent/report"
	"github.com/wapt-go/wapt/agent/script"
	"github.com/wapt-go/wapt/agent/store"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
)

// ExitPartial means the operation ran but some packages failed.
const ExitPartial = 3

var errPartial = errors.New("some packages failed")

// endpointFlags are shared by the endpoint verbs.
type endpointFlags struct {
	config string
	json   bool
	force  bool
}

func (f *endpointFlags) configPath(env *Env) string {
	if f.config != "" {
		return f.config
	}
	if p := env.Getenv("WAPT_CONFIG"); p != "" {
		return p
	}
	return defaultConfigPath
}

// session is an opened engine and what must be closed after.
type session struct {
	eng      *engine.Engine
	cfg      config.Config
	store    *store.DB
	reporter *report.Sender // nil unless registered with a server
	close    func()
}

func openSession(ctx context.Context, env *Env, f *endpointFlags, out io.Writer) (*session, error) {
	path := f.configPath(env)
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if len(cfg.Repos) == 0 {
		return nil, fmt.Errorf("%s: no repo_url in [global]", path)
	}
	st, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	var repos []engine.Repo
	var local *signing.Trust
	for _, r := range cfg.Repos {
		t, err := signing.LoadTrustDir(r.TrustDir)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("repository %s: %w", r.Name, err)
		}
		if local == nil {
			local = t
		}
		it := t
		if r.IndexTrustDir != r.TrustDir {
			if it, err = signing.LoadTrustDir(r.IndexTrustDir); err != nil {
				st.Close()
				return nil, fmt.Errorf("repository %s: index_certs_dir: %w", r.Name, err)
			}
		}
		repos = append(repos, engine.Repo{Name: r.Name, URL: r.URL, HostURL: r.HostURL, Trust: t, IndexTrust: it, AllowUnsigned: r.AllowUnsigned})
	}
	info := hostinfo.Detect()
	uuid := cfg.HostUUID
	if uuid == "" {
		uuid = info.SystemUUID
	}
	logf := func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) }
	var progress func(string, int64, int64)
	if isTerminal(env.Stdout) && !f.json {
		progress = newProgress(env.Stderr)
	}
	fcfg := fetch.Config{UserAgent: "wapt-get", Logf: logf}
	if key, cert, ok, err := hostIdentity(cfg); err == nil && ok {
		fcfg.HostSigner, fcfg.HostCert = key, cert
	}
	eng, err := engine.New(engine.Config{
		Store:       st,
		Fetcher:     fetch.New(fcfg),
		Scripts:     script.New(script.Config{Logf: logf, Timeout: cfg.ScriptTimeout}),
		Uninstaller: installer.New(),
		Repos:       repos,
		LocalTrust:  local,
		Host: resolve.Host{
			UUID: uuid, FQDN: info.FQDN, OS: info.OS, OSVersion: info.OSVersion, Arch: info.Arch,
			Locales: cfg.Locales, Maturities: cfg.Maturities, Profiles: cfg.HostProfiles,
			OUDN: cfg.HostOUDN, UseHostPackages: cfg.UseHostPackages,
		},
		CacheDir:      cfg.CacheDir,
		WorkDir:       cfg.WorkDir,
		PersistentDir: cfg.PersistentDir,
		Logf:          logf,
		Output:        out,
		Progress:      progress,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	if _, err := eng.Start(ctx); err != nil {
		st.Close()
		return nil, err
	}
	rep, err := newReporter(cfg, st, logf)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("server identity: %w", err)
	}
	return &session{eng: eng, cfg: cfg, store: st, reporter: rep, close: func() { st.Close() }}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer) func(string, int64, int64) {
	var bar *progressbar.ProgressBar
	var cur string
	return func(pkg string, done, total int64) {
		if bar == nil || cur != pkg {
			cur = pkg
			bar = progressbar.DefaultBytes(total, pkg)
			progressbar.OptionSetWriter(w)(bar)
		}
		_ = bar.Set64(done)
	}
}

func endpointCommands(env *Env) []*cobra.Command {
	f := &endpointFlags{}
	with := func(cmd *cobra.Command, run func(ctx context.Context, s *session, args []string) error) *cobra.Command {
		cmd.Flags().StringVarP(&f.config, "config", "c", "", "agent configuration (default $WAPT_CONFIG or "+defaultConfigPath+")")
		cmd.Flags().BoolVar(&f.json, "json", false, "machine-readable output")
		if n := cmd.Name(); n == "audit" || n == "session-setup" {
			cmd.Flags().BoolVar(&f.force, "force", false, "run even when not due / already done")
		}
		reports := reportingVerbs[cmd.Name()]
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if ok, err := viaService(cmd.Context(), env, f, cmd.Name(), args); ok {
				return err
			}
			s, err := openSession(cmd.Context(), env, f, scriptOutput(env, f))
			if err != nil {
				return err
			}
			defer s.close()
			err = run(cmd.Context(), s, args)
			if reports {
				s.sendStatus(cmd.Context(), env)
			}
			return err
		}
		return cmd
	}
	out := func(v any, text func(w io.Writer)) error {
		if f.json {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(v)
		}
		text(env.Stdout)
		return nil
	}
	report := func(rep engine.RunReport, err error) error {
		if perr := out(reportJSON(rep), func(w io.Writer) { printReport(w, rep) }); perr != nil {
			return perr
		}
		if len(rep.Failed()) > 0 {
			return fmt.Errorf("%w: %v", errPartial, rep.Err())
		}
		return err
	}

	return []*cobra.Command{
		with(&cobra.Command{Use: "update", Short: "Fetch the repository indexes and this host's package; show what is pending", Args: exactArgs(0)},
			func(ctx context.Context, s *session, _ []string) error {
				res, uerr := s.eng.Update(ctx)
				st, err := s.eng.Status(ctx)
				if err != nil {
					return errors.Join(uerr, err)
				}
				if err := out(map[string]any{"repositories": repoJSON(res), "status": st}, func(w io.Writer) {
					for _, r := range res.Repos {
						switch {
						case r.Err != nil:
							fmt.Fprintf(w, "%s: REFUSED: %v (previous index kept)\n", r.Repo, r.Err)
						case r.Changed:
							fmt.Fprintf(w, "%s: new index, version %d, %d packages%s\n", r.Repo, r.Version, r.Packages, unsignedNote(r.Signed))
						default:
							fmt.Fprintf(w, "%s: unchanged (version %d)%s\n", r.Repo, r.Version, unsignedNote(r.Signed))
						}
					}
					printStatus(w, st, true)
				}); err != nil {
					return err
				}
				return uerr
			}),
		with(&cobra.Command{Use: "list-upgrade", Short: "List the packages to install, upgrade or remove", Args: exactArgs(0)},
			func(ctx context.Context, s *session, _ []string) error {
				st, err := s.eng.Status(ctx)
				if err != nil {
					return err
				}
				return out(st, func(w io.Writer) { printStatus(w, st, true) })
			}),
		with(&cobra.Command{Use: "download-upgrade", Short: "Download (and verify) what upgrade will install", Args: exactArgs(0)},
			func(ctx context.Context, s *session, _ []string) error { return report(s.eng.DownloadUpgrade(ctx)) }),
		with(&cobra.Command{Use: "upgrade", Short: "Remove what is no longer wanted, install and upgrade the rest", Args: exactArgs(0)},
			func(ctx context.Context, s *session, _ []string) error { return report(s.eng.Upgrade(ctx)) }),
		with(&cobra.Command{Use: "install NAME|NAME(>=1.2)|FILE.wapt ...", Short: "Install packages and their dependencies", Args: minArgs(1)},
			func(ctx context.Context, s *session, args []string) error { return report(s.eng.Install(ctx, args...)) }),
		with(&cobra.Command{Use: "remove NAME ...", Short: "Run uninstall() and forget packages", Args: minArgs(1)},
			func(ctx context.Context, s *session, args []string) error { return report(s.eng.Remove(ctx, args...)) }),
		with(&cobra.Command{Use: "forget NAME ...", Short: "Forget packages without running anything", Args: minArgs(1)},
			func(ctx context.Context, s *session, args []string) error { return s.eng.Forget(ctx, args...) }),
		with(&cobra.Command{Use: "list [KEYWORD...]", Short: "List installed packages", Args: cobra.ArbitraryArgs},
			func(ctx context.Context, s *session, args []string) error {
				ins, err := s.eng.Installed(ctx)
				if err != nil {
					return err
				}
				var rows []installedRow
				for _, in := range ins {
					if matchAny(in.Package+" "+in.Control, args) {
						rows = append(rows, installedRowOf(in))
					}
				}
				return out(rows, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "PACKAGE\tVERSION\tSTATUS\tINSTALLED\tEXPLICIT")
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", r.Package, r.Version, r.Status, r.InstallDate, r.Explicit)
					}
					tw.Flush()
				})
			}),
		with(&cobra.Command{Use: "search [KEYWORD...]", Short: "Search the repository indexes", Args: cobra.ArbitraryArgs},
			func(ctx context.Context, s *session, args []string) error {
				cands, err := s.eng.Available(ctx, args...)
				if err != nil {
					return err
				}
				rows := searchRows(cands)
				return out(rows, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "PACKAGE\tVERSION\tSECTION\tREPO\tDESCRIPTION")
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r["package"], r["version"], r["section"], r["repo"], firstLine(r["description"]))
					}
					tw.Flush()
				})
			}),
		with(&cobra.Command{Use: "show NAME", Short: "Show a package: installed record and repository entries", Args: exactArgs(1)},
			func(ctx context.Context, s *session, args []string) error {
				ins, err := s.eng.Installed(ctx)
				if err != nil {
					return err
				}
				cands, err := s.eng.Available(ctx)
				if err != nil {
					return err
				}
				res := map[string]any{}
				for _, in := range ins {
					if strings.EqualFold(in.Package, args[0]) {
						res["installed"] = installedRowOf(in)
						res["output"] = in.Output
					}
				}
				var entries []map[string]string
				for _, r := range searchRows(cands) {
					if strings.EqualFold(r["package"], args[0]) {
						entries = append(entries, r)
					}
				}
				res["available"] = entries
				if len(entries) == 0 && res["installed"] == nil {
					return fmt.Errorf("%s: %w", args[0], engine.ErrNotFound)
				}
				return out(res, func(w io.Writer) {
					if r, ok := res["installed"].(installedRow); ok {
						fmt.Fprintf(w, "installed: %s %s (%s) since %s\n", r.Package, r.Version, r.Status, r.InstallDate)
						if r.LastError != "" {
							fmt.Fprintf(w, "last error: %s\n", r.LastError)
						}
					}
					for _, e := range entries {
						fmt.Fprintf(w, "\n[%s] %s\n", e["repo"], e["filename"])
						keys := make([]string, 0, len(e))
						for k := range e {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						for _, k := range keys {
							if e[k] != "" && k != "signature" {
								fmt.Fprintf(w, "%-18s: %s\n", k, strings.ReplaceAll(e[k], "\n", "\n "))
							}
						}
					}
				})
			}),
		with(&cobra.Command{Use: "audit [NAME...]", Short: "Run audit() of the packages that are due (all with --force, or those named)", Args: cobra.ArbitraryArgs},
			func(ctx context.Context, s *session, args []string) error {
				res, worst, err := s.eng.Audit(ctx, f.force, args...)
				if err != nil {
					return err
				}
				if err := out(map[string]any{"status": worst, "packages": res}, func(w io.Writer) {
					for _, r := range res {
						note := ""
						if r.Skipped {
							note = " (not due)"
						}
						fmt.Fprintf(w, "%-8s %s%s\n", orDash(r.Status), r.Package, note)
						if r.Output != "" && !r.Skipped {
							fmt.Fprintf(w, "         %s\n", strings.ReplaceAll(strings.TrimSpace(r.Output), "\n", "\n         "))
						}
					}
					fmt.Fprintf(w, "audit: %s\n", worst)
				}); err != nil {
					return err
				}
				if worst == engine.AuditError {
					return fmt.Errorf("%w: audit ERROR", errPartial)
				}
				return nil
			}),
		with(&cobra.Command{Use: "session-setup [ALL|NAME...]", Short: "Run session_setup() for the current user, once per package version (--force: again)", Args: cobra.ArbitraryArgs},
			func(ctx context.Context, s *session, args []string) error {
				u, err := currentUser()
				if err != nil {
					return err
				}
				if len(args) == 1 && strings.EqualFold(args[0], "ALL") {
					args = nil
				}
				res, runErr := s.eng.SessionSetup(ctx, u, f.force, args...)
				if err := out(res, func(w io.Writer) {
					for _, r := range res {
						state := string(r.Status)
						if r.Skipped {
							state = "done before"
						}
						fmt.Fprintf(w, "%s %s: %s\n", r.Package, r.Version, state)
					}
				}); err != nil {
					return err
				}
				if runErr != nil {
					return fmt.Errorf("%w: %v", errPartial, runErr)
				}
				return nil
			}),
		with(registerCmd(), func(ctx context.Context, s *session, _ []string) error { return register(ctx, env, s) }),
		with(&cobra.Command{Use: "clean", Short: "Delete cached package files no longer needed", Args: exactArgs(0)},
			func(ctx context.Context, s *session, _ []string) error {
				n, err := cleanCache(s.cfg.CacheDir)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "removed %d cached files from %s\n", n, s.cfg.CacheDir)
				return nil
			}),
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func currentUser() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("session-setup: who is the user: %w", err)
	}
	return u.Username, nil
}

// reportingVerbs send the host's status to the server (when registered)
// after they ran, even when they failed.
var reportingVerbs = map[string]bool{
	"update": true, "upgrade": true, "install": true, "remove": true, "forget": true, "audit": true, "register": true,
}

func scriptOutput(env *Env, f *endpointFlags) io.Writer {
	if f.json {
		return env.Stderr
	}
	return env.Stdout
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s: expects at least %d argument(s) (see --help)", cmd.Name(), n)
		}
		return nil
	}
}

func unsignedNote(signed bool) string {
	if signed {
		return ""
	}
	return " — UNPROTECTED: no Packages.sig (WAPT-compat mode)"
}

func repoJSON(res engine.UpdateResult) []map[string]any {
	var out []map[string]any
	for _, r := range res.Repos {
		m := map[string]any{"repo": r.Repo, "changed": r.Changed, "version": r.Version, "signed": r.Signed, "packages": r.Packages}
		if r.Err != nil {
			m["error"] = r.Err.Error()
		}
		out = append(out, m)
	}
	return out
}

func printStatus(w io.Writer, st engine.HostStatus, pendingOnly bool) {
	fmt.Fprintf(w, "host %s: %s\n", st.HostUUID, st.State)
	for _, p := range st.Packages {
		if pendingOnly && p.State == engine.StateOK {
			continue
		}
		ver := p.Available
		if p.Installed != "" && p.Installed != p.Available {
			ver = strings.TrimSuffix(p.Installed+" -> "+p.Available, " -> ")
		}
		fmt.Fprintf(w, "  %-13s %s %s", p.State, p.Package, ver)
		if p.Reason != "" {
			fmt.Fprintf(w, "  (%s)", p.Reason)
		}
		fmt.Fprintln(w)
	}
	for _, pr := range st.Problems {
		fmt.Fprintf(w, "  problem: %s\n", pr)
	}
}

func reportJSON(rep engine.RunReport) map[string]any {
	return map[string]any{"outcomes": rep.Outcomes, "status": rep.Status}
}

func printReport(w io.Writer, rep engine.RunReport) {
	for _, o := range rep.Outcomes {
		what := strings.TrimSpace(o.Action + " " + o.Package + " " + o.Version)
		if o.Err != nil {
			fmt.Fprintf(w, "FAILED %s: %v\n", what, o.Err)
		} else {
			fmt.Fprintf(w, "%s: done\n", what)
		}
	}
	printStatus(w, rep.Status, true)
}

type installedRow struct {
	Package     string `json:"package"`
	Version     string `json:"version"`
	Status      string `json:"status"`
	Explicit    bool   `json:"explicit"`
	InstallDate string `json:"install_date"`
	Repo        string `json:"repo,omitempty"`
	LastError   string `json:"last_error,omitempty"`
	AuditStatus string `json:"audit_status,omitempty"`
}

func installedRowOf(in engine.Installed) installedRow {
	return installedRow{Package: in.Package, Version: in.Version, Status: string(in.Status), Explicit: in.Explicit,
		InstallDate: in.InstallDate.UTC().Format("2006-01-02 15:04:05"), Repo: in.Repo, LastError: in.LastError, AuditStatus: in.AuditStatus}
}

func searchRows(cands []resolve.Candidate) []map[string]string {
	var rows []map[string]string
	for _, c := range cands {
		m := map[string]string{"repo": c.Repo}
		for _, k := range c.Control.Keys() {
			m[k] = c.Control.Get(k)
		}
		rows = append(rows, m)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i]["package"] != rows[j]["package"] {
			return rows[i]["package"] < rows[j]["package"]
		}
		vi, err1 := version.Parse(rows[i]["version"])
		vj, err2 := version.Parse(rows[j]["version"])
		if err1 != nil || err2 != nil {
			return rows[i]["version"] > rows[j]["version"]
		}
		return version.Compare(vi, vj) > 0
	})
	return rows
}

func matchAny(hay string, kws []string) bool {
	if len(kws) == 0 {
		return true
	}
	hay = strings.ToLower(hay)
	for _, k := range kws {
		if strings.Contains(hay, strings.ToLower(k)) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// cleanCache removes cached .wapt files and leftover partial downloads; host
// packages are kept.
func cleanCache(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, de := range entries {
		name := de.Name()
		if de.Type().IsRegular() && (strings.HasSuffix(name, ".wapt") || strings.HasSuffix(name, ".part")) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
