package selfservice

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/shared/wire"
	"github.com/wapt-go/wapt/tray/exit"
)

// ExitConfig holds the optional settings of an ExitWindow; the zero value
// is the production one.
type ExitConfig struct {
	// Second is one step of the countdown (default time.Second); tests
	// shorten it.
	Second time.Duration
	// DoneDelay is how long Done leaves its message on screen before the
	// window closes (default 3 s; 8 s after an error).
	DoneDelay time.Duration
}

// ExitWindow is waptexit's window, the Fyne exit.UI: the pending packages
// with a countdown, "Install now" and "Postpone" (only when the policy
// allows it), then the upgrade's progress, then the outcome; then it
// closes. exit.Run calls it from its own goroutine; the window is shown at
// the first call, so nothing appears when nothing is pending.
type ExitWindow struct {
	cfg ExitConfig
	win fyne.Window

	title     *widget.Label
	pkgs      *widget.Label
	countdown *widget.Label
	install   *widget.Button
	postpone  *widget.Button
	buttons   *fyne.Container
	bar       *widget.ProgressBar
	message   *widget.Label

	// Fields below are used on the UI goroutine only.
	shown       bool
	allowCancel bool
	choice      chan exit.Choice // the running countdown's, nil otherwise
	finished    bool             // Done was called

	// started receives a value once Countdown has shown the window
	// (tests wait on it before tapping).
	started chan struct{}
}

var _ exit.UI = (*ExitWindow)(nil)

