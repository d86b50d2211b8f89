package menu

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
	"github.com/wapt-go/wapt/tray/exit"
)

// maxTooltip bounds the tooltip (Windows keeps 127 characters).
const maxTooltip = 120

// view is everything the tray shows, derived from the state by viewOf.
type view struct {
	icon       Icon
	tooltip    string
	statusLine string
	// pendingTitle is the submenu's title; pending its lines.
	pendingTitle string
	pending      []string
	canUpdate    bool // "Check for updates" enabled
	canUpgrade   bool // "Install pending updates now" enabled
	showShutdown bool // "Upgrade at shutdown" shown
	shutdownOn   bool // and checked
}

func (v view) equal(w view) bool {
	return v.icon == w.icon && v.tooltip == w.tooltip && v.statusLine == w.statusLine &&
		v.pendingTitle == w.pendingTitle && slices.Equal(v.pending, w.pending) &&
		v.canUpdate == w.canUpdate && v.canUpgrade == w.canUpgrade &&
		v.showShutdown == w.showShutdown && v.shutdownOn == w.shutdownOn
}

// viewOf derives the view. seen is false until the first Status answer;
// err is the last Status error; slots is the number of pending lines.
func viewOf(st wire.LocalStatus, err error, seen bool, prefs exit.Prefs, slots int) view {
	v := view{pendingTitle: "No pending updates", shutdownOn: prefs.UpgradeAtShutdown}
	switch {
	case !seen:
		v.icon = IconDisconnected
		v.statusLine = "Connecting to the WAPT agent…"
		v.tooltip = "WAPT: connecting to the agent"
		return v
	case err != nil:
		var apiErr *localclient.Error
		if errors.As(err, &apiErr) && !errors.Is(err, localclient.ErrNotRunning) {
			v.icon = IconError
			v.statusLine = "WAPT agent error"
			v.tooltip = "WAPT: agent error: " + userMessage(err)
		} else {
			v.icon = IconDisconnected
			v.statusLine = "WAPT agent not running"
			v.tooltip = "WAPT: the agent service does not answer"
		}
		v.tooltip = clip(v.tooltip, maxTooltip)
		return v
	}

	n := len(st.Pending)
	v.canUpdate = st.Running == nil
	v.canUpgrade = st.Running == nil && n > 0
	pol := exit.DefaultPolicy
	if st.Exit != nil {
		pol = *st.Exit
	}
	v.showShutdown = pol.AllowCancel
	if n > 0 {
		v.pendingTitle = fmt.Sprintf("Pending updates (%d)", n)
		v.pending = pendingLines(st.Pending, slots)
	}
	var summary string
	switch {
	case st.Running != nil:
		v.icon = IconRunning
		summary = runningLine(*st.Running)
	case st.Status == wire.StateError || len(st.Errors) > 0:
		v.icon = IconError
		summary = "Error"
		if len(st.Errors) > 0 {
			summary += ": " + st.Errors[0]
		}
	case n > 0:
		v.icon = IconPending
		summary = plural(n, "update", "updates") + " pending"
	case st.Status == "" && st.LastUpdate == nil:
		v.icon = IconOK
		summary = "Not checked for updates yet"
	default:
		v.icon = IconOK
		summary = "Up to date"
	}
	v.statusLine = clip(summary, 80)
	tip := []string{"WAPT: " + summary}
	if st.LastUpdate != nil && !st.LastUpdate.Time.IsZero() {
		tip = append(tip, "Last check: "+st.LastUpdate.Time.Local().Format("2006-01-02 15:04"))
	}
	if !st.Connected {
		tip = append(tip, "Server not reachable")
	}
	v.tooltip = clip(strings.Join(tip, "\n"), maxTooltip)
	return v
}

// pendingLines is one line per package, at most slots; when there are
// more, the last line says how many.
func pendingLines(pending []wire.LocalPackage, slots int) []string {
	var out []string
	for i, p := range pending {
		if i == slots-1 && len(pending) > slots {
			out = append(out, fmt.Sprintf("… and %d more", len(pending)-i))
			break
		}
		out = append(out, exit.PackageLine(p))
	}
	return out
}

func runningLine(t wire.LocalTask) string {
	s := "Running: " + taskTitle(t)
	if t.State == wire.LocalStateQueued {
		s = "Queued: " + taskTitle(t)
	} else if t.Progress > 0 {
		s += fmt.Sprintf(" %d%%", t.Progress)
	}
	if t.Message != "" {
		s += " – " + t.Message
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// clip cuts s to n runes, with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// render pushes the current view to the UI, touching only what changed.
func (m *Menu) render() {
	v := viewOf(m.st, m.stErr, m.seen, m.prefs, len(m.slots))
	old := m.rendered
	first := !m.iconShown
	m.rendered, m.iconShown = v, true
	if !first && v.equal(old) {
		return
	}
	ui := m.cfg.UI
	if first || v.icon != old.icon {
		ui.SetIcon(v.icon)
	}
	if first || v.tooltip != old.tooltip {
		ui.SetTooltip(v.tooltip)
	}
	if first || v.statusLine != old.statusLine {
		m.status.SetTitle(v.statusLine)
	}
	if first || v.pendingTitle != old.pendingTitle {
		m.pendingParent.SetTitle(v.pendingTitle)
		enable(m.pendingParent, len(v.pending) > 0)
	}
	if first || !slices.Equal(v.pending, old.pending) {
		for i, s := range m.slots {
			switch {
			case i < len(v.pending):
				s.SetTitle(v.pending[i])
				s.Show()
			case i < len(old.pending) || first:
				s.Hide()
			}
		}
	}
	if first || v.canUpdate != old.canUpdate {
		enable(m.update, v.canUpdate)
	}
	if first || v.canUpgrade != old.canUpgrade {
		enable(m.upgrade, v.canUpgrade)
	}
	if first || v.showShutdown != old.showShutdown {
		if v.showShutdown {
			m.shutdown.Show()
		} else {
			m.shutdown.Hide()
		}
	}
	if first || v.shutdownOn != old.shutdownOn {
		if v.shutdownOn {
			m.shutdown.Check()
		} else {
			m.shutdown.Uncheck()
		}
	}
}

func enable(it Item, on bool) {
	if on {
		it.Enable()
	} else {
		it.Disable()
	}
}
