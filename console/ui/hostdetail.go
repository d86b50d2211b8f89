package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/shared/wire"
)

// historyLimit is how many history events the detail pane shows.
const historyLimit = 200

// software is one line of the "software" inventory section (the agent's
// inventory.Software, read loosely).
type software struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Publisher string `json:"publisher"`
}

// hostDetail is the detail pane of the selected host.
type hostDetail struct {
	c    *Console
	uuid string
	gen  int

	title    *widget.Label
	summary  *fyne.Container
	hardware *fyne.Container
	problems *widget.Label

	software []software
	swShown  []software
	swSearch *widget.Entry
	swList   *widget.List

	packages []wire.PackageState
	pkgTable *widget.Table

	history  []wire.HostEvent
	histList *widget.List

	editDeps *widget.Button
	refresh  *widget.Button
	tabs     *container.AppTabs
	content  fyne.CanvasObject
}

func newHostDetail(c *Console) *hostDetail {
	d := &hostDetail{c: c}
	d.title = widget.NewLabelWithStyle("Select a host", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	d.summary = formGrid()
	d.hardware = formGrid()
	d.problems = errorLabel()

	d.swSearch = widget.NewEntry()
	d.swSearch.SetPlaceHolder("search software")
	d.swSearch.OnChanged = func(string) { d.filterSoftware() }
	d.swList = widget.NewList(
		func() int { return len(d.swShown) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			s := d.swShown[id]
			text := s.Name + "  " + s.Version
			if s.Publisher != "" {
				text += "  — " + s.Publisher
			}
			o.(*widget.Label).SetText(text)
		},
	)

	d.pkgTable = widget.NewTableWithHeaders(
		func() (int, int) { return len(d.packages), 6 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			p := d.packages[id.Row]
			l := o.(*widget.Label)
			l.Importance = widget.MediumImportance
			switch id.Col {
			case 0:
				l.SetText(p.Package)
			case 1:
				l.SetText(p.Version)
			case 2:
				if p.State == wire.StateError {
					l.Importance = widget.DangerImportance
				} else if p.State != wire.StateOK && p.State != "" {
					l.Importance = widget.WarningImportance
				}
				l.SetText(p.State)
			case 3:
				l.SetText(p.Status)
			case 4:
				l.SetText(p.AuditStatus)
			case 5:
				l.SetText(firstLine(p.LastError))
			}
		},
	)
	d.pkgTable.ShowHeaderColumn = false
	d.pkgTable.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	d.pkgTable.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 {
			o.(*widget.Label).SetText([]string{"Package", "Version", "State", "Status", "Audit", "Last error"}[id.Col])
		}
	}
	for i, w := range []float32{150, 90, 110, 80, 70, 300} {
		d.pkgTable.SetColumnWidth(i, w)
	}
	d.pkgTable.OnSelected = func(id widget.TableCellID) {
		if id.Row >= 0 && id.Row < len(d.packages) && d.packages[id.Row].LastError != "" {
			p := d.packages[id.Row]
			showMessage(c.win, p.Package+" — last error", p.LastError)
		}
	}

	d.histList = widget.NewList(
		func() int { return len(d.history) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			e := d.history[id]
			s := e.At.Local().Format("2006-01-02 15:04:05") + "  " + e.Kind
			if e.Target != "" {
				s += " " + e.Target
			}
			if e.Detail != "" {
				s += " — " + firstLine(e.Detail)
			}
			if e.Actor != "" {
				s += " (" + e.Actor + ")"
			}
			o.(*widget.Label).SetText(s)
		},
	)

	d.editDeps = widget.NewButton("Edit dependencies…", d.editDepends)
	d.refresh = widget.NewButton("Refresh", func() { d.show(d.uuid) })
	d.editDeps.Disable()
	d.refresh.Disable()

	d.tabs = container.NewAppTabs(
		container.NewTabItem("Summary", container.NewVScroll(container.NewVBox(d.summary, d.problems))),
		container.NewTabItem("Hardware", container.NewVScroll(d.hardware)),
		container.NewTabItem("Software", container.NewBorder(d.swSearch, nil, nil, nil, d.swList)),
		container.NewTabItem("Packages", d.pkgTable),
		container.NewTabItem("History", d.histList),
	)
	top := container.NewBorder(nil, nil, nil, container.NewHBox(d.editDeps, d.refresh), d.title)
	d.content = container.NewBorder(top, nil, nil, nil, d.tabs)
	return d
}

