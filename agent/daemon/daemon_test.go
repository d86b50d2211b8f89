package daemon

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// fakeEngine records calls; block, when set, holds Install until closed.
// catalog, installed and rules feed self-service (set them before use, or
// through setRules).
type fakeEngine struct {
	mu        sync.Mutex
	calls     []string
	block     chan struct{}
	fail      error
	catalog   []resolve.Candidate
	installed []engine.Installed
	rules     []engine.SelfServiceRules
}

func (f *fakeEngine) rec(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeEngine) Update(context.Context) (engine.UpdateResult, error) {
	f.rec("update")
	return engine.UpdateResult{}, nil
}
func (f *fakeEngine) DownloadUpgrade(context.Context) (engine.RunReport, error) {
	f.rec("download")
	return engine.RunReport{}, nil
}
func (f *fakeEngine) Upgrade(context.Context) (engine.RunReport, error) {
	f.rec("upgrade")
	return engine.RunReport{}, f.fail
}
func (f *fakeEngine) Install(ctx context.Context, args ...string) (engine.RunReport, error) {
	f.rec("install " + join(args))
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return engine.RunReport{}, ctx.Err()
		}
	}
	return engine.RunReport{Outcomes: []engine.Outcome{{Package: args[0], Version: "1", Action: "install"}}}, nil
}
func (f *fakeEngine) InstallPackages(ctx context.Context, reqs ...string) (engine.RunReport, error) {
	f.rec("install-packages " + join(reqs))
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return engine.RunReport{}, ctx.Err()
		}
	}
	return engine.RunReport{Outcomes: []engine.Outcome{{Package: reqs[0], Version: "1", Action: "install"}}}, nil
}
func (f *fakeEngine) UpgradeOnly(_ context.Context, names ...string) (engine.RunReport, error) {
	f.rec("upgrade-only " + join(names))
	return engine.RunReport{}, nil
}
func (f *fakeEngine) Installed(context.Context) ([]engine.Installed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.installed), nil
}
func (f *fakeEngine) Catalog(context.Context) ([]resolve.Candidate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.catalog), nil
}
func (f *fakeEngine) SelfServiceRules(context.Context) ([]engine.SelfServiceRules, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rules), nil
}
func (f *fakeEngine) setRules(rs ...engine.SelfServiceRules) {
	f.mu.Lock()
	f.rules = rs
	f.mu.Unlock()
}
func (f *fakeEngine) Remove(_ context.Context, names ...string) (engine.RunReport, error) {
	f.rec("remove " + join(names))
	return engine.RunReport{}, nil
}
func (f *fakeEngine) Forget(_ context.Context, names ...string) error {
	f.rec("forget " + join(names))
	return nil
}
func (f *fakeEngine) Audit(context.Context, bool, ...string) ([]engine.AuditResult, string, error) {
	f.rec("audit")
	return nil, "OK", nil
}
func (f *fakeEngine) Status(context.Context) (engine.HostStatus, error) {
	return engine.HostStatus{State: engine.StateNeedUpgrade, HostUUID: "host-1",
		Packages: []engine.PackageStatus{{Package: "firefox", State: engine.StateNeedUpgrade, Installed: "1", Available: "2"}}}, nil
}
func (f *fakeEngine) HostUUID(context.Context) (string, error) { return "host-1", nil }

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// fakeUplink records results.
type fakeUplink struct {
	mu      sync.Mutex
	results []wire.ActionResult
}

func (u *fakeUplink) SendResult(r wire.ActionResult) {
	u.mu.Lock()
	u.results = append(u.results, r)
	u.mu.Unlock()
}
func (u *fakeUplink) Connected() bool { return true }

// states returns the states reported for action id, in order.
func (u *fakeUplink) states(id string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, r := range u.results {
		if r.ID == id {
			out = append(out, r.State)
		}
	}
	return out
}

