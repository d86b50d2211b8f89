// Package daemon is the core of waptagent, the agent service: one task
// queue run by one worker (updates, upgrades, installs, removals, audits,
// never two at once), the schedule (update + download-upgrade at start and
// every update period, jittered; optional upgrades; due audits), the
// admin-signed actions the uplink delivers (verified with shared/action,
// each nonce run at most once, results streamed back), status reports
// after every change, and the local API backend for the tray, waptexit and
// wapt-get (callers identified by the OS): status with the waptexit policy,
// tasks, and self-service, where a user who is not an administrator may
// install or remove the packages that the rules of the installed
// selfservice packages grant to their OS user or groups
// (agent/selfservice). It declares the small interfaces it needs;
// agent/cli wires the real engine, uplink and API.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// Engine is what the daemon runs (agent/engine.Engine).
type Engine interface {
	Update(ctx context.Context) (engine.UpdateResult, error)
	DownloadUpgrade(ctx context.Context) (engine.RunReport, error)
	Upgrade(ctx context.Context) (engine.RunReport, error)
	Install(ctx context.Context, args ...string) (engine.RunReport, error)
	// InstallPackages is Install for package requests only, never files or
	// directories: what self-service callers get.
	InstallPackages(ctx context.Context, reqs ...string) (engine.RunReport, error)
	// UpgradeOnly upgrades the named pending packages only.
	UpgradeOnly(ctx context.Context, names ...string) (engine.RunReport, error)
	Remove(ctx context.Context, names ...string) (engine.RunReport, error)
	Forget(ctx context.Context, names ...string) error
	Audit(ctx context.Context, force bool, names ...string) ([]engine.AuditResult, string, error)
	Status(ctx context.Context) (engine.HostStatus, error)
	HostUUID(ctx context.Context) (string, error)
	// Installed, Catalog and SelfServiceRules feed self-service.
	Installed(ctx context.Context) ([]engine.Installed, error)
	Catalog(ctx context.Context) ([]resolve.Candidate, error)
	SelfServiceRules(ctx context.Context) ([]engine.SelfServiceRules, error)
}

// Uplink is the agent's session with the server (agent/uplink.Client).
type Uplink interface {
	SendResult(r wire.ActionResult)
	Connected() bool
}

// Config holds the daemon's dependencies and settings.
type Config struct {
	Engine Engine
	// Report sends a status report to the server (nil: not registered),
	// with the inventory sections that changed; FullReport with all of
	// them (the inventory action).
	Report     func(ctx context.Context) error
	FullReport func(ctx context.Context) error
	// Verifier checks admin-signed actions (nil: every action refused).
	Verifier *action.Verifier
	// Uplink receives action results (nil: none sent).
	Uplink Uplink
	// UpdatePeriod is waptupdate_task_period (default 120 min): update and
	// download-upgrade run at start and then every period, ±10 %.
	UpdatePeriod time.Duration
	// UpgradePeriod, when set, also runs upgrade on that schedule.
	UpgradePeriod time.Duration
	// AuditPeriod is how often due audits are looked for (default 1 h).
	AuditPeriod time.Duration
	// NoStartupUpdate skips the update at start (tests).
	NoStartupUpdate bool
	// AllowReboot lets a signed reboot action through (opt-in; the daemon
	// only records it: the reboot itself is the service wrapper's job).
	AllowReboot bool
	// Locales are the agent's locales, in preference order: self-service
	// descriptions are given in the first one a package has a
	// description_<locale> for.
	Locales []string
	// Exit is the waptexit policy handed out in the local API status (nil:
	// WAPT's defaults, postpone allowed and a 10 s countdown).
	Exit *wire.ExitPolicy
	Logf func(format string, args ...any)
	Now  func() time.Time
}

// Sentinel errors.
var (
	ErrUnknownTask = errors.New("unknown task")
)

// Task kinds beyond the local API's (wire.LocalKind*).
const (
	kindForget    = "forget"
	kindInventory = "inventory"
	kindSession   = "session-setup"
	kindReboot    = "reboot"
)

// maxTasks and maxEvents bound what is kept in memory for the local API.
const (
	maxTasks  = 200
	maxEvents = 1000
)

