// Package menu is the logic of the WAPT tray (wapttray): it polls the
// agent's status and long-polls its task events, and drives the tray icon,
// its tooltip and its menu through the small UI and Item interfaces, so
// that it is tested with fakes. The systray adapter lives in
// tray/cmd/wapttray (getlantern/systray needs cgo on Linux and macOS, and
// this package must cross-compile without it).
//
// The menu: a status line, a "Pending updates" submenu (one disabled item
// per package, in pre-allocated slots), "Check for updates", "Install
// pending updates now", "Self-service…", an "Upgrade at shutdown" toggle
// (when the policy lets users postpone), "Show log" and "Quit".
//
// It reaches the agent only through the Agent interface, which
// *localclient.Client implements.
package menu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
	"github.com/wapt-go/wapt/tray/exit"
)

// Agent is the part of the agent's local API the tray uses;
// *localclient.Client implements it.
type Agent interface {
	Status(ctx context.Context) (wire.LocalStatus, error)
	StartTask(ctx context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error)
	Events(ctx context.Context, after int64, wait time.Duration) ([]wire.LocalEvent, error)
	Tasks(ctx context.Context) ([]wire.LocalTask, error)
}

// Icon is the kind of tray icon.
type Icon int

// Icon kinds, by host state.
const (
	IconDisconnected Icon = iota // the local API does not answer
	IconOK                       // up to date
	IconPending                  // updates pending
	IconRunning                  // a task runs
	IconError                    // the host or the agent reports an error
)

// Icons lists every Icon kind.
var Icons = []Icon{IconDisconnected, IconOK, IconPending, IconRunning, IconError}

func (k Icon) String() string {
	switch k {
	case IconDisconnected:
		return "disconnected"
	case IconOK:
		return "ok"
	case IconPending:
		return "pending"
	case IconRunning:
		return "running"
	case IconError:
		return "error"
	}
	return fmt.Sprintf("icon(%d)", int(k))
}

// Item is one menu entry. Implementations need not be safe for concurrent
// use: the Menu calls them from its Run goroutine only.
type Item interface {
	SetTitle(title string)
	SetTooltip(tooltip string)
	Enable()
	Disable()
	Show()
	Hide()
	Check()
	Uncheck()
	// Clicked receives one value per click.
	Clicked() <-chan struct{}
}

// UI is the tray: its icon, tooltip, menu and desktop notifications. The
// Menu calls it from its Run goroutine only, and adds every item before
// it changes any.
type UI interface {
	SetIcon(k Icon)
	SetTooltip(tooltip string)
	AddItem(title, tooltip string) Item
	AddCheckbox(title, tooltip string, checked bool) Item
	AddSubItem(parent Item, title, tooltip string) Item
	AddSeparator()
	// Notify shows a desktop notification; it must not block.
	Notify(title, text string)
	// Quit ends the tray's event loop.
	Quit()
}

// Defaults of Config.
const (
	DefaultPollInterval = 15 * time.Second
	DefaultEventWait    = 50 * time.Second
	DefaultRetryDelay   = 3 * time.Second
	DefaultPendingSlots = 15
	// callTimeout bounds one Status, StartTask or Tasks call.
	callTimeout = 15 * time.Second
)

// Config are a Menu's dependencies and settings.
type Config struct {
	Agent Agent
	UI    UI
	// PollInterval is the pause between two Status calls (default
	// DefaultPollInterval); events and clicks refresh sooner.
	PollInterval time.Duration
	// EventWait is the long-poll wait of one Events call (default
	// DefaultEventWait).
	EventWait time.Duration
	// RetryDelay is the pause after a failed Events call (default
	// DefaultRetryDelay).
	RetryDelay time.Duration
	// PendingSlots is how many packages the submenu lists (default
	// DefaultPendingSlots); the last slot says how many more there are.
	PendingSlots int
	// SelfService starts the self-service window; nil hides the item.
	SelfService func() error
	// Open shows a text file to the user; nil means OpenFile.
	Open func(path string) error
	// LogPath is the agent's log file, shown by "Show log" when it
	// exists; otherwise "Show log" shows the recent tasks.
	LogPath string
	// TaskListPath is where "Show log" writes the recent tasks (default
	// os.UserCacheDir()/wapttray/tasks.txt).
	TaskListPath string
	// PrefsPath is the user's prefs file (exit.PrefsPath); "" keeps the
	// "Upgrade at shutdown" choice in memory only.
	PrefsPath string
	// Logf logs; nil discards.
	Logf func(format string, args ...any)
}

