package ui

import (
	"context"
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

// controlField is one control attribute of the package editor.
type controlField struct {
	key, label string
	// options offers values (free typing stays allowed).
	options []string
	// keep writes the key even when empty.
	keep bool
}

var controlFields = []controlField{
	{key: "package", label: "Package", keep: true},
	{key: "version", label: "Version", keep: true},
	{key: "name", label: "Name"},
	{key: "description", label: "Description"},
	{key: "section", label: "Section", options: control.Sections},
	{key: "architecture", label: "Architecture", options: control.Architectures},
	{key: "maturity", label: "Maturity", options: []string{"PROD", "PREPROD", "BETA", "DEV"}},
	{key: "locale", label: "Locale"},
	{key: "target_os", label: "Target OS", options: []string{"windows", "linux", "macos", "debian", "ubuntu", "redhat"}},
	{key: "min_os_version", label: "Min OS version"},
	{key: "max_os_version", label: "Max OS version"},
	{key: "maintainer", label: "Maintainer"},
	{key: "depends", label: "Depends"},
	{key: "conflicts", label: "Conflicts"},
	{key: "impacted_process", label: "Impacted processes"},
	{key: "editor", label: "Editor"},
	{key: "licence", label: "Licence"},
}

// draftEditor edits a package source (an *admin.Draft): control fields
// with their validation errors, the payload files, setup.py with a dry
// run, then build + sign + upload.
type draftEditor struct {
	c *Console
	d *admin.Draft

	entries map[string]*widget.Entry
	errs    map[string]*widget.Label
	general *widget.Label

	files    []string
	fileList *widget.List
	fileSel  int
	filesErr *widget.Label

	setup    *widget.Entry
	setupErr *widget.Label
	preview  *widget.Label

	check, save, build *widget.Button
	progress           *widget.ProgressBar
	step               *widget.Label
	content            fyne.CanvasObject
}

func newDraftEditor(c *Console, d *admin.Draft) *draftEditor {
	e := &draftEditor{c: c, d: d, entries: map[string]*widget.Entry{}, errs: map[string]*widget.Label{}, fileSel: -1}
	if d.Control == nil {
		d.Control = control.New()
	}
	grid := formGrid()
	for _, f := range controlFields {
		var obj fyne.CanvasObject
		var entry *widget.Entry
		if len(f.options) > 0 {
			se := widget.NewSelectEntry(f.options)
			entry, obj = &se.Entry, se
		} else {
			entry = widget.NewEntry()
			obj = entry
		}
		entry.SetText(d.Control.Get(f.key))
		e.entries[f.key] = entry
		e.errs[f.key] = errorLabel()
		grid.Add(widget.NewLabel(f.label))
		grid.Add(container.NewVBox(obj, e.errs[f.key]))
	}
	e.general = errorLabel()

	e.fileList = widget.NewList(
		func() int { return len(e.files) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(e.files[id]) },
	)
	e.fileList.OnSelected = func(id widget.ListItemID) { e.fileSel = id }
	e.filesErr = errorLabel()
	addFile := widget.NewButton("Add file…", func() {
		dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			path := r.URI().Path()
			_ = r.Close()
			e.addFile(path)
		}, c.win)
	})
	removeFile := widget.NewButton("Remove", e.removeFile)

	e.setup = widget.NewMultiLineEntry()
	e.setup.TextStyle = fyne.TextStyle{Monospace: true}
	e.setup.SetText(d.SetupPy)
	e.setup.SetMinRowsVisible(14)
	e.setupErr = errorLabel()
	e.preview = widget.NewLabel("")
	e.preview.Wrapping = fyne.TextWrapWord
	e.preview.TextStyle = fyne.TextStyle{Monospace: true}
	e.check = widget.NewButton("Check (dry run of install)", e.checkScript)

	e.save = widget.NewButton("Save", e.saveDraft)
	e.build = widget.NewButton("Build + sign + upload", e.buildUpload)
	e.build.Importance = widget.HighImportance
	e.progress = widget.NewProgressBar()
	e.progress.Hide()
	e.step = widget.NewLabel("")

	files := container.NewBorder(widget.NewLabel("Files (payload)"),
		container.NewVBox(e.filesErr, container.NewHBox(addFile, removeFile)), nil, nil, e.fileList)
	script := container.NewBorder(widget.NewLabel("setup.py"),
		container.NewVBox(e.setupErr, e.check, e.preview), nil, nil, e.setup)
	tabs := container.NewAppTabs(
		container.NewTabItem("Control", container.NewVScroll(grid)),
		container.NewTabItem("setup.py", container.NewVScroll(script)),
		container.NewTabItem("Files", files),
	)
	title := widget.NewLabelWithStyle("Package source: "+d.Dir, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Truncation = fyne.TextTruncateEllipsis
	bottom := container.NewVBox(e.general, e.progress, container.NewBorder(nil, nil, nil, container.NewHBox(e.save, e.build), e.step))
	e.content = container.NewBorder(title, bottom, nil, nil, tabs)
	e.loadFiles()
	return e
}

// apply copies the form into the draft.
func (e *draftEditor) apply() {
	for _, f := range controlFields {
		v := strings.TrimSpace(e.entries[f.key].Text)
		if v == "" && !f.keep {
			e.d.Control.Del(f.key)
			continue
		}
		e.d.Control.Set(f.key, v)
	}
	e.d.SetupPy = e.setup.Text
}

