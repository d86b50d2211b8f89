package ui

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestHostGridShowsStatuses(t *testing.T) {
	h := newHarness(t, newFakeCore(20))
	h.connect()
	cells := h.cells()
	want := []struct {
		text, color string
	}{
		{"OK", "success"},
		{"NEED-UPGRADE", "warning"},
		{"ERROR", "error"},
		{"NEED-INSTALL", "warning"},
		{"OK · unreachable", "disabled"},
	}
	for row, w := range want {
		c := cells[[2]int{row, colStatus}]
		if c == nil {
			t.Fatalf("row %d: no status cell rendered (cells: %d)", row, len(cells))
		}
		if c.text.Text != w.text {
			t.Errorf("row %d: status %q, want %q", row, c.text.Text, w.text)
		}
		if got, wantCol := c.dot.FillColor, theme.Color(fyne.ThemeColorName(w.color)); got != wantCol {
			t.Errorf("row %d: colour %v, want %s %v", row, got, w.color, wantCol)
		}
		markup := test.RenderObjectToMarkup(c)
		if !strings.Contains(markup, `fillColor="`+w.color+`"`) || !strings.Contains(markup, w.text) {
			t.Errorf("row %d: markup lacks %s/%q:\n%s", row, w.color, w.text, markup)
		}
	}
	if c := cells[[2]int{2, colName}]; c == nil || c.text.Text != "pc000002" {
		t.Errorf("row 2 name cell: %+v", c)
	}
	if got := h.c.hosts.count.Text; !strings.Contains(got, "20 hosts") {
		t.Errorf("count label %q", got)
	}
}

func TestHostGridPagesOnDemand(t *testing.T) {
	const n = 100_000
	core := newFakeCore(n)
	h := newHarness(t, core)
	h.connect()
	if calls := core.calls(); len(calls) != 1 || calls[0].Offset != 0 || calls[0].Limit != 200 {
		t.Fatalf("after connect: Hosts calls %+v, want one for the first page", calls)
	}
	if rows, _ := h.c.hosts.table.Length(); rows != n {
		t.Fatalf("table rows = %d, want %d", rows, n)
	}

	// Scroll to the middle, then to the end: only the pages on screen
	// are asked for.
	for _, target := range []int{50_000, n - 1} {
		before := len(core.calls())
		h.c.hosts.table.ScrollTo(widget.TableCellID{Row: target, Col: colName})
		h.q.drain()
		calls := core.calls()[before:]
		if len(calls) == 0 || len(calls) > 2 {
			t.Fatalf("scroll to %d: %d Hosts calls %+v, want 1 or 2", target, len(calls), calls)
		}
		for _, q := range calls {
			if q.Limit != 200 || q.Offset%200 != 0 || q.Offset > target+150 || target-q.Offset > 400 {
				t.Errorf("scroll to %d: asked offset %d limit %d", target, q.Offset, q.Limit)
			}
		}
		// The rows on screen show their hosts. They are around the target:
		// Table.ScrollTo sums row heights in float32, which drifts by a few
		// dozen rows at 100,000.
		shown := 0
		for k, c := range h.cells() {
			if k[1] != colName {
				continue
			}
			if k[0] < target-150 || k[0] > target+150 {
				t.Errorf("scroll to %d: row %d rendered", target, k[0])
			}
			if want := hostName(fakeHost(k[0])); c.text.Text != want {
				t.Errorf("row %d: name %q, want %q", k[0], c.text.Text, want)
			}
			shown++
		}
		if shown < 10 {
			t.Errorf("scroll to %d: %d rows rendered", target, shown)
		}
		// Rendering again asks nothing more: the pages are cached.
		before = len(core.calls())
		h.c.hosts.table.Refresh()
		h.q.drain()
		if extra := core.calls()[before:]; len(extra) != 0 {
			t.Errorf("refresh re-asked %+v", extra)
		}
	}
	if total := len(core.calls()); total > 5 {
		t.Errorf("%d Hosts calls for 100,000 hosts, want at most 5", total)
	}
	if pages := len(h.c.hosts.pager.pages); pages > h.c.hosts.pager.maxPages {
		t.Errorf("%d pages cached, limit %d", pages, h.c.hosts.pager.maxPages)
	}
}

