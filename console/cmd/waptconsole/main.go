// Command waptconsole is the WAPT admin console: a Fyne window (console/ui)
// over the Fyne-free core console/admin, which talks to waptserver only
// through server/client. This file only wires admin's functions into the
// UI and runs the window.
//
// Usage: waptconsole [--settings FILE] [--connect]
//
// For scripted runs (screenshots, GUI tests) the admin key password can be
// given in $WAPTCONSOLE_PASSWORD: it then answers the password prompt. It
// is meant for automation with throwaway keys, not for daily use.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/console/pkcs11"
	"github.com/wapt-go/wapt/console/ui"
)

// passwordEnv answers the key password prompt in scripted runs.
const passwordEnv = "WAPTCONSOLE_PASSWORD"

// The session is what the UI drives.
var _ ui.Core = (*admin.Session)(nil)

func main() {
	fs := flag.NewFlagSet("waptconsole", flag.ExitOnError)
	settings := fs.String("settings", "", "settings file (default: waptconsole/settings.json in the user's config folder)")
	connect := fs.Bool("connect", false, "connect at start with the remembered settings")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: waptconsole [--settings FILE] [--connect]\n")
		fs.PrintDefaults()
	}
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	path := *settings
	if path == "" {
		p, err := admin.SettingsPath()
		if err != nil {
			log.Printf("waptconsole: settings not remembered: %v", err)
		}
		path = p
	}
	password, scripted := os.LookupEnv(passwordEnv)
	os.Unsetenv(passwordEnv)

	admin.OpenPKCS11 = openToken
	app.SetMetadata(fyne.AppMetadata{
		ID: "org.waptgo.console", Name: "WAPT Console", Version: "0.1.0", Build: 1,
		Icon: ui.Icon, Migrations: map[string]bool{"fyneDo": true},
	})
	a := app.New()
	w := a.NewWindow("WAPT Console")
	w.SetIcon(ui.Icon)
	c := ui.New(a, w, config(path, *connect, password, scripted))
	c.Start()
	w.Resize(fyne.NewSize(1280, 800))
	w.ShowAndRun()
	c.Close()
}

// config wires console/admin into the UI.
func config(settingsPath string, connect bool, password string, scripted bool) ui.Config {
	return ui.Config{
		Connect: func(ctx context.Context, s admin.Settings, ask admin.Prompt) (ui.Core, error) {
			if scripted {
				ask = func(context.Context, string) ([]byte, error) { return []byte(password), nil }
			}
			sess, err := admin.Connect(ctx, s, ask)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return sess, nil
		},
		RegisterFirstAdmin: admin.RegisterFirstAdmin,
		ParseFilter:        admin.ParseFilter,
		LoadSettings:       admin.LoadSettings,
		SaveSettings:       admin.SaveSettings,
		NewDraft:           admin.NewDraft,
		LoadDraft:          admin.LoadDraft,
		ValidateDraft:      (*admin.Draft).Validate,
		SaveDraft:          (*admin.Draft).Save,
		DraftFiles:         (*admin.Draft).Files,
		AddFile:            (*admin.Draft).AddFile,
		RemoveFile:         (*admin.Draft).RemoveFile,
		CheckScript:        admin.CheckScript,
		GenerateCert:       admin.GenerateCert,
		SettingsPath:       settingsPath,
		AutoConnect:        connect,
		Logf:               log.Printf,
	}
}

// openToken opens the admin's key on a PKCS#11 token; a wrong PIN is the
// console's wrong-password error (its own message, and asked again).
func openToken(module, tokenLabel, keyLabel string, pin []byte, cert *x509.Certificate) (crypto.Signer, io.Closer, error) {
	s, c, err := pkcs11.OpenForConsole(module, tokenLabel, keyLabel, pin, cert)
	if errors.Is(err, pkcs11.ErrPINIncorrect) {
		err = fmt.Errorf("%w: %w", admin.ErrWrongPassword, err)
	}
	return s, c, err
}
