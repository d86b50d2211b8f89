// Package ui is waptconsole's Fyne interface: the connection screen and the
// Hosts, Packages, Certificates and Dashboard tabs. It holds no business
// logic: every operation goes to console/admin, through the Core interface
// (what an *admin.Session provides) and the functions of Config (admin's
// package-level functions, wired by main), so tests drive the screens with
// fakes. It never creates the fyne.App (main does), which keeps it testable
// with fyne.io/fyne/v2/test and no display.
package ui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/wire"
)

// Core is what the screens need from a connected admin session; an
// *admin.Session implements it (same signatures).
type Core interface {
	AdminName() string
	Settings() admin.Settings
	Close() error

	Hosts(ctx context.Context, q client.HostQuery) (wire.HostList, error)
	Host(ctx context.Context, uuid string) (wire.HostDetail, error)
	History(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error)
	Dashboard(ctx context.Context) (admin.Dashboard, error)

	SendAction(ctx context.Context, kind string, hosts, packages []string, force bool) (wire.ActionAccepted, error)
	ActionResults(ctx context.Context, id string) (wire.ActionDetail, error)

	HostDepends(ctx context.Context, uuid string) (depends, conflicts []string, err error)
	SetHostDepends(ctx context.Context, uuid string, depends, conflicts []string) (wire.PackageInfo, error)
	SaveGroup(ctx context.Context, name, description string, depends []string) (wire.PackageInfo, error)

	Packages(ctx context.Context) ([]wire.PackageInfo, error)
	DeletePackage(ctx context.Context, filename string) error
	BuildUpload(ctx context.Context, d *admin.Draft, progress func(step string, done, total int64)) (wire.PackageInfo, error)
	Import(ctx context.Context, path string, trustDir string) (wire.PackageInfo, error)
	Duplicate(ctx context.Context, filename, newName, outDir string) (*admin.Draft, error)

	Admins(ctx context.Context) (wire.AdminList, error)
	RegisterAdmin(ctx context.Context, certPEM []byte, rights []string) error
	SetAdminRights(ctx context.Context, fingerprint string, rights []string) error
}

// Connector opens a session (admin.Connect); ask is called for the key
// password or the token PIN.
type Connector func(ctx context.Context, s admin.Settings, ask admin.Prompt) (Core, error)

// Config holds the console's dependencies. The function fields are
// console/admin's package-level functions (and *admin.Draft's methods as
// method values), set by main; tests set fakes. Zero Go, Now, PollEvery
// and PageSize get defaults.
type Config struct {
	Connect            Connector
	RegisterFirstAdmin func(ctx context.Context, s admin.Settings, bootstrapPassword string, rights []string) error
	ParseFilter        func(text string) (client.HostQuery, error)
	LoadSettings       func(path string) (admin.Settings, error)
	SaveSettings       func(path string, s admin.Settings) error

	NewDraft      func(dir, name string) (*admin.Draft, error)
	LoadDraft     func(dir string) (*admin.Draft, error)
	ValidateDraft func(d *admin.Draft) error
	SaveDraft     func(d *admin.Draft) error
	DraftFiles    func(d *admin.Draft) ([]string, error)
	AddFile       func(d *admin.Draft, src string) error
	RemoveFile    func(d *admin.Draft, rel string) error
	CheckScript   func(ctx context.Context, d *admin.Draft, hook string) admin.Preview

	GenerateCert func(spec admin.CertSpec) (keyPath, certPath string, err error)

	// SettingsPath is where the connection settings are remembered; ""
	// remembers nothing.
	SettingsPath string
	// AutoConnect connects with the remembered settings when Start runs.
	AutoConnect bool

	// Go runs background work (calls to the core); the default starts a
	// goroutine. Results come back to the UI through fyne.Do.
	Go func(func())
	// Now is the clock (unreachable hosts, dates).
	Now func() time.Time
	// PollEvery is the period of the action results poll (default 1 s).
	PollEvery time.Duration
	// PageSize is the number of hosts asked per page (default 200).
	PageSize int
	// Logf logs background errors (nil: none).
	Logf func(format string, args ...any)
}

// Console is the console window's content and state.
type Console struct {
	cfg Config
	app fyne.App
	win fyne.Window

	ctx    context.Context
	cancel context.CancelFunc

	settings admin.Settings
	core     Core

	conn   *connectScreen
	hosts  *hostsTab
	pkgs   *packagesTab
	certs  *certsTab
	dash   *dashboardTab
	tabs   *container.AppTabs
	status *widget.Label

	results *actionResults // the last action results dialog

	promptMu sync.Mutex
	prompt   *secretPrompt // the open password/PIN dialog, if any
}