// show loads uuid's detail and history.
func (d *hostDetail) show(uuid string) {
	if uuid == "" {
		return
	}
	d.uuid = uuid
	d.gen++
	gen := d.gen
	d.title.SetText(uuid + " (loading…)")
	d.editDeps.Enable()
	d.refresh.Enable()
	c := d.c
	var det wire.HostDetail
	var hist []wire.HostEvent
	var histErr error
	c.call(func(ctx context.Context, core Core) error {
		var err error
		if det, err = core.Host(ctx, uuid); err != nil {
			return err
		}
		hist, histErr = core.History(ctx, uuid, historyLimit)
		return nil
	}, func(err error) {
		if gen != d.gen {
			return
		}
		if err != nil {
			d.title.SetText(uuid + ": " + errorText(err))
			return
		}
		if histErr != nil {
			c.setStatus("History of " + uuid + ": " + errorText(histErr))
		}
		d.fill(det, hist)
	})
}

// fill shows a loaded host.
func (d *hostDetail) fill(det wire.HostDetail, hist []wire.HostEvent) {
	now := d.c.cfg.Now()
	h := det.Summary
	state, _ := hostState(h, now)
	d.title.SetText(hostName(h) + " — " + state)

	pairs := [][2]string{
		{"Name", hostName(h)}, {"FQDN", h.FQDN}, {"UUID", h.UUID},
		{"OS", strings.TrimSpace(h.OS + " " + h.OSVersion)}, {"Status", state},
		{"Pending", fmt.Sprint(h.Pending)}, {"Errors", fmt.Sprint(h.Errors)},
		{"Last seen", ago(now, h.LastSeen)}, {"Registered", h.Registered.Local().Format("2006-01-02 15:04")},
		{"Unit", h.Unit}, {"Groups", strings.Join(det.Groups, ", ")},
		{"Last update", runText(det.LastUpdate)}, {"Last upgrade", runText(det.LastUpgrade)},
	}
	if len(det.SameSystemUUID) > 0 {
		pairs = append(pairs, [2]string{"Same system UUID", strings.Join(det.SameSystemUUID, ", ")})
	}
	fillGrid(d.summary, pairs)
	setError(d.problems, strings.Join(det.Problems, "\n"))

	var hw [][2]string
	if x := h.Hardware; x != nil {
		hw = [][2]string{
			{"Manufacturer", x.Manufacturer}, {"Model", x.Model}, {"Serial", x.Serial},
			{"System UUID", x.SystemUUID}, {"CPU", x.CPU}, {"RAM", bytesText(x.RAMBytes)},
			{"Disks", bytesText(x.DiskTotalBytes)}, {"OS name", x.OSName}, {"Kernel", x.Kernel},
		}
		if x.DiskFreeBytes != nil {
			hw = append(hw, [2]string{"Disk free", bytesText(*x.DiskFreeBytes)})
		}
	}
	names := make([]string, 0, len(det.Sections))
	for k := range det.Sections {
		names = append(names, k)
	}
	sort.Strings(names)
	hw = append(hw, [2]string{"Inventory sections", strings.Join(names, ", ")})
	fillGrid(d.hardware, hw)

	d.software = nil
	if raw, ok := det.Sections["software"]; ok {
		_ = json.Unmarshal(raw, &d.software) // a malformed section shows as empty
	}
	sort.Slice(d.software, func(i, j int) bool {
		return strings.ToLower(d.software[i].Name) < strings.ToLower(d.software[j].Name)
	})
	d.filterSoftware()

	d.packages = det.Packages
	d.pkgTable.Refresh()
	d.history = hist
	d.histList.Refresh()
}