// task is one queued or running unit of work.
type task struct {
	info     wire.LocalTask
	force    bool
	download bool   // update: also download the upgrades
	actionID string // set when an admin action asked for it
	// selfService is the caller of an install or remove allowed by the
	// self-service rules, not by being an administrator: the rules are
	// checked again when the task runs, and arguments are package names
	// only.
	selfService *wire.LocalCaller
	// upgradeOnly: an upgrade of info.Packages only (a local API request;
	// a signed upgrade action upgrades everything, as before).
	upgradeOnly bool
	cancel      context.CancelFunc
}

// Daemon is the agent service core. It is safe for concurrent use.
type Daemon struct {
	cfg Config

	mu          sync.Mutex
	nextID      int64
	queue       []*task
	running     *task
	done        []*task // finished, newest last, at most maxTasks
	events      []wire.LocalEvent
	seq         int64
	changed     chan struct{} // closed and replaced at every event
	wake        chan struct{} // the worker's doorbell
	lastUpdate  *wire.RunSummary
	lastUpgrade *wire.RunSummary
	// badRules holds, per self-service package, the error last logged for
	// its rules, so that each broken file is logged once, not per request.
	badRules map[string]string
}

// New returns a Daemon; Run starts it.
func New(cfg Config) *Daemon {
	if cfg.UpdatePeriod <= 0 {
		cfg.UpdatePeriod = 120 * time.Minute
	}
	if cfg.AuditPeriod <= 0 {
		cfg.AuditPeriod = time.Hour
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Daemon{cfg: cfg, changed: make(chan struct{}), wake: make(chan struct{}, 1), badRules: map[string]string{}}
}

// Run runs the worker and the schedule until ctx ends; the running task is
// cancelled then.
func (d *Daemon) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { d.worker(ctx) })
	wg.Go(func() { d.schedule(ctx) })
	wg.Wait()
	return ctx.Err()
}

// jittered returns p ± 10 %.
func jittered(p time.Duration) time.Duration {
	return time.Duration(float64(p) * (0.9 + 0.2*rand.Float64()))
}

// schedule queues the periodic tasks.
func (d *Daemon) schedule(ctx context.Context) {
	if !d.cfg.NoStartupUpdate {
		d.enqueue(&task{info: wire.LocalTask{Kind: wire.LocalKindUpdate, Caller: "schedule"}, download: true})
	}
	update := time.NewTimer(jittered(d.cfg.UpdatePeriod))
	audit := time.NewTicker(d.cfg.AuditPeriod)
	defer update.Stop()
	defer audit.Stop()
	var upgrade <-chan time.Time
	if d.cfg.UpgradePeriod > 0 {
		t := time.NewTicker(d.cfg.UpgradePeriod)
		defer t.Stop()
		upgrade = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-update.C:
			d.enqueue(&task{info: wire.LocalTask{Kind: wire.LocalKindUpdate, Caller: "schedule"}, download: true})
			update.Reset(jittered(d.cfg.UpdatePeriod))
		case <-upgrade:
			d.enqueue(&task{info: wire.LocalTask{Kind: wire.LocalKindUpgrade, Caller: "schedule"}})
		case <-audit.C:
			d.enqueue(&task{info: wire.LocalTask{Kind: wire.LocalKindAudit, Caller: "schedule"}})
		}
	}
}

// enqueue adds t to the queue (a scheduled task already queued is not
// queued twice) and returns its info.
func (d *Daemon) enqueue(t *task) wire.LocalTask {
	d.mu.Lock()
	if t.info.Caller == "schedule" {
		for _, q := range d.queue {
			if q.info.Kind == t.info.Kind && q.info.Caller == "schedule" {
				d.mu.Unlock()
				return q.info
			}
		}
	}
	d.nextID++
	t.info.ID = d.nextID
	t.info.State = wire.LocalStateQueued
	d.queue = append(d.queue, t)
	d.eventLocked(t)
	info := t.info
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return info
}

// eventLocked records t's current info as an event; d.mu is held.
func (d *Daemon) eventLocked(t *task) {
	d.seq++
	d.events = append(d.events, wire.LocalEvent{Seq: d.seq, Time: d.cfg.Now().UTC(), Task: t.info})
	if len(d.events) > maxEvents {
		d.events = append(d.events[:0], d.events[len(d.events)-maxEvents:]...)
	}
	close(d.changed)
	d.changed = make(chan struct{})
}