func (u *fakeUplink) waitFinal(t *testing.T, id string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st := u.states(id)
		if len(st) > 0 && (wire.ActionFinal(st[len(st)-1]) || st[len(st)-1] == wire.ActionDuplicate) {
			return st
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("action %s not finished: %v", id, u.states(id))
	return nil
}

type admin struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func setup(t *testing.T) (*Daemon, *fakeEngine, *fakeUplink, admin, admin, context.CancelFunc) {
	t.Helper()
	now := time.Now()
	caKey, ca, err := certs.Generate(certs.Request{CN: "CA", Role: certs.RoleCA, KeyType: "ecdsa", Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	k, c, err := certs.Generate(certs.Request{CN: "alice", Role: certs.RoleSimple, KeyType: "ecdsa", Now: now.Add(-time.Hour), Issuer: ca, IssuerKey: caKey})
	if err != nil {
		t.Fatal(err)
	}
	ok, oc, err := certs.Generate(certs.Request{CN: "mallory", Role: certs.RoleCodeSigning, KeyType: "ecdsa", Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	eng, up := &fakeEngine{}, &fakeUplink{}
	d := New(Config{Engine: eng, Uplink: up, NoStartupUpdate: true, Logf: t.Logf,
		Verifier: &action.Verifier{Trust: signing.NewTrust(ca), Host: "host-1", Nonces: reqsign.NewMemoryNonces(100)}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, eng, up, admin{k, c}, admin{ok, oc}, cancel
}

func sign(t *testing.T, a admin, kind string, hosts []string, args action.Args) (string, json.RawMessage) {
	t.Helper()
	act, err := action.New(kind, hosts, args, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := action.Sign(act, a.key, []*x509.Certificate{a.cert})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return act.Nonce, raw
}

// TestActions: a signed action for this host runs once, its progress
// streamed back; refusals are reported with their reason and run nothing.
func TestActions(t *testing.T) {
	ctx := context.Background()
	d, eng, up, alice, mallory, _ := setup(t)
	id, raw := sign(t, alice, action.KindInstall, []string{"HOST-1"}, action.Args{Packages: []string{"firefox"}})
	d.HandleAction(ctx, raw)
	if got := up.waitFinal(t, id); !slices.Equal(got, []string{wire.ActionReceived, wire.ActionRunning, wire.ActionDone}) {
		t.Errorf("states %v", got)
	}
	d.HandleAction(ctx, raw) // replayed: acknowledged, not run again
	if got := up.waitFinal(t, id); got[len(got)-1] != wire.ActionDuplicate {
		t.Errorf("replay: %v", got)
	}
	if n := slices.Index(eng.Calls(), "install-packages firefox"); n < 0 || slices.Contains(eng.Calls()[n+1:], "install-packages firefox") {
		t.Errorf("engine calls %v: want one install", eng.Calls())
	}

	for _, tt := range []struct {
		name string
		id   string
		raw  json.RawMessage
	}{
		{"other host", "", nil},
		{"untrusted signer", "", nil},
		{"tampered", "", nil},
	} {
		switch tt.name {
		case "other host":
			tt.id, tt.raw = sign(t, alice, action.KindUpgrade, []string{"host-2"}, action.Args{})
		case "untrusted signer":
			tt.id, tt.raw = sign(t, mallory, action.KindUpgrade, []string{"host-1"}, action.Args{})
		case "tampered":
			var s action.Signed
			tt.id, tt.raw = sign(t, alice, action.KindRemove, []string{"host-1"}, action.Args{Packages: []string{"a"}})
			if err := json.Unmarshal(tt.raw, &s); err != nil {
				t.Fatal(err)
			}
			s.Action.Args.Packages = []string{"everything"}
			tt.raw, _ = s.Marshal()
		}
		t.Run(tt.name, func(t *testing.T) {
			before := len(eng.Calls())
			d.HandleAction(ctx, tt.raw)
			if got := up.waitFinal(t, tt.id); !slices.Equal(got, []string{wire.ActionRefused}) {
				t.Errorf("states %v", got)
			}
			if len(eng.Calls()) != before {
				t.Errorf("engine ran %v", eng.Calls()[before:])
			}
		})
	}
	// An upgrade action naming packages upgrades only those.
	uid, uraw := sign(t, alice, action.KindUpgrade, []string{"host-1"}, action.Args{Packages: []string{"firefox"}})
	d.HandleAction(ctx, uraw)
	if got := up.waitFinal(t, uid); got[len(got)-1] != wire.ActionDone || !slices.Contains(eng.Calls(), "upgrade-only firefox") {
		t.Errorf("upgrade of named packages: %v, engine calls %v", got, eng.Calls())
	}
	d.HandleAction(ctx, json.RawMessage(`{"garbage":true}`)) // no id: logged only
}

// TestCancel: a cancel action stops the running task of another action.
func TestCancel(t *testing.T) {
	ctx := context.Background()
	d, eng, up, alice, _, _ := setup(t)
	eng.block = make(chan struct{})
	id, raw := sign(t, alice, action.KindInstall, []string{"host-1"}, action.Args{Packages: []string{"big"}})
	d.HandleAction(ctx, raw)
	for !slices.Contains(eng.Calls(), "install-packages big") {
		time.Sleep(time.Millisecond)
	}
	cid, craw := sign(t, alice, action.KindCancel, []string{"host-1"}, action.Args{TaskID: id})
	d.HandleAction(ctx, craw)
	if got := up.waitFinal(t, id); got[len(got)-1] != wire.ActionCancelled {
		t.Errorf("cancelled action: %v", got)
	}
	if got := up.waitFinal(t, cid); got[len(got)-1] != wire.ActionDone {
		t.Errorf("cancel action: %v", got)
	}
}

// TestLocalAPIBackend: rights of local callers, status, tasks and events.
func TestLocalAPIBackend(t *testing.T) {
	ctx := context.Background()
	d, eng, _, _, _, _ := setup(t)
	user := wire.LocalCaller{UID: "1000", Username: "bob"}
	root := wire.LocalCaller{UID: "0", Username: "root", Admin: true}
	if _, err := d.StartTask(ctx, user, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{"x"}}); !errors.Is(err, localapi.ErrForbidden) {
		t.Errorf("user install: %v", err)
	}
	if _, err := d.StartTask(ctx, user, wire.LocalTaskRequest{Kind: "format-disk"}); err == nil {
		t.Error("unknown kind accepted")
	}
	eng.block = make(chan struct{})
	running, err := d.StartTask(ctx, root, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := d.StartTask(ctx, user, wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Cancel(ctx, user, running.ID); !errors.Is(err, localapi.ErrForbidden) {
		t.Errorf("user cancels root's task: %v", err)
	}
	if err := d.Cancel(ctx, user, 999); !errors.Is(err, localapi.ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	st, err := d.Status(ctx, user)
	if err != nil || st.Status != "NEED-UPGRADE" || len(st.Pending) != 1 || st.Pending[0].Version != "2" || !st.Connected {
		t.Errorf("status %+v %v", st, err)
	}
	ev, _ := d.Events(ctx, user, 0)
	last := ev[len(ev)-1].Seq
	close(eng.block)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var states []string
	for len(states) == 0 || states[len(states)-1] != queued.Kind+" "+wire.LocalStateDone {
		ev, err := d.Events(wctx, user, last)
		if err != nil || len(ev) == 0 {
			t.Fatalf("events: %v (so far %v)", err, states)
		}
		for _, e := range ev {
			states = append(states, e.Task.Kind+" "+e.Task.State)
			last = e.Seq
		}
	}
	tasks, _ := d.Tasks(ctx, user)
	if len(tasks) != 2 || tasks[0].State != wire.LocalStateDone || tasks[1].Caller != "bob" {
		t.Errorf("tasks %+v", tasks)
	}
	if !slices.Equal(eng.Calls(), []string{"install-packages x", "update", "upgrade"}) {
		t.Errorf("engine calls %v", eng.Calls())
	}
	// A long poll with nothing new returns empty at its deadline.
	sctx, scancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer scancel()
	if ev, err := d.Events(sctx, user, last); err != nil || len(ev) != 0 {
		t.Errorf("idle poll: %v %v", ev, err)
	}
}
