// Package selfservice holds the end user's Fyne windows: the self-service
// window (the packages the user may install, with install and remove
// buttons and their progress) and waptexit's countdown window (ExitWindow,
// the Fyne exit.UI). They reach the agent service only through the small
// interfaces declared here, which *localclient.Client implements, and never
// create the fyne.App (the mains under cmd/ do), so tests drive them with
// fyne.io/fyne/v2/test and fakes, without a display. The agent decides what
// the user may do; the window only shows it.
package selfservice

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

// Agent is what the self-service window needs from the agent service;
// *localclient.Client implements it.
type Agent interface {
	// Status is read once at start, to follow a task already running.
	Status(ctx context.Context) (wire.LocalStatus, error)
	// SelfService is the catalogue as the calling OS user sees it.
	SelfService(ctx context.Context) ([]wire.SelfServicePackage, error)
	// StartTask queues an install or a remove.
	StartTask(ctx context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error)
	// Events long-polls the tasks' changes after seq.
	Events(ctx context.Context, after int64, wait time.Duration) ([]wire.LocalEvent, error)
}

// Config holds the window's optional settings; the zero value is the
// production one.
type Config struct {
	// Go runs the one-shot calls to the agent (load, install, remove);
	// the default starts a goroutine. Results come back to the widgets
	// through fyne.Do. The events poll of Start always has its own
	// goroutine.
	Go func(func())
	// EventWait is how long one poll of the events waits (default 25 s).
	EventWait time.Duration
	// RetryEvery is the pause after a failed poll (default 3 s).
	RetryEvery time.Duration
	// CallTimeout bounds a call other than the events poll (default 30 s).
	CallTimeout time.Duration
	// Locale picks the packages' description_<lang> ("fr-FR"; default:
	// the system's locale).
	Locale string
	// Logf logs background errors (nil: none).
	Logf func(format string, args ...any)
}

// maxSeen bounds the events kept for tasks the window does not follow
// (yet): an event may arrive before StartTask's answer.
const maxSeen = 64

// Catalogue is the self-service window's content and state. Its fields are
// used on the UI goroutine only; calls to the agent run through Config.Go
// and report back with fyne.Do.
type Catalogue struct {
	cfg    Config
	agent  Agent
	ctx    context.Context
	cancel context.CancelFunc

	search   *widget.Entry
	category *widget.Select
	refresh  *widget.Button
	list     *fyne.Container
	empty    *widget.Label
	status   *widget.Label
	content  fyne.CanvasObject

	loaded bool
	pkgs   []wire.SelfServicePackage // allowed, sorted
	rows   map[string]*row
	tasks  map[int64]string         // followed task → package
	seen   map[int64]wire.LocalTask // latest state of tasks not followed
}

// NewWindow returns the self-service window of a: it loads the catalogue
// and follows the agent's events until it is closed. Background errors go
// to the standard logger.
func NewWindow(a fyne.App, agent Agent) fyne.Window {
	w := a.NewWindow("WAPT self-service")
	w.SetIcon(Icon)
	c := New(agent, Config{Logf: log.Printf})
	w.SetContent(c.Content())
	w.Resize(fyne.NewSize(760, 560))
	w.SetOnClosed(c.Close)
	c.Start()
	return w
}