// worker runs the queued tasks one at a time.
func (d *Daemon) worker(ctx context.Context) {
	for {
		d.mu.Lock()
		var t *task
		if len(d.queue) > 0 {
			t, d.queue = d.queue[0], d.queue[1:]
			tctx, cancel := context.WithCancel(ctx)
			t.cancel = cancel
			t.info.State, t.info.Started = wire.LocalStateRunning, d.cfg.Now().UTC()
			d.running = t
			d.eventLocked(t)
			d.mu.Unlock()
			d.actionResult(t, wire.ActionRunning, 0, "")
			msg, err := d.run(tctx, t)
			cancelled := tctx.Err() != nil && ctx.Err() == nil
			cancel()
			d.finish(t, msg, err, cancelled)
			continue
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
	}
}

// finish records the end of t.
func (d *Daemon) finish(t *task, msg string, err error, cancelled bool) {
	d.mu.Lock()
	t.info.Finished, t.info.Progress = d.cfg.Now().UTC(), 100
	state := wire.ActionDone
	switch {
	case cancelled:
		t.info.State, state = wire.LocalStateCancelled, wire.ActionCancelled
		msg = "cancelled"
	case err != nil:
		t.info.State, state = wire.LocalStateError, wire.ActionError
		msg = err.Error()
	default:
		t.info.State = wire.LocalStateDone
	}
	t.info.Message = msg
	d.running = nil
	d.done = append(d.done, t)
	if len(d.done) > maxTasks {
		d.done = append(d.done[:0], d.done[len(d.done)-maxTasks:]...)
	}
	d.eventLocked(t)
	d.mu.Unlock()
	d.actionResult(t, state, 100, msg)
	if err != nil {
		d.cfg.Logf("task %d %s: %v", t.info.ID, t.info.Kind, err)
	}
}

// actionResult streams where an admin action stands back to the server.
func (d *Daemon) actionResult(t *task, state string, progress int, msg string) {
	if t.actionID == "" || d.cfg.Uplink == nil {
		return
	}
	d.cfg.Uplink.SendResult(wire.ActionResult{ID: t.actionID, State: state, Progress: progress, Message: msg, Time: d.cfg.Now().UTC()})
}

// run executes t and returns a one-line summary.
func (d *Daemon) run(ctx context.Context, t *task) (string, error) {
	e := d.cfg.Engine
	var (
		msg string
		err error
	)
	switch t.info.Kind {
	case wire.LocalKindUpdate:
		msg, err = d.update(ctx, t.download)
	case wire.LocalKindUpgrade:
		if t.upgradeOnly {
			// waptexit's filtered upgrade: what the status it was shown
			// lists, without a new update that could change it.
			var rep engine.RunReport
			rep, err = e.UpgradeOnly(ctx, t.info.Packages...)
			msg, err = summary("upgrade", rep, err)
			d.setRun(&d.lastUpgrade, err)
		} else if msg, err = d.update(ctx, false); err == nil {
			// An admin's upgrade action may name packages: only those (and
			// what they need) are brought up to date.
			var rep engine.RunReport
			if len(t.info.Packages) > 0 {
				rep, err = e.UpgradeOnly(ctx, t.info.Packages...)
			} else {
				rep, err = e.Upgrade(ctx)
			}
			msg, err = summary("upgrade", rep, err)
			d.setRun(&d.lastUpgrade, err)
		}
	case wire.LocalKindInstall:
		var rep engine.RunReport
		switch {
		case t.selfService != nil:
			if _, err = d.authorize(ctx, *t.selfService, t.info.Kind, t.info.Packages); err == nil {
				rep, err = e.InstallPackages(ctx, t.info.Packages...)
			}
		default:
			// Never a local file or directory: the service installs from its
			// repositories only (wapt-get installs local files in-process).
			rep, err = e.InstallPackages(ctx, t.info.Packages...)
		}
		msg, err = summary("install", rep, err)
	case wire.LocalKindRemove:
		var rep engine.RunReport
		if t.selfService != nil {
			_, err = d.authorize(ctx, *t.selfService, t.info.Kind, t.info.Packages)
		}
		if err == nil {
			rep, err = e.Remove(ctx, t.info.Packages...)
		}
		msg, err = summary("remove", rep, err)
	case kindForget:
		if err = e.Forget(ctx, t.info.Packages...); err == nil {
			msg = "forgot " + strings.Join(t.info.Packages, ", ")
		}
	case wire.LocalKindAudit:
		var res []engine.AuditResult
		var worst string
		res, worst, err = e.Audit(ctx, t.force, t.info.Packages...)
		n := 0
		for _, r := range res {
			if !r.Skipped {
				n++
			}
		}
		msg = fmt.Sprintf("audit: %d packages audited, %s", n, orDash(worst))
	case kindInventory:
		if d.cfg.FullReport == nil {
			err = errors.New("not registered with a server")
		} else if err = d.cfg.FullReport(ctx); err == nil {
			msg = "inventory sent"
		}
	case kindSession:
		err = errors.New("session-setup runs at each user's logon, not from the service")
	case kindReboot:
		err = errors.New("reboot is not implemented by this agent")
	default:
		err = fmt.Errorf("unknown task kind %q", t.info.Kind)
	}
	if d.cfg.Report != nil && t.info.Kind != kindSession && t.info.Kind != kindInventory {
		if rerr := d.cfg.Report(ctx); rerr != nil {
			d.cfg.Logf("status report: %v", rerr)
		}
	}
	return msg, err
}

// update refreshes the indexes and, when download is set, fetches what an
// upgrade will need.
func (d *Daemon) update(ctx context.Context, download bool) (string, error) {
	e := d.cfg.Engine
	res, err := e.Update(ctx)
	if err == nil {
		for _, r := range res.Repos {
			if r.Err != nil {
				err = fmt.Errorf("repository %s: %w", r.Repo, r.Err)
				break
			}
		}
	}
	d.setRun(&d.lastUpdate, err)
	if err != nil {
		return "", err
	}
	st, err := e.Status(ctx)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("update: %s, %d pending", st.State, len(st.Pending()))
	if download && len(st.Pending()) > 0 {
		rep, err := e.DownloadUpgrade(ctx)
		if _, err := summary("download", rep, err); err != nil {
			return msg, err
		}
	}
	return msg, nil
}

func (d *Daemon) setRun(dst **wire.RunSummary, err error) {
	r := &wire.RunSummary{Time: d.cfg.Now().UTC(), OK: err == nil}
	if err != nil {
		r.Error = err.Error()
	}
	d.mu.Lock()
	*dst = r
	d.mu.Unlock()
}

// summary turns a run report into a line and its error.
func summary(what string, rep engine.RunReport, err error) (string, error) {
	if err != nil {
		return "", err
	}
	var done []string
	for _, o := range rep.Outcomes {
		if o.Err == nil && o.Action != "skip" {
			done = append(done, o.Action+" "+o.Package+" "+o.Version)
		}
	}
	msg := fmt.Sprintf("%s: %d done", what, len(done))
	if len(done) > 0 && len(done) <= 5 {
		msg += " (" + strings.Join(done, ", ") + ")"
	}
	return msg, rep.Err()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// HandleAction implements uplink.Handler: verify, acknowledge, queue.
func (d *Daemon) HandleAction(ctx context.Context, raw json.RawMessage) {
	s, err := action.Parse(raw)
	if err != nil {
		d.cfg.Logf("action refused: %v", err)
		return // no usable id to answer to
	}
	id := s.Action.Nonce
	if d.cfg.Verifier == nil {
		d.refuse(id, errors.New("this agent accepts no actions (no trusted admin certificates)"))
		return
	}
	signer, err := d.cfg.Verifier.Verify(ctx, s)
	switch {
	case errors.Is(err, action.ErrReplayed):
		d.send(id, wire.ActionDuplicate, "already received: not run again")
		return
	case err != nil:
		d.refuse(id, err)
		return
	}
	a := s.Action
	by := "action by " + signer.Subject.CommonName
	t := &task{actionID: id, force: a.Args.Force, info: wire.LocalTask{Kind: a.Action, Packages: a.Args.Packages, Caller: by}}
	switch a.Action {
	case action.KindCancel:
		d.send(id, wire.ActionReceived, "")
		if err := d.cancelAction(a.Args.TaskID); err != nil {
			d.send(id, wire.ActionError, err.Error())
		} else {
			d.send(id, wire.ActionDone, "cancelled "+a.Args.TaskID)
		}
		return
	case action.KindReboot:
		if !d.cfg.AllowReboot {
			d.refuse(id, errors.New("reboot actions are not allowed on this host"))
			return
		}
	case action.KindUpdate:
		t.download = true
	}
	d.cfg.Logf("action %s %s from %s", a.Action, id, signer.Subject.CommonName)
	d.send(id, wire.ActionReceived, "")
	d.enqueue(t)
}

func (d *Daemon) refuse(id string, err error) {
	d.cfg.Logf("action %s refused: %v", id, err)
	d.send(id, wire.ActionRefused, err.Error())
}

func (d *Daemon) send(id, state, msg string) {
	if d.cfg.Uplink != nil {
		d.cfg.Uplink.SendResult(wire.ActionResult{ID: id, State: state, Message: msg, Time: d.cfg.Now().UTC()})
	}
}

// cancelAction cancels the queued or running task of action id.
func (d *Daemon) cancelAction(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, t := range d.queue {
		if t.actionID == id {
			d.queue = append(d.queue[:i:i], d.queue[i+1:]...)
			t.info.State, t.info.Finished, t.info.Message = wire.LocalStateCancelled, d.cfg.Now().UTC(), "cancelled"
			d.done = append(d.done, t)
			d.eventLocked(t)
			go d.actionResult(t, wire.ActionCancelled, 100, "cancelled before it ran")
			return nil
		}
	}
	if d.running != nil && d.running.actionID == id {
		d.running.cancel()
		return nil
	}
	return fmt.Errorf("%w: no queued or running task for action %s", ErrUnknownTask, id)
}

// StatusRequested implements uplink.Handler.
func (d *Daemon) StatusRequested(ctx context.Context) {
	if d.cfg.Report == nil {
		return
	}
	go func() {
		if err := d.cfg.Report(context.WithoutCancel(ctx)); err != nil {
			d.cfg.Logf("status report: %v", err)
		}
	}()
}

var _ localapi.Backend = (*Daemon)(nil)

// Status implements localapi.Backend.
func (d *Daemon) Status(ctx context.Context, _ wire.LocalCaller) (wire.LocalStatus, error) {
	st, err := d.cfg.Engine.Status(ctx)
	if err != nil {
		return wire.LocalStatus{}, err
	}
	out := wire.LocalStatus{HostUUID: st.HostUUID, Status: string(st.State), Pending: []wire.LocalPackage{}, Errors: st.Problems, Exit: d.exitPolicy()}
	for _, p := range st.Pending() {
		out.Pending = append(out.Pending, pendingPackage(p, p.Control()))
	}
	if d.cfg.Uplink != nil {
		out.Connected = d.cfg.Uplink.Connected()
	}
	d.mu.Lock()
	if d.running != nil {
		info := d.running.info
		out.Running = &info
	}
	out.LastUpdate, out.LastUpgrade = d.lastUpdate, d.lastUpgrade
	d.mu.Unlock()
	return out, nil
}

// pendingPackage is p as the local API shows it, with what waptexit
// filters on from c, the control of the version to install (nil for a
// removal).
func pendingPackage(p engine.PackageStatus, c *control.Control) wire.LocalPackage {
	lp := wire.LocalPackage{Package: p.Package, Version: p.Available, InstalledVersion: p.Installed, State: string(p.State)}
	if c != nil {
		lp.Description, lp.Section = c.Get("description"), c.Section()
		lp.Priority = strings.TrimSpace(c.Get("priority"))
		for _, s := range strings.Split(c.Get("impacted_process"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				lp.ImpactedProcess = append(lp.ImpactedProcess, s)
			}
		}
	}
	return lp
}

// exitPolicy returns a copy of the configured waptexit policy.
func (d *Daemon) exitPolicy() *wire.ExitPolicy {
	if d.cfg.Exit == nil {
		return &wire.ExitPolicy{AllowCancel: true, Countdown: 10}
	}
	p := *d.cfg.Exit
	p.Priorities = slices.Clone(p.Priorities)
	return &p
}

// StartTask implements localapi.Backend. Every local user may ask for an
// update, an upgrade of what the host must have (all of it, or the named
// pending packages), or an audit. Installing or removing named packages
// needs an administrator, or self-service rules that grant each of them to
// the caller's OS identity (checked now, and again when the task runs).
func (d *Daemon) StartTask(ctx context.Context, c wire.LocalCaller, r wire.LocalTaskRequest) (wire.LocalTask, error) {
	if err := r.Validate(); err != nil {
		return wire.LocalTask{}, err
	}
	t := &task{force: r.Force, download: r.Kind == wire.LocalKindUpdate,
		info: wire.LocalTask{Kind: r.Kind, Packages: r.Packages, Caller: callerName(c)}}
	switch r.Kind {
	case wire.LocalKindInstall, wire.LocalKindRemove:
		if !c.Admin {
			grants, err := d.authorize(ctx, c, r.Kind, r.Packages)
			if err != nil {
				return wire.LocalTask{}, err
			}
			d.cfg.Logf("self-service: %s may %s %s", callerName(c), r.Kind, strings.Join(grants, ", "))
			t.selfService = &c
		}
	case wire.LocalKindUpgrade:
		for _, p := range r.Packages {
			if _, err := plainName(p); err != nil {
				return wire.LocalTask{}, fmt.Errorf("%w: upgrade: %v", localapi.ErrInvalid, err)
			}
		}
		t.upgradeOnly = len(r.Packages) > 0
	}
	return d.enqueue(t), nil
}

// plainName returns the package name arg is, refusing version constraints.
func plainName(arg string) (string, error) {
	r, err := version.ParseRequest(arg)
	if err != nil {
		return "", err
	}
	if r.Op != version.OpAny || r.Name != arg {
		return "", fmt.Errorf("%.80q: a package name without a version is expected", arg)
	}
	return r.Name, nil
}

func callerName(c wire.LocalCaller) string {
	if c.Username != "" {
		return c.Username
	}
	return "uid " + c.UID
}

// Tasks implements localapi.Backend: finished, running and queued tasks,
// oldest first.
func (d *Daemon) Tasks(context.Context, wire.LocalCaller) ([]wire.LocalTask, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]wire.LocalTask, 0, len(d.done)+len(d.queue)+1)
	for _, t := range d.done {
		out = append(out, t.info)
	}
	if d.running != nil {
		out = append(out, d.running.info)
	}
	for _, t := range d.queue {
		out = append(out, t.info)
	}
	return out, nil
}

