// Package engine is the agent's core: update (indexes and host package),
// resolution, status, download, upgrade, install, remove, forget,
// session-setup and audit. It declares the small interfaces its adapters
// implement (Store: agent/store, Fetcher: agent/fetch, Scripts: agent/script)
// and imports none of them.
package engine

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"time"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

// Sentinel errors shared by the engine and its adapters.
var (
	ErrNotFound      = errors.New("not found")
	ErrNotModified   = errors.New("not modified")
	ErrUnprotected   = errors.New("repository index is not signed")
	ErrScript        = errors.New("setup.py failed")
	ErrNoSuchHook    = errors.New("setup.py has no such function")
	ErrSizeExceeded  = errors.New("download larger than its signed size")
	ErrHashMismatch  = errors.New("download does not match its signed hash")
	ErrBadRepository = errors.New("repository refused")
)

// Status is the recorded state of an installed package.
type Status string

// Recorded statuses. INSTALLING and REMOVING are written before a script
// runs and replaced when it ends; finding one at start means the agent died
// half-way, and RepairInterrupted turns it into ERROR.
const (
	StatusOK         Status = "OK"
	StatusError      Status = "ERROR"
	StatusInstalling Status = "INSTALLING"
	StatusRemoving   Status = "REMOVING"
)

// Installed is the local record of one installed (or failed) package.
type Installed struct {
	Package       string
	Version       string
	Architecture  string
	Maturity      string
	Locale        string
	Section       string
	Repo          string
	Status        Status
	Explicit      bool // asked for by name, not only pulled as a dependency
	InstallDate   time.Time
	UpdateDate    time.Time
	Output        string   // output of the last install/remove run (bounded)
	LastError     string   // error message of the last failed run
	Retries       int      // failed attempts since the last success
	Control       string   // control file text (control.Format)
	SetupPy       []byte   // source kept for uninstall() and session_setup()
	UninstallKeys []string // keys recorded by install() (Windows uninstall keys, package names)
	Params        map[string]string
	PersistentDir string
	AuditStatus   string // OK, WARNING, ERROR or "" when never audited
	AuditOutput   string
	LastAudit     time.Time
	NextAudit     time.Time
}

// RepoState is what the agent keeps of one repository between runs.
type RepoState struct {
	Repo         string
	URL          string
	ETag         string
	LastModified string
	IndexVersion int64  // highest Packages.sig version seen (rollback protection)
	Signed       bool   // false only for repositories accepted in WAPT-compat mode
	Index        []byte // raw Packages bytes as verified
	// IndexExpires is the expiry of the signed index (zero when unsigned):
	// past it the index is neither used nor revalidated by a 304.
	IndexExpires time.Time
	UpdatedAt    time.Time
}

// SessionSetup records one per-user session_setup() run.
type SessionSetup struct {
	User, Package, Version string
	Status                 Status
	Output                 string
	Date                   time.Time
}

// Report is a queued status report waiting for the server.
type Report struct {
	ID      int64
	Kind    string
	Body    []byte
	Created time.Time
}

// Store is the agent's persistent state (agent/store: SQLite). Each method
// is one transaction: a crash never leaves a half-written record.
type Store interface {
	RepoState(ctx context.Context, repo string) (RepoState, error) // ErrNotFound when never updated
	SaveRepoState(ctx context.Context, st RepoState) error
	ListInstalled(ctx context.Context) ([]Installed, error)
	GetInstalled(ctx context.Context, name string) (Installed, error) // ErrNotFound
	PutInstalled(ctx context.Context, in Installed) error             // insert or replace
	DeleteInstalled(ctx context.Context, name string) error           // no error when absent
	// RepairInterrupted turns INSTALLING/REMOVING records into ERROR with a
	// note, and returns their names.
	RepairInterrupted(ctx context.Context, now time.Time) ([]string, error)
	Param(ctx context.Context, key string) (string, error) // ErrNotFound
	SetParam(ctx context.Context, key, value string) error
	SessionSetupDone(ctx context.Context, user, pkg, version string) (bool, error)
	RecordSessionSetup(ctx context.Context, s SessionSetup) error
	QueueReport(ctx context.Context, kind string, body []byte, now time.Time) error
	PendingReports(ctx context.Context, limit int) ([]Report, error)
	DeleteReports(ctx context.Context, ids []int64) error
	Close() error
}

