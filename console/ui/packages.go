package ui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/wire"
)

// allSections is the section filter's "no filter" choice.
const allSections = "all sections"

// packagesTab is the Packages tab: the repository list and the editors.
type packagesTab struct {
	c      *Console
	all    []wire.PackageInfo
	shown  []wire.PackageInfo
	sel    int
	loaded bool

	search  *widget.Entry
	section *widget.Select
	list    *widget.List
	info    *widget.Label
	editor  *fyne.Container // holds the open editor
	draft   *draftEditor
	group   *groupEditor
	content fyne.CanvasObject
}

func newPackagesTab(c *Console) *packagesTab {
	t := &packagesTab{c: c, sel: -1}
	t.search = widget.NewEntry()
	t.search.SetPlaceHolder("search packages")
	t.search.OnChanged = func(string) { t.filter() }
	t.section = widget.NewSelect(append([]string{allSections}, control.Sections...), func(string) { t.filter() })
	t.section.Selected = allSections
	t.list = widget.NewList(
		func() int { return len(t.shown) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			p := t.shown[id]
			o.(*widget.Label).SetText(fmt.Sprintf("%s  %s  [%s]  %s", p.Package, p.Version, p.Section, firstLine(p.Description)))
		},
	)
	t.list.OnSelected = func(id widget.ListItemID) {
		t.sel = id
		p := t.shown[id]
		t.info.SetText(fmt.Sprintf("%s — %s, %d bytes, signed by %s on %s\ndepends: %s\nconflicts: %s",
			p.Filename, p.Maturity, p.Size, p.Signer, p.SignatureDate.Local().Format("2006-01-02 15:04"), p.Depends, p.Conflicts))
	}
	t.info = widget.NewLabel("")
	t.info.Wrapping = fyne.TextWrapWord

	buttons := container.NewGridWithColumns(3,
		widget.NewButton("Refresh", t.reload),
		widget.NewButton("New package…", t.newPackage),
		widget.NewButton("Open source…", t.openSource),
		widget.NewButton("New group…", func() { t.openGroup(nil) }),
		widget.NewButton("Edit group", t.editSelectedGroup),
		widget.NewButton("Duplicate…", t.duplicate),
		widget.NewButton("Import .wapt…", t.importWapt),
		widget.NewButton("Delete", t.deleteSelected),
		widget.NewButton("Recent…", t.recent),
	)
	left := container.NewBorder(
		container.NewVBox(container.NewBorder(nil, nil, nil, t.section, t.search)),
		container.NewVBox(t.info, buttons), nil, nil, t.list)
	t.editor = container.NewStack(container.NewCenter(widget.NewLabel("Open a package source or a group to edit it.")))
	split := container.NewHSplit(left, t.editor)
	split.Offset = 0.42
	t.content = split
	return t
}

// loadOnce loads the repository list the first time the tab shows.
func (t *packagesTab) loadOnce() {
	if !t.loaded {
		t.reload()
	}
}

// reload asks the core for the repository's packages.
func (t *packagesTab) reload() {
	t.loaded = true
	c := t.c
	var pkgs []wire.PackageInfo
	c.call(func(ctx context.Context, core Core) error {
		var err error
		pkgs, err = core.Packages(ctx)
		return err
	}, func(err error) {
		if err != nil {
			c.setStatus("Packages: " + errorText(err))
			return
		}
		sort.Slice(pkgs, func(i, j int) bool {
			if pkgs[i].Package != pkgs[j].Package {
				return pkgs[i].Package < pkgs[j].Package
			}
			return pkgs[i].Version < pkgs[j].Version
		})
		t.all = pkgs
		t.filter()
		if t.group != nil {
			t.group.setPackages(pkgs)
		}
	})
}

// filter shows the packages matching the search text and section.
func (t *packagesTab) filter() {
	q := strings.ToLower(strings.TrimSpace(t.search.Text))
	sec := t.section.Selected
	t.shown = t.shown[:0]
	for _, p := range t.all {
		if sec != "" && sec != allSections && p.Section != sec {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(p.Package+" "+p.Description), q) {
			continue
		}
		t.shown = append(t.shown, p)
	}
	t.sel = -1
	t.list.UnselectAll()
	t.list.Refresh()
}