// Cancel implements localapi.Backend: administrators cancel any task,
// users the ones they started.
func (d *Daemon) Cancel(_ context.Context, c wire.LocalCaller, id int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	check := func(t *task) error {
		if !c.Admin && t.info.Caller != callerName(c) {
			return fmt.Errorf("%w: task %d was not started by you", localapi.ErrForbidden, id)
		}
		return nil
	}
	for i, t := range d.queue {
		if t.info.ID == id {
			if err := check(t); err != nil {
				return err
			}
			d.queue = append(d.queue[:i:i], d.queue[i+1:]...)
			t.info.State, t.info.Finished, t.info.Message = wire.LocalStateCancelled, d.cfg.Now().UTC(), "cancelled"
			d.done = append(d.done, t)
			d.eventLocked(t)
			go d.actionResult(t, wire.ActionCancelled, 100, "cancelled before it ran")
			return nil
		}
	}
	if t := d.running; t != nil && t.info.ID == id {
		if err := check(t); err != nil {
			return err
		}
		t.cancel()
		return nil
	}
	return fmt.Errorf("%w: task %d is not queued or running", localapi.ErrNotFound, id)
}

// Events implements localapi.Backend: the events after seq after, waiting
// until one comes or ctx ends.
func (d *Daemon) Events(ctx context.Context, _ wire.LocalCaller, after int64) ([]wire.LocalEvent, error) {
	for {
		d.mu.Lock()
		var out []wire.LocalEvent
		for _, e := range d.events {
			if e.Seq > after {
				out = append(out, e)
			}
		}
		ch := d.changed
		d.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, nil
		}
	}
}
