package selfservice

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"forbidden", fmt.Errorf("POST /v1/tasks: %w", &localclient.Error{Status: 403}), msgForbidden},
		{"not running", fmt.Errorf("GET /v1/selfservice: %w: dial x: refused", localclient.ErrNotRunning), msgNotRunning},
		{"busy", fmt.Errorf("POST /v1/tasks: %w", &localclient.Error{Status: 409}), msgBusy},
		{"other", errors.New("boom"), "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errorText(tt.err); got != tt.want {
				t.Errorf("errorText(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if !strings.Contains(strings.ToLower(msgForbidden), "not allowed for your account") {
		t.Errorf("msgForbidden = %q", msgForbidden)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	p := wire.SelfServicePackage{Package: "tis-firefox", Name: "Firefox ESR", Description: "Mozilla Firefox web browser",
		Category: "Internet", Categories: []string{"Internet", "Office"}}
	tests := []struct {
		query, cat string
		want       bool
	}{
		{"esr", "", true},
		{"navigateur", "", true}, // the localized description shown
		{"", "Office", true},
		{"", "", true},
		{"", allCategories, true},
		{"FIREFOX", "", true},
		{"mozilla browser", "", true},
		{"mozilla chrome", "", false},
		{"internet", "", true},
		{"", "Internet", true},
		{"", "Media", false},
		{"firefox", "Media", false},
		{"  ", "Internet", true},
	}
	for _, tt := range tests {
		t.Run(tt.query+"/"+tt.cat, func(t *testing.T) {
			t.Parallel()
			if got := matches(p, "Navigateur web", tt.query, tt.cat); got != tt.want {
				t.Errorf("matches(%q, %q) = %v, want %v", tt.query, tt.cat, got, tt.want)
			}
		})
	}
}

func TestVisibleAndCategories(t *testing.T) {
	t.Parallel()
	ps := []wire.SelfServicePackage{
		{Package: "b", Category: "Tools", Allowed: true},
		{Package: "A", Category: "office", Allowed: true},
		{Package: "c", Category: "Secret", Allowed: false},
		{Package: "", Allowed: true},
		{Package: "d", Category: " Tools ", Allowed: true},
		{Package: "e", Allowed: true, Categories: []string{"Graphics", "Tools"}},
		{Package: "zz", Name: "Aardvark", Allowed: true},
	}
	v := visible(ps)
	var names []string
	for _, p := range v {
		names = append(names, p.Package)
	}
	if want := []string{"A", "zz", "b", "d", "e"}; !slices.Equal(names, want) {
		t.Errorf("visible = %v, want %v", names, want)
	}
	if got, want := categories(v), []string{"Graphics", "office", "Tools"}; !slices.Equal(got, want) {
		t.Errorf("categories = %v, want %v", got, want)
	}
	if got := filter(v, "en", "", "Tools"); len(got) != 3 {
		t.Errorf("filter Tools = %v, want b, d and e", got)
	}
}

func TestDescriptionAndName(t *testing.T) {
	t.Parallel()
	p := wire.SelfServicePackage{Package: "tis-x", Description: "Plain", Descriptions: map[string]string{"fr": "Français", "pt_br": "Brasileiro"}}
	for locale, want := range map[string]string{
		"fr-FR": "Français", "fr": "Français", "pt-BR": "Brasileiro", "pt_BR": "Brasileiro", "pt-PT": "Plain", "en-US": "Plain", "": "Plain",
	} {
		if got := description(p, locale); got != want {
			t.Errorf("description(%q) = %q, want %q", locale, got, want)
		}
	}
	if got := displayName(p); got != "tis-x" {
		t.Errorf("displayName without a name = %q", got)
	}
	p.Name = " X app "
	if got := displayName(p); got != "X app" {
		t.Errorf("displayName = %q", got)
	}
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	notInstalled := wire.SelfServicePackage{Package: "p", Version: "2.0-1"}
	installed := wire.SelfServicePackage{Package: "p", Version: "2.0-1", InstalledVersion: "2.0-1"}
	older := wire.SelfServicePackage{Package: "p", Version: "2.0-1", InstalledVersion: "1.9-3"}
	task := func(kind, state string, progress int, msg string) *wire.LocalTask {
		return &wire.LocalTask{Kind: kind, State: state, Progress: progress, Message: msg}
	}
	tests := []struct {
		name string
		p    wire.SelfServicePackage
		t    *wire.LocalTask
		err  error
		want rowState
	}{
		{"not installed", notInstalled, nil, nil, rowState{Text: "Not installed"}},
		{"installed", installed, nil, nil, rowState{Text: "Installed: 2.0-1"}},
		{"older", older, nil, nil, rowState{Text: "Installed: 1.9-3 (2.0-1 available)"}},
		{"queued", notInstalled, task("install", "queued", 0, ""), nil, rowState{Text: "Waiting for the agent…", Busy: true}},
		{"running", notInstalled, task("install", "running", 30, "downloading"), nil,
			rowState{Text: "Installing… 30% — downloading", Busy: true, Progress: 0.3}},
		{"removing", installed, task("remove", "running", 150, ""), nil, rowState{Text: "Removing… 100%", Busy: true, Progress: 1}},
		{"failed", notInstalled, task("install", "error", 50, "setup.py failed"), nil,
			rowState{Text: "The installation failed: setup.py failed", Failed: true}},
		{"cancelled", installed, task("remove", "cancelled", 0, ""), nil,
			rowState{Text: "The removal was cancelled. Installed: 2.0-1"}},
		{"done", installed, task("install", "done", 100, ""), nil, rowState{Text: "Installed: 2.0-1"}},
		{"refused", notInstalled, nil, &localclient.Error{Status: 403}, rowState{Text: msgForbidden, Failed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := stateOf(tt.p, tt.t, tt.err); got != tt.want {
				t.Errorf("stateOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func pngBase64(t *testing.T, w, h int) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func TestDecodeIcon(t *testing.T) {
	t.Parallel()
	good := pngBase64(t, 32, 32)
	tests := []struct {
		name    string
		in      string
		wantNil bool
		wantErr bool
	}{
		{"none", "", true, false},
		{"png", good, false, false},
		{"data url", "data:image/png;base64," + good, false, false},
		{"bad base64", "not base64!", true, true},
		{"not a png", base64.StdEncoding.EncodeToString([]byte("GIF89a......")), true, true},
		{"too many pixels", pngBase64(t, maxIconSide+1, 1), true, true},
		{"too many bytes", strings.Repeat("A", 4*maxIconBytes), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := decodeIcon(tt.in)
			if (err != nil) != tt.wantErr || (b == nil) != tt.wantNil {
				t.Errorf("decodeIcon: %d bytes, error %v", len(b), err)
			}
		})
	}
	p := wire.SelfServicePackage{Package: "x", Icon: good}
	if r := iconResource(p); r == Icon || r.Name() != "x.png" {
		t.Errorf("iconResource with a good icon = %v", r.Name())
	}
	p.Icon = "garbage"
	if r := iconResource(p); r != Icon {
		t.Errorf("iconResource with a bad icon = %v, want the default", r.Name())
	}
}

// TestIconIsTheAssetsIcon keeps the embedded copy equal to assets/icon.png.
func TestIconIsTheAssetsIcon(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../assets/icon.png")
	if err != nil {
		t.Skipf("assets/icon.png: %v", err)
	}
	if !bytes.Equal(iconPNG, want) {
		t.Error("tray/selfservice/icon.png differs from assets/icon.png: copy it again")
	}
}

func TestPackageName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"tis-firefox": "tis-firefox", "tis-firefox(>=120)": "tis-firefox", "a=1": "a"} {
		if got := packageName(in); got != want {
			t.Errorf("packageName(%q) = %q, want %q", in, got, want)
		}
	}
}
