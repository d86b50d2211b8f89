package selfservice

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

var _ Agent = (*localclient.Client)(nil)

// fakeAgent is an Agent in memory. StartTask queues a task and records
// the request; the test adds events with push.
type fakeAgent struct {
	mu        sync.Mutex
	pkgs      []wire.SelfServicePackage
	listErr   error
	status    wire.LocalStatus
	forbidden map[string]bool // packages whose StartTask is refused
	startErr  error
	requests  []wire.LocalTaskRequest
	nextID    int64
	events    []wire.LocalEvent
}

func (f *fakeAgent) Status(context.Context) (wire.LocalStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, nil
}

func (f *fakeAgent) SelfService(context.Context) ([]wire.SelfServicePackage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	return slices.Clone(f.pkgs), nil
}

func (f *fakeAgent) StartTask(_ context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	if f.startErr != nil {
		return wire.LocalTask{}, f.startErr
	}
	for _, p := range r.Packages {
		if f.forbidden[p] {
			// What localclient returns for the agent's 403.
			return wire.LocalTask{}, fmt.Errorf("POST /v1/tasks: %w",
				&localclient.Error{Status: 403, Code: "forbidden", Message: p + " is not in your self-service rules"})
		}
	}
	f.nextID++
	return wire.LocalTask{ID: f.nextID, Kind: r.Kind, Packages: r.Packages, State: wire.LocalStateQueued}, nil
}

func (f *fakeAgent) Events(_ context.Context, after int64, _ time.Duration) ([]wire.LocalEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wire.LocalEvent
	for _, e := range f.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out, nil
}

// push adds an event for task t.
func (f *fakeAgent) push(t wire.LocalTask) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, wire.LocalEvent{Seq: int64(len(f.events) + 1), Time: time.Now(), Task: t})
}

// setInstalled marks p installed at its offered version.
func (f *fakeAgent) setInstalled(name string, installed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.pkgs {
		if f.pkgs[i].Package == name {
			f.pkgs[i].InstalledVersion = ""
			if installed {
				f.pkgs[i].InstalledVersion = f.pkgs[i].Version
			}
		}
	}
}

func (f *fakeAgent) taskRequests() []wire.LocalTaskRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func demoPackages() []wire.SelfServicePackage {
	return []wire.SelfServicePackage{
		{Package: "tis-vlc", Version: "3.0.21-1", Description: "VLC media player", Category: "Media", InstalledVersion: "3.0.21-1", Allowed: true},
		{Package: "tis-firefox", Name: "Firefox", Version: "128.0-2", Description: "Mozilla Firefox web browser",
			Descriptions: map[string]string{"fr": "Navigateur web Mozilla Firefox"}, Category: "Internet", Categories: []string{"Internet"}, Allowed: true},
		{Package: "tis-7zip", Version: "24.08-1", Description: "File archiver", Category: "Utilities", InstalledVersion: "23.01-1", Allowed: true},
		{Package: "tis-admin-tools", Version: "1.0-1", Description: "Only for IT", Category: "Utilities", Allowed: false},
	}
}

// newTestCatalogue loads a catalogue of agent with calls run inline.
func newTestCatalogue(t *testing.T, agent Agent) *Catalogue {
	t.Helper()
	test.NewTempApp(t)
	c := New(agent, Config{Go: func(f func()) { f() }, Locale: "en-US"})
	t.Cleanup(c.Close)
	w := test.NewTempWindow(t, c.Content())
	w.Resize(w.Canvas().Size().Max(c.Content().MinSize()))
	c.Load()
	return c
}

// pump applies the events the agent has after the last one applied.
func pump(t *testing.T, c *Catalogue, after *int64) {
	t.Helper()
	evs, err := c.poll(*after, 0)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	for _, e := range evs {
		*after = max(*after, e.Seq)
	}
	c.apply(evs)
}