// New returns the window content for agent. Call Start (or Load) to fill
// it, and Close to stop its background work.
func New(agent Agent, cfg Config) *Catalogue {
	if cfg.Go == nil {
		cfg.Go = func(f func()) { go f() }
	}
	if cfg.EventWait <= 0 {
		cfg.EventWait = 25 * time.Second
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = 3 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Locale == "" {
		cfg.Locale = lang.SystemLocale().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Catalogue{
		cfg: cfg, agent: agent, ctx: ctx, cancel: cancel,
		rows:  map[string]*row{},
		tasks: map[int64]string{},
		seen:  map[int64]wire.LocalTask{},
	}
	c.build()
	return c
}

// build creates the widgets.
func (c *Catalogue) build() {
	c.search = widget.NewEntry()
	c.search.SetPlaceHolder("Search software")
	c.search.OnChanged = func(string) { c.show() }
	c.category = widget.NewSelect([]string{allCategories}, func(string) { c.show() })
	c.category.SetSelected(allCategories)
	c.refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), c.Load)
	c.list = container.NewVBox()
	c.empty = widget.NewLabel("Loading…")
	c.empty.Alignment = fyne.TextAlignCenter
	c.status = widget.NewLabel("")
	c.status.Wrapping = fyne.TextWrapWord

	title := widget.NewLabelWithStyle("Software you can install", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	category := container.New(layout.NewGridWrapLayout(fyne.NewSize(190, c.category.MinSize().Height)), c.category)
	bar := container.NewBorder(nil, nil, nil, container.NewHBox(category, c.refresh), c.search)
	top := container.NewVBox(title, bar)
	c.content = container.NewBorder(top, c.status, nil, nil,
		container.NewVScroll(container.NewVBox(c.empty, c.list)))
}

// Content is the window's content.
func (c *Catalogue) Content() fyne.CanvasObject { return c.content }

// Start loads the catalogue and follows the agent's events in the
// background.
func (c *Catalogue) Start() {
	c.Load()
	go c.watch()
}

// Close stops the background work.
func (c *Catalogue) Close() { c.cancel() }

// Load asks the agent for the catalogue and shows it.
func (c *Catalogue) Load() {
	c.refresh.Disable()
	first := !c.loaded
	c.cfg.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.CallTimeout)
		defer cancel()
		ps, err := c.agent.SelfService(ctx)
		var running *wire.LocalTask
		if err == nil && first {
			st, err := c.agent.Status(ctx)
			if err != nil {
				c.cfg.Logf("self-service: status: %v", err)
			}
			running = st.Running
		}
		fyne.Do(func() { c.loadDone(ps, running, err) })
	})
}

// loadDone shows the answer of Load.
func (c *Catalogue) loadDone(ps []wire.SelfServicePackage, running *wire.LocalTask, err error) {
	c.refresh.Enable()
	if err != nil {
		if c.ctx.Err() != nil {
			return
		}
		c.cfg.Logf("self-service: catalogue: %v", err)
		c.setStatus(errorText(err), true)
		if !c.loaded {
			c.empty.SetText("The software list could not be loaded.")
		}
		return
	}
	c.loaded = true
	c.pkgs = visible(ps)
	for _, p := range c.pkgs {
		if r := c.rows[p.Package]; r != nil {
			r.setPackage(p)
		} else {
			c.rows[p.Package] = newRow(c, p)
		}
	}
	if running != nil {
		c.follow(*running)
	}
	opts := append([]string{allCategories}, categories(c.pkgs)...)
	c.category.Options = opts
	if !slices.Contains(opts, c.category.Selected) {
		c.category.Selected = allCategories
	}
	c.category.Refresh()
	switch n := len(c.pkgs); n {
	case 1:
		c.setStatus("1 package available.", false)
	default:
		c.setStatus(fmt.Sprintf("%d packages available.", n), false)
	}
	c.show()
}

// show lists the rows that match the search and the category.
func (c *Catalogue) show() {
	if c.list == nil || c.category == nil {
		return // still building
	}
	shown := filter(c.pkgs, c.cfg.Locale, c.search.Text, c.category.Selected)
	objs := make([]fyne.CanvasObject, 0, 2*len(shown))
	for i, p := range shown {
		if i > 0 {
			objs = append(objs, widget.NewSeparator())
		}
		objs = append(objs, c.rows[p.Package].box)
	}
	c.list.Objects = objs
	c.list.Refresh()
	switch {
	case !c.loaded:
	case len(c.pkgs) == 0:
		c.empty.SetText("No software is offered to your account.")
		c.empty.Show()
	case len(shown) == 0:
		c.empty.SetText("No software matches your search.")
		c.empty.Show()
	default:
		c.empty.Hide()
	}
}