func (t *packagesTab) selected() (wire.PackageInfo, bool) {
	if t.sel < 0 || t.sel >= len(t.shown) {
		t.c.setStatus("Select a package in the list first.")
		return wire.PackageInfo{}, false
	}
	return t.shown[t.sel], true
}

// openDraft shows d in the package editor and remembers its directory.
func (t *packagesTab) openDraft(d *admin.Draft) *draftEditor {
	t.draft = newDraftEditor(t.c, d)
	t.group = nil
	t.editor.Objects = []fyne.CanvasObject{t.draft.content}
	t.editor.Refresh()
	t.c.rememberDir(d.Dir)
	return t.draft
}

// rememberDir puts dir first in the settings' recent package sources.
func (c *Console) rememberDir(dir string) {
	if dir == "" {
		return
	}
	r := []string{dir}
	for _, x := range c.settings.RecentPackageDirs {
		if x != dir && len(r) < 10 {
			r = append(r, x)
		}
	}
	c.settings.RecentPackageDirs = r
	if c.cfg.SettingsPath != "" && c.cfg.SaveSettings != nil {
		if err := c.cfg.SaveSettings(c.cfg.SettingsPath, c.settings); err != nil {
			c.cfg.Logf("save settings: %v", err)
		}
	}
}

// newPackage asks for a name and a parent folder, then creates a draft
// (admin.NewDraft).
func (t *packagesTab) newPackage() {
	c := t.c
	name := widget.NewEntry()
	name.SetPlaceHolder("package name, such as tis-firefox")
	parent := newPathField(c.win, "parent folder of the package source", true)
	errText := errorLabel()
	var d dialog.Dialog
	create := widget.NewButton("Create", func() {
		n, dir := strings.TrimSpace(name.Text), parent.text()
		if n == "" || dir == "" {
			setError(errText, "Give a name and a folder.")
			return
		}
		draft, err := c.cfg.NewDraft(dir, n) // creates dir/n
		if err != nil {
			setError(errText, errorText(err))
			return
		}
		d.Hide()
		t.openDraft(draft)
	})
	create.Importance = widget.HighImportance
	content := container.NewVBox(formGrid(widget.NewLabel("Name"), name, widget.NewLabel("In folder"), parent.content),
		errText, container.NewHBox(create, widget.NewButton("Cancel", func() { d.Hide() })))
	d = dialog.NewCustomWithoutButtons("New package", content, c.win)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}

// openSource opens an existing package source folder.
func (t *packagesTab) openSource() {
	dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		t.load(u.Path())
	}, t.c.win)
}

func (t *packagesTab) load(dir string) {
	d, err := t.c.cfg.LoadDraft(dir)
	if err != nil {
		t.c.showError("Open "+dir, err)
		return
	}
	t.openDraft(d)
}

// recent offers the recently edited package sources.
func (t *packagesTab) recent() {
	dirs := t.c.settings.RecentPackageDirs
	if len(dirs) == 0 {
		t.c.setStatus("No recent package sources.")
		return
	}
	var d dialog.Dialog
	list := widget.NewList(func() int { return len(dirs) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(dirs[id]) })
	list.OnSelected = func(id widget.ListItemID) { d.Hide(); t.load(dirs[id]) }
	d = dialog.NewCustom("Recent package sources", "Cancel", list, t.c.win)
	d.Resize(fyne.NewSize(560, 320))
	d.Show()
}