// Repo is one configured repository.
type Repo struct {
	Name string
	URL  string // base URL of the wapt/ folder, e.g. https://srv/wapt
	// HostURL is the base URL of the host packages (https://srv/wapt-host);
	// empty when the repository serves none.
	HostURL string
	Trust   *signing.Trust // package signers chain to these (admin CAs)
	// IndexTrust is what the repository key (Packages.sig) must chain to:
	// the server's CA, kept apart from the admin CAs so that neither kind of
	// key can stand in for the other. Nil means Trust.
	IndexTrust *signing.Trust
	// AllowUnsigned accepts a repository without Packages.sig (WAPT-compat
	// mode); such an index is reported as unprotected.
	AllowUnsigned bool
}

// IndexTrustOrDefault returns the anchors for the repository index.
func (r Repo) IndexTrustOrDefault() *signing.Trust {
	if r.IndexTrust != nil {
		return r.IndexTrust
	}
	return r.Trust
}

// IndexUpdate is the result of fetching one repository index.
type IndexUpdate struct {
	NotModified  bool // conditional GET answered 304: nothing else is set
	Raw          []byte
	Index        *repoindex.Index
	Info         repoindex.SigInfo // zero when unsigned
	Signed       bool
	ETag         string
	LastModified string
}

// Fetcher talks to repositories (agent/fetch: HTTP with resty).
type Fetcher interface {
	// FetchIndex makes one conditional GET of Packages (with prev's ETag and
	// Last-Modified); when changed, fetches Packages.sig and verifies it
	// against repo.IndexTrustOrDefault(), refusing a version below prev.IndexVersion, an
	// expired or mismatching signature, and an unsigned index unless
	// repo.AllowUnsigned.
	FetchIndex(ctx context.Context, repo Repo, prev RepoState, now time.Time) (IndexUpdate, error)
	// FetchHostPackage downloads HostURL/<name>.wapt to dest (atomically);
	// ErrNotFound when the server has none.
	FetchHostPackage(ctx context.Context, repo Repo, name, dest string, maxSize int64) error
	// Download fetches url to dest: resumes a dest+".part" with a Range
	// request, never accepts more than size bytes, checks sha256 (hex), and
	// renames into place only when it matches. progress may be nil.
	Download(ctx context.Context, url, dest string, size int64, sha256 string, progress func(done, total int64)) error
}

// ScriptRequest runs one hook of a setup.py.
type ScriptRequest struct {
	Source        []byte
	Filename      string // for error messages: "<package>/setup.py"
	Hook          string // install, uninstall, session_setup, audit, update_package
	Control       *control.Control
	Params        map[string]string
	PersistentDir string
	User          string
	WorkDir       string // the extracted package: relative paths resolve here
	DryRun        bool   // record the calls instead of executing them
	Output        io.Writer
	Signer        *x509.Certificate
}

// Call is one helper call recorded in dry-run mode.
type Call struct {
	Name string
	Args []string
}

// ScriptResult is what a hook run produced.
type ScriptResult struct {
	Output        string
	UninstallKeys []string
	Return        string // the hook's return value as text (audit: OK/WARNING/ERROR)
	Calls         []Call // dry-run only
}

// Scripts runs setup.py hooks (agent/script: Starlark). A missing hook
// returns ErrNoSuchHook; a failing one an error wrapping ErrScript that
// names the file and line.
type Scripts interface {
	Run(ctx context.Context, req ScriptRequest) (ScriptResult, error)
}
