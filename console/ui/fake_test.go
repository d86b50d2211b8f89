package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

var _ Core = (*fakeCore)(nil)

// testNow is the clock of every test console.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeStatuses cycle over the fake hosts; index 4 is a host not seen for
// 10 hours (unreachable).
var fakeStatuses = []string{wire.StateOK, wire.StateNeedUpgrade, wire.StateError, wire.StateNeedInstall, wire.StateOK}

// fakeCore is an in-memory Core with n hosts; it records the calls.
type fakeCore struct {
	mu         sync.Mutex
	n          int
	hostsCalls []client.HostQuery
	actions    []sentAction
	polls      int
	built      []*admin.Draft
	groups     []string
	rights     map[string][]string
}

type sentAction struct {
	kind            string
	hosts, packages []string
	force           bool
}

func newFakeCore(n int) *fakeCore { return &fakeCore{n: n, rights: map[string][]string{}} }

func fakeHost(i int) wire.HostSummary {
	h := wire.HostSummary{
		UUID: fmt.Sprintf("uuid-%06d", i), FQDN: fmt.Sprintf("pc%06d.example.lan", i), Hostname: fmt.Sprintf("pc%06d", i),
		OS: "linux", OSVersion: "12", Status: fakeStatuses[i%len(fakeStatuses)], Pending: i % 3,
		LastSeen: testNow.Add(-5 * time.Minute),
	}
	if i%len(fakeStatuses) == 4 {
		h.LastSeen = testNow.Add(-10 * time.Hour)
	}
	return h
}

func (f *fakeCore) calls() []client.HostQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]client.HostQuery(nil), f.hostsCalls...)
}

func (f *fakeCore) AdminName() string { return "demo-admin" }
func (f *fakeCore) Settings() admin.Settings {
	return admin.Settings{ServerURL: "https://wapt.test", CertPath: "admin.crt", KeyPath: "admin.pem"}
}
func (f *fakeCore) Close() error { return nil }

func (f *fakeCore) Hosts(ctx context.Context, q client.HostQuery) (wire.HostList, error) {
	f.mu.Lock()
	f.hostsCalls = append(f.hostsCalls, q)
	f.mu.Unlock()
	l := wire.HostList{Total: f.n, Offset: q.Offset, Limit: q.Limit}
	for i := q.Offset; i < f.n && i < q.Offset+q.Limit; i++ {
		l.Hosts = append(l.Hosts, fakeHost(i))
	}
	return l, nil
}

func (f *fakeCore) Host(ctx context.Context, uuid string) (wire.HostDetail, error) {
	var i int
	fmt.Sscanf(uuid, "uuid-%d", &i)
	return wire.HostDetail{
		Summary:  fakeHost(i),
		Packages: []wire.PackageState{{Package: "firefox", Version: "115.0", State: wire.StateError, LastError: "exit 1603"}},
		Sections: map[string]json.RawMessage{
			"software": json.RawMessage(`[{"name":"Firefox","version":"115.0"},{"name":"7-Zip","version":"23.01"},{"name":"LibreOffice","version":"7.5"}]`),
		},
	}, nil
}

func (f *fakeCore) History(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error) {
	return []wire.HostEvent{{At: testNow, Kind: wire.EventError, Target: "firefox", Detail: "exit 1603"}}, nil
}

func (f *fakeCore) Dashboard(ctx context.Context) (admin.Dashboard, error) {
	return admin.Dashboard{Total: 10, At: testNow,
		ByStatus:  map[string]int{wire.StateOK: 6, wire.StateNeedUpgrade: 2, wire.StateError: 1, admin.StatusUnreachable: 1},
		TopErrors: []admin.ErrorCount{{Package: "firefox", Hosts: 1}}}, nil
}

func (f *fakeCore) SendAction(ctx context.Context, kind string, hosts, packages []string, force bool) (wire.ActionAccepted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, sentAction{kind, hosts, packages, force})
	return wire.ActionAccepted{ID: fmt.Sprintf("act-%d", len(f.actions)), Hosts: len(hosts), Connected: len(hosts)}, nil
}

