// Package exit is waptexit's flow, without any window toolkit: at shutdown
// or logoff it asks the agent for pending upgrades, filters them by the
// host's ExitPolicy, shows a countdown through a UI, runs the upgrade and
// follows it to the end or to the policy's time cap. It also holds the
// shutdown integration (a systemd unit, a Windows GPO shutdown script, a
// macOS logout hook) and the user's "Upgrade at shutdown" preference.
//
// It reaches the agent only through the Agent interface, which
// *localclient.Client implements.
package exit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

// Agent is the part of the agent's local API that waptexit uses;
// *localclient.Client implements it.
type Agent interface {
	Status(ctx context.Context) (wire.LocalStatus, error)
	StartTask(ctx context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error)
	Events(ctx context.Context, after int64, wait time.Duration) ([]wire.LocalEvent, error)
	Cancel(ctx context.Context, id int64) error
}

// Sentinels of Run's errors.
var (
	// ErrTaskFailed means the upgrade task ended in error.
	ErrTaskFailed = errors.New("upgrade failed")
	// ErrTaskCancelled means the upgrade task was cancelled by someone
	// else (an administrator, wapt-get).
	ErrTaskCancelled = errors.New("upgrade cancelled")
	// ErrTimeLimit means the upgrade ran past the policy's MaxDuration
	// and was cancelled.
	ErrTimeLimit = errors.New("upgrade stopped at the time limit")
)

// Defaults of Options and of a missing policy.
const (
	// DefaultCountdown is the countdown when the policy gives none.
	DefaultCountdown = 10
	// DefaultEventWait is the long-poll wait of one Events call.
	DefaultEventWait = 20 * time.Second
	// DefaultRetryDelay is the pause after a failed Events call.
	DefaultRetryDelay = 2 * time.Second
	// maxEventErrors consecutive failed Events calls end the run.
	maxEventErrors = 5
	// cancelTimeout bounds the Cancel call at the time limit.
	cancelTimeout = 10 * time.Second
)

// DefaultPolicy is the policy when the agent reports none: WAPT's defaults.
var DefaultPolicy = wire.ExitPolicy{AllowCancel: true, Countdown: DefaultCountdown}

