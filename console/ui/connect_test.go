package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/wapt-go/wapt/console/admin"
)

// TestPromptAsksForPIN connects with a PKCS#11 token: the connector's
// Prompt shows a password entry titled for the PIN, and what is typed
// there, then OK, is what the Prompt returns.
func TestPromptAsksForPIN(t *testing.T) {
	for _, tt := range []struct {
		name      string
		module    string
		wantTitle string
	}{
		{"token", "/usr/lib/softhsm/libsofthsm2.so", "Token PIN"},
		{"key file", "", "Admin key password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			w := test.NewTempWindow(t, nil)
			w.Resize(fyne.NewSize(1000, 700))
			core := newFakeCore(3)
			var wg sync.WaitGroup
			var started atomic.Bool
			q := &queue{}
			got := make(chan []byte, 1)
			var seen admin.Settings
			c := New(a, w, Config{
				Connect: func(ctx context.Context, s admin.Settings, ask admin.Prompt) (Core, error) {
					seen = s
					b, err := ask(ctx, "Unlock the admin key")
					if err != nil {
						return nil, err
					}
					got <- b
					return core, nil
				},
				ParseFilter: fakeParseFilter,
				// The connection runs on its own goroutine (the Prompt
				// blocks until the user answers); later work is queued so
				// that one goroutine at a time touches the widgets (the
				// test driver runs fyne.Do inline).
				Go: func(f func()) {
					if started.CompareAndSwap(false, true) {
						wg.Add(1)
						go func() { defer wg.Done(); f() }()
						return
					}
					q.Go(f)
				},
				Now: func() time.Time { return testNow },
			})
			t.Cleanup(c.Close)
			c.Start()
			c.conn.server.SetText("https://wapt.test")
			c.conn.cert.entry.SetText("admin.crt")
			if tt.module != "" {
				c.conn.module.entry.SetText(tt.module)
				c.conn.tokenLabel.SetText("T")
			} else {
				c.conn.key.entry.SetText("admin.pem")
			}
			test.Tap(c.conn.connectBtn)

			var p *secretPrompt
			for deadline := time.Now().Add(5 * time.Second); p == nil; time.Sleep(5 * time.Millisecond) {
				if p = c.openPrompt(); p == nil && time.Now().After(deadline) {
					t.Fatal("no password/PIN prompt shown")
				}
			}
			if !strings.HasPrefix(p.title, tt.wantTitle) || !p.entry.Password {
				t.Errorf("prompt %q (password entry %v), want %q", p.title, p.entry.Password, tt.wantTitle)
			}
			test.Type(p.entry, "5678")
			test.Tap(p.ok)
			select {
			case b := <-got:
				if string(b) != "5678" {
					t.Errorf("Prompt returned %q, want 5678", b)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Prompt did not return")
			}
			wg.Wait()
			q.drain()
			if c.openPrompt() != nil {
				t.Error("prompt still open")
			}
			if seen.PKCS11Module != tt.module || c.core == nil {
				t.Errorf("connected with %+v, core %v", seen, c.core)
			}
		})
	}
}

func TestConnectErrorTexts(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{admin.ErrWrongPassword, "Wrong password or PIN"},
		{admin.ErrUntrustedServer, "not trusted: check the server CA"},
		{admin.ErrNotAdmin, "not registered as an admin"},
		{admin.ErrNoRights, "does not have the right"},
		{admin.ErrUnreachable, "does not answer"},
	} {
		t.Run(tt.err.Error(), func(t *testing.T) {
			h := newHarness(t, newFakeCore(0))
			h.c.cfg.Connect = func(context.Context, admin.Settings, admin.Prompt) (Core, error) {
				return nil, fmt.Errorf("connect https://wapt.test: %w", tt.err)
			}
			h.c.conn.server.SetText("https://wapt.test")
			h.c.conn.cert.entry.SetText("admin.crt")
			test.Tap(h.c.conn.connectBtn)
			h.q.drain()
			if h.c.core != nil {
				t.Fatal("connected")
			}
			if got := h.c.conn.errText.Text; !h.c.conn.errText.Visible() || !strings.Contains(got, tt.want) || !strings.Contains(got, tt.err.Error()) {
				t.Errorf("error text %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConnectRemembersSettings(t *testing.T) {
	h := newHarness(t, newFakeCore(0))
	var saved []admin.Settings
	h.c.cfg.SettingsPath = "settings.json"
	h.c.cfg.SaveSettings = func(_ string, s admin.Settings) error { saved = append(saved, s); return nil }
	h.c.conn.module.entry.SetText("")
	h.connect()
	if len(saved) != 1 || saved[0].ServerURL != "https://wapt.test" || saved[0].CertPath != "admin.crt" || saved[0].KeyPath != "admin.pem" {
		t.Errorf("saved %+v", saved)
	}
}

func TestErrorTextFieldErrors(t *testing.T) {
	for _, err := range []error{
		admin.FieldErrors{"version": "bad", "package": "required"},
		fmt.Errorf("build: %w", &admin.FieldErrors{"version": "bad", "package": "required"}),
	} {
		fe, ok := fieldErrors(err)
		if !ok || fe["version"] != "bad" {
			t.Errorf("fieldErrors(%v) = %v, %v", err, fe, ok)
		}
		if got := errorText(err); got != "package: required\nversion: bad" {
			t.Errorf("errorText(%v) = %q", err, got)
		}
	}
	if _, ok := fieldErrors(admin.ErrUnreachable); ok {
		t.Error("a sentinel has no fields")
	}
}