// shown returns the names of the packages listed, in order (for tests).
func (c *Catalogue) shown() []string {
	var names []string
	for _, o := range c.list.Objects {
		for _, r := range c.rows {
			if r.box == o {
				names = append(names, r.pkg.Package)
			}
		}
	}
	return names
}

// setStatus shows msg in the status line, as an error when failed.
func (c *Catalogue) setStatus(msg string, failed bool) {
	c.status.Importance = widget.MediumImportance
	if failed {
		c.status.Importance = widget.DangerImportance
	}
	c.status.SetText(msg)
}

// start asks the agent to install or remove r's package.
func (c *Catalogue) start(r *row, kind string) {
	r.err = nil
	r.task = &wire.LocalTask{Kind: kind, State: wire.LocalStateQueued}
	r.update()
	req := wire.LocalTaskRequest{Kind: kind, Packages: []string{r.pkg.Package}}
	c.cfg.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.CallTimeout)
		defer cancel()
		t, err := c.agent.StartTask(ctx, req)
		fyne.Do(func() {
			if err != nil {
				c.cfg.Logf("self-service: %s %s: %v", kind, r.pkg.Package, err)
				r.task, r.err = nil, err
				r.update()
				if errors.Is(err, localclient.ErrNotRunning) {
					c.setStatus(errorText(err), true)
				}
				return
			}
			if t.Kind == "" {
				t.Kind = kind
			}
			if len(t.Packages) == 0 {
				t.Packages = req.Packages
			}
			c.follow(t)
		})
	})
}

// follow shows task t, and its later events, on the row of its package.
func (c *Catalogue) follow(t wire.LocalTask) {
	if t.Kind != wire.LocalKindInstall && t.Kind != wire.LocalKindRemove || len(t.Packages) != 1 {
		return
	}
	r := c.rows[packageName(t.Packages[0])]
	if r == nil {
		return
	}
	if later, ok := c.seen[t.ID]; ok && t.ID != 0 {
		delete(c.seen, t.ID)
		t = later
	}
	r.err = nil
	r.task = &t
	if finished(t.State) {
		c.Load()
	} else {
		c.tasks[t.ID] = r.pkg.Package
	}
	r.update()
}

// apply shows a batch of events.
func (c *Catalogue) apply(evs []wire.LocalEvent) {
	reload := false
	for _, ev := range evs {
		t := ev.Task
		name, ok := c.tasks[t.ID]
		if !ok {
			if len(c.seen) >= maxSeen {
				clear(c.seen)
			}
			c.seen[t.ID] = t
			continue
		}
		r := c.rows[name]
		if r == nil {
			continue
		}
		r.task = &t
		r.update()
		if finished(t.State) {
			delete(c.tasks, t.ID)
			reload = true
		}
	}
	if reload {
		c.Load()
	}
}

// watch long-polls the agent's events until Close, and applies them.
func (c *Catalogue) watch() {
	var after int64
	failed := false
	for c.ctx.Err() == nil {
		evs, err := c.poll(after, c.cfg.EventWait)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			c.cfg.Logf("self-service: events: %v", err)
			if !failed && errors.Is(err, localclient.ErrNotRunning) {
				fyne.Do(func() { c.setStatus(errorText(err), true) })
			}
			failed, after = true, 0 // a restarted agent numbers its events again
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(c.cfg.RetryEvery):
			}
			continue
		}
		if failed {
			failed = false
			fyne.Do(c.Load) // the agent is back: refresh
		}
		for _, ev := range evs {
			after = max(after, ev.Seq)
		}
		if len(evs) > 0 {
			fyne.Do(func() { c.apply(evs) })
		}
	}
}

