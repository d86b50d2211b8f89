package selfservice

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"slices"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// This file holds the window's logic that needs no widget: which packages
// are shown, what their state line says, how errors are worded, and the
// checks on the icons the agent sends.

// Messages the user sees for the local API's sentinels.
const (
	msgForbidden  = "Not allowed for your account."
	msgNotRunning = "The WAPT agent is not running on this computer: start the WAPT agent service, then click Refresh."
	msgBusy       = "The WAPT agent is busy with another task: try again in a moment."
)

// allCategories is the category filter's first option.
const allCategories = "All categories"

// Limits on the icons of the catalogue.
const (
	// maxIconBytes bounds a decoded icon.
	maxIconBytes = 256 << 10
	// maxIconSide bounds an icon's width and height in pixels.
	maxIconSide = 1024
)

// errorText words err for an end user: the local API's sentinels get a
// sentence, any other error is shown as it is.
func errorText(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, localclient.ErrForbidden):
		return msgForbidden
	case errors.Is(err, localclient.ErrNotRunning):
		return msgNotRunning
	case errors.Is(err, localclient.ErrBusy):
		return msgBusy
	}
	return err.Error()
}

// visible returns the packages of ps the user may install, sorted by name.
func visible(ps []wire.SelfServicePackage) []wire.SelfServicePackage {
	var out []wire.SelfServicePackage
	for _, p := range ps {
		if p.Allowed && p.Package != "" {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b wire.SelfServicePackage) int {
		return strings.Compare(strings.ToLower(displayName(a)), strings.ToLower(displayName(b)))
	})
	return out
}

// displayName is p's name for the user: the control's name, else the
// package name.
func displayName(p wire.SelfServicePackage) string {
	if n := strings.TrimSpace(p.Name); n != "" {
		return n
	}
	return p.Package
}

// description is p's description in the language of locale ("fr-FR",
// "fr_FR" or "fr") when the control has one, else the description the
// agent chose.
func description(p wire.SelfServicePackage, locale string) string {
	loc := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(locale), "-", "_"))
	short, _, _ := strings.Cut(loc, "_")
	for _, l := range []string{loc, short} {
		if v := strings.TrimSpace(p.Descriptions[l]); l != "" && v != "" {
			return v
		}
	}
	return p.Description
}

// categoriesOf returns p's categories: Categories, and Category when an
// older agent sends only that.
func categoriesOf(p wire.SelfServicePackage) []string {
	var out []string
	for _, c := range append([]string{p.Category}, p.Categories...) {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// categories returns the distinct categories of ps, sorted.
func categories(ps []wire.SelfServicePackage) []string {
	var out []string
	for _, p := range ps {
		for _, c := range categoriesOf(p) {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

// matches reports whether p is in category cat ("" or allCategories: any)
// and contains every word of query in its names, description (desc, the
// one shown) or categories, ignoring case.
func matches(p wire.SelfServicePackage, desc, query, cat string) bool {
	cats := categoriesOf(p)
	if cat != "" && cat != allCategories && !slices.Contains(cats, cat) {
		return false
	}
	text := strings.ToLower(strings.Join(append([]string{p.Package, p.Name, desc, p.Description}, cats...), "\n"))
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// filter returns the packages of ps that match query and cat, in order;
// descriptions are looked up in locale.
func filter(ps []wire.SelfServicePackage, locale, query, cat string) []wire.SelfServicePackage {
	var out []wire.SelfServicePackage
	for _, p := range ps {
		if matches(p, description(p, locale), query, cat) {
			out = append(out, p)
		}
	}
	return out
}

// installedText describes whether p is installed, and whether a newer
// version is offered.
func installedText(p wire.SelfServicePackage) string {
	if p.InstalledVersion == "" {
		return "Not installed"
	}
	if newer(p.Version, p.InstalledVersion) {
		return fmt.Sprintf("Installed: %s (%s available)", p.InstalledVersion, p.Version)
	}
	return "Installed: " + p.InstalledVersion
}

// newer reports whether offered is a newer version than installed; two
// versions that do not parse are compared as text.
func newer(offered, installed string) bool {
	if offered == "" || installed == "" {
		return false
	}
	a, errA := version.Parse(offered)
	b, errB := version.Parse(installed)
	if errA != nil || errB != nil {
		return offered != installed
	}
	return version.Compare(a, b) > 0
}

// rowState is what a package's row shows besides its name and description.
type rowState struct {
	Text string
	// Failed shows Text as an error.
	Failed bool
	// Busy shows the progress bar and disables the buttons.
	Busy bool
	// Progress is 0 to 1.
	Progress float64
}

// stateOf is the state of a row for package p, its last task t (nil: none)
// and the error of the last request (nil: none).
func stateOf(p wire.SelfServicePackage, t *wire.LocalTask, err error) rowState {
	if err != nil {
		return rowState{Text: errorText(err), Failed: true}
	}
	if t == nil {
		return rowState{Text: installedText(p)}
	}
	verb, past := "Installing", "installation"
	if t.Kind == wire.LocalKindRemove {
		verb, past = "Removing", "removal"
	}
	progress := float64(min(max(t.Progress, 0), 100)) / 100
	switch t.State {
	case wire.LocalStateQueued, "":
		return rowState{Text: "Waiting for the agent…", Busy: true, Progress: progress}
	case wire.LocalStateRunning:
		text := fmt.Sprintf("%s… %d%%", verb, int(progress*100))
		if t.Message != "" {
			text += " — " + t.Message
		}
		return rowState{Text: text, Busy: true, Progress: progress}
	case wire.LocalStateError:
		text := "The " + past + " failed"
		if t.Message != "" {
			text += ": " + t.Message
		}
		return rowState{Text: text, Failed: true}
	case wire.LocalStateCancelled:
		return rowState{Text: "The " + past + " was cancelled. " + installedText(p)}
	}
	return rowState{Text: installedText(p)}
}

// iconResource returns p's icon, checked to be a PNG of bounded size, or
// the default icon when p has none or a bad one.
func iconResource(p wire.SelfServicePackage) fyne.Resource {
	b, err := decodeIcon(p.Icon)
	if err != nil || b == nil {
		return Icon
	}
	return fyne.NewStaticResource(p.Package+".png", b)
}

// decodeIcon decodes a base64 PNG and checks its size; "" gives nil, nil.
func decodeIcon(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	s = strings.TrimPrefix(s, "data:image/png;base64,")
	if base64.StdEncoding.DecodedLen(len(s)) > maxIconBytes+2 {
		return nil, fmt.Errorf("icon larger than %d bytes", maxIconBytes)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("icon: %w", err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("icon: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxIconSide || cfg.Height > maxIconSide {
		return nil, fmt.Errorf("icon of %dx%d pixels (at most %d)", cfg.Width, cfg.Height, maxIconSide)
	}
	return b, nil
}