// duplicate copies the selected package into a new draft
// (core.Duplicate).
func (t *packagesTab) duplicate() {
	p, ok := t.selected()
	if !ok {
		return
	}
	c := t.c
	name := widget.NewEntry()
	name.SetText(p.Package + "-copy")
	out := newPathField(c.win, "folder for the new package source", true)
	errText := errorLabel()
	var d dialog.Dialog
	var btn *widget.Button
	btn = widget.NewButton("Duplicate", func() {
		n, dir := strings.TrimSpace(name.Text), out.text()
		if n == "" || dir == "" {
			setError(errText, "Give a name and a folder.")
			return
		}
		btn.Disable()
		var draft *admin.Draft
		c.call(func(ctx context.Context, core Core) error {
			var err error
			draft, err = core.Duplicate(ctx, p.Filename, n, dir)
			return err
		}, func(err error) {
			btn.Enable()
			if err != nil {
				setError(errText, errorText(err))
				return
			}
			d.Hide()
			t.openDraft(draft)
		})
	})
	btn.Importance = widget.HighImportance
	content := container.NewVBox(widget.NewLabel("Duplicate "+p.Filename),
		formGrid(widget.NewLabel("New name"), name, widget.NewLabel("In folder"), out.content),
		errText, container.NewHBox(btn, widget.NewButton("Cancel", func() { d.Hide() })))
	d = dialog.NewCustomWithoutButtons("Duplicate a package", content, c.win)
	d.Resize(fyne.NewSize(560, 0))
	d.Show()
}

// importWapt verifies a .wapt from another repository, re-signs it with
// the admin key and uploads it (core.Import).
func (t *packagesTab) importWapt() {
	c := t.c
	file := newPathField(c.win, ".wapt file", false)
	trust := newPathField(c.win, "folder of the certificates trusted for it", true)
	errText := errorLabel()
	var d dialog.Dialog
	var btn *widget.Button
	btn = widget.NewButton("Import", func() {
		path, dir := file.text(), trust.text()
		if path == "" || dir == "" {
			setError(errText, "Choose the file and the trusted certificates folder.")
			return
		}
		btn.Disable()
		var info wire.PackageInfo
		c.call(func(ctx context.Context, core Core) error {
			var err error
			info, err = core.Import(ctx, path, dir)
			return err
		}, func(err error) {
			btn.Enable()
			if err != nil {
				setError(errText, errorText(err))
				return
			}
			d.Hide()
			c.setStatus("Imported " + info.Filename)
			t.reload()
		})
	})
	btn.Importance = widget.HighImportance
	content := container.NewVBox(
		formGrid(widget.NewLabel("Package"), file.content, widget.NewLabel("Trusted certs"), trust.content),
		errText, container.NewHBox(btn, widget.NewButton("Cancel", func() { d.Hide() })))
	d = dialog.NewCustomWithoutButtons("Import a package", content, c.win)
	d.Resize(fyne.NewSize(600, 0))
	d.Show()
}

// deleteSelected removes the selected package from the repository.
func (t *packagesTab) deleteSelected() {
	p, ok := t.selected()
	if !ok {
		return
	}
	c := t.c
	dialog.ShowConfirm("Delete", "Delete "+p.Filename+" from the repository?", func(yes bool) {
		if !yes {
			return
		}
		c.call(func(ctx context.Context, core Core) error { return core.DeletePackage(ctx, p.Filename) }, func(err error) {
			if err != nil {
				c.showError("Delete "+p.Filename, err)
				return
			}
			c.setStatus("Deleted " + p.Filename)
			t.reload()
		})
	}, c.win)
}

// editSelectedGroup opens the selected group package in the group editor.
func (t *packagesTab) editSelectedGroup() {
	p, ok := t.selected()
	if !ok {
		return
	}
	if p.Section != "group" {
		t.c.setStatus(p.Package + " is not a group package.")
		return
	}
	t.openGroup(&p)
}

// openGroup shows the group editor, for p or a new group.
func (t *packagesTab) openGroup(p *wire.PackageInfo) *groupEditor {
	t.group = newGroupEditor(t.c, t.all, p)
	t.draft = nil
	t.editor.Objects = []fyne.CanvasObject{t.group.content}
	t.editor.Refresh()
	return t.group
}

// groupEditor edits a group package: name, description, depends picked
// from the repository (core.SaveGroup).
type groupEditor struct {
	c           *Console
	name, descr *widget.Entry
	search      *widget.Entry
	names       []string // packages that can be picked
	shown       []string
	depends     []string
	list        *widget.List
	chosen      *widget.Label
	errText     *widget.Label
	save        *widget.Button
	content     fyne.CanvasObject
}