// filterSoftware shows the software matching the search entry.
func (d *hostDetail) filterSoftware() {
	q := strings.ToLower(strings.TrimSpace(d.swSearch.Text))
	d.swShown = d.swShown[:0]
	for _, s := range d.software {
		if q == "" || strings.Contains(strings.ToLower(s.Name+" "+s.Publisher+" "+s.Version), q) {
			d.swShown = append(d.swShown, s)
		}
	}
	d.swList.Refresh()
}

// fillGrid replaces a form grid's rows with label pairs (empty values
// skipped).
func fillGrid(g *fyne.Container, pairs [][2]string) {
	g.Objects = nil
	for _, p := range pairs {
		if p[1] == "" {
			continue
		}
		v := widget.NewLabel(p[1])
		v.Wrapping = fyne.TextWrapWord
		g.Objects = append(g.Objects, widget.NewLabelWithStyle(p[0], fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v)
	}
	g.Refresh()
}

func runText(r *wire.RunSummary) string {
	if r == nil {
		return ""
	}
	s := r.Time.Local().Format("2006-01-02 15:04") + " "
	if r.OK {
		return s + "OK"
	}
	return s + "failed: " + firstLine(r.Error)
}

func bytesText(n int64) string {
	if n <= 0 {
		return ""
	}
	const gib = 1 << 30
	if n >= gib {
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// editDepends edits the host package's depends and conflicts; saving
// builds, signs and uploads the host package (core.SetHostDepends).
func (d *hostDetail) editDepends() {
	c, uuid := d.c, d.uuid
	if uuid == "" {
		return
	}
	var deps, conflicts []string
	c.call(func(ctx context.Context, core Core) error {
		var err error
		deps, conflicts, err = core.HostDepends(ctx, uuid)
		return err
	}, func(err error) {
		if err != nil {
			c.showError("Dependencies of "+uuid, err)
			return
		}
		d.showDependsEditor(uuid, deps, conflicts)
	})
}

// dependsEditor is the open host dependencies dialog.
type dependsEditor struct {
	depends, conflicts *listEditor
	save               *widget.Button
	errText            *widget.Label
	dialog             dialog.Dialog
}

func (d *hostDetail) showDependsEditor(uuid string, deps, conflicts []string) *dependsEditor {
	c := d.c
	e := &dependsEditor{
		depends:   newListEditor("package or group, such as firefox or office", deps),
		conflicts: newListEditor("package to keep away", conflicts),
		errText:   errorLabel(),
	}
	e.save = widget.NewButton("Save (build, sign, upload the host package)", func() {
		depends := append([]string(nil), e.depends.items...)
		confl := append([]string(nil), e.conflicts.items...)
		e.save.Disable()
		var info wire.PackageInfo
		c.call(func(ctx context.Context, core Core) error {
			var err error
			info, err = core.SetHostDepends(ctx, uuid, depends, confl)
			return err
		}, func(err error) {
			e.save.Enable()
			if err != nil {
				setError(e.errText, errorText(err))
				return
			}
			e.dialog.Hide()
			c.setStatus(fmt.Sprintf("Host package %s %s uploaded.", info.Package, info.Version))
			d.show(uuid)
		})
	})
	e.save.Importance = widget.HighImportance
	cols := container.NewGridWithColumns(2,
		container.NewBorder(widget.NewLabel("Depends"), nil, nil, nil, e.depends.content),
		container.NewBorder(widget.NewLabel("Conflicts"), nil, nil, nil, e.conflicts.content),
	)
	bottom := container.NewVBox(e.errText, container.NewHBox(e.save, widget.NewButton("Cancel", func() { e.dialog.Hide() })))
	e.dialog = dialog.NewCustomWithoutButtons("Dependencies of "+uuid, container.NewBorder(nil, bottom, nil, nil, cols), c.win)
	e.dialog.Resize(fyne.NewSize(720, 460))
	e.dialog.Show()
	return e
}
