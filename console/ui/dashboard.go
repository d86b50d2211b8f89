package ui

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/shared/wire"
)

// dashboardStatuses is the order of the chart's bars.
var dashboardStatuses = []string{wire.StateOK, wire.StateNeedUpgrade, wire.StateNeedInstall, wire.StateNeedRemove,
	wire.StateError, admin.StatusUnreachable, ""}

// barWidth is the width of the longest bar.
const barWidth = 420

// dashboardTab sums up the fleet (core.Dashboard): counts per status, a
// bar chart of hosts by status and the most frequent errors.
type dashboardTab struct {
	c       *Console
	title   *widget.Label
	chart   *fyne.Container
	errors  *fyne.Container
	bars    map[string]*canvas.Rectangle
	content fyne.CanvasObject
}

func newDashboardTab(c *Console) *dashboardTab {
	d := &dashboardTab{c: c, title: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		chart: container.NewVBox(), errors: container.NewVBox(), bars: map[string]*canvas.Rectangle{}}
	refresh := widget.NewButton("Refresh", d.refresh)
	d.content = container.NewVScroll(container.NewVBox(
		container.NewBorder(nil, nil, nil, refresh, d.title),
		widget.NewLabelWithStyle("Hosts by status", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		d.chart,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Most frequent errors", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		d.errors,
	))
	return d
}

func (d *dashboardTab) refresh() {
	c := d.c
	var db admin.Dashboard
	c.call(func(ctx context.Context, core Core) error {
		var err error
		db, err = core.Dashboard(ctx)
		return err
	}, func(err error) {
		if err != nil {
			d.title.SetText("Dashboard: " + errorText(err))
			return
		}
		d.show(db)
	})
}

// show draws db: one bar per status (canvas.Rectangle, theme colours).
func (d *dashboardTab) show(db admin.Dashboard) {
	d.title.SetText(fmt.Sprintf("%d hosts — updated %s", db.Total, ago(d.c.cfg.Now(), db.At)))
	statuses := append([]string(nil), dashboardStatuses...)
	var extra []string
	for s := range db.ByStatus {
		if !slices.Contains(statuses, s) {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	statuses = append(statuses, extra...)
	most := 1
	for _, n := range db.ByStatus {
		most = max(most, n)
	}
	d.chart.Objects = nil
	d.bars = map[string]*canvas.Rectangle{}
	for _, s := range statuses {
		n, ok := db.ByStatus[s]
		if !ok {
			continue
		}
		name := s
		if name == "" {
			name = "no report"
		}
		rect := canvas.NewRectangle(theme.Color(statusColor(s)))
		rect.CornerRadius = 3
		d.bars[s] = rect
		w := float32(barWidth) * float32(n) / float32(most)
		if n > 0 && w < 2 {
			w = 2
		}
		if n == 0 {
			rect.Hide()
		}
		label := widget.NewLabel(name)
		d.chart.Add(container.NewHBox(
			sized(fyne.NewSize(150, 30), label),
			container.NewCenter(sized(fyne.NewSize(w, 20), rect)),
			widget.NewLabel(fmt.Sprint(n)),
		))
	}
	d.chart.Refresh()
	d.errors.Objects = nil
	if len(db.TopErrors) == 0 {
		d.errors.Add(widget.NewLabel("none"))
	}
	for _, e := range db.TopErrors {
		d.errors.Add(widget.NewLabel(fmt.Sprintf("%s — %d host(s)", e.Package, e.Hosts)))
	}
	d.errors.Refresh()
}
