package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/getlantern/systray"

	"github.com/wapt-go/wapt/tray/menu"
)

// This file is the only one that imports getlantern/systray: the adapter
// of menu.UI and menu.Item, and the tray's event loop.

// quitGrace bounds the wait for the menu after the tray loop ends.
const quitGrace = 5 * time.Second

// runTray runs the menu on the system tray until Quit is clicked or ctx
// ends. systray.Run must own the main thread, so it is called here, and
// the menu runs in a goroutine started by onReady.
func runTray(ctx context.Context, cfg menu.Config, logger *log.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ui := &trayUI{logf: logger.Printf, icons: map[menu.Icon][]byte{}}
	cfg.UI = ui
	m := menu.New(cfg)
	errc := make(chan error, 1)
	onReady := func() {
		go func() {
			err := m.Run(ctx)
			errc <- err
			systray.Quit() // after Quit clicked (already quitting) or ctx done
		}()
	}
	systray.Run(onReady, func() { cancel() })
	select {
	case err := <-errc:
		return err
	case <-time.After(quitGrace):
		return fmt.Errorf("wapttray: the menu did not stop")
	}
}

// trayUI is menu.UI on getlantern/systray.
type trayUI struct {
	logf func(format string, args ...any)

	mu    sync.Mutex
	icons map[menu.Icon][]byte // encoded icons
}

var _ menu.UI = (*trayUI)(nil)

func (u *trayUI) SetIcon(k menu.Icon) {
	u.mu.Lock()
	b, ok := u.icons[k]
	if !ok {
		b = iconBytes(k)
		u.icons[k] = b
	}
	u.mu.Unlock()
	systray.SetIcon(b)
}

func (u *trayUI) SetTooltip(s string) { systray.SetTooltip(s) }

func (u *trayUI) AddItem(title, tooltip string) menu.Item {
	return item{systray.AddMenuItem(title, tooltip)}
}

func (u *trayUI) AddCheckbox(title, tooltip string, checked bool) menu.Item {
	return item{systray.AddMenuItemCheckbox(title, tooltip, checked)}
}

func (u *trayUI) AddSubItem(parent menu.Item, title, tooltip string) menu.Item {
	return item{parent.(item).AddSubMenuItem(title, tooltip)}
}

func (u *trayUI) AddSeparator() { systray.AddSeparator() }

func (u *trayUI) Notify(title, text string) {
	if err := menu.SendNotification(title, text); err != nil {
		u.logf("wapttray: notify %q: %v", title, err)
	}
}

func (u *trayUI) Quit() { systray.Quit() }

// item is menu.Item on a systray menu item; its other methods are the
// MenuItem's own.
type item struct{ *systray.MenuItem }

var _ menu.Item = item{}

func (i item) Clicked() <-chan struct{} { return i.ClickedCh }
