//go:build !windows

package localapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

// TestRoundTrip calls every endpoint through the client and checks that the
// backend got the caller's OS identity.
func TestRoundTrip(t *testing.T) {
	ts := startServer(t, "")
	ctx := context.Background()
	c := ts.client
	b := ts.backend

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if !reflect.DeepEqual(st, b.status) {
		t.Errorf("Status = %+v, want %+v", st, b.status)
	}

	req := wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{"tis-7zip"}, Force: true}
	task, err := c.StartTask(ctx, req)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	if task.ID != 1 || task.Kind != wire.LocalKindInstall || task.State != wire.LocalStateQueued {
		t.Errorf("StartTask = %+v", task)
	}
	if got, _ := b.Requests(); len(got) != 1 || !reflect.DeepEqual(got[0], req) {
		t.Errorf("backend got requests %+v, want [%+v]", got, req)
	}

	tasks, err := c.Tasks(ctx)
	if err != nil {
		t.Fatalf("Tasks: %v", err)
	}
	if len(tasks) != 1 || !reflect.DeepEqual(tasks[0], task) {
		t.Errorf("Tasks = %+v, want [%+v]", tasks, task)
	}

	if err := c.Cancel(ctx, task.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, cancels := b.Requests(); !reflect.DeepEqual(cancels, []int64{1}) {
		t.Errorf("backend cancels = %v", cancels)
	}

	ev := b.publish(task)
	evs, err := c.Events(ctx, 0, 0)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(evs) != 1 || !reflect.DeepEqual(evs[0], ev) {
		t.Errorf("Events = %+v, want [%+v]", evs, ev)
	}

	ss, err := c.SelfService(ctx)
	if err != nil {
		t.Fatalf("SelfService: %v", err)
	}
	if !reflect.DeepEqual(ss, b.self) {
		t.Errorf("SelfService = %+v, want %+v", ss, b.self)
	}

	if !c.Running(ctx) {
		t.Error("Running = false with a server listening")
	}

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	calls := b.Calls()
	wantMethods := []string{"Status", "StartTask", "Tasks", "Cancel", "Events", "SelfService"}
	if len(calls) != len(wantMethods) {
		t.Fatalf("backend calls = %+v, want %v", calls, wantMethods)
	}
	for i, cl := range calls {
		if cl.Method != wantMethods[i] {
			t.Errorf("call %d = %s, want %s", i, cl.Method, wantMethods[i])
		}
		if cl.Caller.UID != strconv.Itoa(os.Getuid()) {
			t.Errorf("%s: caller uid = %q, want %d", cl.Method, cl.Caller.UID, os.Getuid())
		}
		if cl.Caller.Username != me.Username {
			t.Errorf("%s: caller username = %q, want %q", cl.Method, cl.Caller.Username, me.Username)
		}
		if cl.Caller.Admin != (os.Getuid() == 0) {
			t.Errorf("%s: caller admin = %v with uid %d", cl.Method, cl.Caller.Admin, os.Getuid())
		}
		if g, err := user.LookupGroupId(strconv.Itoa(os.Getgid())); err == nil && !contains(cl.Caller.Groups, g.Name) {
			t.Errorf("%s: caller groups %v lack the primary group %q", cl.Method, cl.Caller.Groups, g.Name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestErrors checks that backend errors reach the client as its sentinels,
// with the backend's message for 4xx and a generic one for the rest.
func TestErrors(t *testing.T) {
	ts := startServer(t, "")
	ctx := context.Background()
	tests := []struct {
		name     string
		err      error
		want     error
		status   int
		wantText string // in the client's error
		hidden   string // must not be in the client's error
	}{
		{"forbidden", fmt.Errorf("%w: bob may not upgrade", localapi.ErrForbidden), localclient.ErrForbidden, 403, "bob may not upgrade", ""},
		{"not found", fmt.Errorf("task 9: %w", localapi.ErrNotFound), localclient.ErrNotFound, 404, "task 9", ""},
		{"busy", fmt.Errorf("%w: an upgrade is running", localapi.ErrBusy), localclient.ErrBusy, 409, "an upgrade is running", ""},
		{"invalid", fmt.Errorf("%w: unknown package", localapi.ErrInvalid), localclient.ErrInvalid, 400, "unknown package", ""},
		{"fields", &wire.FieldsError{Fields: map[string]string{"packages[0]": "no such package"}}, localclient.ErrInvalid, 400, "no such package", ""},
		{"internal", errors.New("sqlite: disk I/O error at /var/lib/secret"), nil, 500, "internal error", "/var/lib/secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.backend.setErr(tt.err)
			defer ts.backend.setErr(nil)
			calls := map[string]func() error{
				"Status":      func() error { _, err := ts.client.Status(ctx); return err },
				"StartTask":   func() error { _, err := ts.client.StartTask(ctx, wire.LocalTaskRequest{Kind: "update"}); return err },
				"Tasks":       func() error { _, err := ts.client.Tasks(ctx); return err },
				"Cancel":      func() error { return ts.client.Cancel(ctx, 1) },
				"Events":      func() error { _, err := ts.client.Events(ctx, 0, 0); return err },
				"SelfService": func() error { _, err := ts.client.SelfService(ctx); return err },
			}
			for name, f := range calls {
				err := f()
				if err == nil {
					t.Fatalf("%s: no error", name)
				}
				var ae *localclient.Error
				if !errors.As(err, &ae) || ae.Status != tt.status {
					t.Errorf("%s: error %v, want status %d", name, err, tt.status)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("%s: error %v is not %v", name, err, tt.want)
				}
				for _, s := range []error{localclient.ErrForbidden, localclient.ErrNotFound, localclient.ErrBusy, localclient.ErrInvalid, localclient.ErrNotRunning} {
					if s != tt.want && errors.Is(err, s) {
						t.Errorf("%s: error %v is also %v", name, err, s)
					}
				}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("%s: error %q lacks %q", name, err, tt.wantText)
				}
				if tt.hidden != "" && strings.Contains(err.Error(), tt.hidden) {
					t.Errorf("%s: error %q leaks %q", name, err, tt.hidden)
				}
			}
			if tt.hidden != "" && !strings.Contains(ts.logs.String(), tt.hidden) {
				t.Errorf("the server log %s lacks the internal error", ts.logs)
			}
			var ae *localclient.Error
			if _, err := ts.client.Status(ctx); tt.name == "fields" && (!errors.As(err, &ae) || ae.Fields["packages[0]"] != "no such package") {
				t.Errorf("fields error = %#v", ae)
			}
		})
	}
}

// rawClient sends requests that localclient would not send.
func rawClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

func TestBadRequests(t *testing.T) {
	ts := startServer(t, "")
	hc := rawClient(ts.path)
	big := `{"kind":"install","packages":["` + strings.Repeat("a", localapi.MaxRequestBody) + `"]}`
	tests := []struct {
		name, method, path, body string
		status                   int
		reason                   string
	}{
		{"too large", "POST", "/v1/tasks", big, 400, "larger than 65536 bytes"},
		{"unknown field", "POST", "/v1/tasks", `{"kind":"update","user":"root"}`, 400, `unknown field "user"`},
		{"not JSON", "POST", "/v1/tasks", `kind=update`, 400, "bad JSON body"},
		{"trailing data", "POST", "/v1/tasks", `{"kind":"update"} {"kind":"upgrade"}`, 400, "data after the JSON object"},
		{"empty body", "POST", "/v1/tasks", ``, 400, "empty request body"},
		{"wrong type", "POST", "/v1/tasks", `{"kind":"update","force":"yes"}`, 400, "bad JSON body"},
		{"unknown kind", "POST", "/v1/tasks", `{"kind":"format-c"}`, 400, "unknown kind"},
		{"install without packages", "POST", "/v1/tasks", `{"kind":"install"}`, 400, "required for install"},
		{"bad task id", "DELETE", "/v1/tasks/abc", ``, 400, "not a number"},
		{"bad after", "GET", "/v1/events?after=-1", ``, 400, "not a sequence number"},
		{"bad wait", "GET", "/v1/events?wait=forever", ``, 400, "not a duration"},
		{"negative wait", "GET", "/v1/events?wait=-1s", ``, 400, "negative"},
		{"no route", "GET", "/v1/nothing", ``, 404, "no such endpoint"},
		{"method", "PUT", "/v1/status", ``, 405, "method not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://agent"+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var we wire.Error
			if err := json.NewDecoder(resp.Body).Decode(&we); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(we.Error, tt.reason) {
				t.Errorf("got %d %+v, want %d with %q", resp.StatusCode, we, tt.status, tt.reason)
			}
		})
	}
	for _, cl := range ts.backend.Calls() {
		if cl.Method == "StartTask" || cl.Method == "Cancel" {
			t.Errorf("backend called with a bad request: %+v", cl)
		}
	}

	// The same refusals through the client are ErrInvalid with the reason.
	ctx := context.Background()
	huge := wire.LocalTaskRequest{Kind: wire.LocalKindInstall}
	for range 600 {
		huge.Packages = append(huge.Packages, strings.Repeat("p", 120))
	}
	_, err := ts.client.StartTask(ctx, huge)
	if !errors.Is(err, localclient.ErrInvalid) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized StartTask: %v, want ErrInvalid with a reason", err)
	}
	_, err = ts.client.StartTask(ctx, wire.LocalTaskRequest{Kind: "reboot"})
	var ae *localclient.Error
	if !errors.Is(err, localclient.ErrInvalid) || !errors.As(err, &ae) || !strings.Contains(ae.Fields["kind"], "unknown kind") {
		t.Errorf("StartTask(reboot): %v, want ErrInvalid with a kind field", err)
	}
}

