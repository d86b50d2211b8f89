package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/wire"
)

// ctlOf builds a control from key/value pairs.
func ctlOf(kv ...string) *control.Control {
	c := control.New()
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

func cand(name, ver string, kv ...string) resolve.Candidate {
	return resolve.Candidate{Repo: "wapt", Control: ctlOf(append([]string{"package", name, "version", ver}, kv...)...)}
}

// logs collects a daemon's log lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logs) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// runDaemon starts a daemon over eng with cfg (Engine and schedule set
// here) until the test ends.
func runDaemon(t *testing.T, eng *fakeEngine, cfg Config) *Daemon {
	t.Helper()
	cfg.Engine, cfg.NoStartupUpdate = eng, true
	d := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// waitTask waits until task id is finished and returns it.
func waitTask(t *testing.T, d *Daemon, id int64) wire.LocalTask {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ts, _ := d.Tasks(context.Background(), wire.LocalCaller{})
		for _, tk := range ts {
			if tk.ID == id && tk.State != wire.LocalStateQueued && tk.State != wire.LocalStateRunning {
				return tk
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("task %d not finished", id)
	return wire.LocalTask{}
}

// selfServiceEngine is a fake engine with a catalogue, installed packages
// and three rules packages, one of them broken and one too large.
func selfServiceEngine() *fakeEngine {
	return &fakeEngine{
		catalog: []resolve.Candidate{
			cand("tis-allowed", "2-1", "description", "Allowed", "description_fr", "Autorisé", "name", "Allowed app"),
			cand("tis-forbidden", "1-1"),
			cand("tis-office", "5-1", "categories", "Office, Utilities"),
			cand("tis-everyone", "1-1"),
			cand("host-1", "1", "section", "host"),
		},
		installed: []engine.Installed{
			{Package: "tis-office", Version: "4-1", Section: "base", Status: engine.StatusOK,
				Control: "package: tis-office\nversion: 4-1\ncategories: Office\n"},
			{Package: "tis-forbidden", Version: "1-1", Section: "base", Status: engine.StatusOK,
				Control: "package: tis-forbidden\nversion: 1-1\n"},
		},
		rules: []engine.SelfServiceRules{
			{Package: "rules-staff", Version: "1", Data: []byte(`{"Staff": ["tis-allowed", "category:office"], "*": ["tis-everyone"]}`)},
			{Package: "rules-broken", Version: "3", Data: []byte(`{"staff": "tis-forbidden"}`)},
			{Package: "rules-big", Version: "1", Err: "WAPT/selfservice.json is larger than 1048576 bytes"},
			{Package: "rules-empty", Version: "1"},
		},
	}
}

// TestSelfServiceStartTask: a user may install or remove what the rules
// grant them, by name only; anything else is refused with the reason, and
// an administrator needs no rule.
func TestSelfServiceStartTask(t *testing.T) {
	ctx := context.Background()
	eng := selfServiceEngine()
	lg := &logs{}
	d := runDaemon(t, eng, Config{Logf: lg.logf})
	bob := wire.LocalCaller{UID: "1000", Username: "bob", Groups: []string{"bob", "staff"}}
	eve := wire.LocalCaller{UID: "1001", Username: "eve", Groups: []string{"eve"}}
	root := wire.LocalCaller{UID: "0", Username: "root", Admin: true}

	tests := []struct {
		name   string
		caller wire.LocalCaller
		kind   string
		pkgs   []string
		call   string // engine call made, "" when refused
		reason string // substring of the refusal
	}{
		{"granted by name", bob, wire.LocalKindInstall, []string{"tis-allowed"}, "install-packages tis-allowed", ""},
		{"granted by category", bob, wire.LocalKindInstall, []string{"TIS-OFFICE"}, "install-packages TIS-OFFICE", ""},
		{"granted to everyone", eve, wire.LocalKindInstall, []string{"tis-everyone"}, "install-packages tis-everyone", ""},
		{"several, all granted", bob, wire.LocalKindInstall, []string{"tis-allowed", "tis-everyone"}, "install-packages tis-allowed,tis-everyone", ""},
		{"remove granted", bob, wire.LocalKindRemove, []string{"tis-office"}, "remove tis-office", ""},
		{"not granted", bob, wire.LocalKindInstall, []string{"tis-forbidden"}, "", "no rule grants tis-forbidden to bob"},
		{"one of several not granted", bob, wire.LocalKindInstall, []string{"tis-allowed", "tis-forbidden"}, "", "tis-forbidden"},
		{"other user", eve, wire.LocalKindInstall, []string{"tis-allowed"}, "", "no rule grants tis-allowed to eve"},
		{"no rule at all", wire.LocalCaller{UID: "1002", Username: "mallory"}, wire.LocalKindRemove, []string{"tis-forbidden"}, "", "no rule grants tis-forbidden"},
		{"remove not granted", bob, wire.LocalKindRemove, []string{"tis-forbidden"}, "", "no rule grants tis-forbidden"},
		{"remove not installed", bob, wire.LocalKindRemove, []string{"tis-allowed"}, "", "tis-allowed is not installed"},
		{"not offered", bob, wire.LocalKindInstall, []string{"tis-unknown"}, "", "not offered"},
		{"host package", bob, wire.LocalKindInstall, []string{"host-1"}, "", "never offered by self-service"},
		{"version constraint", bob, wire.LocalKindInstall, []string{"tis-allowed(=1-1)"}, "", "without a version"},
		{"package file", bob, wire.LocalKindInstall, []string{"/tmp/tis-allowed.wapt"}, "", "not offered"},
		{"admin, no rule needed", root, wire.LocalKindInstall, []string{"tis-forbidden"}, "install-packages tis-forbidden", ""},
		{"admin removes", root, wire.LocalKindRemove, []string{"tis-forbidden"}, "remove tis-forbidden", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(eng.Calls())
			task, err := d.StartTask(ctx, tt.caller, wire.LocalTaskRequest{Kind: tt.kind, Packages: tt.pkgs})
			if tt.call == "" {
				if !errors.Is(err, localapi.ErrForbidden) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("StartTask = %+v, %v; want ErrForbidden with %q", task, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			if got := waitTask(t, d, task.ID); got.State != wire.LocalStateDone {
				t.Fatalf("task %+v", got)
			}
			if calls := eng.Calls()[before:]; !slices.Equal(calls, []string{tt.call}) {
				t.Errorf("engine calls %v, want [%s]", calls, tt.call)
			}
		})
	}
	if n := lg.count("rules of rules-broken 3 ignored"); n != 1 {
		t.Errorf("the broken rules file was logged %d times, want once", n)
	}
	if n := lg.count("rules of rules-big 1 ignored"); n != 1 {
		t.Errorf("the oversized rules file was logged %d times, want once", n)
	}
	if lg.count("rules-empty") != 0 {
		t.Error("a rules package without a file was logged as broken")
	}
}

// TestSelfServiceRecheckedWhenRun: the rules are checked again when the
// task runs; a grant withdrawn in between stops it.
func TestSelfServiceRecheckedWhenRun(t *testing.T) {
	ctx := context.Background()
	eng := selfServiceEngine()
	eng.block = make(chan struct{})
	d := runDaemon(t, eng, Config{Logf: t.Logf})
	root := wire.LocalCaller{UID: "0", Username: "root", Admin: true}
	bob := wire.LocalCaller{UID: "1000", Username: "bob", Groups: []string{"staff"}}
	first, err := d.StartTask(ctx, root, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{"tis-big"}})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := d.StartTask(ctx, bob, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{"tis-allowed"}})
	if err != nil {
		t.Fatal(err)
	}
	eng.setRules() // the rules package is removed while bob's task waits
	close(eng.block)
	waitTask(t, d, first.ID)
	got := waitTask(t, d, queued.ID)
	if got.State != wire.LocalStateError || !strings.Contains(got.Message, "forbidden") {
		t.Errorf("task after the rules went = %+v", got)
	}
	if slices.Contains(eng.Calls(), "install-packages tis-allowed") {
		t.Errorf("engine calls %v", eng.Calls())
	}
}

// TestSelfServiceCatalogue: each caller sees what the rules grant them,
// with descriptions in the agent's locale; an administrator sees
// everything offered, never host packages.
func TestSelfServiceCatalogue(t *testing.T) {
	ctx := context.Background()
	eng := selfServiceEngine()
	d := runDaemon(t, eng, Config{Logf: t.Logf, Locales: []string{"fr_FR", "en"}})
	names := func(ps []wire.SelfServicePackage) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Package)
			if !p.Allowed {
				t.Errorf("%s: Allowed = false", p.Package)
			}
		}
		return strings.Join(out, ",")
	}
	bob := wire.LocalCaller{UID: "1000", Username: "bob", Groups: []string{"staff"}}
	ps, err := d.SelfService(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(ps); got != "tis-allowed,tis-office,tis-everyone" {
		t.Errorf("bob sees %s", got)
	}
	a := ps[0]
	if a.Version != "2-1" || a.Name != "Allowed app" || a.Description != "Autorisé" || a.Descriptions["fr"] != "Autorisé" || a.InstalledVersion != "" {
		t.Errorf("tis-allowed = %+v", a)
	}
	o := ps[1]
	if o.InstalledVersion != "4-1" || o.Category != "Office" || !slices.Equal(o.Categories, []string{"Office", "Utilities"}) || o.Descriptions != nil {
		t.Errorf("tis-office = %+v", o)
	}
	if ps, err := d.SelfService(ctx, wire.LocalCaller{UID: "1001", Username: "eve"}); err != nil || names(ps) != "tis-everyone" {
		t.Errorf("eve sees %v, %v", ps, err)
	}
	eng.setRules()
	if ps, err := d.SelfService(ctx, bob); err != nil || ps == nil || len(ps) != 0 {
		t.Errorf("without rules bob sees %v, %v; want an empty list", ps, err)
	}
	ps, err = d.SelfService(ctx, wire.LocalCaller{UID: "0", Username: "root", Admin: true})
	if err != nil || names(ps) != "tis-allowed,tis-forbidden,tis-office,tis-everyone" {
		t.Errorf("root sees %v, %v", names(ps), err)
	}
}

// TestUpgradeOnlyTask: an upgrade naming packages, as waptexit sends it,
// upgrades only those, for any user, without an update first.
func TestUpgradeOnlyTask(t *testing.T) {
	ctx := context.Background()
	eng := &fakeEngine{}
	d := runDaemon(t, eng, Config{Logf: t.Logf})
	user := wire.LocalCaller{UID: "1000", Username: "bob"}
	task, err := d.StartTask(ctx, user, wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade, Packages: []string{"firefox", "7zip"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitTask(t, d, task.ID); got.State != wire.LocalStateDone {
		t.Fatalf("task %+v", got)
	}
	if !slices.Equal(eng.Calls(), []string{"upgrade-only firefox,7zip"}) {
		t.Errorf("engine calls %v", eng.Calls())
	}
	if st, _ := d.Status(ctx, user); st.LastUpgrade == nil || !st.LastUpgrade.OK {
		t.Errorf("last upgrade %+v", st.LastUpgrade)
	}
	if _, err := d.StartTask(ctx, user, wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade, Packages: []string{"firefox(>=2)"}}); !errors.Is(err, localapi.ErrInvalid) {
		t.Errorf("upgrade with a version: %v, want ErrInvalid", err)
	}
}

// TestStatusExitPolicy: the status carries the configured waptexit policy
// (WAPT's defaults without one) and what waptexit filters pending
// packages on.
func TestStatusExitPolicy(t *testing.T) {
	ctx := context.Background()
	user := wire.LocalCaller{UID: "1000", Username: "bob"}
	st, err := runDaemon(t, &fakeEngine{}, Config{}).Status(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if st.Exit == nil || !st.Exit.AllowCancel || st.Exit.Countdown != 10 || st.Exit.MaxDuration != 0 || st.Exit.Priorities != nil {
		t.Errorf("default exit policy %+v", st.Exit)
	}
	policy := &wire.ExitPolicy{AllowCancel: false, Priorities: []string{"critical"}, OnlyIfNotProcessRunning: true, MaxDuration: 600, Countdown: 30}
	d := runDaemon(t, &fakeEngine{}, Config{Exit: policy})
	st, err = d.Status(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if st.Exit == nil || st.Exit.AllowCancel || !slices.Equal(st.Exit.Priorities, []string{"critical"}) || !st.Exit.OnlyIfNotProcessRunning ||
		st.Exit.MaxDuration != 600 || st.Exit.Countdown != 30 {
		t.Errorf("exit policy %+v", st.Exit)
	}
	st.Exit.Priorities[0] = "changed"
	if policy.Priorities[0] != "critical" {
		t.Error("the status shares the configured policy")
	}

	p := engine.PackageStatus{Package: "tis-firefox", State: engine.StateNeedUpgrade, Installed: "1", Available: "2"}
	c := ctlOf("package", "tis-firefox", "version", "2", "priority", " critical ", "impacted_process", "firefox.exe, ,firefox", "description", "Browser")
	got := pendingPackage(p, c)
	want := wire.LocalPackage{Package: "tis-firefox", Version: "2", InstalledVersion: "1", State: "NEED-UPGRADE", Description: "Browser",
		Section: "base", Priority: "critical", ImpactedProcess: []string{"firefox.exe", "firefox"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pendingPackage = %+v, want %+v", got, want)
	}
	if got := pendingPackage(engine.PackageStatus{Package: "old", State: engine.StateNeedRemove, Installed: "1"}, nil); got.Priority != "" || got.Section != "" {
		t.Errorf("removal = %+v", got)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	c := ctlOf("description", "Plain", "description_fr", "Français", "description_de", "Deutsch", "description_", "odd")
	tests := []struct {
		locales []string
		want    string
	}{
		{nil, "Plain"},
		{[]string{"en"}, "Plain"},
		{[]string{"fr"}, "Français"},
		{[]string{"FR_be"}, "Français"},
		{[]string{"it", "de", "fr"}, "Deutsch"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.locales, ","), func(t *testing.T) {
			t.Parallel()
			got, all := describe(c, tt.locales)
			if got != tt.want || len(all) != 2 || all["de"] != "Deutsch" {
				t.Errorf("describe = %q, %v; want %q", got, all, tt.want)
			}
		})
	}
}