// validate applies the form and shows admin's per-field errors; it reports
// whether the draft is valid.
func (e *draftEditor) validate() bool {
	e.apply()
	return e.showErrors(e.c.cfg.ValidateDraft(e.d))
}

// showErrors shows err (per field when it holds *admin.FieldErrors) and
// reports whether err is nil.
func (e *draftEditor) showErrors(err error) bool {
	for _, l := range e.errs {
		setError(l, "")
	}
	setError(e.general, "")
	setError(e.setupErr, "")
	setError(e.filesErr, "")
	if err == nil {
		return true
	}
	fe, ok := fieldErrors(err)
	if !ok {
		setError(e.general, errorText(err))
		return false
	}
	var other []string
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch l, known := e.errs[strings.ToLower(k)]; {
		case known:
			setError(l, fe[k])
		case k == "setup.py":
			setError(e.setupErr, fe[k])
		case k == "files":
			setError(e.filesErr, fe[k])
		default:
			other = append(other, k+": "+fe[k])
		}
	}
	msg := "Fix the fields marked in red."
	if len(other) > 0 {
		msg += "\n" + strings.Join(other, "\n")
	}
	setError(e.general, msg)
	return false
}

// fieldError is the error shown under a control field ("" = none).
func (e *draftEditor) fieldError(key string) string {
	if l, ok := e.errs[key]; ok && l.Visible() {
		return l.Text
	}
	return ""
}

func (e *draftEditor) loadFiles() {
	files, err := e.c.cfg.DraftFiles(e.d)
	if err != nil {
		setError(e.filesErr, errorText(err))
	}
	e.files = files
	e.fileSel = -1
	e.fileList.UnselectAll()
	e.fileList.Refresh()
}

func (e *draftEditor) addFile(path string) {
	if err := e.c.cfg.AddFile(e.d, path); err != nil {
		setError(e.filesErr, errorText(err))
		return
	}
	setError(e.filesErr, "")
	e.loadFiles()
}

func (e *draftEditor) removeFile() {
	if e.fileSel < 0 || e.fileSel >= len(e.files) {
		return
	}
	if err := e.c.cfg.RemoveFile(e.d, e.files[e.fileSel]); err != nil {
		setError(e.filesErr, errorText(err))
		return
	}
	e.loadFiles()
}

// checkScript dry-runs install() (admin.CheckScript) and shows the calls.
func (e *draftEditor) checkScript() {
	e.apply()
	d := *e.d
	d.Control = e.d.Control.Clone()
	e.preview.SetText("checking…")
	var p admin.Preview
	e.c.call(func(ctx context.Context, core Core) error {
		p = e.c.cfg.CheckScript(ctx, &d, "install")
		return nil
	}, func(error) {
		var b strings.Builder
		if p.Err != nil {
			setError(e.setupErr, p.Err.Error())
			b.WriteString("error: " + p.Err.Error() + "\n")
		} else {
			setError(e.setupErr, "")
			b.WriteString("install() would call:\n")
		}
		for _, call := range p.Calls {
			b.WriteString("  " + call + "\n")
		}
		if len(p.Calls) == 0 && p.Err == nil {
			b.WriteString("  (nothing)\n")
		}
		if p.Output != "" {
			b.WriteString("output:\n" + p.Output)
		}
		e.preview.SetText(strings.TrimRight(b.String(), "\n"))
	})
}

// saveDraft writes the draft to its directory after validation.
func (e *draftEditor) saveDraft() {
	if !e.validate() {
		return
	}
	if err := e.c.cfg.SaveDraft(e.d); err != nil {
		e.showErrors(err)
		return
	}
	e.step.SetText("Saved in " + e.d.Dir)
}

// buildUpload validates, then builds, signs and uploads (core.BuildUpload)
// with a progress bar. An invalid draft is never built.
func (e *draftEditor) buildUpload() {
	if !e.validate() {
		e.c.setStatus("The package has errors; nothing was built.")
		return
	}
	c := e.c
	d := *e.d // the form may change while the build runs
	d.Control = e.d.Control.Clone()
	e.build.Disable()
	e.progress.SetValue(0)
	e.progress.Show()
	e.step.SetText("building…")
	progress := func(step string, done, total int64) {
		onMain(func() {
			if total > 0 {
				e.progress.SetValue(float64(done) / float64(total))
			}
			e.step.SetText(step)
		})
	}
	var info wire.PackageInfo
	core := c.core
	c.background(func() {
		var err error
		info, err = core.BuildUpload(c.ctx, &d, progress)
		onMain(func() {
			e.build.Enable()
			e.progress.Hide()
			if err != nil {
				e.showErrors(err)
				e.step.SetText("failed")
				c.setStatus("Build + upload: " + errorText(err))
				return
			}
			msg := "Uploaded " + info.Filename
			if info.Signer != "" {
				msg += " (signed by " + info.Signer + ")"
			}
			e.step.SetText(msg)
			c.setStatus("Uploaded " + info.Filename)
			if c.pkgs != nil {
				c.pkgs.reload()
			}
		})
	})
}