func TestCatalogueListsAllowedPackages(t *testing.T) {
	fa := &fakeAgent{pkgs: demoPackages()}
	c := newTestCatalogue(t, fa)

	if got, want := c.shown(), []string{"tis-firefox", "tis-7zip", "tis-vlc"}; !slices.Equal(got, want) {
		t.Fatalf("shown = %v, want %v (sorted by display name, without the package the user may not install)", got, want)
	}
	if got, want := c.category.Options, []string{allCategories, "Internet", "Media", "Utilities"}; !slices.Equal(got, want) {
		t.Errorf("categories = %v, want %v", got, want)
	}
	ff := c.rows["tis-firefox"]
	if ff.name.Text != "Firefox  128.0-2  (tis-firefox)" || ff.desc.Text != "Mozilla Firefox web browser  [Internet]" {
		t.Errorf("firefox row: name %q, description %q", ff.name.Text, ff.desc.Text)
	}
	if ff.state.Text != "Not installed" || !ff.install.Visible() || ff.remove.Visible() {
		t.Errorf("firefox row: state %q, install shown %v, remove shown %v", ff.state.Text, ff.install.Visible(), ff.remove.Visible())
	}
	vlc := c.rows["tis-vlc"]
	if vlc.state.Text != "Installed: 3.0.21-1" || vlc.install.Visible() || !vlc.remove.Visible() {
		t.Errorf("vlc row: state %q, install shown %v, remove shown %v", vlc.state.Text, vlc.install.Visible(), vlc.remove.Visible())
	}
	zip := c.rows["tis-7zip"]
	if zip.install.Text != "Update" || !zip.remove.Visible() || !strings.Contains(zip.state.Text, "24.08-1 available") {
		t.Errorf("7zip row: state %q, install %q", zip.state.Text, zip.install.Text)
	}
	if ff.icon.Resource != Icon {
		t.Error("a package without an icon should show the default icon")
	}
	if c.empty.Visible() {
		t.Error("the empty-list message is shown with packages listed")
	}
	if c.status.Text != "3 packages available." {
		t.Errorf("status = %q", c.status.Text)
	}
}

func TestCatalogueLocalizedDescription(t *testing.T) {
	test.NewTempApp(t)
	c := New(&fakeAgent{pkgs: demoPackages()}, Config{Go: func(f func()) { f() }, Locale: "fr-FR"})
	t.Cleanup(c.Close)
	c.Load()
	if got := c.rows["tis-firefox"].desc.Text; got != "Navigateur web Mozilla Firefox  [Internet]" {
		t.Errorf("description in fr-FR = %q", got)
	}
	if got := c.rows["tis-vlc"].desc.Text; got != "VLC media player  [Media]" {
		t.Errorf("description without a French one = %q", got)
	}
	c.search.SetText("navigateur")
	if got := c.shown(); !slices.Equal(got, []string{"tis-firefox"}) {
		t.Errorf("search in the shown description: %v", got)
	}
}

func TestCatalogueSearchAndCategory(t *testing.T) {
	fa := &fakeAgent{pkgs: demoPackages()}
	c := newTestCatalogue(t, fa)

	test.Type(c.search, "MEDIA")
	if got := c.shown(); !slices.Equal(got, []string{"tis-vlc"}) {
		t.Errorf("search MEDIA: shown %v", got)
	}
	c.search.SetText("web firefox")
	if got := c.shown(); !slices.Equal(got, []string{"tis-firefox"}) {
		t.Errorf("search \"web firefox\": shown %v", got)
	}
	c.search.SetText("nothing like this")
	if got := c.shown(); len(got) != 0 || !c.empty.Visible() || !strings.Contains(c.empty.Text, "matches") {
		t.Errorf("search without match: shown %v, empty %q (visible %v)", got, c.empty.Text, c.empty.Visible())
	}

	c.search.SetText("")
	c.category.SetSelected("Utilities")
	if got := c.shown(); !slices.Equal(got, []string{"tis-7zip"}) {
		t.Errorf("category Utilities: shown %v (the admin-only package stays hidden)", got)
	}
	c.search.SetText("vlc")
	if got := c.shown(); len(got) != 0 {
		t.Errorf("category Utilities + search vlc: shown %v", got)
	}
	c.search.SetText("")
	c.category.SetSelected(allCategories)
	if got := c.shown(); len(got) != 3 {
		t.Errorf("all categories: shown %v", got)
	}
}