func (f *fakeCore) ActionResults(ctx context.Context, id string) (wire.ActionDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	a := f.actions[len(f.actions)-1]
	d := wire.ActionDetail{ActionSummary: wire.ActionSummary{ID: id, Action: a.kind}}
	for _, h := range a.hosts {
		// The first poll finds the action running, the next one done.
		state := wire.ActionRunning
		if f.polls > 1 {
			state = wire.ActionDone
		}
		d.Results = append(d.Results, wire.HostActionState{Host: h, State: state})
	}
	return d, nil
}

func (f *fakeCore) HostDepends(ctx context.Context, uuid string) ([]string, []string, error) {
	return []string{"office"}, nil, nil
}
func (f *fakeCore) SetHostDepends(ctx context.Context, uuid string, depends, conflicts []string) (wire.PackageInfo, error) {
	return wire.PackageInfo{Package: uuid, Version: "1"}, nil
}
func (f *fakeCore) SaveGroup(ctx context.Context, name, description string, depends []string) (wire.PackageInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, name+":"+strings.Join(depends, ","))
	return wire.PackageInfo{Package: name, Version: "1"}, nil
}
func (f *fakeCore) Packages(ctx context.Context) ([]wire.PackageInfo, error) {
	return []wire.PackageInfo{
		{Filename: "firefox_115.0_all.wapt", Package: "firefox", Version: "115.0", Section: "base"},
		{Filename: "7zip_23.1_all.wapt", Package: "7zip", Version: "23.1", Section: "base"},
		{Filename: "office_1_all.wapt", Package: "office", Version: "1", Section: "group", Depends: "firefox"},
	}, nil
}
func (f *fakeCore) DeletePackage(ctx context.Context, filename string) error { return nil }
func (f *fakeCore) BuildUpload(ctx context.Context, d *admin.Draft, progress func(step string, done, total int64)) (wire.PackageInfo, error) {
	progress("build", 1, 3)
	progress("sign", 2, 3)
	progress("upload", 3, 3)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.built = append(f.built, d)
	return wire.PackageInfo{Filename: d.Control.Package() + "_" + d.Control.Get("version") + "_all.wapt", Signer: "demo-admin"}, nil
}
func (f *fakeCore) Import(ctx context.Context, path string, trustDir string) (wire.PackageInfo, error) {
	return wire.PackageInfo{Filename: "imported.wapt"}, nil
}
func (f *fakeCore) Duplicate(ctx context.Context, filename, newName, outDir string) (*admin.Draft, error) {
	return &admin.Draft{Dir: outDir}, nil
}
func (f *fakeCore) Admins(ctx context.Context) (wire.AdminList, error) {
	return wire.AdminList{Admins: []wire.AdminInfo{{Name: "demo-admin", Fingerprint: "ab12", Rights: []string{wire.RightAdmin}}}}, nil
}
func (f *fakeCore) RegisterAdmin(ctx context.Context, certPEM []byte, rights []string) error {
	return nil
}
func (f *fakeCore) SetAdminRights(ctx context.Context, fingerprint string, rights []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rights[fingerprint] = rights
	return nil
}

// queue runs background work when the test drains it, on the test
// goroutine: deterministic, and fyne.Do runs inline with the test driver.
type queue struct {
	mu  sync.Mutex
	fns []func()
}

func (q *queue) Go(f func()) {
	q.mu.Lock()
	q.fns = append(q.fns, f)
	q.mu.Unlock()
}

// drain runs the queued work, including what it queues.
func (q *queue) drain() {
	for {
		q.mu.Lock()
		if len(q.fns) == 0 {
			q.mu.Unlock()
			return
		}
		f := q.fns[0]
		q.fns = q.fns[1:]
		q.mu.Unlock()
		f()
	}
}

// fakeParseFilter is a tiny stand-in for admin.ParseFilter.
func fakeParseFilter(text string) (client.HostQuery, error) {
	var q client.HostQuery
	var free []string
	for _, tok := range strings.Fields(text) {
		k, v, ok := strings.Cut(tok, ":")
		switch {
		case !ok:
			free = append(free, tok)
		case k == "status":
			q.Status = v
		case k == "software":
			q.Package = v
		case k == "group":
			q.Group = v
		case k == "os":
			q.OS = v
		default:
			return q, &admin.FieldErrors{k: "unknown filter"}
		}
	}
	q.Text = strings.Join(free, " ")
	return q, nil
}