func newGroupEditor(c *Console, pkgs []wire.PackageInfo, p *wire.PackageInfo) *groupEditor {
	g := &groupEditor{c: c, name: widget.NewEntry(), descr: widget.NewEntry(), search: widget.NewEntry()}
	g.name.SetPlaceHolder("group name, such as office")
	g.search.SetPlaceHolder("search packages")
	g.search.OnChanged = func(string) { g.filter() }
	if p != nil {
		g.name.SetText(p.Package)
		g.descr.SetText(p.Description)
		for _, d := range strings.Split(p.Depends, ",") {
			if d = strings.TrimSpace(d); d != "" {
				g.depends = append(g.depends, d)
			}
		}
	}
	g.list = widget.NewList(
		func() int { return len(g.shown) },
		func() fyne.CanvasObject { return widget.NewCheck("", nil) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			name := g.shown[id]
			ch := o.(*widget.Check)
			ch.OnChanged = nil
			ch.Text = name
			ch.SetChecked(slices.Contains(g.depends, name))
			ch.OnChanged = func(on bool) { g.toggle(name, on) }
			ch.Refresh()
		},
	)
	g.chosen = widget.NewLabel("")
	g.chosen.Wrapping = fyne.TextWrapWord
	g.errText = errorLabel()
	g.save = widget.NewButton("Save group (build, sign, upload)", g.saveGroup)
	g.save.Importance = widget.HighImportance
	g.setPackages(pkgs)
	top := container.NewVBox(
		widget.NewLabelWithStyle("Group package", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		formGrid(widget.NewLabel("Name"), g.name, widget.NewLabel("Description"), g.descr),
		widget.NewLabel("Depends (pick packages)"), g.search,
	)
	g.content = container.NewBorder(top, container.NewVBox(g.chosen, g.errText, g.save), nil, nil, g.list)
	g.updateChosen()
	return g
}

// setPackages sets the packages that can be picked (not host packages).
func (g *groupEditor) setPackages(pkgs []wire.PackageInfo) {
	seen := map[string]bool{}
	g.names = g.names[:0]
	for _, p := range pkgs {
		if p.Section == "host" || seen[p.Package] {
			continue
		}
		seen[p.Package] = true
		g.names = append(g.names, p.Package)
	}
	sort.Strings(g.names)
	g.filter()
}

func (g *groupEditor) filter() {
	q := strings.ToLower(strings.TrimSpace(g.search.Text))
	g.shown = g.shown[:0]
	for _, n := range g.names {
		if q == "" || strings.Contains(strings.ToLower(n), q) {
			g.shown = append(g.shown, n)
		}
	}
	g.list.Refresh()
}

func (g *groupEditor) toggle(name string, on bool) {
	i := slices.Index(g.depends, name)
	switch {
	case on && i < 0:
		g.depends = append(g.depends, name)
	case !on && i >= 0:
		g.depends = slices.Delete(g.depends, i, i+1)
	}
	g.updateChosen()
}

func (g *groupEditor) updateChosen() {
	g.chosen.SetText("Depends: " + strings.Join(g.depends, ", "))
}

func (g *groupEditor) saveGroup() {
	c := g.c
	name, descr := strings.TrimSpace(g.name.Text), strings.TrimSpace(g.descr.Text)
	if name == "" {
		setError(g.errText, "The group needs a name.")
		return
	}
	deps := append([]string(nil), g.depends...)
	g.save.Disable()
	var info wire.PackageInfo
	c.call(func(ctx context.Context, core Core) error {
		var err error
		info, err = core.SaveGroup(ctx, name, descr, deps)
		return err
	}, func(err error) {
		g.save.Enable()
		if err != nil {
			setError(g.errText, errorText(err))
			return
		}
		setError(g.errText, "")
		c.setStatus(fmt.Sprintf("Group %s %s uploaded.", info.Package, info.Version))
		if c.pkgs != nil {
			c.pkgs.reload()
		}
	})
}
