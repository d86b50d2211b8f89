// Package config reads the agent's wapt-get.ini: WAPT's [global] keys plus
// ours, with a default for every setting.
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"github.com/wapt-go/wapt/shared/wire"
)

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("bad configuration")

// Repo is one repository section.
type Repo struct {
	Name    string
	URL     string // repo_url: base URL of the wapt/ folder
	HostURL string // host_packages_url: base URL of wapt-host/ ("" = none)
	// TrustDir holds the certificates packages and the index must chain to
	// (public_certs_dir).
	TrustDir string
	// IndexTrustDir holds what the repository key must chain to
	// (index_certs_dir; default: TrustDir).
	IndexTrustDir string
	AllowUnsigned bool // allow_unsigned_index: WAPT-compat mode
}

// Config is the agent configuration.
type Config struct {
	Path     string // the file read ("" when defaults only)
	BaseDir  string // base_dir: default the directory of the file
	DBPath   string // dbpath
	CacheDir string // packages_cache
	// PersistentDir is the root of per-package persistent directories.
	PersistentDir   string
	WorkDir         string // where packages are extracted while they run
	Repos           []Repo
	Maturities      []string
	Locales         []string
	UseHostPackages bool
	HostProfiles    []string
	HostOUDN        string // host_organizational_unit_dn
	HostUUID        string // uuid: overrides the detected one
	ScriptTimeout   time.Duration
	MaxPackageSize  int64
	// Server is the waptserver URL (wapt_server): registration and status
	// reports; empty: the agent works without a server.
	Server string
	// ServerCA is a PEM file of the CA to trust for the server's HTTPS
	// (verify_cert); empty: the system roots.
	ServerCA string
	// HostKey and HostCert are the agent's identity once registered.
	HostKey, HostCert string

	// The waptagent service.
	// UpdatePeriod is waptupdate_task_period (minutes, or a Go duration;
	// default 120 min): update + download-upgrade.
	UpdatePeriod time.Duration
	// UpgradePeriod is waptupgrade_task_period (0: no scheduled upgrade).
	UpgradePeriod time.Duration
	// EnrollmentToken (enrollment_token) registers the host at the
	// service's first start.
	EnrollmentToken string
	// LocalAPI is the local API socket (local_api; default: the
	// platform's, see agent/localclient.DefaultPath).
	LocalAPI string
	// AllowRemoteReboot accepts signed reboot actions (allow_remote_reboot).
	AllowRemoteReboot bool

	// waptexit, the upgrade at shutdown (WAPT's keys; the agent hands them
	// to waptexit in its local API status).
	// AllowCancelUpgrade (allow_cancel_upgrade, default true) lets the
	// user postpone the upgrade.
	AllowCancelUpgrade bool
	// UpgradePriorities (upgrade_priorities, comma-separated): only
	// packages of these priorities are upgraded at shutdown (none: all).
	UpgradePriorities []string
	// UpgradeOnlyIfNotProcessRunning (upgrade_only_if_not_process_running)
	// skips packages whose impacted_process is running.
	UpgradeOnlyIfNotProcessRunning bool
	// MaxWaptexitDuration (max_waptexit_duration, seconds or a Go
	// duration; 0: no cap) bounds the whole shutdown upgrade.
	MaxWaptexitDuration time.Duration
	// WaptexitCountdown (waptexit_countdown, seconds or a Go duration,
	// default 10 s) runs before the upgrade starts on its own.
	WaptexitCountdown time.Duration
}

// ExitPolicy is the waptexit policy of c as the local API hands it to
// waptexit (durations in whole seconds, rounded up).
func (c Config) ExitPolicy() *wire.ExitPolicy {
	secs := func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
	return &wire.ExitPolicy{
		AllowCancel:             c.AllowCancelUpgrade,
		Priorities:              append([]string(nil), c.UpgradePriorities...),
		OnlyIfNotProcessRunning: c.UpgradeOnlyIfNotProcessRunning,
		MaxDuration:             secs(c.MaxWaptexitDuration),
		Countdown:               secs(c.WaptexitCountdown),
	}
}

