package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/shared/control"
)

func TestPackageEditorRefusesInvalidVersion(t *testing.T) {
	core := newFakeCore(0)
	h := newHarness(t, core)
	h.connect()
	ctl := control.New()
	ctl.Set("package", "demo-app")
	ctl.Set("version", "1.0-1")
	e := h.c.pkgs.openDraft(&admin.Draft{Dir: t.TempDir(), Control: ctl, SetupPy: "def install():\n    pass\n"})
	if got := e.entries["package"].Text; got != "demo-app" {
		t.Fatalf("package entry %q", got)
	}

	e.entries["version"].SetText("")
	test.Type(e.entries["version"], "not a version!")
	test.Tap(e.build)
	h.q.drain()
	if len(core.built) != 0 {
		t.Fatalf("BuildUpload called with an invalid version")
	}
	if msg := e.fieldError("version"); msg == "" {
		t.Errorf("no error shown under the version field")
	}
	if msg := e.fieldError("package"); msg != "" {
		t.Errorf("package field error %q", msg)
	}

	e.entries["version"].SetText("2.1.0-3")
	test.Tap(e.build)
	h.q.drain()
	if len(core.built) != 1 {
		t.Fatalf("BuildUpload calls: %d", len(core.built))
	}
	d := core.built[0]
	if d.Control.Get("version") != "2.1.0-3" || d.Control.Package() != "demo-app" || !strings.Contains(d.SetupPy, "def install") {
		t.Errorf("built draft: version %q package %q", d.Control.Get("version"), d.Control.Package())
	}
	if msg := e.fieldError("version"); msg != "" {
		t.Errorf("version error still shown: %q", msg)
	}
	if !strings.Contains(e.step.Text, "demo-app_2.1.0-3_all.wapt") {
		t.Errorf("step %q", e.step.Text)
	}
}

func TestPackageEditorCheckScript(t *testing.T) {
	h := newHarness(t, newFakeCore(0))
	h.connect()
	e := h.c.pkgs.openDraft(&admin.Draft{Dir: t.TempDir(), Control: control.New()})
	if len(e.files) != 1 || e.files[0] != "setup.msi" {
		t.Errorf("files %v", e.files)
	}
	test.Tap(e.check)
	h.q.drain()
	if !strings.Contains(e.preview.Text, "msiexec") {
		t.Errorf("preview %q", e.preview.Text)
	}
}

func TestPackagesListAndGroupEditor(t *testing.T) {
	core := newFakeCore(0)
	h := newHarness(t, core)
	h.connect()
	h.c.tabs.SelectIndex(1)
	h.q.drain()
	p := h.c.pkgs
	if len(p.shown) != 3 {
		t.Fatalf("packages %+v", p.shown)
	}
	p.section.SetSelected("group")
	if len(p.shown) != 1 || p.shown[0].Package != "office" {
		t.Fatalf("group filter: %+v", p.shown)
	}
	p.list.Select(0)
	p.editSelectedGroup()
	g := p.group
	if g == nil || g.name.Text != "office" || strings.Join(g.depends, ",") != "firefox" {
		t.Fatalf("group editor %+v", g)
	}
	g.toggle("7zip", true)
	test.Tap(g.save)
	h.q.drain()
	if len(core.groups) != 1 || core.groups[0] != "office:firefox,7zip" {
		t.Errorf("SaveGroup calls %v", core.groups)
	}
}
