package ui

import (
	"context"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/shared/wire"
)

// connectScreen asks where the server is and which admin identity to use.
type connectScreen struct {
	c *Console

	server               *widget.Entry
	serverCA, cert, key  *pathField
	module               *pathField
	tokenLabel, keyLabel *widget.Entry
	connectBtn           *widget.Button
	firstAdmin           *widget.Button
	createCerts          *widget.Button
	errText              *widget.Label
	progress             *widget.ProgressBarInfinite
	content              fyne.CanvasObject
	connecting           bool
}

func newConnectScreen(c *Console) *connectScreen {
	s := &connectScreen{c: c}
	st := c.settings
	s.server = widget.NewEntry()
	s.server.SetPlaceHolder("https://wapt.example.lan:8443")
	s.server.SetText(st.ServerURL)
	s.serverCA = newPathField(c.win, "server CA (PEM; empty: system roots)", false)
	s.serverCA.entry.SetText(st.ServerCA)
	s.cert = newPathField(c.win, "admin certificate (PEM)", false)
	s.cert.entry.SetText(st.CertPath)
	s.key = newPathField(c.win, "admin key (encrypted PEM; empty with a token)", false)
	s.key.entry.SetText(st.KeyPath)
	s.module = newPathField(c.win, "PKCS#11 module (.so / .dll)", false)
	s.module.entry.SetText(st.PKCS11Module)
	s.tokenLabel = widget.NewEntry()
	s.tokenLabel.SetPlaceHolder("token label")
	s.tokenLabel.SetText(st.TokenLabel)
	s.keyLabel = widget.NewEntry()
	s.keyLabel.SetPlaceHolder("key label (empty: the key of the certificate)")
	s.keyLabel.SetText(st.KeyLabel)
	s.server.OnSubmitted = func(string) { s.connect() }

	s.errText = errorLabel()
	s.progress = widget.NewProgressBarInfinite()
	s.progress.Stop()
	s.progress.Hide()
	s.connectBtn = widget.NewButton("Connect", s.connect)
	s.connectBtn.Importance = widget.HighImportance
	s.firstAdmin = widget.NewButton("Register as first admin…", s.showFirstAdmin)
	s.createCerts = widget.NewButton("Create certificates…", func() { showCertGenerator(c) })

	token := widget.NewAccordion(widget.NewAccordionItem("Smartcard / PKCS#11 token",
		formGrid(
			widget.NewLabel("Module"), s.module.content,
			widget.NewLabel("Token"), s.tokenLabel,
			widget.NewLabel("Key"), s.keyLabel,
		)))
	if st.PKCS11Module != "" {
		token.OpenAll()
	}
	form := container.NewVBox(
		widget.NewLabelWithStyle("Connect to a WAPT server", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		formGrid(
			widget.NewLabel("Server URL"), s.server,
			widget.NewLabel("Server CA"), s.serverCA.content,
			widget.NewLabel("Admin certificate"), s.cert.content,
			widget.NewLabel("Admin key"), s.key.content,
		),
		token,
		container.NewHBox(s.connectBtn, s.firstAdmin, s.createCerts),
		s.progress,
		s.errText,
	)
	margin := func() fyne.CanvasObject {
		r := canvas.NewRectangle(color.Transparent)
		r.SetMinSize(fyne.NewSize(120, 0))
		return r
	}
	s.content = container.NewBorder(nil, nil, margin(), margin(),
		container.NewVBox(layout.NewSpacer(), form, layout.NewSpacer()))
	return s
}

// formSettings returns the settings typed in the form; the editor's recent
// directories are kept.
func (s *connectScreen) formSettings() admin.Settings {
	st := s.c.settings
	st.ServerURL = strings.TrimSpace(s.server.Text)
	st.ServerCA = s.serverCA.text()
	st.CertPath = s.cert.text()
	st.KeyPath = s.key.text()
	st.PKCS11Module = s.module.text()
	st.TokenLabel = strings.TrimSpace(s.tokenLabel.Text)
	st.KeyLabel = strings.TrimSpace(s.keyLabel.Text)
	return st
}

// connect opens a session in the background; the password or PIN is asked
// through a dialog.
func (s *connectScreen) connect() {
	if s.connecting {
		return
	}
	st := s.formSettings()
	if st.ServerURL == "" {
		setError(s.errText, "The server URL is missing.")
		return
	}
	if st.CertPath == "" {
		setError(s.errText, "The admin certificate is missing (create one with “Create certificates…”).")
		return
	}
	s.connecting = true
	setError(s.errText, "")
	s.connectBtn.Disable()
	s.progress.Show()
	s.progress.Start()
	ask := s.c.promptFor(st)
	c := s.c
	c.background(func() {
		core, err := c.cfg.Connect(c.ctx, st, ask)
		onMain(func() {
			s.connecting = false
			s.progress.Stop()
			s.progress.Hide()
			s.connectBtn.Enable()
			if err != nil {
				setError(s.errText, "Cannot connect: "+errorText(err))
				return
			}
			c.settings = st
			if c.cfg.SettingsPath != "" && c.cfg.SaveSettings != nil {
				if err := c.cfg.SaveSettings(c.cfg.SettingsPath, st); err != nil {
					c.cfg.Logf("save settings: %v", err)
				}
			}
			c.connected(core)
		})
	})
}

// showFirstAdmin registers the form's certificate as the first admin with
// the server's bootstrap password.
func (s *connectScreen) showFirstAdmin() {
	c := s.c
	pw := widget.NewPasswordEntry()
	pw.SetPlaceHolder("bootstrap password (printed by waptserver at its first start)")
	rights := widget.NewCheckGroup(wire.Rights, nil)
	rights.SetSelected([]string{wire.RightAdmin})
	errText := errorLabel()
	var d dialog.Dialog
	register := widget.NewButton("Register", func() {
		st := s.formSettings()
		if st.ServerURL == "" || st.CertPath == "" {
			setError(errText, "Fill in the server URL and the admin certificate first.")
			return
		}
		boot := pw.Text
		sel := append([]string(nil), rights.Selected...)
		c.call(func(ctx context.Context, core Core) error {
			return c.cfg.RegisterFirstAdmin(ctx, st, boot, sel)
		}, func(err error) {
			if err != nil {
				setError(errText, errorText(err))
				return
			}
			d.Hide()
			setError(s.errText, "")
			c.setStatus("Registered " + st.CertPath + " as an admin; connect now.")
			showMessage(c.win, "Registered", "The certificate is registered as an admin. Connect now.")
		})
	})
	register.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	content := container.NewVBox(
		widget.NewLabel("Register the certificate above as the server's first admin."),
		pw, widget.NewLabel("Rights"), rights, errText,
		container.NewHBox(register, cancel),
	)
	d = dialog.NewCustomWithoutButtons("First admin", content, c.win)
	d.Resize(fyne.NewSize(520, 0))
	d.Show()
}

// secretPrompt is the open password/PIN dialog.
type secretPrompt struct {
	title  string
	entry  *widget.Entry
	ok     *widget.Button
	cancel *widget.Button
	dialog dialog.Dialog
	answer chan []byte
}

// promptFor returns the admin.Prompt used to open st's key: a dialog with a
// password entry, titled for a token PIN when st uses PKCS#11.
func (c *Console) promptFor(st admin.Settings) admin.Prompt {
	return func(ctx context.Context, prompt string) ([]byte, error) {
		answer := make(chan []byte, 1)
		onMain(func() { c.showSecretPrompt(st, prompt, answer) })
		select {
		case b := <-answer:
			return b, nil
		case <-ctx.Done():
			onMain(c.closeSecretPrompt)
			return nil, ctx.Err()
		}
	}
}

func (c *Console) showSecretPrompt(st admin.Settings, prompt string, answer chan []byte) {
	p := &secretPrompt{title: "Admin key password", answer: answer}
	placeholder := "password"
	if st.PKCS11Module != "" && st.KeyPath == "" {
		p.title = "Token PIN"
		placeholder = "PIN"
		if st.TokenLabel != "" {
			p.title += " — " + st.TokenLabel
		}
	}
	p.entry = widget.NewPasswordEntry()
	p.entry.SetPlaceHolder(placeholder)
	answered := false
	reply := func(b []byte) {
		if answered {
			return
		}
		answered = true
		p.entry.SetText("")
		c.closeSecretPrompt()
		p.answer <- b
	}
	p.ok = widget.NewButton("OK", func() { reply([]byte(p.entry.Text)) })
	p.ok.Importance = widget.HighImportance
	p.cancel = widget.NewButton("Cancel", func() { reply(nil) })
	p.entry.OnSubmitted = func(string) { reply([]byte(p.entry.Text)) }
	label := widget.NewLabel(prompt)
	label.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(label, p.entry, container.NewHBox(p.ok, p.cancel))
	p.dialog = dialog.NewCustomWithoutButtons(p.title, content, c.win)
	p.dialog.Resize(fyne.NewSize(420, 0))
	p.dialog.Show()
	c.win.Canvas().Focus(p.entry)
	c.promptMu.Lock()
	c.prompt = p
	c.promptMu.Unlock()
}

// closeSecretPrompt hides the open prompt.
func (c *Console) closeSecretPrompt() {
	c.promptMu.Lock()
	p := c.prompt
	c.prompt = nil
	c.promptMu.Unlock()
	if p != nil {
		p.dialog.Hide()
	}
}

// openPrompt returns the open password/PIN dialog, if any.
func (c *Console) openPrompt() *secretPrompt {
	c.promptMu.Lock()
	defer c.promptMu.Unlock()
	return c.prompt
}
