package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/signing"
)

// Uninstaller removes what an install left behind when setup.py has no
// uninstall(): the recorded uninstall keys (a Debian package name on Linux,
// a registry uninstall key on Windows). agent/installer implements it.
type Uninstaller interface {
	Uninstall(ctx context.Context, keys []string, out io.Writer) error
}

// Config holds the engine's dependencies and settings.
type Config struct {
	Store       Store
	Fetcher     Fetcher
	Scripts     Scripts
	Uninstaller Uninstaller // may be nil: uninstall keys are then only recorded
	Repos       []Repo
	// LocalTrust verifies package files installed from disk
	// (wapt-get install FILE.wapt); nil refuses them.
	LocalTrust *signing.Trust
	Host       resolve.Host // UUID may be empty: HostUUID fills it from the store
	CacheDir   string       // downloaded packages, host packages under host/
	WorkDir    string       // packages are extracted here while their script runs
	// PersistentDir is the root of the per-package persistent directories
	// (setup.py's persistent_dir), kept across upgrades and removed with the
	// package.
	PersistentDir string
	Limits        pkgfile.Limits
	Now           func() time.Time
	Logf          func(format string, args ...any)
	// Output receives script output as it is produced (nil: discarded; it is
	// recorded in the store either way).
	Output io.Writer
	// Progress reports download progress (nil: none).
	Progress func(pkg string, done, total int64)
	// NewUUID generates a host UUID when none is known (tests inject it).
	NewUUID func() string
}

// Engine runs the agent's operations. It is safe for one caller at a time;
// the service serialises operations.
type Engine struct {
	cfg Config
}

// New returns an engine over cfg's adapters.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Fetcher == nil || cfg.Scripts == nil {
		return nil, errors.New("engine: Store, Fetcher and Scripts are required")
	}
	if cfg.CacheDir == "" || cfg.WorkDir == "" || cfg.PersistentDir == "" {
		return nil, errors.New("engine: CacheDir, WorkDir and PersistentDir are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	if cfg.Limits == (pkgfile.Limits{}) {
		cfg.Limits = pkgfile.DefaultLimits()
	}
	if cfg.NewUUID == nil {
		cfg.NewUUID = randomUUID
	}
	for _, d := range []string{cfg.CacheDir, cfg.WorkDir, cfg.PersistentDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	return &Engine{cfg: cfg}, nil
}

// Start repairs what an interrupted run left: records caught half-way through
// an install or a remove become ERROR (retried by the next upgrade), and
// stale extraction directories are removed. Call it once before operations.
func (e *Engine) Start(ctx context.Context) ([]string, error) {
	names, err := e.cfg.Store.RepairInterrupted(ctx, e.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("repair: %w", err)
	}
	for _, n := range names {
		e.cfg.Logf("%s was interrupted during its last install or remove: marked ERROR, it will be retried", n)
	}
	entries, _ := os.ReadDir(e.cfg.WorkDir)
	for _, de := range entries {
		_ = os.RemoveAll(filepath.Join(e.cfg.WorkDir, de.Name()))
	}
	return names, nil
}

// HostUUID returns the host's UUID: the configured one, else the one kept in
// the store, else a new one (kept).
func (e *Engine) HostUUID(ctx context.Context) (string, error) {
	if e.cfg.Host.UUID != "" {
		return e.cfg.Host.UUID, nil
	}
	v, err := e.cfg.Store.Param(ctx, "host_uuid")
	if err == nil && v != "" {
		e.cfg.Host.UUID = v
		return v, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	v = e.cfg.NewUUID()
	if err := e.cfg.Store.SetParam(ctx, "host_uuid", v); err != nil {
		return "", err
	}
	e.cfg.Host.UUID = v
	return v, nil
}

func (e *Engine) repo(name string) (Repo, bool) {
	for _, r := range e.cfg.Repos {
		if r.Name == name {
			return r, true
		}
	}
	return Repo{}, false
}
