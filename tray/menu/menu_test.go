package menu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
	"github.com/wapt-go/wapt/tray/exit"
)

var _ Agent = (*localclient.Client)(nil)

func pending(names ...string) []wire.LocalPackage {
	var out []wire.LocalPackage
	for _, n := range names {
		name, version, _ := strings.Cut(n, "=")
		if version == "" {
			version = "2"
		}
		out = append(out, wire.LocalPackage{Package: name, Version: version, InstalledVersion: "1", State: wire.StateNeedUpgrade})
	}
	return out
}

var (
	errDown = fmt.Errorf("GET /v1/status: %w", localclient.ErrNotRunning)
	errAPI  = fmt.Errorf("GET /v1/status: %w", &localclient.Error{Status: 500, Message: "database is locked"})
)

// The menu when the agent is fine, with nothing to do.
var okMenu = []string{"Up to date (off)", "No pending updates (off)", "Check for updates", "Install pending updates now (off)", "[x] Upgrade at shutdown", "Show log", "Quit"}

func TestStatusTransitions(t *testing.T) {
	running := &wire.LocalTask{ID: 7, Kind: wire.LocalKindUpgrade, State: wire.LocalStateRunning, Progress: 40, Message: "tis-a"}
	type step struct {
		name    string
		st      wire.LocalStatus
		err     error
		icon    Icon
		tooltip string // substring
		menu    []string
		pending []string
		notes   []note // new notifications at this step
	}
	steps := []step{
		{name: "agent down", err: errDown, icon: IconDisconnected, tooltip: "does not answer",
			menu: []string{"WAPT agent not running (off)", "No pending updates (off)", "Check for updates (off)", "Install pending updates now (off)", "Show log", "Quit"}},
		{name: "up to date", st: wire.LocalStatus{Status: wire.StateOK, Connected: true}, icon: IconOK, tooltip: "WAPT: Up to date", menu: okMenu},
		{name: "two pending", st: wire.LocalStatus{Status: wire.StateNeedUpgrade, Connected: true, Pending: pending("tis-a", "tis-b")}, icon: IconPending, tooltip: "2 updates pending",
			menu:    []string{"2 updates pending (off)", "Pending updates (2)", "Check for updates", "Install pending updates now", "[x] Upgrade at shutdown", "Show log", "Quit"},
			pending: []string{"tis-a 1 → 2", "tis-b 1 → 2"},
			notes:   []note{{"WAPT: updates available", "tis-a, tis-b can be installed."}}},
		{name: "same pending: no new notification", st: wire.LocalStatus{Status: wire.StateNeedUpgrade, Connected: true, Pending: pending("tis-a", "tis-b")}, icon: IconPending,
			pending: []string{"tis-a 1 → 2", "tis-b 1 → 2"}},
		{name: "one more and a newer version", st: wire.LocalStatus{Status: wire.StateNeedUpgrade, Pending: pending("tis-a=3", "tis-b", "tis-c")}, icon: IconPending, tooltip: "Server not reachable",
			pending: []string{"tis-a 1 → 3", "tis-b 1 → 2", "tis-c 1 → 2"},
			notes:   []note{{"WAPT: updates available", "tis-a, tis-c can be installed."}}},
		{name: "running", st: wire.LocalStatus{Status: wire.StateNeedUpgrade, Connected: true, Pending: pending("tis-a=3", "tis-b", "tis-c"), Running: running}, icon: IconRunning, tooltip: "Running: upgrade 40% – tis-a",
			menu:    []string{"Running: upgrade 40% – tis-a (off)", "Pending updates (3)", "Check for updates (off)", "Install pending updates now (off)", "[x] Upgrade at shutdown", "Show log", "Quit"},
			pending: []string{"tis-a 1 → 3", "tis-b 1 → 2", "tis-c 1 → 2"}},
		{name: "agent restarts", err: errDown, icon: IconDisconnected},
		{name: "back with the same pending: no notification", st: wire.LocalStatus{Status: wire.StateNeedUpgrade, Connected: true, Pending: pending("tis-a=3", "tis-b", "tis-c")}, icon: IconPending,
			pending: []string{"tis-a 1 → 3", "tis-b 1 → 2", "tis-c 1 → 2"}},
		{name: "agent error answer", err: errAPI, icon: IconError, tooltip: "database is locked"},
		{name: "host in error", st: wire.LocalStatus{Status: wire.StateError, Connected: true, Errors: []string{"tis-b: exit 1603"}}, icon: IconError, tooltip: "Error: tis-b: exit 1603"},
		{name: "policy forbids postponing", st: wire.LocalStatus{Status: wire.StateOK, Connected: true, Exit: &wire.ExitPolicy{AllowCancel: false}}, icon: IconOK,
			menu: []string{"Up to date (off)", "No pending updates (off)", "Check for updates", "Install pending updates now (off)", "Show log", "Quit"}},
		{name: "policy allows postponing", st: wire.LocalStatus{Status: wire.StateOK, Connected: true, Exit: &wire.ExitPolicy{AllowCancel: true}}, icon: IconOK, menu: okMenu},
	}
	ui := newFakeUI()
	m := New(Config{Agent: newFakeAgent(wire.LocalStatus{}), UI: ui, SelfService: nil})
	m.build()
	s := ui.snapshot()
	if s.icon != IconDisconnected || !slices.Contains(s.menu, "Connecting to the WAPT agent… (off)") {
		t.Fatalf("initial state = %+v", s)
	}
	notes := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			m.applyStatus(st.st, st.err)
			s := ui.snapshot()
			if s.icon != st.icon {
				t.Errorf("icon = %v, want %v", s.icon, st.icon)
			}
			if !strings.Contains(s.tooltip, st.tooltip) {
				t.Errorf("tooltip %q lacks %q", s.tooltip, st.tooltip)
			}
			if st.menu != nil && !slices.Equal(s.menu, st.menu) {
				t.Errorf("menu =\n%q\nwant\n%q", s.menu, st.menu)
			}
			if !slices.Equal(s.pending, st.pending) {
				t.Errorf("pending = %q, want %q", s.pending, st.pending)
			}
			if got := s.notes[notes:]; !slices.Equal(got, st.notes) {
				t.Errorf("notifications = %q, want %q", got, st.notes)
			}
			notes = len(s.notes)
		})
	}
}