// Options tune Run. The zero value is usable.
type Options struct {
	// Policy, when non-nil, replaces the policy the agent reports.
	Policy *wire.ExitPolicy
	// UserOptOut is the user's "Upgrade at shutdown" unchecked (see
	// Prefs). It is honoured only when the policy allows postponing:
	// then Run postpones without showing anything.
	UserOptOut bool
	// Meta returns what the policy filters need to know of a package;
	// nil means PackageMeta.
	Meta func(wire.LocalPackage) Meta
	// Processes checks running processes for OnlyIfNotProcessRunning;
	// nil means SystemProcesses{}.
	Processes ProcessChecker
	// EventWait is the long-poll wait of one Events call (default
	// DefaultEventWait).
	EventWait time.Duration
	// RetryDelay is the pause after a failed Events call (default
	// DefaultRetryDelay).
	RetryDelay time.Duration
	// After starts the MaxDuration timer (default time.After); tests
	// replace it.
	After func(time.Duration) <-chan time.Time
	// Logf logs progress for the administrator; nil discards.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.Meta == nil {
		o.Meta = PackageMeta
	}
	if o.Processes == nil {
		o.Processes = SystemProcesses{}
	}
	if o.EventWait <= 0 {
		o.EventWait = DefaultEventWait
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Outcome is how a Run ended.
type Outcome int

const (
	// NothingPending: the agent had no pending package; no UI was shown.
	NothingPending Outcome = iota
	// AllFiltered: packages were pending but the policy excludes all of
	// them at shutdown; no UI was shown.
	AllFiltered
	// Postponed: the user postponed, or opted out of upgrades at shutdown.
	Postponed
	// Upgraded: the upgrade task ended successfully.
	Upgraded
	// Failed: the upgrade task failed or was cancelled by someone else.
	Failed
	// TimedOut: the upgrade ran past MaxDuration and was cancelled.
	TimedOut
)

func (o Outcome) String() string {
	switch o {
	case NothingPending:
		return "nothing pending"
	case AllFiltered:
		return "all filtered"
	case Postponed:
		return "postponed"
	case Upgraded:
		return "upgraded"
	case Failed:
		return "failed"
	case TimedOut:
		return "timed out"
	}
	return "outcome(?)"
}

// Result is what a Run did.
type Result struct {
	Outcome Outcome
	// Pending are the packages the agent reported as pending.
	Pending []wire.LocalPackage
	// Selected are the pending packages the policy lets waptexit install.
	Selected []wire.LocalPackage
	// Skipped are the pending packages the policy excluded, with why.
	Skipped []Skip
	// Choice is the user's answer to the countdown (when shown).
	Choice Choice
	// Task is the upgrade task as last seen (zero when none ran).
	Task wire.LocalTask
}

// Run is one waptexit pass: Status; nothing pending (or nothing left
// after filtering) → it returns at once without touching ui; otherwise
// countdown, upgrade, progress, done. The error is nil for NothingPending,
// AllFiltered, Postponed and Upgraded; it wraps ErrTaskFailed,
// ErrTaskCancelled or ErrTimeLimit for the other outcomes, or is the
// error of the agent or of ctx.
func Run(ctx context.Context, agent Agent, ui UI, opts Options) (Result, error) {
	opts = opts.withDefaults()
	st, err := agent.Status(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("waptexit: status: %w", err)
	}
	res := Result{Pending: st.Pending}
	if len(st.Pending) == 0 {
		opts.Logf("waptexit: nothing pending")
		return res, nil
	}
	pol := policy(st, opts)
	res.Selected, res.Skipped = Select(ctx, st.Pending, pol, opts.Meta, opts.Processes)
	for _, s := range res.Skipped {
		opts.Logf("waptexit: skipping %s: %s", s.Package.Package, s.Reason)
	}
	if len(res.Selected) == 0 {
		res.Outcome = AllFiltered
		return res, nil
	}
	if pol.AllowCancel && opts.UserOptOut {
		opts.Logf("waptexit: the user opted out of upgrades at shutdown")
		res.Outcome = Postponed
		return res, nil
	}

	res.Choice = ui.Countdown(ctx, pol.Countdown, res.Selected, pol.AllowCancel)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.Choice == Postpone {
		if pol.AllowCancel {
			res.Outcome = Postponed
			ui.Done("Upgrade postponed.", nil)
			return res, nil
		}
		opts.Logf("waptexit: postponing is not allowed; installing")
	}

	req := wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade}
	if len(res.Selected) < len(res.Pending) {
		for _, p := range res.Selected {
			req.Packages = append(req.Packages, p.Package)
		}
	}
	f := follower{agent: agent, ui: ui, opts: opts}
	if pol.MaxDuration > 0 {
		f.limit = opts.After(time.Duration(pol.MaxDuration) * time.Second)
	}
	task, err := f.upgrade(ctx, req, st.Running)
	res.Task = task
	switch {
	case errors.Is(err, ErrTimeLimit):
		res.Outcome = TimedOut
		ui.Done(fmt.Sprintf("The upgrade was stopped after %s.", time.Duration(pol.MaxDuration)*time.Second), err)
	case errors.Is(err, ErrTaskFailed), errors.Is(err, ErrTaskCancelled):
		res.Outcome = Failed
		ui.Done("The upgrade did not complete.", err)
	case err != nil:
		res.Outcome = Failed
		if ctx.Err() == nil {
			ui.Done("The upgrade could not run.", err)
		}
	default:
		res.Outcome = Upgraded
		ui.Done(fmt.Sprintf("%d package(s) upgraded.", len(res.Selected)), nil)
	}
	return res, err
}

// policy is st's policy, overridden by opts, with defaults filled in.
func policy(st wire.LocalStatus, opts Options) wire.ExitPolicy {
	p := DefaultPolicy
	switch {
	case opts.Policy != nil:
		p = *opts.Policy
	case st.Exit != nil:
		p = *st.Exit
	}
	if p.Countdown <= 0 {
		p.Countdown = DefaultCountdown
	}
	return p
}

