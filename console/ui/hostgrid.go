package ui

import (
	"context"
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/wire"
)

// hostPager holds the pages of the host list the table has shown: a row
// that is not loaded asks the core for its page (once), the answer
// refreshes the table. At most maxPages pages are kept (least recently
// used go first), so 100,000 hosts never sit in memory, and the server
// does the filtering and the paging. All its state lives on the UI
// goroutine; only the calls to the core run in the background.
type hostPager struct {
	c        *Console
	size     int
	maxPages int

	query    client.HostQuery
	gen      int // bumped by reset: answers of an older query are dropped
	total    int // rows of the query; -1 until the first page
	pages    map[int][]wire.HostSummary
	lru      []int
	inflight map[int]bool
	failed   map[int]bool

	onChange func()
	onError  func(error)
}

func newHostPager(c *Console) *hostPager {
	return &hostPager{c: c, size: c.cfg.PageSize, maxPages: 50, total: -1,
		pages: map[int][]wire.HostSummary{}, inflight: map[int]bool{}, failed: map[int]bool{}}
}

// reset starts over with q: the cache is dropped and the first page asked.
func (p *hostPager) reset(q client.HostQuery) {
	q.Offset, q.Limit = 0, 0
	p.query = q
	p.gen++
	p.total = -1
	p.pages = map[int][]wire.HostSummary{}
	p.lru = nil
	p.inflight = map[int]bool{}
	p.failed = map[int]bool{}
	p.request(0)
	if p.onChange != nil {
		p.onChange()
	}
}

// reload asks again for the pages in the cache (same query).
func (p *hostPager) reload() {
	pages := append([]int(nil), p.lru...)
	p.reset(p.query)
	for _, n := range pages {
		if n != 0 {
			p.request(n)
		}
	}
}

// rows is the row count of the table (0 until the first page arrived).
func (p *hostPager) rows() int {
	if p.total < 0 {
		return 0
	}
	return p.total
}

// row returns row i if its page is loaded, else asks for the page.
func (p *hostPager) row(i int) (wire.HostSummary, bool) {
	n := i / p.size
	hosts, ok := p.pages[n]
	if !ok {
		p.request(n)
		return wire.HostSummary{}, false
	}
	p.touch(n)
	if j := i - n*p.size; j < len(hosts) {
		return hosts[j], true
	}
	return wire.HostSummary{}, false
}

// request asks the core for page n unless it is loaded, asked or failed.
func (p *hostPager) request(n int) {
	if _, ok := p.pages[n]; ok || p.inflight[n] || p.failed[n] {
		return
	}
	p.inflight[n] = true
	gen, q := p.gen, p.query
	q.Offset, q.Limit = n*p.size, p.size
	core := p.c.core
	p.c.background(func() {
		ctx, cancel := context.WithTimeout(p.c.ctx, timeout)
		list, err := core.Hosts(ctx, q)
		cancel()
		onMain(func() { p.loaded(gen, n, list, err) })
	})
}

func (p *hostPager) loaded(gen, n int, list wire.HostList, err error) {
	if gen != p.gen {
		return
	}
	delete(p.inflight, n)
	if err != nil {
		p.failed[n] = true
		if p.onError != nil {
			p.onError(err)
		}
		return
	}
	p.pages[n] = list.Hosts
	p.total = list.Total
	p.touch(n)
	for len(p.lru) > p.maxPages {
		delete(p.pages, p.lru[0])
		p.lru = p.lru[1:]
	}
	if p.onChange != nil {
		p.onChange()
	}
}

// touch makes page n the most recently used.
func (p *hostPager) touch(n int) {
	for i, m := range p.lru {
		if m == n {
			if i == len(p.lru)-1 {
				return
			}
			p.lru = append(p.lru[:i], p.lru[i+1:]...)
			break
		}
	}
	p.lru = append(p.lru, n)
}

// Host grid columns.
const (
	colSelect = iota
	colStatus
	colName
	colOS
	colLastSeen
	colPending
	numCols
)

var colTitles = [numCols]string{"", "Status", "Name", "OS", "Last seen", "Pending"}
var colWidths = [numCols]float32{36, 160, 170, 200, 100, 80}

// hostCell is one cell of the host grid; the column decides which parts
// show.
type hostCell struct {
	widget.BaseWidget
	row    int
	col    int
	uuid   string
	status string
	check  *widget.Check
	dot    *canvas.Circle
	dotBox *fyne.Container
	text   *widget.Label
	// updating is set while the grid fills the cell, so that setting the
	// check does not count as the user's click.
	updating bool
}