func TestEventsLongPoll(t *testing.T) {
	ts := startServer(t, "")
	ctx := context.Background()

	// An event arriving during the wait ends it.
	type result struct {
		evs []wire.LocalEvent
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		evs, err := ts.client.Events(ctx, 0, 20*time.Second)
		done <- result{evs, err}
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("Events returned before any event: %+v, %v", r.evs, r.err)
	default:
	}
	ev := ts.backend.publish(wire.LocalTask{ID: 7, Kind: "upgrade", State: wire.LocalStateRunning, Progress: 40})
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(r.evs) != 1 || !reflect.DeepEqual(r.evs[0], ev) {
			t.Errorf("Events = %+v, want [%+v]", r.evs, ev)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Events took %v after the event", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Events did not return when an event arrived")
	}

	// Nothing after seq 1: an empty answer when the wait expires.
	start = time.Now()
	evs, err := ts.client.Events(ctx, ev.Seq, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if evs == nil || len(evs) != 0 {
		t.Errorf("Events after the last = %#v, want an empty list", evs)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("an expired wait took %v, want about 300ms", d)
	}

	// Without wait, at once.
	start = time.Now()
	if evs, err := ts.client.Events(ctx, ev.Seq, 0); err != nil || len(evs) != 0 {
		t.Errorf("Events(wait 0) = %v, %v", evs, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Events(wait 0) took %v", d)
	}
}

// TestShutdown checks that Serve returns soon after its context is done,
// ending a long poll in flight.
func TestShutdown(t *testing.T) {
	ts := startServer(t, "")
	done := make(chan error, 1)
	go func() {
		_, err := ts.client.Events(context.Background(), 0, time.Minute)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v with a long poll in flight", d)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll did not end at shutdown")
	}
	if _, err := os.Stat(ts.path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
	if ts.client.Running(context.Background()) {
		t.Error("Running = true after shutdown")
	}
	if _, err := ts.client.Status(context.Background()); !errors.Is(err, localclient.ErrNotRunning) {
		t.Errorf("Status after shutdown: %v, want ErrNotRunning", err)
	}
}

func TestNotRunning(t *testing.T) {
	c := localclient.New(filepath.Join(sockDir(t), "none.sock"))
	ctx := context.Background()
	if c.Running(ctx) {
		t.Error("Running = true with nothing listening")
	}
	if _, err := c.Status(ctx); !errors.Is(err, localclient.ErrNotRunning) {
		t.Errorf("Status: %v, want ErrNotRunning", err)
	}
}

func TestListen(t *testing.T) {
	t.Run("creates the directory and a 0666 socket", func(t *testing.T) {
		dir := filepath.Join(sockDir(t), "run")
		ts := startServer(t, dir)
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("directory mode %v, want 0755", fi.Mode().Perm())
		}
		fi, err = os.Stat(ts.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o666 {
			t.Errorf("socket mode %v, want a 0666 socket", fi.Mode())
		}
	})
	t.Run("replaces a stale socket", func(t *testing.T) {
		dir := sockDir(t)
		path := filepath.Join(dir, "agent.sock")
		old, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		old.(*net.UnixListener).SetUnlinkOnClose(false)
		old.Close() // a crashed agent leaves its socket behind
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("no stale socket: %v", err)
		}
		ts := startServer(t, dir)
		if _, err := ts.client.Status(context.Background()); err != nil {
			t.Errorf("Status after replacing a stale socket: %v", err)
		}
	})
	t.Run("refuses a live socket", func(t *testing.T) {
		ts := startServer(t, "")
		if l, err := localapi.Listen(ts.path); err == nil {
			l.Close()
			t.Fatal("Listen took over the socket of a running server")
		}
		if _, err := ts.client.Status(context.Background()); err != nil {
			t.Errorf("the running server was disturbed: %v", err)
		}
	})
	t.Run("refuses a file that is not a socket", func(t *testing.T) {
		path := filepath.Join(sockDir(t), "agent.sock")
		if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
		if l, err := localapi.Listen(path); err == nil {
			l.Close()
			t.Fatal("Listen replaced a regular file")
		}
		if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, []byte("data")) {
			t.Errorf("the file was touched: %q, %v", b, err)
		}
	})
}

// TestNoIdentity serves on a TCP listener, where no caller can be
// identified: connections are closed before any request is handled.
func TestNoIdentity(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := serveOn(t, l, "")
	resp, err := http.Get("http://" + l.Addr().String() + "/v1/status")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("an unidentified connection was answered: %d %s", resp.StatusCode, b)
	}
	if calls := ts.backend.Calls(); len(calls) != 0 {
		t.Errorf("backend called for an unidentified connection: %+v", calls)
	}
	if !strings.Contains(ts.logs.String(), "refused a connection") {
		t.Errorf("the refusal was not logged: %s", ts.logs)
	}
}
