package ui

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// showMessage shows a dialog with msg and an OK button.
func showMessage(w fyne.Window, title, msg string) dialog.Dialog {
	l := widget.NewLabel(msg)
	l.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(title, "OK", container.NewVScroll(l), w)
	d.Resize(fyne.NewSize(520, 240))
	d.Show()
	return d
}

// errorLabel is a red, wrapping label, hidden while empty.
func errorLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Importance = widget.DangerImportance
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// setError shows msg in l (hides it when empty).
func setError(l *widget.Label, msg string) {
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// pathField is an entry for a file or folder path with a Browse button.
type pathField struct {
	entry   *widget.Entry
	content fyne.CanvasObject
}

// newPathField returns a path entry; folder picks a directory.
func newPathField(w fyne.Window, placeholder string, folder bool) *pathField {
	f := &pathField{entry: widget.NewEntry()}
	f.entry.SetPlaceHolder(placeholder)
	browse := widget.NewButton("Browse…", func() {
		if folder {
			dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
				if err == nil && u != nil {
					f.entry.SetText(u.Path())
				}
			}, w)
			return
		}
		dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
			if err == nil && r != nil {
				f.entry.SetText(r.URI().Path())
				_ = r.Close()
			}
		}, w)
	})
	f.content = container.NewBorder(nil, nil, nil, browse, f.entry)
	return f
}

func (f *pathField) text() string { return strings.TrimSpace(f.entry.Text) }

// listEditor edits a list of strings: a list, an entry and Add/Remove.
type listEditor struct {
	items    []string
	list     *widget.List
	entry    *widget.Entry
	selected int
	content  fyne.CanvasObject
}

func newListEditor(placeholder string, items []string) *listEditor {
	e := &listEditor{items: append([]string(nil), items...), selected: -1}
	e.list = widget.NewList(
		func() int { return len(e.items) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(e.items[id]) },
	)
	e.list.OnSelected = func(id widget.ListItemID) { e.selected = id }
	e.entry = widget.NewEntry()
	e.entry.SetPlaceHolder(placeholder)
	e.entry.OnSubmitted = func(string) { e.add() }
	add := widget.NewButton("Add", e.add)
	remove := widget.NewButton("Remove", e.remove)
	input := container.NewBorder(nil, nil, nil, container.NewHBox(add, remove), e.entry)
	e.content = container.NewBorder(nil, input, nil, nil, e.list)
	return e
}

// add appends the entry's items (comma separated), skipping duplicates.
func (e *listEditor) add() {
	for _, s := range splitList(e.entry.Text) {
		if !slices.Contains(e.items, s) {
			e.items = append(e.items, s)
		}
	}
	e.entry.SetText("")
	e.list.Refresh()
}

func (e *listEditor) remove() {
	if e.selected < 0 || e.selected >= len(e.items) {
		return
	}
	e.items = append(e.items[:e.selected], e.items[e.selected+1:]...)
	e.selected = -1
	e.list.UnselectAll()
	e.list.Refresh()
}

// splitList splits "a, b c" into its names.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// formGrid lays out label: object rows in two columns.
func formGrid(objs ...fyne.CanvasObject) *fyne.Container {
	return container.New(layout.NewFormLayout(), objs...)
}

// sized makes o take at least s.
func sized(s fyne.Size, o fyne.CanvasObject) fyne.CanvasObject {
	return container.NewGridWrap(s, o)
}
