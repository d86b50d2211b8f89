//go:build !windows

package localclient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// serve runs h on a unix socket in a short temp dir (sun_path is 108
// bytes) and returns its path.
func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "wlc")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return path
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
		text   string
	}{
		{"forbidden", 403, `{"error":"forbidden: bob may not upgrade","code":"forbidden"}`, ErrForbidden, "bob may not upgrade"},
		{"not found", 404, `{"error":"task 9: not found","code":"not_found"}`, ErrNotFound, "task 9"},
		{"busy", 409, `{"error":"an upgrade is running","code":"busy"}`, ErrBusy, "an upgrade is running"},
		{"bad request", 400, `{"error":"invalid request: bad JSON body","code":"invalid"}`, ErrInvalid, "bad JSON body"},
		{"too large", 413, `{"error":"too big","code":"invalid"}`, ErrInvalid, "too big"},
		{"unprocessable", 422, `{"error":"nope","code":"invalid","fields":{"kind":"unknown"}}`, ErrInvalid, "nope"},
		{"internal", 500, `{"error":"internal error","code":"internal"}`, nil, "internal error"},
		{"not JSON", 502, "<html>\n\x00bad gateway</html>", nil, "<html> ?bad gateway</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			_, err := New(path).Status(context.Background())
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status {
				t.Fatalf("error %v, want an *Error with status %d", err, tt.status)
			}
			for _, s := range []error{ErrForbidden, ErrNotFound, ErrBusy, ErrInvalid, ErrNotRunning} {
				if errors.Is(err, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == tt.want))
				}
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q lacks %q", err, tt.text)
			}
			if tt.status == 422 && e.Fields["kind"] != "unknown" {
				t.Errorf("fields = %v", e.Fields)
			}
		})
	}
}

func TestBoundedAnswer(t *testing.T) {
	path := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"host_uuid":"`))
		chunk := []byte(strings.Repeat("x", 1<<20))
		for range MaxResponse/len(chunk) + 1 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte(`"}`))
	}))
	_, err := New(path).Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Status with a 9 MiB answer: %v, want an error", err)
	}
}

func TestRequests(t *testing.T) {
	type seen struct {
		method, path, query, ctype string
		body                       wire.LocalTaskRequest
	}
	got := make(chan seen, 1)
	path := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, ctype: r.Header.Get("Content-Type")}
		if r.Method == http.MethodPost {
			json.NewDecoder(r.Body).Decode(&s.body)
		}
		got <- s
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/v1/events":
			w.Write([]byte(`[{"seq":3,"time":"2025-01-02T03:04:05Z","task":{"id":1,"kind":"update","state":"done","progress":100}}]`))
		default:
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"id":5,"kind":"install","state":"queued","progress":0}`))
		}
	}))
	c := New(path)
	ctx := context.Background()

	task, err := c.StartTask(ctx, wire.LocalTaskRequest{Kind: "install", Packages: []string{"tis-7zip"}})
	if err != nil || task.ID != 5 {
		t.Fatalf("StartTask = %+v, %v", task, err)
	}
	s := <-got
	if s.method != "POST" || s.path != "/v1/tasks" || s.ctype != "application/json" || s.body.Kind != "install" || len(s.body.Packages) != 1 {
		t.Errorf("StartTask sent %+v", s)
	}

	if err := c.Cancel(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.method != "DELETE" || s.path != "/v1/tasks/42" {
		t.Errorf("Cancel sent %+v", s)
	}

	evs, err := c.Events(ctx, 2, 1500*time.Millisecond)
	if err != nil || len(evs) != 1 || evs[0].Seq != 3 || evs[0].Task.Progress != 100 {
		t.Fatalf("Events = %+v, %v", evs, err)
	}
	if s := <-got; s.method != "GET" || s.path != "/v1/events" || s.query != "after=2&wait=1.5s" {
		t.Errorf("Events sent %+v", s)
	}
}

func TestNotRunning(t *testing.T) {
	dir, err := os.MkdirTemp("", "wlc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	missing := New(filepath.Join(dir, "none.sock"))
	stalePath := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stalePath)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	for name, c := range map[string]*Client{"missing": missing, "stale": New(stalePath)} {
		if c.Running(ctx) {
			t.Errorf("%s: Running = true", name)
		}
		_, err := c.Tasks(ctx)
		if !errors.Is(err, ErrNotRunning) {
			t.Errorf("%s: Tasks: %v, want ErrNotRunning", name, err)
		}
	}

	// A cancelled context is not "not running".
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := missing.Status(cctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNotRunning) {
		t.Errorf("Status with a cancelled context: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	if New("").Path() != DefaultPath() || DefaultPath() == "" {
		t.Errorf("New(\"\").Path() = %q, DefaultPath() = %q", New("").Path(), DefaultPath())
	}
}
