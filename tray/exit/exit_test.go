package exit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

var _ Agent = (*localclient.Client)(nil)

// fakeAgent is a scripted local API. Its event log grows as tasks move;
// Events long-polls it like the agent does.
type fakeAgent struct {
	mu        sync.Mutex
	status    wire.LocalStatus
	statusErr error
	// start answers StartTask; nil queues task 1 and finishes it.
	start    func(a *fakeAgent, r wire.LocalTaskRequest) (wire.LocalTask, error)
	requests []wire.LocalTaskRequest
	cancels  []int64
	events   []wire.LocalEvent
	changed  chan struct{} // closed and replaced on each new event
	statuses int
}

func newFakeAgent(st wire.LocalStatus) *fakeAgent {
	return &fakeAgent{status: st, changed: make(chan struct{})}
}

func (a *fakeAgent) Status(context.Context) (wire.LocalStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.statuses++
	return a.status, a.statusErr
}

func (a *fakeAgent) StartTask(_ context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error) {
	a.mu.Lock()
	a.requests = append(a.requests, r)
	start := a.start
	a.mu.Unlock()
	if start == nil {
		t := wire.LocalTask{ID: 1, Kind: r.Kind, Packages: r.Packages, State: wire.LocalStateQueued}
		a.emit(t, wire.LocalStateRunning, 50, "installing")
		a.emit(t, wire.LocalStateDone, 100, "")
		return t, nil
	}
	return start(a, r)
}

// emit appends an event moving t to state.
func (a *fakeAgent) emit(t wire.LocalTask, state string, progress int, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t.State, t.Progress, t.Message = state, progress, msg
	a.events = append(a.events, wire.LocalEvent{Seq: int64(len(a.events) + 1), Task: t})
	close(a.changed)
	a.changed = make(chan struct{})
}