// fakeValidate checks the version like admin's Draft.Validate does.
func fakeValidate(d *admin.Draft) error {
	fe := admin.FieldErrors{}
	if d.Control.Package() == "" {
		fe["package"] = "required"
	}
	if _, err := version.Parse(d.Control.Get("version")); err != nil {
		fe["version"] = err.Error()
	}
	if len(fe) > 0 {
		return &fe
	}
	return nil
}

// harness is a console on a test window with a fake core.
type harness struct {
	t    *testing.T
	c    *Console
	w    fyne.Window
	core *fakeCore
	q    *queue
	// generated records GenerateCert calls.
	generated []admin.CertSpec
}

func newHarness(t *testing.T, core *fakeCore) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1280, 800))
	h := &harness{t: t, w: w, core: core, q: &queue{}}
	cfg := Config{
		Connect: func(ctx context.Context, s admin.Settings, ask admin.Prompt) (Core, error) { return core, nil },
		RegisterFirstAdmin: func(ctx context.Context, s admin.Settings, pw string, rights []string) error {
			return nil
		},
		ParseFilter:   fakeParseFilter,
		LoadSettings:  func(string) (admin.Settings, error) { return admin.Settings{}, nil },
		SaveSettings:  func(string, admin.Settings) error { return nil },
		NewDraft:      func(dir, name string) (*admin.Draft, error) { return &admin.Draft{Dir: dir}, nil },
		LoadDraft:     func(dir string) (*admin.Draft, error) { return &admin.Draft{Dir: dir}, nil },
		ValidateDraft: fakeValidate,
		SaveDraft:     func(*admin.Draft) error { return nil },
		DraftFiles:    func(*admin.Draft) ([]string, error) { return []string{"setup.msi"}, nil },
		AddFile:       func(*admin.Draft, string) error { return nil },
		RemoveFile:    func(*admin.Draft, string) error { return nil },
		CheckScript: func(ctx context.Context, d *admin.Draft, hook string) admin.Preview {
			return admin.Preview{Calls: []string{"run(['msiexec', '/i', 'setup.msi'])"}}
		},
		GenerateCert: func(spec admin.CertSpec) (string, string, error) {
			h.generated = append(h.generated, spec)
			return spec.OutDir + "/" + spec.CN + ".pem", spec.OutDir + "/" + spec.CN + ".crt", nil
		},
		Go:        h.q.Go,
		Now:       func() time.Time { return testNow },
		PollEvery: time.Millisecond,
	}
	h.c = New(a, w, cfg)
	t.Cleanup(h.c.Close)
	h.c.Start()
	return h
}

// connect fills the connection form, taps Connect and runs the work.
func (h *harness) connect() {
	h.t.Helper()
	h.c.conn.server.SetText("https://wapt.test")
	h.c.conn.cert.entry.SetText("admin.crt")
	h.c.conn.key.entry.SetText("admin.pem")
	test.Tap(h.c.conn.connectBtn)
	h.q.drain()
	if h.c.core == nil {
		h.t.Fatalf("not connected: %q", h.c.conn.errText.Text)
	}
}

// cells returns the host grid's visible cells by row and column.
func (h *harness) cells() map[[2]int]*hostCell {
	out := map[[2]int]*hostCell{}
	walk(h.c.hosts.table, func(o fyne.CanvasObject) {
		if c, ok := o.(*hostCell); ok && c.Visible() {
			out[[2]int{c.row, c.col}] = c
		}
	})
	return out
}

// walk visits o and what it shows, through the renderers in use (unlike
// test.LaidOutObjects, which makes new ones).
func walk(o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	visit(o)
	switch x := o.(type) {
	case fyne.Widget:
		for _, child := range test.WidgetRenderer(x).Objects() {
			walk(child, visit)
		}
	case *fyne.Container:
		for _, child := range x.Objects {
			walk(child, visit)
		}
	}
}
