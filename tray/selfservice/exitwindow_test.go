package selfservice

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/shared/wire"
	"github.com/wapt-go/wapt/tray/exit"
)

var pending = []wire.LocalPackage{
	{Package: "tis-firefox", Version: "128.0-2", InstalledVersion: "127.0-1", State: "NEED-UPGRADE"},
	{Package: "tis-vlc", Version: "3.0.21-1", State: "NEED-INSTALL"},
}

// startCountdown runs Countdown in the background and waits until the
// window shows it; the returned channel gets its choice.
func startCountdown(t *testing.T, w *ExitWindow, ctx context.Context, seconds int, allowCancel bool) <-chan exit.Choice {
	t.Helper()
	out := make(chan exit.Choice, 1)
	go func() { out <- w.Countdown(ctx, seconds, pending, allowCancel) }()
	select {
	case <-w.started:
	case <-time.After(5 * time.Second):
		t.Fatal("Countdown did not show the window")
	}
	return out
}

func waitChoice(t *testing.T, ch <-chan exit.Choice) exit.Choice {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("Countdown did not return")
	}
	return 0
}

func newTestExitWindow(t *testing.T, cfg ExitConfig) *ExitWindow {
	t.Helper()
	a := test.NewTempApp(t)
	w := NewExitWindow(a, cfg)
	t.Cleanup(func() {
		if !w.finished { // Done closed it; the test driver panics on a second Close
			w.win.Close()
		}
	})
	return w
}

func TestExitWindowInstallNowWithoutPostpone(t *testing.T) {
	w := newTestExitWindow(t, ExitConfig{Second: time.Hour})
	ch := startCountdown(t, w, context.Background(), 30, false)

	if w.postpone.Visible() {
		t.Error("Postpone is shown although the policy forbids it")
	}
	if !w.install.Visible() || w.install.Disabled() {
		t.Error("Install now is not offered")
	}
	if !strings.Contains(w.countdown.Text, "30 seconds") {
		t.Errorf("countdown = %q", w.countdown.Text)
	}
	for _, want := range []string{"tis-firefox 127.0-1 → 128.0-2", "tis-vlc 3.0.21-1 (new)"} {
		if !strings.Contains(w.pkgs.Text, want) {
			t.Errorf("package list %q lacks %q", w.pkgs.Text, want)
		}
	}
	w.choose(exit.Postpone) // cannot happen through the hidden button; still refused
	test.Tap(w.install)
	if c := waitChoice(t, ch); c != exit.InstallNow {
		t.Errorf("choice = %v, want %v", c, exit.InstallNow)
	}
	if !w.install.Disabled() {
		t.Error("Install now stays enabled after the choice")
	}
}

func TestExitWindowPostpone(t *testing.T) {
	w := newTestExitWindow(t, ExitConfig{Second: time.Hour})
	ch := startCountdown(t, w, context.Background(), 30, true)
	if !w.postpone.Visible() || w.postpone.Disabled() {
		t.Fatal("Postpone is not offered although the policy allows it")
	}
	test.Tap(w.postpone)
	if c := waitChoice(t, ch); c != exit.Postpone {
		t.Errorf("choice = %v, want %v", c, exit.Postpone)
	}
	if w.countdown.Text != "Postponed." {
		t.Errorf("countdown = %q", w.countdown.Text)
	}
}

func TestExitWindowCloseButton(t *testing.T) {
	w := newTestExitWindow(t, ExitConfig{Second: time.Hour})
	ch := startCountdown(t, w, context.Background(), 30, true)
	w.closeRequested() // the window's close button, postponing allowed
	if c := waitChoice(t, ch); c != exit.Postpone {
		t.Errorf("choice = %v, want %v", c, exit.Postpone)
	}

	w2 := newTestExitWindow(t, ExitConfig{Second: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	ch = startCountdown(t, w2, ctx, 30, false)
	w2.closeRequested() // ignored: postponing is not allowed
	select {
	case c := <-ch:
		t.Fatalf("the close button ended a countdown that cannot be postponed: %v", c)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if c := waitChoice(t, ch); c != exit.Timeout {
		t.Errorf("choice after ctx cancelled = %v", c)
	}
}

func TestExitWindowCountdownRunsOut(t *testing.T) {
	w := newTestExitWindow(t, ExitConfig{Second: time.Millisecond})
	start := time.Now()
	c := w.Countdown(context.Background(), 5, pending, true)
	if c != exit.Timeout {
		t.Errorf("choice = %v, want %v", c, exit.Timeout)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("countdown of 5 ms steps took %v", d)
	}
	if !strings.Contains(w.countdown.Text, "Starting the installation") {
		t.Errorf("countdown = %q", w.countdown.Text)
	}
}

func TestExitWindowProgressAndDone(t *testing.T) {
	w := newTestExitWindow(t, ExitConfig{Second: time.Hour, DoneDelay: time.Millisecond})
	w.Progress(wire.LocalTask{ID: 3, Kind: wire.LocalKindUpgrade, State: wire.LocalStateRunning, Progress: 40, Message: "tis-firefox"})
	if !w.bar.Visible() || w.bar.Value != 0.4 {
		t.Errorf("bar shown %v, value %v, want 0.4", w.bar.Visible(), w.bar.Value)
	}
	if w.buttons.Visible() || w.countdown.Visible() {
		t.Error("the countdown's buttons stay during the upgrade")
	}
	if w.message.Text != "Installing updates… tis-firefox" {
		t.Errorf("message = %q", w.message.Text)
	}
	w.Progress(wire.LocalTask{ID: 3, Kind: wire.LocalKindUpgrade, State: wire.LocalStateRunning, Progress: 90})
	if w.bar.Value != 0.9 {
		t.Errorf("bar = %v, want 0.9", w.bar.Value)
	}
	w.closeRequested() // ignored while the upgrade runs
	if w.finished {
		t.Error("finished before Done")
	}

	w.Done("The upgrade did not complete.", errors.New("upgrade failed: tis-vlc"))
	if !strings.Contains(w.message.Text, "did not complete") || !strings.Contains(w.message.Text, "tis-vlc") ||
		w.message.Importance != widget.DangerImportance {
		t.Errorf("done: message %q (importance %v)", w.message.Text, w.message.Importance)
	}
}

func TestProgressText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		task wire.LocalTask
		want string
	}{
		{wire.LocalTask{State: wire.LocalStateQueued}, "Waiting for the agent…"},
		{wire.LocalTask{State: wire.LocalStateRunning, Message: "tis-vlc"}, "Installing updates… tis-vlc"},
		{wire.LocalTask{State: wire.LocalStateDone}, "Updates installed."},
		{wire.LocalTask{State: wire.LocalStateError, Message: "boom"}, "The installation failed. boom"},
		{wire.LocalTask{State: wire.LocalStateCancelled}, "The installation was cancelled."},
	}
	for _, tt := range tests {
		if got := progressText(tt.task); got != tt.want {
			t.Errorf("progressText(%+v) = %q, want %q", tt.task, got, tt.want)
		}
	}
}