func TestPendingSlots(t *testing.T) {
	ui := newFakeUI()
	m := New(Config{Agent: newFakeAgent(wire.LocalStatus{}), UI: ui, PendingSlots: 4})
	m.build()
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("tis-%d", i))
	}
	m.applyStatus(wire.LocalStatus{Pending: pending(names...)}, nil)
	if got, want := ui.snapshot().pending, []string{"tis-0 1 → 2", "tis-1 1 → 2", "tis-2 1 → 2", "… and 7 more"}; !slices.Equal(got, want) {
		t.Errorf("pending = %q, want %q", got, want)
	}
	if got := ui.snapshot().notes; len(got) != 1 || got[0].text != "10 new updates can be installed." {
		t.Errorf("notifications = %q", got)
	}
	m.applyStatus(wire.LocalStatus{Pending: pending("tis-9")}, nil)
	if got, want := ui.snapshot().pending, []string{"tis-9 1 → 2"}; !slices.Equal(got, want) {
		t.Errorf("pending = %q, want %q", got, want)
	}
	m.applyStatus(wire.LocalStatus{Status: wire.StateOK}, nil)
	if got := ui.snapshot().pending; len(got) != 0 {
		t.Errorf("pending = %q, want none", got)
	}
}

func TestRenderOnlyChanges(t *testing.T) {
	ui := newFakeUI()
	m := New(Config{Agent: newFakeAgent(wire.LocalStatus{}), UI: ui})
	m.build()
	st := wire.LocalStatus{Status: wire.StateOK, Connected: true}
	for range 5 {
		m.applyStatus(st, nil)
	}
	if got := ui.snapshot(); len(ui.icons) != 2 || got.icon != IconOK {
		t.Errorf("icons set %v, want [disconnected ok]", ui.icons)
	}
}

