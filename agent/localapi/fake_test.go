//go:build !windows

package localapi_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

var _ localapi.Backend = (*fakeBackend)(nil)

// call is one Backend call as the fake saw it.
type call struct {
	Method string
	Caller wire.LocalCaller
}

// fakeBackend records the caller of every call. Non-admin callers may only
// read, and start install tasks of SelfService packages; Err, when set, is
// returned by every call.
type fakeBackend struct {
	mu       sync.Mutex
	calls    []call
	err      error
	status   wire.LocalStatus
	tasks    []wire.LocalTask
	events   []wire.LocalEvent
	notify   chan struct{} // closed and replaced by publish
	self     []wire.SelfServicePackage
	cancels  []int64
	requests []wire.LocalTaskRequest
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		notify: make(chan struct{}),
		status: wire.LocalStatus{
			HostUUID: "host-1",
			Status:   wire.StateNeedUpgrade,
			Pending: []wire.LocalPackage{
				{Package: "tis-firefox", Version: "120.0-1", InstalledVersion: "119.0-1", State: wire.StateNeedUpgrade},
			},
			LastUpdate: &wire.RunSummary{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), OK: true},
			Connected:  true,
		},
		self: []wire.SelfServicePackage{
			{Package: "tis-7zip", Version: "24.0-1", Description: "Archiver", Category: "Utilities", Allowed: true},
		},
	}
}

func (f *fakeBackend) record(method string, c wire.LocalCaller) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, c})
	return f.err
}

func (f *fakeBackend) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// Calls returns the calls seen so far.
func (f *fakeBackend) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Requests returns the task requests and cancelled ids seen so far.
func (f *fakeBackend) Requests() ([]wire.LocalTaskRequest, []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests), slices.Clone(f.cancels)
}

func (f *fakeBackend) Status(_ context.Context, c wire.LocalCaller) (wire.LocalStatus, error) {
	if err := f.record("Status", c); err != nil {
		return wire.LocalStatus{}, err
	}
	return f.status, nil
}

func (f *fakeBackend) StartTask(_ context.Context, c wire.LocalCaller, r wire.LocalTaskRequest) (wire.LocalTask, error) {
	if err := f.record("StartTask", c); err != nil {
		return wire.LocalTask{}, err
	}
	if !c.Admin && !(r.Kind == wire.LocalKindInstall && f.selfService(r.Packages)) {
		return wire.LocalTask{}, fmt.Errorf("%w: %s may not %s", localapi.ErrForbidden, c.Username, r.Kind)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	t := wire.LocalTask{ID: int64(len(f.tasks) + 1), Kind: r.Kind, Packages: r.Packages, State: wire.LocalStateQueued, Caller: c.Username}
	f.tasks = append(f.tasks, t)
	return t, nil
}

func (f *fakeBackend) selfService(names []string) bool {
	for _, n := range names {
		if !slices.ContainsFunc(f.self, func(p wire.SelfServicePackage) bool { return p.Package == n && p.Allowed }) {
			return false
		}
	}
	return true
}

func (f *fakeBackend) Tasks(_ context.Context, c wire.LocalCaller) ([]wire.LocalTask, error) {
	if err := f.record("Tasks", c); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tasks), nil
}

func (f *fakeBackend) Cancel(_ context.Context, c wire.LocalCaller, id int64) error {
	if err := f.record("Cancel", c); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id < 1 || id > int64(len(f.tasks)) {
		return fmt.Errorf("task %d: %w", id, localapi.ErrNotFound)
	}
	f.cancels = append(f.cancels, id)
	return nil
}

func (f *fakeBackend) Events(ctx context.Context, c wire.LocalCaller, after int64) ([]wire.LocalEvent, error) {
	if err := f.record("Events", c); err != nil {
		return nil, err
	}
	for {
		f.mu.Lock()
		var out []wire.LocalEvent
		for _, e := range f.events {
			if e.Seq > after {
				out = append(out, e)
			}
		}
		notify := f.notify
		f.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// publish adds an event for task and wakes the long polls.
func (f *fakeBackend) publish(task wire.LocalTask) wire.LocalEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := wire.LocalEvent{Seq: int64(len(f.events) + 1), Time: time.Now().UTC().Truncate(time.Second), Task: task}
	f.events = append(f.events, e)
	close(f.notify)
	f.notify = make(chan struct{})
	return e
}

func (f *fakeBackend) SelfService(_ context.Context, c wire.LocalCaller) ([]wire.SelfServicePackage, error) {
	if err := f.record("SelfService", c); err != nil {
		return nil, err
	}
	return f.self, nil
}

// sockDir returns a new short directory for sockets: t.TempDir() paths can
// exceed the 108 bytes of sun_path.
func sockDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "wla")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// testServer is a Server of a fake backend on a real socket.
type testServer struct {
	backend *fakeBackend
	path    string
	client  *localclient.Client
	logs    *logBuffer
	stop    func() error // stops Serve and returns its error
}

// logBuffer collects the server's log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, fmt.Sprintf(format, args...))
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprint(b.lines)
}

// startServer serves a fake backend on a socket in dir ("" for a new one).
func startServer(tb testing.TB, dir string) *testServer {
	tb.Helper()
	if dir == "" {
		dir = sockDir(tb)
	}
	path := filepath.Join(dir, "agent.sock")
	l, err := localapi.Listen(path)
	if err != nil {
		tb.Fatal(err)
	}
	return serveOn(tb, l, path)
}

func serveOn(tb testing.TB, l net.Listener, path string) *testServer {
	tb.Helper()
	ts := &testServer{backend: newFakeBackend(), path: path, logs: &logBuffer{}}
	srv := localapi.New(ts.backend, localapi.WithLogf(ts.logs.logf))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	var once sync.Once
	var serveErr error
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				serveErr = fmt.Errorf("Serve did not return 10 s after its context was cancelled")
			}
		})
		return serveErr
	}
	tb.Cleanup(func() {
		if err := ts.stop(); err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	ts.client = localclient.New(path)
	return ts
}
