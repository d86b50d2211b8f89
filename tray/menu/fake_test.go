package menu

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// fakeUI is a tray in memory. One mutex guards it and its items, since
// tests read them while Run writes them.
type fakeUI struct {
	mu      sync.Mutex
	icon    Icon
	icons   []Icon
	tooltip string
	items   []*fakeItem
	notes   []note
	quit    bool
}

type note struct{ title, text string }

type fakeItem struct {
	ui       *fakeUI
	title    string
	tooltip  string
	enabled  bool
	shown    bool
	checked  bool
	checkbox bool
	parent   *fakeItem
	clicks   chan struct{}
}

func newFakeUI() *fakeUI { return &fakeUI{icon: -1} }

func (u *fakeUI) SetIcon(k Icon) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.icon = k
	u.icons = append(u.icons, k)
}

func (u *fakeUI) SetTooltip(s string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.tooltip = s
}

func (u *fakeUI) add(title, tooltip string, parent Item, checkbox, checked bool) Item {
	u.mu.Lock()
	defer u.mu.Unlock()
	it := &fakeItem{ui: u, title: title, tooltip: tooltip, enabled: true, shown: true, checkbox: checkbox, checked: checked, clicks: make(chan struct{})}
	if parent != nil {
		it.parent = parent.(*fakeItem)
	}
	u.items = append(u.items, it)
	return it
}

func (u *fakeUI) AddItem(title, tooltip string) Item { return u.add(title, tooltip, nil, false, false) }
func (u *fakeUI) AddCheckbox(title, tooltip string, checked bool) Item {
	return u.add(title, tooltip, nil, true, checked)
}
func (u *fakeUI) AddSubItem(parent Item, title, tooltip string) Item {
	return u.add(title, tooltip, parent, false, false)
}
func (u *fakeUI) AddSeparator() {}

func (u *fakeUI) Notify(title, text string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.notes = append(u.notes, note{title, text})
}

func (u *fakeUI) Quit() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.quit = true
}

func (it *fakeItem) set(f func()) {
	it.ui.mu.Lock()
	defer it.ui.mu.Unlock()
	f()
}

func (it *fakeItem) SetTitle(s string)        { it.set(func() { it.title = s }) }
func (it *fakeItem) SetTooltip(s string)      { it.set(func() { it.tooltip = s }) }
func (it *fakeItem) Enable()                  { it.set(func() { it.enabled = true }) }
func (it *fakeItem) Disable()                 { it.set(func() { it.enabled = false }) }
func (it *fakeItem) Show()                    { it.set(func() { it.shown = true }) }
func (it *fakeItem) Hide()                    { it.set(func() { it.shown = false }) }
func (it *fakeItem) Check()                   { it.set(func() { it.checked = true }) }
func (it *fakeItem) Uncheck()                 { it.set(func() { it.checked = false }) }
func (it *fakeItem) Clicked() <-chan struct{} { return it.clicks }

// snapshot is the visible state of the tray, for comparisons.
type snapshot struct {
	icon    Icon
	tooltip string
	// visible top-level items: title, and "(off)" when disabled,
	// "[x]"/"[ ]" for checkboxes.
	menu []string
	// visible pending lines.
	pending []string
	notes   []note
}

func (u *fakeUI) snapshot() snapshot {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := snapshot{icon: u.icon, tooltip: u.tooltip, notes: append([]note(nil), u.notes...)}
	for _, it := range u.items {
		if !it.shown {
			continue
		}
		if it.parent != nil {
			s.pending = append(s.pending, it.title)
			continue
		}
		t := it.title
		if it.checkbox {
			if it.checked {
				t = "[x] " + t
			} else {
				t = "[ ] " + t
			}
		}
		if !it.enabled {
			t += " (off)"
		}
		s.menu = append(s.menu, t)
	}
	return s
}

// item finds a top-level item by title prefix.
func (u *fakeUI) item(t testing.TB, prefix string) *fakeItem {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, it := range u.items {
		if it.parent == nil && len(it.title) >= len(prefix) && it.title[:len(prefix)] == prefix {
			return it
		}
	}
	t.Fatalf("no item %q", prefix)
	return nil
}

// click sends a click, failing when Run does not take it.
func click(t testing.TB, it *fakeItem) {
	t.Helper()
	select {
	case it.clicks <- struct{}{}:
	case <-time.After(5 * time.Second):
		t.Fatalf("click on %q not taken", it.title)
	}
}

// fakeAgent is a local API in memory.
type fakeAgent struct {
	mu        sync.Mutex
	status    wire.LocalStatus
	statusErr error
	startErr  error
	requests  []wire.LocalTaskRequest
	tasks     []wire.LocalTask
	events    chan []wire.LocalEvent // Events answers from here
	statuses  int
}

func newFakeAgent(st wire.LocalStatus) *fakeAgent {
	return &fakeAgent{status: st, events: make(chan []wire.LocalEvent)}
}

func (a *fakeAgent) Status(context.Context) (wire.LocalStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.statuses++
	return a.status, a.statusErr
}

func (a *fakeAgent) setStatus(st wire.LocalStatus, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.statusErr = st, err
}

func (a *fakeAgent) StartTask(_ context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r)
	if a.startErr != nil {
		return wire.LocalTask{}, a.startErr
	}
	return wire.LocalTask{ID: int64(100 + len(a.requests)), Kind: r.Kind, State: wire.LocalStateQueued}, nil
}

func (a *fakeAgent) Events(ctx context.Context, after int64, wait time.Duration) ([]wire.LocalEvent, error) {
	if wait == 0 {
		return nil, nil
	}
	select {
	case evs := <-a.events:
		return evs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *fakeAgent) Tasks(context.Context) ([]wire.LocalTask, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tasks, nil
}

func (a *fakeAgent) kinds() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.requests {
		out = append(out, r.Kind)
	}
	return out
}

// eventually waits for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