func newHostCell(onCheck func(uuid string, on bool)) *hostCell {
	h := &hostCell{dot: canvas.NewCircle(color.Transparent), text: widget.NewLabel("")}
	h.check = widget.NewCheck("", func(on bool) {
		if !h.updating && h.uuid != "" {
			onCheck(h.uuid, on)
		}
	})
	h.dotBox = container.NewCenter(sized(fyne.NewSize(12, 12), h.dot))
	h.text.Truncation = fyne.TextTruncateEllipsis
	h.ExtendBaseWidget(h)
	return h
}

func (h *hostCell) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, container.NewHBox(h.check, h.dotBox), nil, h.text))
}

// hostsTab is the Hosts tab: filter, grid, actions and the detail pane.
type hostsTab struct {
	c         *Console
	pager     *hostPager
	filter    *widget.Entry
	filterErr *widget.Label
	sortBy    *widget.Select
	table     *widget.Table
	count     *widget.Label
	actions   map[string]*widget.Button
	detail    *hostDetail
	content   fyne.CanvasObject

	selected map[string]bool
	order    []string // selected uuids, in the order they were checked
	current  string   // the host shown in the detail pane
}

// sortKeys maps the sort choices to HostQuery.Sort.
var sortKeys = map[string]string{"Name": "name", "Last seen": "last_seen", "Status": "status"}

func newHostsTab(c *Console) *hostsTab {
	t := &hostsTab{c: c, pager: newHostPager(c), selected: map[string]bool{}, actions: map[string]*widget.Button{}}
	t.filter = widget.NewEntry()
	t.filter.SetPlaceHolder("filter: status:ERROR software:firefox<115 group:office os:linux text")
	t.filter.OnSubmitted = func(string) { t.applyFilter() }
	t.filterErr = errorLabel()
	t.sortBy = widget.NewSelect([]string{"Name", "Last seen", "Status"}, func(string) { t.applyFilter() })
	t.sortBy.Selected = "Name"
	apply := widget.NewButton("Filter", t.applyFilter)
	refresh := widget.NewButton("Refresh", func() { t.pager.reload() })

	t.table = widget.NewTableWithHeaders(
		func() (int, int) { return t.pager.rows(), numCols },
		func() fyne.CanvasObject { return newHostCell(t.setSelected) },
		t.updateCell,
	)
	t.table.ShowHeaderColumn = false
	t.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	t.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		l := o.(*widget.Label)
		if id.Col >= 0 && id.Col < numCols {
			l.SetText(colTitles[id.Col])
			l.TextStyle.Bold = true
		}
	}
	for i, w := range colWidths {
		t.table.SetColumnWidth(i, w)
	}
	t.table.OnSelected = func(id widget.TableCellID) {
		if h, ok := t.pager.row(id.Row); ok {
			t.current = h.UUID
			t.detail.show(h.UUID)
			t.updateCount()
		}
	}
	t.pager.onChange = func() { t.table.Refresh(); t.updateCount() }
	t.pager.onError = func(err error) { c.setStatus("Hosts: " + errorText(err)) }

	t.count = widget.NewLabel("")
	bar := container.NewHBox()
	for _, a := range []struct{ kind, label string }{
		{action.KindUpdate, "Update"}, {action.KindUpgrade, "Upgrade now"},
		{action.KindInstall, "Install…"}, {action.KindRemove, "Remove…"},
		{action.KindAudit, "Audit"}, {action.KindInventory, "Inventory"},
	} {
		kind := a.kind
		b := widget.NewButton(a.label, func() { t.run(kind) })
		t.actions[kind] = b
		bar.Add(b)
	}
	bar.Add(widget.NewButton("Clear selection", t.clearSelection))

	t.detail = newHostDetail(c)
	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(t.sortBy, apply, refresh), t.filter),
		t.filterErr,
		container.NewBorder(nil, nil, nil, t.count, bar),
	)
	split := container.NewHSplit(t.table, t.detail.content)
	split.Offset = 0.62
	t.content = container.NewBorder(top, nil, nil, nil, split)
	t.updateCount()
	return t
}

