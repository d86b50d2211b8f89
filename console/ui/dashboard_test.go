package ui

import (
	"bytes"
	"os"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestDashboardChart(t *testing.T) {
	h := newHarness(t, newFakeCore(0))
	h.connect()
	h.c.tabs.SelectIndex(3)
	h.q.drain()
	d := h.c.dash
	ok, errBar, gone := d.bars[wire.StateOK], d.bars[wire.StateError], d.bars[admin.StatusUnreachable]
	if ok == nil || errBar == nil || gone == nil {
		t.Fatalf("bars %v", d.bars)
	}
	if ok.FillColor != theme.Color(theme.ColorNameSuccess) || errBar.FillColor != theme.Color(theme.ColorNameError) ||
		gone.FillColor != theme.Color(theme.ColorNameDisabled) {
		t.Errorf("bar colours: ok %v error %v unreachable %v", ok.FillColor, errBar.FillColor, gone.FillColor)
	}
	// OK (6 hosts) is the longest bar; ERROR (1) a sixth of it.
	if ok.Size().Width != barWidth || errBar.Size().Width != barWidth/6 {
		t.Errorf("bar widths: ok %v error %v", ok.Size().Width, errBar.Size().Width)
	}
	w := test.NewTempWindow(t, d.content)
	w.Resize(fyne.NewSize(700, 500))
	test.AssertRendersToMarkup(t, "dashboard.xml", w.Canvas())
}

func TestIconMatchesAssets(t *testing.T) {
	b, err := os.ReadFile("../../assets/icon.png")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, iconPNG) {
		t.Error("console/ui/icon.png differs from assets/icon.png: copy it again")
	}
}
