package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/shared/wire"
)

// askPackages asks which packages to install or remove on hosts.
func (t *hostsTab) askPackages(kind string, hosts []string) {
	c := t.c
	names := widget.NewEntry()
	names.SetPlaceHolder("package names, such as firefox, 7zip(>=23)")
	force := widget.NewCheck("Force (reinstall / remove even if the state says otherwise)", nil)
	errText := errorLabel()
	var d dialog.Dialog
	send := func() {
		pkgs := splitList(names.Text)
		if len(pkgs) == 0 {
			setError(errText, "Name at least one package.")
			return
		}
		d.Hide()
		c.sendAction(kind, hosts, pkgs, force.Checked)
	}
	names.OnSubmitted = func(string) { send() }
	ok := widget.NewButton(strings.ToUpper(kind[:1])+kind[1:], send)
	ok.Importance = widget.HighImportance
	content := container.NewVBox(
		widget.NewLabel(fmt.Sprintf("%s packages on %d host(s):", strings.ToUpper(kind[:1])+kind[1:], len(hosts))),
		names, force, errText,
		container.NewHBox(ok, widget.NewButton("Cancel", func() { d.Hide() })),
	)
	d = dialog.NewCustomWithoutButtons("Packages to "+kind, content, c.win)
	d.Resize(fyne.NewSize(480, 0))
	d.Show()
	c.win.Canvas().Focus(names)
}

// sendAction signs and sends an action (core.SendAction), then shows its
// results live.
func (c *Console) sendAction(kind string, hosts, packages []string, force bool) {
	c.setStatus(fmt.Sprintf("Sending %s to %d host(s)…", kind, len(hosts)))
	var acc wire.ActionAccepted
	c.call(func(ctx context.Context, core Core) error {
		var err error
		acc, err = core.SendAction(ctx, kind, hosts, packages, force)
		return err
	}, func(err error) {
		if err != nil {
			c.showError("Action "+kind, err)
			return
		}
		c.setStatus(fmt.Sprintf("Action %s sent to %d host(s), %d connected now.", kind, acc.Hosts, acc.Connected))
		c.results = c.showActionResults(kind, acc)
	})
}

// actionResults is the live view of one action's per-host results.
type actionResults struct {
	kind    string
	acc     wire.ActionAccepted
	header  *widget.Label
	table   *widget.Table
	results []wire.HostActionState
	final   bool
	dialog  dialog.Dialog
	cancel  context.CancelFunc
}

// showActionResults opens the results dialog and polls core.ActionResults
// every PollEvery until every host reached a final state (or the dialog is
// closed).
func (c *Console) showActionResults(kind string, acc wire.ActionAccepted) *actionResults {
	r := &actionResults{kind: kind, acc: acc, header: widget.NewLabel("")}
	r.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(r.results), 4 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			res := r.results[id.Row]
			var s string
			switch id.Col {
			case 0:
				s = res.Host
			case 1:
				s = res.State
			case 2:
				if res.Progress > 0 {
					s = fmt.Sprintf("%d%%", res.Progress)
				}
			case 3:
				s = res.Message
			}
			o.(*widget.Label).SetText(s)
		},
	)
	r.table.ShowHeaderColumn = false
	r.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	r.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText([]string{"Host", "State", "Progress", "Message"}[id.Col])
		}
	}
	for i, w := range []float32{200, 100, 80, 360} {
		r.table.SetColumnWidth(i, w)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	r.cancel = cancel
	closeBtn := widget.NewButton("Close", func() { cancel(); r.dialog.Hide() })
	content := container.NewBorder(r.header, closeBtn, nil, nil, r.table)
	r.dialog = dialog.NewCustomWithoutButtons("Action "+kind, content, c.win)
	r.dialog.Resize(fyne.NewSize(800, 420))
	r.update(wire.ActionDetail{}, nil)
	r.dialog.Show()

	core, every := c.core, c.cfg.PollEvery
	c.background(func() {
		for {
			cctx, ccancel := context.WithTimeout(ctx, timeout)
			d, err := core.ActionResults(cctx, acc.ID)
			ccancel()
			if ctx.Err() != nil {
				return
			}
			onMain(func() { r.update(d, err) })
			if err == nil && allFinal(d.Results) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
		}
	})
	return r
}

// allFinal reports whether every host result is final (wire.ActionFinal).
func allFinal(rs []wire.HostActionState) bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		if !wire.ActionFinal(r.State) {
			return false
		}
	}
	return true
}

func (r *actionResults) update(d wire.ActionDetail, err error) {
	if err != nil {
		r.header.SetText(fmt.Sprintf("Action %s (%s): %s", r.kind, r.acc.ID, errorText(err)))
		return
	}
	if d.ID != "" {
		r.results = d.Results
	}
	r.final = allFinal(r.results)
	counts := map[string]int{}
	for _, x := range r.results {
		counts[x.State]++
	}
	var parts []string
	for _, s := range []string{wire.ActionPending, wire.ActionReceived, wire.ActionRunning, wire.ActionDone,
		wire.ActionError, wire.ActionRefused, wire.ActionCancelled, wire.ActionExpired} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	state := "running"
	if r.final {
		state = "finished"
	}
	r.header.SetText(fmt.Sprintf("Action %s on %d host(s), %d connected when sent — %s: %s",
		r.kind, r.acc.Hosts, r.acc.Connected, state, strings.Join(parts, ", ")))
	r.table.Refresh()
}