func (a *fakeAgent) Events(ctx context.Context, after int64, wait time.Duration) ([]wire.LocalEvent, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		a.mu.Lock()
		var out []wire.LocalEvent
		for _, e := range a.events {
			if e.Seq > after {
				out = append(out, e)
			}
		}
		changed := a.changed
		a.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (a *fakeAgent) Cancel(_ context.Context, id int64) error {
	a.mu.Lock()
	a.cancels = append(a.cancels, id)
	a.mu.Unlock()
	a.emit(wire.LocalTask{ID: id, Kind: wire.LocalKindUpgrade}, wire.LocalStateCancelled, 0, "cancelled")
	return nil
}

// fakeUI records what Run shows.
type fakeUI struct {
	choice Choice

	countdowns  int
	seconds     int
	allowCancel bool
	shown       []string
	progress    []wire.LocalTask
	doneMsg     string
	doneErr     error
	dones       int
}

func (u *fakeUI) Countdown(_ context.Context, seconds int, pkgs []wire.LocalPackage, allowCancel bool) Choice {
	u.countdowns++
	u.seconds, u.allowCancel = seconds, allowCancel
	for _, p := range pkgs {
		u.shown = append(u.shown, p.Package)
	}
	return u.choice
}

func (u *fakeUI) Progress(t wire.LocalTask) { u.progress = append(u.progress, t) }

func (u *fakeUI) Done(msg string, err error) {
	u.dones++
	u.doneMsg, u.doneErr = msg, err
}

func pkgs(names ...string) []wire.LocalPackage {
	var out []wire.LocalPackage
	for _, n := range names {
		out = append(out, wire.LocalPackage{Package: n, Version: "2", InstalledVersion: "1", State: wire.StateNeedUpgrade})
	}
	return out
}

func testOptions() Options {
	return Options{EventWait: 50 * time.Millisecond, RetryDelay: time.Millisecond}
}

func TestRunNothingPending(t *testing.T) {
	a := newFakeAgent(wire.LocalStatus{Status: wire.StateOK})
	u := &fakeUI{}
	res, err := Run(context.Background(), a, u, testOptions())
	if err != nil || res.Outcome != NothingPending {
		t.Fatalf("Run = %v, %v; want nothing pending", res.Outcome, err)
	}
	if u.countdowns+len(u.progress)+u.dones != 0 || len(a.requests) != 0 {
		t.Errorf("UI or agent used: %+v, requests %v", u, a.requests)
	}
}

func TestRunStatusError(t *testing.T) {
	a := newFakeAgent(wire.LocalStatus{})
	a.statusErr = localclient.ErrNotRunning
	_, err := Run(context.Background(), a, &fakeUI{}, testOptions())
	if !errors.Is(err, localclient.ErrNotRunning) {
		t.Fatalf("err = %v, want ErrNotRunning", err)
	}
}

func TestRunFlow(t *testing.T) {
	failing := func(a *fakeAgent, r wire.LocalTaskRequest) (wire.LocalTask, error) {
		t := wire.LocalTask{ID: 4, Kind: r.Kind, State: wire.LocalStateQueued}
		a.emit(t, wire.LocalStateRunning, 10, "download")
		a.emit(t, wire.LocalStateError, 30, "tis-b: install failed: exit 1603")
		return t, nil
	}
	meta := func(p wire.LocalPackage) Meta {
		switch p.Package {
		case "tis-a":
			return Meta{Priority: "Critical", ImpactedProcesses: []string{"a.exe"}}
		case "tis-b":
			return Meta{Priority: "optional", ImpactedProcesses: []string{"b"}}
		}
		return Meta{}
	}
	tests := []struct {
		name       string
		policy     *wire.ExitPolicy
		optOut     bool
		choice     Choice
		start      func(*fakeAgent, wire.LocalTaskRequest) (wire.LocalTask, error)
		procs      []string // running processes
		outcome    Outcome
		wantErr    error
		countdown  bool     // Countdown shown
		allow      bool     // allowCancel passed to Countdown
		seconds    int      // countdown seconds
		request    []string // StartTask's Packages; nil: all
		noStart    bool
		skipped    []string
		doneErr    bool
		doneSubstr string
	}{
		{name: "timeout installs all", choice: Timeout, outcome: Upgraded, countdown: true, allow: true, seconds: DefaultCountdown, doneSubstr: "3 package(s) upgraded"},
		{name: "install now", choice: InstallNow, policy: &wire.ExitPolicy{AllowCancel: true, Countdown: 30}, outcome: Upgraded, countdown: true, allow: true, seconds: 30},
		{name: "postpone allowed", choice: Postpone, policy: &wire.ExitPolicy{AllowCancel: true}, outcome: Postponed, countdown: true, allow: true, seconds: DefaultCountdown, noStart: true, doneSubstr: "postponed"},
		{name: "postpone forbidden is ignored", choice: Postpone, policy: &wire.ExitPolicy{AllowCancel: false, Countdown: 5}, outcome: Upgraded, countdown: true, allow: false, seconds: 5},
		{name: "user opt-out honoured when allowed", optOut: true, policy: &wire.ExitPolicy{AllowCancel: true}, outcome: Postponed, noStart: true},
		{name: "user opt-out ignored when forbidden", optOut: true, policy: &wire.ExitPolicy{AllowCancel: false}, choice: Timeout, outcome: Upgraded, countdown: true, seconds: DefaultCountdown},
		{name: "priorities filter", policy: &wire.ExitPolicy{Priorities: []string{"critical"}}, outcome: Upgraded, countdown: true, seconds: DefaultCountdown, request: []string{"tis-a"}, skipped: []string{"tis-b", "tis-c"}},
		{name: "priorities exclude all", policy: &wire.ExitPolicy{Priorities: []string{"urgent"}}, outcome: AllFiltered, noStart: true, skipped: []string{"tis-a", "tis-b", "tis-c"}},
		{name: "impacted process running", policy: &wire.ExitPolicy{OnlyIfNotProcessRunning: true}, procs: []string{"A.EXE"}, outcome: Upgraded, countdown: true, seconds: DefaultCountdown, request: []string{"tis-b", "tis-c"}, skipped: []string{"tis-a"}},
		{name: "impacted processes ignored without the policy", procs: []string{"a.exe", "b"}, outcome: Upgraded, countdown: true, allow: true, seconds: DefaultCountdown},
		{name: "failed task", start: failing, outcome: Failed, wantErr: ErrTaskFailed, countdown: true, allow: true, seconds: DefaultCountdown, doneErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAgent(wire.LocalStatus{Status: wire.StateNeedUpgrade, Pending: pkgs("tis-a", "tis-b", "tis-c"), Exit: tt.policy})
			a.start = tt.start
			u := &fakeUI{choice: tt.choice}
			opts := testOptions()
			opts.UserOptOut = tt.optOut
			opts.Meta = meta
			opts.Processes = fakeProcs(tt.procs)
			res, err := Run(context.Background(), a, u, opts)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if res.Outcome != tt.outcome {
				t.Errorf("outcome = %v, want %v", res.Outcome, tt.outcome)
			}
			if (u.countdowns == 1) != tt.countdown || u.countdowns > 1 {
				t.Errorf("countdowns = %d, want shown=%v", u.countdowns, tt.countdown)
			}
			if tt.countdown && (u.allowCancel != tt.allow || u.seconds != tt.seconds) {
				t.Errorf("countdown(seconds=%d, allowCancel=%v), want (%d, %v)", u.seconds, u.allowCancel, tt.seconds, tt.allow)
			}
			if tt.noStart {
				if len(a.requests) != 0 {
					t.Errorf("StartTask called: %v", a.requests)
				}
			} else {
				if len(a.requests) != 1 || a.requests[0].Kind != wire.LocalKindUpgrade || !slices.Equal(a.requests[0].Packages, tt.request) {
					t.Errorf("requests = %+v, want one upgrade of %v", a.requests, tt.request)
				}
				if len(u.progress) == 0 {
					t.Error("no progress shown")
				}
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Package.Package)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped = %v, want %v", res.Skipped, tt.skipped)
			}
			wantDone := tt.countdown
			if u.dones != map[bool]int{true: 1, false: 0}[wantDone] {
				t.Errorf("Done called %d times, want shown=%v", u.dones, wantDone)
			}
			if (u.doneErr != nil) != tt.doneErr {
				t.Errorf("Done error = %v, want error=%v", u.doneErr, tt.doneErr)
			}
			if !strings.Contains(u.doneMsg, tt.doneSubstr) {
				t.Errorf("Done message %q lacks %q", u.doneMsg, tt.doneSubstr)
			}
		})
	}
}