// Menu is the tray's state machine. Create it with New, then call Run.
type Menu struct {
	cfg Config

	// Items, set by build.
	status, pendingParent, update, upgrade, selfService, shutdown, showLog, quit Item
	slots                                                                        []Item

	// State, owned by the Run goroutine.
	st        wire.LocalStatus
	stErr     error
	seen      bool            // a Status answer (or error) arrived
	known     map[string]bool // pending packages already notified
	notified  map[int64]bool  // tasks whose end was notified
	ours      map[int64]bool  // tasks started from this menu
	prefs     exit.Prefs
	rendered  view
	iconShown bool
}

// New returns a menu; it touches cfg.UI only in Run.
func New(cfg Config) *Menu {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.EventWait <= 0 {
		cfg.EventWait = DefaultEventWait
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.PendingSlots <= 0 {
		cfg.PendingSlots = DefaultPendingSlots
	}
	if cfg.Open == nil {
		cfg.Open = OpenFile
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Menu{
		cfg:      cfg,
		known:    map[string]bool{},
		notified: map[int64]bool{},
		ours:     map[int64]bool{},
		prefs:    exit.DefaultPrefs,
	}
}

// build adds the items, in menu order, and shows the "connecting" state.
func (m *Menu) build() {
	ui := m.cfg.UI
	if m.cfg.PrefsPath != "" {
		p, err := exit.LoadPrefs(m.cfg.PrefsPath)
		if err != nil {
			m.cfg.Logf("wapttray: %v", err)
		}
		m.prefs = p
	}
	m.status = ui.AddItem("Connecting to the WAPT agent…", "")
	m.status.Disable()
	m.pendingParent = ui.AddItem("No pending updates", "Packages the next upgrade installs")
	for range m.cfg.PendingSlots {
		s := ui.AddSubItem(m.pendingParent, "", "")
		s.Disable()
		s.Hide()
		m.slots = append(m.slots, s)
	}
	ui.AddSeparator()
	m.update = ui.AddItem("Check for updates", "Ask the WAPT server for new packages")
	m.upgrade = ui.AddItem("Install pending updates now", "Install the pending packages")
	m.selfService = ui.AddItem("Self-service…", "Install software IT makes available to you")
	if m.cfg.SelfService == nil {
		m.selfService.Hide()
	}
	m.shutdown = ui.AddCheckbox("Upgrade at shutdown", "Install pending updates when the computer shuts down", m.prefs.UpgradeAtShutdown)
	m.shutdown.Hide()
	ui.AddSeparator()
	m.showLog = ui.AddItem("Show log", "Show the agent's log or its recent tasks")
	m.quit = ui.AddItem("Quit", "Close the tray icon (the agent keeps running)")
	m.render()
}

// statusResult is one Status answer.
type statusResult struct {
	st  wire.LocalStatus
	err error
}

// actionResult is the end of an action started by a click.
type actionResult struct {
	what string         // "check for updates", ...
	task wire.LocalTask // the task started, if any
	err  error
}

// Run builds the menu and runs it until Quit is clicked (it returns nil)
// or ctx ends (it returns ctx.Err()).
func (m *Menu) Run(ctx context.Context) error {
	m.build()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	statuses := make(chan statusResult)
	events := make(chan []wire.LocalEvent)
	refresh := make(chan struct{}, 1)
	actions := make(chan actionResult)
	go m.pollStatus(ctx, refresh, statuses)
	go m.watchEvents(ctx, events)

	kick := func() {
		select {
		case refresh <- struct{}{}:
		default:
		}
	}
	act := func(what string, f func(context.Context) (wire.LocalTask, error)) {
		go func() {
			cctx, ccancel := context.WithTimeout(ctx, callTimeout)
			defer ccancel()
			t, err := f(cctx)
			select {
			case actions <- actionResult{what: what, task: t, err: err}:
			case <-ctx.Done():
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-statuses:
			m.applyStatus(r.st, r.err)
		case evs := <-events:
			if m.applyEvents(evs) {
				kick()
			}
		case r := <-actions:
			m.applyAction(r)
			kick()
		case <-m.update.Clicked():
			act("check for updates", func(ctx context.Context) (wire.LocalTask, error) {
				return m.cfg.Agent.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindUpdate})
			})
		case <-m.upgrade.Clicked():
			act("install the pending updates", func(ctx context.Context) (wire.LocalTask, error) {
				return m.cfg.Agent.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade})
			})
		case <-m.selfService.Clicked():
			if m.cfg.SelfService != nil {
				act("open self-service", func(context.Context) (wire.LocalTask, error) {
					return wire.LocalTask{}, m.cfg.SelfService()
				})
			}
		case <-m.shutdown.Clicked():
			m.toggleShutdown()
		case <-m.showLog.Clicked():
			act("show the log", func(ctx context.Context) (wire.LocalTask, error) {
				return wire.LocalTask{}, m.showLogFile(ctx)
			})
		case <-m.quit.Clicked():
			m.cfg.UI.Quit()
			return nil
		}
	}
}