func TestEvents(t *testing.T) {
	ev := func(seq int64, id int64, kind, state, msg string) wire.LocalEvent {
		return wire.LocalEvent{Seq: seq, Task: wire.LocalTask{ID: id, Kind: kind, State: state, Message: msg, Progress: 50}}
	}
	tests := []struct {
		name   string
		ours   []int64
		evs    []wire.LocalEvent
		icon   Icon
		ended  bool
		notes  []note
		status string
	}{
		{name: "running task shows", evs: []wire.LocalEvent{ev(1, 5, "upgrade", "running", "tis-a")}, icon: IconRunning, status: "Running: upgrade 50% – tis-a"},
		{name: "failure notifies once", evs: []wire.LocalEvent{ev(1, 5, "upgrade", "error", "tis-a: exit 1"), ev(2, 5, "upgrade", "error", "tis-a: exit 1")},
			icon: IconOK, ended: true, notes: []note{{"WAPT: upgrade failed", "tis-a: exit 1"}}},
		{name: "failure without message", evs: []wire.LocalEvent{ev(1, 5, "update", "error", "")},
			icon: IconOK, ended: true, notes: []note{{"WAPT: update check failed", "See the log for details."}}},
		{name: "our task done notifies", ours: []int64{6}, evs: []wire.LocalEvent{ev(1, 6, "upgrade", "running", ""), ev(2, 6, "upgrade", "done", "")},
			icon: IconOK, ended: true, notes: []note{{"WAPT: upgrade done", "Done."}}},
		{name: "other task done is quiet", evs: []wire.LocalEvent{ev(1, 6, "upgrade", "done", "")}, icon: IconOK, ended: true},
		{name: "cancelled is quiet", evs: []wire.LocalEvent{ev(1, 6, "upgrade", "cancelled", "")}, icon: IconOK, ended: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ui := newFakeUI()
			m := New(Config{Agent: newFakeAgent(wire.LocalStatus{}), UI: ui})
			m.build()
			m.applyStatus(wire.LocalStatus{Status: wire.StateOK}, nil)
			for _, id := range tt.ours {
				m.ours[id] = true
			}
			if got := m.applyEvents(tt.evs); got != tt.ended {
				t.Errorf("applyEvents = %v, want %v", got, tt.ended)
			}
			s := ui.snapshot()
			if s.icon != tt.icon {
				t.Errorf("icon = %v, want %v", s.icon, tt.icon)
			}
			if !slices.Equal(s.notes, tt.notes) {
				t.Errorf("notifications = %q, want %q", s.notes, tt.notes)
			}
			if tt.status != "" && s.menu[0] != tt.status+" (off)" {
				t.Errorf("status line = %q, want %q", s.menu[0], tt.status)
			}
		})
	}
}