type fakeProcs []string

func (f fakeProcs) Running(_ context.Context, names []string) ([]string, error) {
	return matchProcesses(names, f), nil
}

type brokenProcs struct{}

func (brokenProcs) Running(context.Context, []string) ([]string, error) {
	return nil, errors.New("no /proc")
}

func TestSelectProcessCheckFails(t *testing.T) {
	pol := wire.ExitPolicy{OnlyIfNotProcessRunning: true}
	meta := func(p wire.LocalPackage) Meta {
		if p.Package == "tis-a" {
			return Meta{ImpactedProcesses: []string{"a"}}
		}
		return Meta{}
	}
	sel, skip := Select(context.Background(), pkgs("tis-a", "tis-b"), pol, meta, brokenProcs{})
	if len(sel) != 1 || sel[0].Package != "tis-b" || len(skip) != 1 || !strings.Contains(skip[0].Reason, "no /proc") {
		t.Errorf("Select = %v, %v", sel, skip)
	}
}

func TestRunTimeLimitCancelsTask(t *testing.T) {
	a := newFakeAgent(wire.LocalStatus{Pending: pkgs("tis-a"), Exit: &wire.ExitPolicy{AllowCancel: true, MaxDuration: 600}})
	limit := make(chan time.Time)
	var capAsked time.Duration
	a.start = func(a *fakeAgent, r wire.LocalTaskRequest) (wire.LocalTask, error) {
		t := wire.LocalTask{ID: 9, Kind: r.Kind, State: wire.LocalStateRunning}
		a.emit(t, wire.LocalStateRunning, 5, "installing tis-a")
		go func() { limit <- time.Now() }() // the cap is reached while the task runs
		return t, nil
	}
	opts := testOptions()
	opts.EventWait = time.Minute // the cap must interrupt the long-poll
	opts.After = func(d time.Duration) <-chan time.Time { capAsked = d; return limit }
	u := &fakeUI{choice: InstallNow}
	start := time.Now()
	res, err := Run(context.Background(), a, u, opts)
	if !errors.Is(err, ErrTimeLimit) || res.Outcome != TimedOut {
		t.Fatalf("Run = %v, %v; want timed out", res.Outcome, err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Run took %v after the cap", time.Since(start))
	}
	if capAsked != 600*time.Second {
		t.Errorf("cap = %v, want 600s", capAsked)
	}
	if !slices.Equal(a.cancels, []int64{9}) {
		t.Errorf("cancels = %v, want [9]", a.cancels)
	}
	if !errors.Is(u.doneErr, ErrTimeLimit) {
		t.Errorf("Done error = %v", u.doneErr)
	}
}

func TestRunNoCapWithoutMaxDuration(t *testing.T) {
	a := newFakeAgent(wire.LocalStatus{Pending: pkgs("tis-a")})
	opts := testOptions()
	opts.After = func(time.Duration) <-chan time.Time { t.Error("timer started without MaxDuration"); return nil }
	if _, err := Run(context.Background(), a, &fakeUI{}, opts); err != nil {
		t.Fatal(err)
	}
}

func TestRunBusyWaitsForRunningTask(t *testing.T) {
	running := wire.LocalTask{ID: 3, Kind: wire.LocalKindUpdate, State: wire.LocalStateRunning}
	a := newFakeAgent(wire.LocalStatus{Pending: pkgs("tis-a"), Running: &running})
	a.start = func(a *fakeAgent, r wire.LocalTaskRequest) (wire.LocalTask, error) {
		if len(a.requests) == 1 {
			go a.emit(running, wire.LocalStateDone, 100, "")
			return wire.LocalTask{}, fmt.Errorf("POST /v1/tasks: %w", &localclient.Error{Status: 409, Message: "busy"})
		}
		t := wire.LocalTask{ID: 4, Kind: r.Kind, State: wire.LocalStateQueued}
		a.emit(t, wire.LocalStateDone, 100, "")
		return t, nil
	}
	u := &fakeUI{}
	res, err := Run(context.Background(), a, u, testOptions())
	if err != nil || res.Outcome != Upgraded || res.Task.ID != 4 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if len(a.requests) != 2 {
		t.Errorf("requests = %v, want 2", a.requests)
	}
}

func TestRunContextCancelled(t *testing.T) {
	a := newFakeAgent(wire.LocalStatus{Pending: pkgs("tis-a")})
	a.start = func(a *fakeAgent, r wire.LocalTaskRequest) (wire.LocalTask, error) {
		return wire.LocalTask{ID: 2, Kind: r.Kind, State: wire.LocalStateRunning}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Run(ctx, a, &fakeUI{}, testOptions())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(a.cancels) != 0 {
		t.Errorf("task cancelled on ctx end: %v", a.cancels)
	}
}

func TestMatchProcesses(t *testing.T) {
	tests := []struct {
		names, running, want []string
	}{
		{[]string{"firefox.exe"}, []string{"FIREFOX.EXE"}, []string{"firefox.exe"}},
		{[]string{"firefox"}, []string{`C:\Program Files\Mozilla\firefox.exe`}, []string{"firefox"}},
		{[]string{"firefox.exe"}, []string{"/usr/lib/firefox/firefox"}, []string{"firefox.exe"}},
		{[]string{"fire"}, []string{"firefox"}, nil},
		{nil, []string{"x"}, nil},
	}
	for _, tt := range tests {
		if got := matchProcesses(tt.names, tt.running); !slices.Equal(got, tt.want) {
			t.Errorf("matchProcesses(%v, %v) = %v, want %v", tt.names, tt.running, got, tt.want)
		}
	}
	if got := SplitProcesses(" firefox.exe, thunderbird;;x "); !slices.Equal(got, []string{"firefox.exe", "thunderbird", "x"}) {
		t.Errorf("SplitProcesses = %v", got)
	}
}