func TestHostFilterCallsCoreWithParsedQuery(t *testing.T) {
	core := newFakeCore(50)
	h := newHarness(t, core)
	h.connect()
	before := len(core.calls())
	test.Type(h.c.hosts.filter, "status:ERROR software:firefox<115 office")
	h.c.hosts.filter.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.q.drain()
	calls := core.calls()[before:]
	if len(calls) != 1 {
		t.Fatalf("Hosts calls after filter: %+v", calls)
	}
	q := calls[0]
	if q.Status != wire.StateError || q.Package != "firefox<115" || q.Text != "office" || q.Offset != 0 || q.Limit != 200 || q.Sort != "name" {
		t.Errorf("query %+v", q)
	}

	// A bad filter shows the error and asks nothing.
	h.c.hosts.filter.SetText("colour:blue")
	h.c.hosts.filter.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.q.drain()
	if n := len(core.calls()); n != before+1 {
		t.Errorf("bad filter called Hosts (%d calls)", n-before)
	}
	if !h.c.hosts.filterErr.Visible() || !strings.Contains(h.c.hosts.filterErr.Text, "colour: unknown filter") {
		t.Errorf("filter error %q", h.c.hosts.filterErr.Text)
	}
}

func TestUpgradeSelectedHosts(t *testing.T) {
	core := newFakeCore(20)
	h := newHarness(t, core)
	h.connect()
	cells := h.cells()
	for _, row := range []int{0, 2, 3} {
		test.Tap(cells[[2]int{row, colSelect}].check)
	}
	test.Tap(cells[[2]int{3, colSelect}].check) // unchecked again
	if got := h.c.hosts.count.Text; !strings.HasPrefix(got, "2 selected") {
		t.Errorf("count %q", got)
	}
	test.Tap(h.c.hosts.actions[action.KindUpgrade])
	h.q.drain()
	if len(core.actions) != 1 {
		t.Fatalf("SendAction calls: %+v", core.actions)
	}
	a := core.actions[0]
	if a.kind != action.KindUpgrade || !slices.Equal(a.hosts, []string{"uuid-000000", "uuid-000002"}) || len(a.packages) != 0 {
		t.Errorf("SendAction(%q, %v, %v)", a.kind, a.hosts, a.packages)
	}
	// The results dialog polled until every host was done.
	r := h.c.results
	if r == nil || !r.final || core.polls != 2 || len(r.results) != 2 {
		t.Fatalf("results: %+v, polls %d", r, core.polls)
	}
	if !strings.Contains(r.header.Text, "finished: 2 done") {
		t.Errorf("results header %q", r.header.Text)
	}
}

func TestInstallAsksForPackages(t *testing.T) {
	core := newFakeCore(5)
	h := newHarness(t, core)
	h.connect()
	test.Tap(h.cells()[[2]int{1, colSelect}].check)
	test.Tap(h.c.hosts.actions[action.KindInstall])
	// The dialog has the focus on its entry.
	entry, ok := h.w.Canvas().Focused().(*widget.Entry)
	if !ok {
		t.Fatalf("focused %T, want the package entry", h.w.Canvas().Focused())
	}
	test.Type(entry, "firefox, 7zip")
	entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.q.drain()
	if len(core.actions) != 1 || core.actions[0].kind != action.KindInstall ||
		!slices.Equal(core.actions[0].packages, []string{"firefox", "7zip"}) || !slices.Equal(core.actions[0].hosts, []string{"uuid-000001"}) {
		t.Errorf("SendAction: %+v", core.actions)
	}
}

func TestHostDetailPane(t *testing.T) {
	core := newFakeCore(5)
	h := newHarness(t, core)
	h.connect()
	h.c.hosts.table.Select(widget.TableCellID{Row: 2, Col: colName})
	h.q.drain()
	d := h.c.hosts.detail
	if d.uuid != "uuid-000002" || !strings.Contains(d.title.Text, "ERROR") {
		t.Errorf("detail title %q uuid %q", d.title.Text, d.uuid)
	}
	if len(d.packages) != 1 || d.packages[0].LastError != "exit 1603" || len(d.history) != 1 {
		t.Errorf("packages %+v history %+v", d.packages, d.history)
	}
	if len(d.swShown) != 3 {
		t.Fatalf("software %+v", d.swShown)
	}
	test.Type(d.swSearch, "office")
	if len(d.swShown) != 1 || d.swShown[0].Name != "LibreOffice" {
		t.Errorf("software search: %+v", d.swShown)
	}
	if got := h.c.hosts.count.Text; !strings.Contains(got, "1 host (detail)") {
		t.Errorf("count %q", got)
	}
}
