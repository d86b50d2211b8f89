package exit

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// syncBuffer is a bytes.Buffer safe for the console's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConsoleCountdown(t *testing.T) {
	tests := []struct {
		name   string
		in     io.Reader
		allow  bool
		want   Choice
		output []string
	}{
		{"no input runs out", nil, true, Timeout, []string{"tis-a 1 → 2", "postpone", "Installing in 3 s", "Installing in 1 s"}},
		{"closed input runs out", strings.NewReader(""), true, Timeout, []string{"Installing in 1 s"}},
		{"p postpones", strings.NewReader("p\n"), true, Postpone, []string{"Postponed."}},
		{"p refused when not allowed", strings.NewReader("p\n"), false, Timeout, []string{"Press Enter to install now.", "not allowed"}},
		{"enter installs now", strings.NewReader("\n"), false, InstallNow, []string{"Installing now."}},
		{"unknown answers are ignored", strings.NewReader("what\n"), true, Timeout, []string{"Installing in 1 s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			c := NewConsole(tt.in, &out)
			c.second = 20 * time.Millisecond
			got := c.Countdown(context.Background(), 3, pkgs("tis-a"), tt.allow)
			if got != tt.want {
				t.Errorf("Countdown = %v, want %v\n%s", got, tt.want, out.String())
			}
			for _, s := range tt.output {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
			if !tt.allow && strings.Contains(out.String(), "to postpone") {
				t.Errorf("postpone offered when not allowed:\n%s", out.String())
			}
		})
	}
}

func TestConsoleCountdownContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := NewConsole(nil, io.Discard)
	done := make(chan Choice)
	go func() { done <- c.Countdown(ctx, 1000, nil, true) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Countdown ignores ctx")
	}
}

func TestConsoleProgressAndDone(t *testing.T) {
	var out syncBuffer
	c := NewConsole(nil, &out)
	task := wire.LocalTask{ID: 1, Kind: "upgrade", State: wire.LocalStateRunning, Progress: 40, Message: "tis-a"}
	c.Progress(task)
	c.Progress(task) // unchanged: not printed again
	task.Progress = 100
	task.State = wire.LocalStateDone
	task.Message = ""
	c.Progress(task)
	c.Done("The upgrade did not complete.", ErrTaskFailed)
	want := "[ 40%] upgrade running: tis-a\n[100%] upgrade done\nThe upgrade did not complete.\nError: upgrade failed\n"
	if out.String() != want {
		t.Errorf("output =\n%q\nwant\n%q", out.String(), want)
	}
}

func TestPackageLine(t *testing.T) {
	tests := []struct {
		p    wire.LocalPackage
		want string
	}{
		{wire.LocalPackage{Package: "tis-a", Version: "2", InstalledVersion: "1"}, "tis-a 1 → 2"},
		{wire.LocalPackage{Package: "tis-a", Version: "2"}, "tis-a 2 (new)"},
		{wire.LocalPackage{Package: "tis-a", InstalledVersion: "1"}, "tis-a (remove)"},
	}
	for _, tt := range tests {
		if got := PackageLine(tt.p); got != tt.want {
			t.Errorf("PackageLine(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