// NewExitWindow returns the countdown window of a, not shown yet.
func NewExitWindow(a fyne.App, cfg ExitConfig) *ExitWindow {
	if cfg.Second <= 0 {
		cfg.Second = time.Second
	}
	w := &ExitWindow{cfg: cfg, started: make(chan struct{}, 1)}
	w.win = a.NewWindow("WAPT: updates before shutdown")
	w.win.SetIcon(Icon)
	w.title = widget.NewLabelWithStyle("Updates will be installed before this computer shuts down.",
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.title.Wrapping = fyne.TextWrapWord
	w.pkgs = widget.NewLabel("")
	w.pkgs.Wrapping = fyne.TextWrapWord
	w.countdown = widget.NewLabel("")
	w.install = widget.NewButtonWithIcon("Install now", theme.DownloadIcon(), func() { w.choose(exit.InstallNow) })
	w.install.Importance = widget.HighImportance
	w.postpone = widget.NewButtonWithIcon("Postpone", theme.CancelIcon(), func() { w.choose(exit.Postpone) })
	w.buttons = container.NewHBox(w.postpone, w.install)
	w.bar = widget.NewProgressBar()
	w.bar.Hide()
	w.message = widget.NewLabel("")
	w.message.Wrapping = fyne.TextWrapWord
	w.message.Hide()
	list := container.NewVScroll(w.pkgs)
	list.SetMinSize(fyne.NewSize(440, 120))
	bottom := container.NewVBox(w.countdown, w.bar, w.message, container.NewHBox(layout.NewSpacer(), w.buttons))
	w.win.SetContent(container.NewPadded(container.NewBorder(w.title, bottom, nil, nil, list)))
	w.win.Resize(fyne.NewSize(520, 340))
	w.win.SetCloseIntercept(w.closeRequested)
	return w
}

// Countdown implements exit.UI: it shows pkgs and counts seconds down.
func (w *ExitWindow) Countdown(ctx context.Context, seconds int, pkgs []wire.LocalPackage, allowCancel bool) exit.Choice {
	choice := make(chan exit.Choice, 1)
	fyne.DoAndWait(func() {
		w.allowCancel = allowCancel
		w.choice = choice
		lines := make([]string, len(pkgs))
		for i, p := range pkgs {
			lines[i] = "• " + exit.PackageLine(p)
		}
		w.pkgs.SetText(strings.Join(lines, "\n"))
		w.setCountdown(seconds)
		w.install.Enable()
		if allowCancel {
			w.postpone.Enable()
			w.postpone.Show()
		} else {
			w.postpone.Hide()
		}
		w.buttons.Show()
		w.show()
	})
	select {
	case w.started <- struct{}{}:
	default:
	}

	c := w.count(ctx, seconds, choice)
	fyne.DoAndWait(func() {
		w.choice = nil
		w.install.Disable()
		w.postpone.Disable()
		if c == exit.Postpone && allowCancel {
			w.countdown.SetText("Postponed.")
		} else {
			w.countdown.SetText("Starting the installation…")
		}
	})
	return c
}

// count waits for a choice, ctx or the end of the count.
func (w *ExitWindow) count(ctx context.Context, seconds int, choice <-chan exit.Choice) exit.Choice {
	tick := time.NewTicker(w.cfg.Second)
	defer tick.Stop()
	for left := seconds; left > 0; {
		select {
		case <-ctx.Done():
			return exit.Timeout
		case c := <-choice:
			return c
		case <-tick.C:
			left--
			fyne.Do(func() { w.setCountdown(left) })
		}
	}
	return exit.Timeout
}

// setCountdown shows the seconds left.
func (w *ExitWindow) setCountdown(left int) {
	unit := "seconds"
	if left == 1 {
		unit = "second"
	}
	w.countdown.SetText(fmt.Sprintf("The installation starts in %d %s.", left, unit))
}

// choose sends the user's choice to the running countdown.
func (w *ExitWindow) choose(c exit.Choice) {
	if w.choice == nil || (c == exit.Postpone && !w.allowCancel) {
		return
	}
	select {
	case w.choice <- c:
	default:
	}
}

// closeRequested handles the window's close button: a postponement while
// the countdown runs and postponing is allowed, nothing while the upgrade
// runs, a close once it is done.
func (w *ExitWindow) closeRequested() {
	switch {
	case w.finished:
		w.win.Close()
	case w.choice != nil && w.allowCancel:
		w.choose(exit.Postpone)
	}
}

// Progress implements exit.UI: it shows the upgrade's progress.
func (w *ExitWindow) Progress(t wire.LocalTask) {
	fyne.Do(func() {
		w.show()
		w.buttons.Hide()
		w.countdown.Hide()
		w.bar.SetValue(float64(min(max(t.Progress, 0), 100)) / 100)
		w.bar.Show()
		w.message.Importance = widget.MediumImportance
		if t.State == wire.LocalStateError {
			w.message.Importance = widget.DangerImportance
		}
		w.message.SetText(progressText(t))
		w.message.Show()
	})
}

// progressText is the line under the progress bar.
func progressText(t wire.LocalTask) string {
	var s string
	switch t.State {
	case wire.LocalStateQueued, "":
		s = "Waiting for the agent…"
	case wire.LocalStateRunning:
		s = "Installing updates…"
	case wire.LocalStateDone:
		s = "Updates installed."
	case wire.LocalStateError:
		s = "The installation failed."
	case wire.LocalStateCancelled:
		s = "The installation was cancelled."
	default:
		s = t.State
	}
	if t.Message != "" {
		s += " " + t.Message
	}
	return s
}

// Done implements exit.UI: it shows the outcome for DoneDelay, then closes
// the window.
func (w *ExitWindow) Done(msg string, err error) {
	delay := w.cfg.DoneDelay
	if delay <= 0 {
		delay = 3 * time.Second
		if err != nil {
			delay = 8 * time.Second
		}
	}
	fyne.DoAndWait(func() {
		w.finished = true
		w.show()
		w.buttons.Hide()
		w.countdown.Hide()
		text := msg
		w.message.Importance = widget.SuccessImportance
		if err != nil {
			text += "\n" + err.Error()
			w.message.Importance = widget.DangerImportance
		} else if w.bar.Visible() {
			w.bar.SetValue(1)
		}
		w.message.SetText(text)
		w.message.Show()
	})
	time.Sleep(delay)
	fyne.DoAndWait(w.win.Close)
}

// show shows the window once.
func (w *ExitWindow) show() {
	if w.shown {
		return
	}
	w.shown = true
	w.win.CenterOnScreen()
	w.win.Show()
	w.win.RequestFocus()
}