// pollStatus sends a Status answer every PollInterval, and at once when
// refresh is signalled.
func (m *Menu) pollStatus(ctx context.Context, refresh <-chan struct{}, out chan<- statusResult) {
	t := time.NewTicker(m.cfg.PollInterval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		st, err := m.cfg.Agent.Status(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- statusResult{st, err}:
		case <-ctx.Done():
			return
		}
		select {
		case <-t.C:
		case <-refresh:
		case <-ctx.Done():
			return
		}
	}
}

// watchEvents long-polls task events and sends them on out. It starts
// after the last event the agent has (old events are not news), and
// starts over after an error (the agent may have restarted, resetting
// its sequence).
func (m *Menu) watchEvents(ctx context.Context, out chan<- []wire.LocalEvent) {
	primed := false
	var after int64
	for ctx.Err() == nil {
		if !primed {
			evs, err := m.cfg.Agent.Events(ctx, 0, 0)
			if err != nil {
				m.sleep(ctx, m.cfg.RetryDelay)
				continue
			}
			after, primed = maxSeq(evs, 0), true
		}
		evs, err := m.cfg.Agent.Events(ctx, after, m.cfg.EventWait)
		if err != nil {
			if ctx.Err() == nil {
				m.cfg.Logf("wapttray: events: %v", err)
			}
			primed = false
			m.sleep(ctx, m.cfg.RetryDelay)
			continue
		}
		if len(evs) == 0 {
			continue
		}
		after = maxSeq(evs, after)
		select {
		case out <- evs:
		case <-ctx.Done():
			return
		}
	}
}

func (m *Menu) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func maxSeq(evs []wire.LocalEvent, after int64) int64 {
	for _, e := range evs {
		after = max(after, e.Seq)
	}
	return after
}

// applyStatus takes a Status answer: it notifies new pending packages and
// redraws.
func (m *Menu) applyStatus(st wire.LocalStatus, err error) {
	m.seen = true
	m.stErr = err
	if err == nil {
		m.st = st
		m.notifyNewPending(st.Pending)
	}
	m.render()
}

// notifyNewPending notifies the packages of pending not notified yet.
// Packages are known by name and version, so that a newer version of a
// pending package is news too.
func (m *Menu) notifyNewPending(pending []wire.LocalPackage) {
	var fresh []string
	now := map[string]bool{}
	for _, p := range pending {
		k := p.Package + "=" + p.Version
		now[k] = true
		if !m.known[k] {
			fresh = append(fresh, p.Package)
		}
	}
	m.known = now
	switch {
	case len(fresh) == 0:
	case len(fresh) <= 3:
		m.cfg.UI.Notify("WAPT: updates available", strings.Join(fresh, ", ")+" can be installed.")
	default:
		m.cfg.UI.Notify("WAPT: updates available", fmt.Sprintf("%d new updates can be installed.", len(fresh)))
	}
}