// New returns a console showing in w. Call Start to show the connection
// screen.
func New(a fyne.App, w fyne.Window, cfg Config) *Console {
	if cfg.Go == nil {
		cfg.Go = func(f func()) { go f() }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 200
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Console{cfg: cfg, app: a, win: w, ctx: ctx, cancel: cancel, status: widget.NewLabel("")}
}

// Start loads the remembered settings and shows the connection screen (and
// connects at once with AutoConnect).
func (c *Console) Start() {
	if c.cfg.SettingsPath != "" && c.cfg.LoadSettings != nil {
		s, err := c.cfg.LoadSettings(c.cfg.SettingsPath)
		if err != nil {
			c.cfg.Logf("load settings: %v", err)
		}
		c.settings = s
	}
	c.conn = newConnectScreen(c)
	c.win.SetContent(c.conn.content)
	if c.cfg.AutoConnect && c.settings.ServerURL != "" {
		c.conn.connect()
	}
}

// Close ends background work and the session.
func (c *Console) Close() {
	c.cancel()
	if c.core != nil {
		_ = c.core.Close()
	}
}

// background runs f with the Config's runner.
func (c *Console) background(f func()) { c.cfg.Go(f) }

// setStatus shows msg in the status bar.
func (c *Console) setStatus(msg string) { c.status.SetText(msg) }

// showError shows err in a dialog (with errorText) and in the status bar.
func (c *Console) showError(what string, err error) {
	c.cfg.Logf("%s: %v", what, err)
	msg := what + ": " + errorText(err)
	c.setStatus(msg)
	showMessage(c.win, "Error", msg)
}

// onMain runs f on the UI goroutine.
func onMain(f func()) { fyne.Do(f) }

// errorText explains err for the user: the admin sentinels get a sentence
// saying what to do, then the error itself.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	var hint string
	switch {
	case errors.Is(err, admin.ErrWrongPassword):
		hint = "Wrong password or PIN: the admin key (or token) could not be opened."
	case errors.Is(err, admin.ErrUntrustedServer):
		hint = "The server's certificate is not trusted: check the server CA file (or the server URL)."
	case errors.Is(err, admin.ErrNotAdmin):
		hint = "This certificate is not registered as an admin on the server: register it (the first admin with the server's bootstrap password) or ask an admin."
	case errors.Is(err, admin.ErrNoRights):
		hint = "Your admin certificate does not have the right for this: ask an admin with the 'admin' right."
	case errors.Is(err, admin.ErrUnreachable):
		hint = "The server does not answer: check the URL and that waptserver is running."
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	if fe, ok := fieldErrors(err); ok {
		return joinNonEmpty(hint, fe.lines())
	}
	return joinNonEmpty(hint, err.Error())
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// fields is a *admin.FieldErrors (or a FieldErrors value) found in an error.
type fields admin.FieldErrors

func (f fields) lines() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, f[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// fieldErrors finds the per-field reasons in err, returned as a
// *admin.FieldErrors or an admin.FieldErrors.
func fieldErrors(err error) (fields, bool) {
	var p *admin.FieldErrors
	if errors.As(err, &p) && p != nil {
		return fields(*p), true
	}
	var v admin.FieldErrors
	if errors.As(err, &v) {
		return fields(v), true
	}
	return nil, false
}

// connected switches to the main screen for core.
func (c *Console) connected(core Core) {
	c.core = core
	c.settings = core.Settings()
	c.hosts = newHostsTab(c)
	c.pkgs = newPackagesTab(c)
	c.certs = newCertsTab(c)
	c.dash = newDashboardTab(c)
	c.tabs = container.NewAppTabs(
		container.NewTabItem("Hosts", c.hosts.content),
		container.NewTabItem("Packages", c.pkgs.content),
		container.NewTabItem("Certificates", c.certs.content),
		container.NewTabItem("Dashboard", c.dash.content),
	)
	c.tabs.OnSelected = func(t *container.TabItem) {
		switch t.Text {
		case "Packages":
			c.pkgs.loadOnce()
		case "Certificates":
			c.certs.loadOnce()
		case "Dashboard":
			c.dash.refresh()
		}
	}
	who := fmt.Sprintf("%s — connected to %s as %s", "WAPT console", c.settings.ServerURL, core.AdminName())
	disconnect := widget.NewButton("Disconnect", c.disconnect)
	top := container.NewBorder(nil, nil, nil, disconnect, widget.NewLabel(who))
	c.win.SetContent(container.NewBorder(top, c.status, nil, nil, c.tabs))
	c.hosts.pager.reset(client.HostQuery{})
}

func (c *Console) disconnect() {
	if c.core != nil {
		_ = c.core.Close()
		c.core = nil
	}
	c.conn = newConnectScreen(c)
	c.win.SetContent(c.conn.content)
}

// timeout is the deadline of an interactive call to the core.
const timeout = 60 * time.Second

// call runs f in the background with a timeout context and the current
// session, then done on the UI goroutine with f's error.
func (c *Console) call(f func(ctx context.Context, core Core) error, done func(err error)) {
	core := c.core // read on the UI goroutine
	c.background(func() {
		ctx, cancel := context.WithTimeout(c.ctx, timeout)
		err := f(ctx, core)
		cancel()
		onMain(func() { done(err) })
	})
}