// Load reads path. A missing file is an error; use Default for none.
func Load(path string) (Config, error) {
	f, err := ini.LoadSources(ini.LoadOptions{Insensitive: true, AllowBooleanKeys: true}, path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return fromINI(f, abs)
}

// Default returns the configuration used without a file, rooted at baseDir.
func Default(baseDir string) Config {
	c, _ := fromINI(ini.Empty(), "")
	if baseDir != "" {
		c = rebase(c, baseDir)
	}
	return c
}

func rebase(c Config, base string) Config {
	c.BaseDir = base
	c.DBPath = filepath.Join(base, "db", "waptdb.sqlite")
	c.CacheDir = filepath.Join(base, "cache")
	c.PersistentDir = filepath.Join(base, "private", "persistent")
	c.WorkDir = filepath.Join(base, "tmp")
	c.HostKey = filepath.Join(base, "private", "host.pem")
	c.HostCert = filepath.Join(base, "private", "host.crt")
	return c
}

func fromINI(f *ini.File, path string) (Config, error) {
	g := f.Section("global")
	base := g.Key("base_dir").String()
	if base == "" {
		if path != "" {
			base = filepath.Dir(path)
		} else {
			base = defaultBaseDir
		}
	}
	c := rebase(Config{Path: path}, base)
	rel := func(v string) string {
		if v == "" || filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(base, v)
	}
	if v := g.Key("dbpath").String(); v != "" {
		c.DBPath = rel(v)
	}
	if v := g.Key("packages_cache").String(); v != "" {
		c.CacheDir = rel(v)
	}
	if v := g.Key("persistent_dir").String(); v != "" {
		c.PersistentDir = rel(v)
	}
	c.Maturities = csv(g.Key("maturities").MustString("PROD"))
	c.Locales = csv(g.Key("locales").String())
	c.UseHostPackages = g.Key("use_hostpackages").MustBool(true)
	c.HostProfiles = csv(g.Key("host_profiles").String())
	c.HostOUDN = strings.TrimSpace(g.Key("host_organizational_unit_dn").String())
	c.HostUUID = strings.TrimSpace(g.Key("uuid").String())
	c.ScriptTimeout = g.Key("script_timeout").MustDuration(30 * time.Minute)
	c.Server = strings.TrimRight(strings.TrimSpace(g.Key("wapt_server").String()), "/")
	if v := strings.TrimSpace(g.Key("verify_cert").String()); v != "" && v != "1" && !strings.EqualFold(v, "true") {
		if v == "0" || strings.EqualFold(v, "false") {
			return c, fmt.Errorf("%w: %s: verify_cert = %s: certificate verification cannot be turned off; give the server CA file", ErrConfig, path, v)
		}
		c.ServerCA = rel(v)
	}
	if c.Server != "" && !strings.HasPrefix(c.Server, "http://") && !strings.HasPrefix(c.Server, "https://") {
		return c, fmt.Errorf("%w: %s: wapt_server %q: http:// or https:// expected", ErrConfig, path, c.Server)
	}
	c.MaxPackageSize = g.Key("max_package_size").MustInt64(16 << 30)
	var err error
	if c.UpdatePeriod, err = minutes(g.Key("waptupdate_task_period").String(), 120*time.Minute); err != nil {
		return c, fmt.Errorf("%w: %s: waptupdate_task_period: %v", ErrConfig, path, err)
	}
	if c.UpgradePeriod, err = minutes(g.Key("waptupgrade_task_period").String(), 0); err != nil {
		return c, fmt.Errorf("%w: %s: waptupgrade_task_period: %v", ErrConfig, path, err)
	}
	c.EnrollmentToken = strings.TrimSpace(g.Key("enrollment_token").String())
	if v := strings.TrimSpace(g.Key("local_api").String()); v != "" {
		c.LocalAPI = rel(v)
	}
	c.AllowRemoteReboot = g.Key("allow_remote_reboot").MustBool(false)
	c.AllowCancelUpgrade = g.Key("allow_cancel_upgrade").MustBool(true)
	c.UpgradePriorities = csv(g.Key("upgrade_priorities").String())
	c.UpgradeOnlyIfNotProcessRunning = g.Key("upgrade_only_if_not_process_running").MustBool(false)
	if c.MaxWaptexitDuration, err = seconds(g.Key("max_waptexit_duration").String(), 0); err != nil {
		return c, fmt.Errorf("%w: %s: max_waptexit_duration: %v", ErrConfig, path, err)
	}
	if c.WaptexitCountdown, err = seconds(g.Key("waptexit_countdown").String(), 10*time.Second); err != nil {
		return c, fmt.Errorf("%w: %s: waptexit_countdown: %v", ErrConfig, path, err)
	}
	if c.ScriptTimeout <= 0 {
		return c, fmt.Errorf("%w: %s: script_timeout must be positive", ErrConfig, path)
	}

	trust := rel(g.Key("public_certs_dir").MustString("ssl"))
	main, err := repoFrom(g, "global", trust, rel)
	if err != nil {
		return c, err
	}
	if main.URL != "" {
		main.Name = "wapt"
		c.Repos = append(c.Repos, main)
	}
	// repositories = name1,name2: extra [name] sections, like WAPT.
	for _, name := range csv(g.Key("repositories").String()) {
		if !f.HasSection(name) {
			return c, fmt.Errorf("%w: %s: repositories lists %q but there is no [%s] section", ErrConfig, path, name, name)
		}
		r, err := repoFrom(f.Section(name), name, trust, rel)
		if err != nil {
			return c, err
		}
		if r.URL == "" {
			return c, fmt.Errorf("%w: %s: [%s] has no repo_url", ErrConfig, path, name)
		}
		r.Name = name
		c.Repos = append(c.Repos, r)
	}
	return c, nil
}

func repoFrom(s *ini.Section, name, defaultTrust string, rel func(string) string) (Repo, error) {
	r := Repo{
		URL:           strings.TrimRight(strings.TrimSpace(s.Key("repo_url").String()), "/"),
		HostURL:       strings.TrimRight(strings.TrimSpace(s.Key("host_packages_url").String()), "/"),
		TrustDir:      defaultTrust,
		AllowUnsigned: s.Key("allow_unsigned_index").MustBool(false),
	}
	if v := s.Key("public_certs_dir").String(); v != "" {
		r.TrustDir = rel(v)
	}
	r.IndexTrustDir = r.TrustDir
	if v := s.Key("index_certs_dir").String(); v != "" {
		r.IndexTrustDir = rel(v)
	}
	if r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		return r, fmt.Errorf("%w: [%s] repo_url %q: http:// or https:// expected", ErrConfig, name, r.URL)
	}
	if r.URL != "" && r.HostURL == "" && strings.HasSuffix(r.URL, "/wapt") {
		r.HostURL = r.URL + "-host"
	}
	return r, nil
}

func csv(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// minutes parses a WAPT period: a number of minutes ("120") or a Go
// duration ("2h", "90s"); empty gives def. At least one minute unless 0.
func minutes(v string, def time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("%q: minutes or a duration such as 2h expected", v)
		}
		d = time.Duration(n) * time.Minute
	}
	if d < 0 || (d > 0 && d < time.Second) {
		return 0, fmt.Errorf("%q: out of range", v)
	}
	return d, nil
}

// seconds parses a WAPT delay: a number of seconds ("300") or a Go
// duration ("5m"); empty gives def. Negative values are refused.
func seconds(v string, def time.Duration) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseInt(v, 10, 32)
		if nerr != nil {
			return 0, fmt.Errorf("%q: seconds or a duration such as 5m expected", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: negative", v)
	}
	return d, nil
}