func TestCatalogueInstallFollowsTheTask(t *testing.T) {
	fa := &fakeAgent{pkgs: demoPackages()}
	c := newTestCatalogue(t, fa)
	var seq int64
	ff := c.rows["tis-firefox"]

	test.Tap(ff.install)
	want := []wire.LocalTaskRequest{{Kind: wire.LocalKindInstall, Packages: []string{"tis-firefox"}}}
	if got := fa.taskRequests(); !slices.EqualFunc(got, want, func(a, b wire.LocalTaskRequest) bool {
		return a.Kind == b.Kind && slices.Equal(a.Packages, b.Packages)
	}) {
		t.Fatalf("StartTask calls = %+v, want %+v", got, want)
	}
	if ff.state.Text != "Waiting for the agent…" || !ff.bar.Visible() || !ff.install.Disabled() {
		t.Errorf("queued: state %q, bar shown %v, install disabled %v", ff.state.Text, ff.bar.Visible(), ff.install.Disabled())
	}

	task := wire.LocalTask{ID: 1, Kind: wire.LocalKindInstall, Packages: []string{"tis-firefox"}, State: wire.LocalStateRunning, Progress: 40, Message: "downloading"}
	fa.push(wire.LocalTask{ID: 99, Kind: wire.LocalKindUpdate, State: wire.LocalStateRunning, Progress: 10}) // someone else's
	fa.push(task)
	pump(t, c, &seq)
	if ff.bar.Value != 0.4 || !strings.Contains(ff.state.Text, "40%") || !strings.Contains(ff.state.Text, "downloading") {
		t.Errorf("running: bar %v, state %q", ff.bar.Value, ff.state.Text)
	}
	if c.rows["tis-vlc"].bar.Visible() {
		t.Error("another task's event shown on an unrelated row")
	}

	fa.setInstalled("tis-firefox", true)
	task.State, task.Progress, task.Message = wire.LocalStateDone, 100, ""
	fa.push(task)
	pump(t, c, &seq)
	if ff.state.Text != "Installed: 128.0-2" || ff.bar.Visible() || ff.install.Visible() || !ff.remove.Visible() {
		t.Errorf("done: state %q, bar shown %v, install shown %v, remove shown %v",
			ff.state.Text, ff.bar.Visible(), ff.install.Visible(), ff.remove.Visible())
	}
}

func TestCatalogueRemove(t *testing.T) {
	fa := &fakeAgent{pkgs: demoPackages()}
	c := newTestCatalogue(t, fa)
	var seq int64
	vlc := c.rows["tis-vlc"]

	test.Tap(vlc.remove)
	got := fa.taskRequests()
	if len(got) != 1 || got[0].Kind != wire.LocalKindRemove || !slices.Equal(got[0].Packages, []string{"tis-vlc"}) {
		t.Fatalf("StartTask calls = %+v", got)
	}
	fa.push(wire.LocalTask{ID: 1, Kind: wire.LocalKindRemove, Packages: []string{"tis-vlc"}, State: wire.LocalStateError, Message: "uninstall() raised"})
	pump(t, c, &seq)
	if !strings.Contains(vlc.state.Text, "removal failed: uninstall() raised") || vlc.state.Importance != widget.DangerImportance {
		t.Errorf("failed removal: state %q (importance %v)", vlc.state.Text, vlc.state.Importance)
	}
	if vlc.remove.Disabled() {
		t.Error("remove stays disabled after the task failed")
	}
}