// updateCell fills a grid cell from the pager.
func (t *hostsTab) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	cell := o.(*hostCell)
	cell.updating = true
	defer func() { cell.updating = false }()
	cell.row, cell.col = id.Row, id.Col
	h, ok := t.pager.row(id.Row)
	cell.uuid, cell.status = h.UUID, ""
	cell.check.Hidden = id.Col != colSelect
	cell.dotBox.Hidden = id.Col != colStatus
	cell.text.Hidden = id.Col == colSelect
	if !ok {
		cell.check.SetChecked(false)
		cell.check.Disable()
		cell.dot.FillColor = color.Transparent
		cell.text.SetText("…")
		cell.Refresh()
		return
	}
	cell.check.Enable()
	switch id.Col {
	case colSelect:
		cell.check.SetChecked(t.selected[h.UUID])
	case colStatus:
		text, col := hostState(h, t.c.cfg.Now())
		cell.status = text
		cell.dot.FillColor = theme.Color(col)
		cell.text.SetText(text)
	case colName:
		cell.text.SetText(hostName(h))
	case colOS:
		cell.text.SetText(strings.TrimSpace(h.OS + " " + h.OSVersion))
	case colLastSeen:
		cell.text.SetText(ago(t.c.cfg.Now(), h.LastSeen))
	case colPending:
		s := strconv.Itoa(h.Pending)
		if h.Errors > 0 {
			s += fmt.Sprintf(" (%d err)", h.Errors)
		}
		cell.text.SetText(s)
	}
	cell.Refresh()
}

// hostState is the status text and colour of a host: OK green, NEED-*
// orange, ERROR red, not seen for admin.UnreachableAfter (or never) grey.
func hostState(h wire.HostSummary, now time.Time) (string, fyne.ThemeColorName) {
	status := h.Status
	if status == "" {
		status = "no report"
	}
	if h.LastSeen.IsZero() || now.Sub(h.LastSeen) > admin.UnreachableAfter {
		return status + " · unreachable", theme.ColorNameDisabled
	}
	switch h.Status {
	case wire.StateOK:
		return status, theme.ColorNameSuccess
	case wire.StateNeedUpgrade, wire.StateNeedInstall, wire.StateNeedRemove:
		return status, theme.ColorNameWarning
	case wire.StateError:
		return status, theme.ColorNameError
	}
	return status, theme.ColorNameDisabled
}

// statusColor is the theme colour of a dashboard status.
func statusColor(status string) fyne.ThemeColorName {
	switch status {
	case wire.StateOK:
		return theme.ColorNameSuccess
	case wire.StateNeedUpgrade, wire.StateNeedInstall, wire.StateNeedRemove:
		return theme.ColorNameWarning
	case wire.StateError:
		return theme.ColorNameError
	}
	return theme.ColorNameDisabled
}

func hostName(h wire.HostSummary) string {
	switch {
	case h.Hostname != "":
		return h.Hostname
	case h.FQDN != "":
		return h.FQDN
	}
	return h.UUID
}

// ago says how long before now t was, coarsely.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return t.Local().Format("2006-01-02")
}

// applyFilter parses the filter box (admin's syntax) and reloads the grid.
func (t *hostsTab) applyFilter() {
	q, err := t.c.cfg.ParseFilter(strings.TrimSpace(t.filter.Text))
	if err != nil {
		setError(t.filterErr, "Filter: "+errorText(err))
		return
	}
	setError(t.filterErr, "")
	q.Sort = sortKeys[t.sortBy.Selected]
	t.clearSelection()
	t.pager.reset(q)
}

// setSelected checks or unchecks a host.
func (t *hostsTab) setSelected(uuid string, on bool) {
	if on == t.selected[uuid] {
		return
	}
	if on {
		t.selected[uuid] = true
		t.order = append(t.order, uuid)
	} else {
		delete(t.selected, uuid)
		for i, u := range t.order {
			if u == uuid {
				t.order = append(t.order[:i], t.order[i+1:]...)
				break
			}
		}
	}
	t.updateCount()
}

func (t *hostsTab) clearSelection() {
	t.selected = map[string]bool{}
	t.order = nil
	t.table.Refresh()
	t.updateCount()
}

// targets are the checked hosts, or else the host of the detail pane.
func (t *hostsTab) targets() []string {
	if len(t.order) > 0 {
		return append([]string(nil), t.order...)
	}
	if t.current != "" {
		return []string{t.current}
	}
	return nil
}

func (t *hostsTab) updateCount() {
	n := len(t.targets())
	total := t.pager.rows()
	switch {
	case len(t.order) > 0:
		t.count.SetText(fmt.Sprintf("%d selected of %d hosts", n, total))
	case n == 1:
		t.count.SetText(fmt.Sprintf("1 host (detail) of %d", total))
	default:
		t.count.SetText(fmt.Sprintf("%d hosts", total))
	}
	for _, b := range t.actions {
		if n == 0 {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

// run starts an action on the targets; install and remove first ask for
// the packages.
func (t *hostsTab) run(kind string) {
	hosts := t.targets()
	if len(hosts) == 0 {
		t.c.setStatus("Select hosts first (check boxes in the first column).")
		return
	}
	if kind == action.KindInstall || kind == action.KindRemove {
		t.askPackages(kind, hosts)
		return
	}
	t.c.sendAction(kind, hosts, nil, false)
}