// poll asks for the events after seq, waiting up to wait.
func (c *Catalogue) poll(after int64, wait time.Duration) ([]wire.LocalEvent, error) {
	ctx, cancel := context.WithTimeout(c.ctx, wait+c.cfg.CallTimeout)
	defer cancel()
	return c.agent.Events(ctx, after, wait)
}

// finished reports whether a task in state s is over.
func finished(s string) bool {
	return s == wire.LocalStateDone || s == wire.LocalStateError || s == wire.LocalStateCancelled
}

// packageName strips a version constraint from a task's package argument.
func packageName(arg string) string {
	for i, r := range arg {
		if r == '(' || r == '=' || r == '<' || r == '>' || r == ' ' {
			return arg[:i]
		}
	}
	return arg
}

// row is one package of the list.
type row struct {
	c    *Catalogue
	pkg  wire.SelfServicePackage
	task *wire.LocalTask // the last task asked or followed
	err  error           // the last request's error

	icon    *canvas.Image
	name    *widget.Label
	desc    *widget.Label
	state   *widget.Label
	bar     *widget.ProgressBar
	install *widget.Button
	remove  *widget.Button
	box     fyne.CanvasObject
}

func newRow(c *Catalogue, p wire.SelfServicePackage) *row {
	r := &row{c: c}
	r.icon = canvas.NewImageFromResource(Icon)
	r.icon.FillMode = canvas.ImageFillContain
	r.icon.SetMinSize(fyne.NewSize(48, 48))
	r.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.desc = widget.NewLabel("")
	r.desc.Wrapping = fyne.TextWrapWord
	r.state = widget.NewLabel("")
	r.state.Wrapping = fyne.TextWrapWord
	r.bar = widget.NewProgressBar()
	r.bar.Hide()
	r.install = widget.NewButtonWithIcon("Install", theme.DownloadIcon(), func() { c.start(r, wire.LocalKindInstall) })
	r.install.Importance = widget.HighImportance
	r.remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { c.start(r, wire.LocalKindRemove) })
	buttons := container.NewVBox(r.install, r.remove)
	text := container.NewVBox(r.name, r.desc, r.state, r.bar)
	r.box = container.NewBorder(nil, nil, container.NewCenter(r.icon), container.NewCenter(buttons), text)
	r.setPackage(p)
	return r
}

// setPackage shows p (a new answer of the catalogue) on the row.
func (r *row) setPackage(p wire.SelfServicePackage) {
	if p.Icon != r.pkg.Icon || r.pkg.Package == "" {
		r.icon.Resource = iconResource(p)
		r.icon.Refresh()
	}
	r.pkg = p
	title := displayName(p) + "  " + p.Version
	if displayName(p) != p.Package {
		title += "  (" + p.Package + ")"
	}
	r.name.SetText(title)
	desc := description(p, r.c.cfg.Locale)
	if cats := categoriesOf(p); len(cats) > 0 {
		desc += "  [" + strings.Join(cats, ", ") + "]"
	}
	r.desc.SetText(strings.TrimSpace(desc))
	r.update()
}

// update shows the row's state.
func (r *row) update() {
	st := stateOf(r.pkg, r.task, r.err)
	r.state.Importance = widget.MediumImportance
	if st.Failed {
		r.state.Importance = widget.DangerImportance
	}
	r.state.SetText(st.Text)
	if st.Busy {
		r.bar.SetValue(st.Progress)
		r.bar.Show()
		r.install.Disable()
		r.remove.Disable()
	} else {
		r.bar.Hide()
		r.install.Enable()
		r.remove.Enable()
	}
	switch {
	case r.pkg.InstalledVersion == "":
		r.install.SetText("Install")
		r.install.Show()
		r.remove.Hide()
	case newer(r.pkg.Version, r.pkg.InstalledVersion):
		r.install.SetText("Update")
		r.install.Show()
		r.remove.Show()
	default:
		r.install.Hide()
		r.remove.Show()
	}
}