// applyEvents takes task events: it follows the running task and
// notifies failures (and the end of tasks started from this menu). It
// reports whether a task ended, so that the status is refreshed.
func (m *Menu) applyEvents(evs []wire.LocalEvent) (ended bool) {
	for _, e := range evs {
		t := e.Task
		switch t.State {
		case wire.LocalStateQueued, wire.LocalStateRunning:
			if m.stErr == nil {
				m.st.Running = &t
			}
			continue
		}
		ended = true
		if m.st.Running != nil && m.st.Running.ID == t.ID {
			m.st.Running = nil
		}
		if m.notified[t.ID] {
			continue
		}
		m.notified[t.ID] = true
		switch {
		case t.State == wire.LocalStateError:
			m.cfg.UI.Notify("WAPT: "+taskTitle(t)+" failed", orDefault(t.Message, "See the log for details."))
		case m.ours[t.ID] && t.State == wire.LocalStateDone:
			m.cfg.UI.Notify("WAPT: "+taskTitle(t)+" done", orDefault(t.Message, "Done."))
		}
	}
	m.render()
	return ended
}

// applyAction takes the end of a click's action.
func (m *Menu) applyAction(r actionResult) {
	if r.err != nil {
		m.cfg.Logf("wapttray: %s: %v", r.what, r.err)
		m.cfg.UI.Notify("WAPT: could not "+r.what, userMessage(r.err))
		return
	}
	if r.task.ID != 0 {
		m.ours[r.task.ID] = true
		if !ended(r.task.State) && m.stErr == nil {
			t := r.task
			m.st.Running = &t
			m.render()
		}
	}
}

// toggleShutdown flips and saves the "Upgrade at shutdown" choice.
func (m *Menu) toggleShutdown() {
	m.prefs.UpgradeAtShutdown = !m.prefs.UpgradeAtShutdown
	if m.cfg.PrefsPath != "" {
		if err := exit.SavePrefs(m.cfg.PrefsPath, m.prefs); err != nil {
			m.cfg.Logf("wapttray: %v", err)
			m.cfg.UI.Notify("WAPT: could not save your choice", err.Error())
			m.prefs.UpgradeAtShutdown = !m.prefs.UpgradeAtShutdown
		}
	}
	m.render()
}

// showLogFile opens the agent's log, or writes the recent tasks to a
// file and opens that.
func (m *Menu) showLogFile(ctx context.Context) error {
	if m.cfg.LogPath != "" {
		if _, err := os.Stat(m.cfg.LogPath); err == nil {
			return m.cfg.Open(m.cfg.LogPath)
		}
	}
	tasks, err := m.cfg.Agent.Tasks(ctx)
	if err != nil {
		return err
	}
	path := m.cfg.TaskListPath
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		path = filepath.Join(dir, "wapttray", "tasks.txt")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(TaskList(tasks)), 0o600); err != nil {
		return err
	}
	return m.cfg.Open(path)
}

// TaskList formats tasks as a text report, newest first as the agent
// lists them.
func TaskList(tasks []wire.LocalTask) string {
	var b strings.Builder
	b.WriteString("WAPT agent: recent tasks\n\n")
	if len(tasks) == 0 {
		b.WriteString("No task yet.\n")
	}
	for _, t := range tasks {
		fmt.Fprintf(&b, "#%d %s: %s", t.ID, t.Kind, t.State)
		if t.State == wire.LocalStateRunning {
			fmt.Fprintf(&b, " (%d%%)", t.Progress)
		}
		if len(t.Packages) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(t.Packages, ", "))
		}
		b.WriteString("\n")
		if !t.Started.IsZero() {
			fmt.Fprintf(&b, "    started  %s\n", t.Started.Local().Format(time.DateTime))
		}
		if !t.Finished.IsZero() {
			fmt.Fprintf(&b, "    finished %s\n", t.Finished.Local().Format(time.DateTime))
		}
		if t.Caller != "" {
			fmt.Fprintf(&b, "    by %s\n", t.Caller)
		}
		if t.Message != "" {
			fmt.Fprintf(&b, "    %s\n", t.Message)
		}
	}
	return b.String()
}

// userMessage is err for the user: the agent's own message when it gave
// one.
func userMessage(err error) string {
	var e *localclient.Error
	switch {
	case errors.Is(err, localclient.ErrNotRunning):
		return "The WAPT agent service is not running."
	case errors.As(err, &e) && e.Message != "":
		return e.Message
	}
	return err.Error()
}

func taskTitle(t wire.LocalTask) string {
	switch t.Kind {
	case wire.LocalKindUpdate:
		return "update check"
	case wire.LocalKindUpgrade:
		return "upgrade"
	case "":
		return "task"
	}
	return t.Kind
}

func ended(state string) bool {
	return state == wire.LocalStateDone || state == wire.LocalStateError || state == wire.LocalStateCancelled
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}