// follower starts the upgrade and follows it on the event stream.
type follower struct {
	agent Agent
	ui    UI
	opts  Options
	limit <-chan time.Time // nil: no cap
	after int64            // last event Seq seen
}

// upgrade starts req; when the agent is busy with running, it first
// follows that task to its end, then starts req. It returns the final
// state of the upgrade task.
func (f *follower) upgrade(ctx context.Context, req wire.LocalTaskRequest, running *wire.LocalTask) (wire.LocalTask, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timedOut := make(chan struct{})
	if f.limit != nil {
		go func() {
			select {
			case <-f.limit:
				close(timedOut)
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	// capped maps an error caused by the time limit to ErrTimeLimit.
	capped := func(t wire.LocalTask, err error) (wire.LocalTask, error) {
		select {
		case <-timedOut:
		default:
			return t, err
		}
		if t.ID != 0 {
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
			defer ccancel()
			if cerr := f.agent.Cancel(cctx, t.ID); cerr != nil && !errors.Is(cerr, localclient.ErrNotFound) {
				return t, fmt.Errorf("%w; cancel task %d: %w", ErrTimeLimit, t.ID, cerr)
			}
		}
		return t, ErrTimeLimit
	}

	for attempt := 0; ; attempt++ {
		task, err := f.agent.StartTask(ctx, req)
		if err == nil {
			f.opts.Logf("waptexit: upgrade task %d started", task.ID)
			f.ui.Progress(task)
			return capped(f.follow(ctx, task))
		}
		if !errors.Is(err, localclient.ErrBusy) || attempt > 0 {
			return capped(wire.LocalTask{}, fmt.Errorf("waptexit: start upgrade: %w", err))
		}
		// The agent is busy (its own schedule, or wapt-get): wait for
		// that task, then try once more.
		if running == nil {
			st, serr := f.agent.Status(ctx)
			if serr != nil {
				return capped(wire.LocalTask{}, fmt.Errorf("waptexit: start upgrade: %w", err))
			}
			running = st.Running
		}
		if running != nil {
			f.opts.Logf("waptexit: agent busy with task %d (%s); waiting for it", running.ID, running.Kind)
			f.ui.Progress(*running)
			if t, ferr := f.follow(ctx, *running); ferr != nil && ctx.Err() != nil {
				return capped(t, ferr)
			}
		}
		running = nil
	}
}

// follow long-polls the events of task until it ends. A task that ends in
// error or is cancelled gives ErrTaskFailed or ErrTaskCancelled.
func (f *follower) follow(ctx context.Context, task wire.LocalTask) (wire.LocalTask, error) {
	errs := 0
	for !ended(task.State) {
		evs, err := f.agent.Events(ctx, f.after, f.opts.EventWait)
		if err != nil {
			if ctx.Err() != nil {
				return task, ctx.Err()
			}
			errs++
			if errs >= maxEventErrors {
				return task, fmt.Errorf("waptexit: follow task %d: %w", task.ID, err)
			}
			f.opts.Logf("waptexit: events: %v", err)
			select {
			case <-time.After(f.opts.RetryDelay):
			case <-ctx.Done():
				return task, ctx.Err()
			}
			continue
		}
		errs = 0
		for _, ev := range evs {
			if ev.Seq > f.after {
				f.after = ev.Seq
			}
			if ev.Task.ID != task.ID {
				continue
			}
			task = ev.Task
			f.ui.Progress(task)
		}
	}
	switch task.State {
	case wire.LocalStateError:
		return task, fmt.Errorf("%w: %s", ErrTaskFailed, orDefault(task.Message, "task "+task.Kind+" failed"))
	case wire.LocalStateCancelled:
		return task, fmt.Errorf("%w: %s", ErrTaskCancelled, orDefault(task.Message, "task cancelled"))
	}
	return task, nil
}

// ended reports whether a task in state s is over.
func ended(s string) bool {
	return s == wire.LocalStateDone || s == wire.LocalStateError || s == wire.LocalStateCancelled
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}