func TestRunClicks(t *testing.T) {
	dir := t.TempDir()
	agent := newFakeAgent(wire.LocalStatus{Status: wire.StateNeedUpgrade, Connected: true, Pending: pending("tis-a")})
	agent.tasks = []wire.LocalTask{{ID: 3, Kind: "upgrade", State: "error", Message: "tis-a: exit 1603", Caller: "alice"}}
	ui := newFakeUI()
	selfService := make(chan struct{}, 1)
	opened := make(chan string, 1)
	prefs := filepath.Join(dir, "wapttray", "prefs.json")
	m := New(Config{
		Agent:        agent,
		UI:           ui,
		PollInterval: time.Hour, // clicks and events refresh
		SelfService:  func() error { selfService <- struct{}{}; return nil },
		Open:         func(p string) error { opened <- p; return nil },
		TaskListPath: filepath.Join(dir, "tasks.txt"),
		PrefsPath:    prefs,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	eventually(t, "the first status", func() bool { return ui.snapshot().icon == IconPending })

	// Check for updates, then install: one task each.
	click(t, ui.item(t, "Check for updates"))
	eventually(t, "the update task", func() bool { return slices.Equal(agent.kinds(), []string{"update"}) })
	agent.events <- []wire.LocalEvent{{Seq: 1, Task: wire.LocalTask{ID: 101, Kind: "update", State: "done"}}}
	eventually(t, "the end of the update started here", func() bool {
		return slices.Contains(ui.snapshot().notes, note{"WAPT: update check done", "Done."})
	})
	click(t, ui.item(t, "Install pending updates now"))
	eventually(t, "the upgrade task", func() bool { return slices.Equal(agent.kinds(), []string{"update", "upgrade"}) })
	agent.events <- []wire.LocalEvent{{Seq: 2, Task: wire.LocalTask{ID: 102, Kind: "upgrade", State: "error", Message: "tis-a: exit 1603"}}}
	eventually(t, "the failure notification", func() bool {
		return slices.Contains(ui.snapshot().notes, note{"WAPT: upgrade failed", "tis-a: exit 1603"})
	})

	// A busy agent: the user sees its message.
	agent.mu.Lock()
	agent.startErr = fmt.Errorf("POST /v1/tasks: %w", &localclient.Error{Status: 409, Message: "an upgrade is running"})
	agent.mu.Unlock()
	click(t, ui.item(t, "Check for updates"))
	eventually(t, "the busy notification", func() bool {
		return slices.Contains(ui.snapshot().notes, note{"WAPT: could not check for updates", "an upgrade is running"})
	})

	// Self-service starts the process.
	click(t, ui.item(t, "Self-service"))
	select {
	case <-selfService:
	case <-time.After(5 * time.Second):
		t.Fatal("self-service not started")
	}

	// Show log: no agent log, so the task list.
	click(t, ui.item(t, "Show log"))
	select {
	case p := <-opened:
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "#3 upgrade: error") || !strings.Contains(string(b), "tis-a: exit 1603") {
			t.Errorf("task list %s = %q, %v", p, b, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("log not opened")
	}

	// The shutdown toggle is saved in the prefs file.
	click(t, ui.item(t, "Upgrade at shutdown"))
	eventually(t, "the unchecked toggle", func() bool { return slices.Contains(ui.snapshot().menu, "[ ] Upgrade at shutdown") })
	if p, err := exit.LoadPrefs(prefs); err != nil || p.UpgradeAtShutdown {
		t.Errorf("prefs = %+v, %v; want UpgradeAtShutdown false", p, err)
	}

	click(t, ui.item(t, "Quit"))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return on Quit")
	}
	if !ui.quit {
		t.Error("UI.Quit not called")
	}
}

func TestRunLoadsPrefsAndShowsAgentLog(t *testing.T) {
	dir := t.TempDir()
	prefs := filepath.Join(dir, "prefs.json")
	if err := exit.SavePrefs(prefs, exit.Prefs{UpgradeAtShutdown: false}); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "agent.log")
	os.WriteFile(logPath, []byte("log"), 0o600)
	agent := newFakeAgent(wire.LocalStatus{Status: wire.StateOK})
	ui := newFakeUI()
	opened := make(chan string, 1)
	m := New(Config{Agent: agent, UI: ui, PrefsPath: prefs, LogPath: logPath, Open: func(p string) error { opened <- p; return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	eventually(t, "the first status", func() bool { return ui.snapshot().icon == IconOK })
	if s := ui.snapshot(); !slices.Contains(s.menu, "[ ] Upgrade at shutdown") || slices.ContainsFunc(s.menu, func(s string) bool { return strings.HasPrefix(s, "Self-service") }) {
		t.Errorf("menu = %q; want the toggle off and no self-service", s.menu)
	}
	click(t, ui.item(t, "Show log"))
	if p := <-opened; p != logPath {
		t.Errorf("opened %q, want the agent log", p)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestRunDisconnectedThenBack(t *testing.T) {
	agent := newFakeAgent(wire.LocalStatus{})
	agent.statusErr = errDown
	ui := newFakeUI()
	m := New(Config{Agent: agent, UI: ui, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	eventually(t, "the disconnected status line", func() bool {
		return slices.Contains(ui.snapshot().menu, "WAPT agent not running (off)")
	})
	agent.setStatus(wire.LocalStatus{Status: wire.StateOK, Connected: true}, nil)
	eventually(t, "the ok icon", func() bool { return ui.snapshot().icon == IconOK })
}

func TestTaskList(t *testing.T) {
	when := time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local)
	got := TaskList([]wire.LocalTask{
		{ID: 2, Kind: "upgrade", State: "running", Progress: 30, Packages: []string{"tis-a", "tis-b"}, Started: when},
		{ID: 1, Kind: "update", State: "done", Started: when, Finished: when.Add(time.Minute), Caller: "bob"},
	})
	want := `WAPT agent: recent tasks

#2 upgrade: running (30%) [tis-a, tis-b]
    started  2026-03-01 10:00:00
#1 update: done
    started  2026-03-01 10:00:00
    finished 2026-03-01 10:01:00
    by bob
`
	if got != want {
		t.Errorf("TaskList =\n%s\nwant\n%s", got, want)
	}
	if got := TaskList(nil); !strings.Contains(got, "No task yet.") {
		t.Errorf("TaskList(nil) = %q", got)
	}
}

func TestUserMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errDown, "The WAPT agent service is not running."},
		{fmt.Errorf("x: %w", &localclient.Error{Status: 403, Message: "forbidden: bob may not upgrade"}), "forbidden: bob may not upgrade"},
		{errors.New("exec: not found"), "exec: not found"},
	}
	for _, tt := range tests {
		if got := userMessage(tt.err); got != tt.want {
			t.Errorf("userMessage(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