func TestCatalogueEventBeforeStartTaskAnswer(t *testing.T) {
	fa := &fakeAgent{pkgs: demoPackages()}
	c := newTestCatalogue(t, fa)
	var seq int64
	// The task's first event arrives before the window follows the task.
	fa.push(wire.LocalTask{ID: 1, Kind: wire.LocalKindInstall, Packages: []string{"tis-firefox"}, State: wire.LocalStateRunning, Progress: 70})
	pump(t, c, &seq)
	test.Tap(c.rows["tis-firefox"].install)
	if ff := c.rows["tis-firefox"]; ff.bar.Value != 0.7 {
		t.Errorf("bar = %v, want the state of the earlier event (0.7)", ff.bar.Value)
	}
}

func TestCatalogueForbiddenPackage(t *testing.T) {
	fa := &fakeAgent{pkgs: demoPackages(), forbidden: map[string]bool{"tis-firefox": true}}
	c := newTestCatalogue(t, fa)
	ff := c.rows["tis-firefox"]

	test.Tap(ff.install)
	if len(fa.taskRequests()) != 1 {
		t.Fatalf("StartTask calls = %d, want 1", len(fa.taskRequests()))
	}
	if !strings.Contains(strings.ToLower(ff.state.Text), "not allowed for your account") {
		t.Errorf("refused install: state %q", ff.state.Text)
	}
	if ff.state.Importance != widget.DangerImportance || ff.bar.Visible() || ff.install.Disabled() {
		t.Errorf("refused install: importance %v, bar shown %v, install disabled %v", ff.state.Importance, ff.bar.Visible(), ff.install.Disabled())
	}
	if other := c.rows["tis-vlc"]; other.state.Text != "Installed: 3.0.21-1" {
		t.Errorf("another row changed: %q", other.state.Text)
	}
}

func TestCatalogueAgentNotRunning(t *testing.T) {
	down := fmt.Errorf("GET /v1/selfservice: %w: dial /run/waptagent.sock: connect: no such file or directory", localclient.ErrNotRunning)
	fa := &fakeAgent{pkgs: demoPackages(), listErr: down}
	c := newTestCatalogue(t, fa)

	if len(c.shown()) != 0 {
		t.Errorf("shown %v with no agent", c.shown())
	}
	if !strings.Contains(c.status.Text, "not running") || c.status.Importance != widget.DangerImportance {
		t.Errorf("status = %q (importance %v)", c.status.Text, c.status.Importance)
	}
	if c.refresh.Disabled() {
		t.Error("Refresh is disabled after a failed load")
	}

	// The agent comes back; Refresh lists the packages, then it stops
	// again before an install.
	fa.mu.Lock()
	fa.listErr = nil
	fa.mu.Unlock()
	test.Tap(c.refresh)
	if len(c.shown()) != 3 || strings.Contains(c.status.Text, "not running") {
		t.Fatalf("after Refresh: shown %v, status %q", c.shown(), c.status.Text)
	}
	fa.mu.Lock()
	fa.startErr = fmt.Errorf("POST /v1/tasks: %w", down)
	fa.mu.Unlock()
	ff := c.rows["tis-firefox"]
	test.Tap(ff.install)
	if !strings.Contains(ff.state.Text, "not running") || !strings.Contains(c.status.Text, "not running") {
		t.Errorf("install with no agent: row %q, status %q", ff.state.Text, c.status.Text)
	}
}

func TestCatalogueFollowsRunningTaskAtStart(t *testing.T) {
	running := wire.LocalTask{ID: 7, Kind: wire.LocalKindInstall, Packages: []string{"tis-firefox"}, State: wire.LocalStateRunning, Progress: 50}
	fa := &fakeAgent{pkgs: demoPackages(), status: wire.LocalStatus{Running: &running}}
	c := newTestCatalogue(t, fa)
	if ff := c.rows["tis-firefox"]; !ff.bar.Visible() || ff.bar.Value != 0.5 {
		t.Errorf("running task at start: bar shown %v, value %v", ff.bar.Visible(), ff.bar.Value)
	}
}

func TestCatalogueEmpty(t *testing.T) {
	c := newTestCatalogue(t, &fakeAgent{})
	if !c.empty.Visible() || !strings.Contains(c.empty.Text, "No software") {
		t.Errorf("empty catalogue: %q (visible %v)", c.empty.Text, c.empty.Visible())
	}
}
