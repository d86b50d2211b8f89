package ui

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/wapt-go/wapt/console/admin"
	"github.com/wapt-go/wapt/shared/wire"
)

// certsTab is the Certificates tab: generator, chain viewer, admin
// registration and the ACL.
type certsTab struct {
	c        *Console
	form     *certForm
	viewer   *chainViewer
	register *registerForm
	acl      *aclEditor
	loaded   bool
	content  fyne.CanvasObject
}

func newCertsTab(c *Console) *certsTab {
	t := &certsTab{c: c, form: newCertForm(c), viewer: newChainViewer(c), register: newRegisterForm(c), acl: newACLEditor(c)}
	t.content = container.NewAppTabs(
		container.NewTabItem("Generate", container.NewVScroll(t.form.content)),
		container.NewTabItem("View chain", t.viewer.content),
		container.NewTabItem("Register admin", container.NewVScroll(t.register.content)),
		container.NewTabItem("Admins (ACL)", t.acl.content),
	)
	return t
}

// loadOnce loads the ACL the first time the tab shows.
func (t *certsTab) loadOnce() {
	if !t.loaded {
		t.loaded = true
		t.acl.reload()
	}
}

// showCertGenerator opens the generator in a dialog (before connecting).
func showCertGenerator(c *Console) *certForm {
	f := newCertForm(c)
	d := dialog.NewCustom("Create a certificate", "Close", container.NewVScroll(f.content), c.win)
	d.Resize(fyne.NewSize(720, 640))
	d.Show()
	return f
}

// Certificate kinds offered by the generator (admin.CertSpec.Kind).
var certKinds = []string{"ca", "code-signing", "simple"}

// keyBits are the key sizes per key type.
var keyBits = map[string][]string{"rsa": {"2048", "3072", "4096"}, "ecdsa": {"256", "384", "521"}}

// certForm is the certificate generator (admin.GenerateCert).
type certForm struct {
	c                     *Console
	cn, email, validity   *widget.Entry
	kind, keyType, bits   *widget.Select
	issuerCert, issuerKey *pathField
	outDir                *pathField
	issuerPW              *widget.Entry
	pw1, pw2              *widget.Entry
	errs                  map[string]*widget.Label
	general, result       *widget.Label
	generate              *widget.Button
	content               fyne.CanvasObject
}

func newCertForm(c *Console) *certForm {
	f := &certForm{c: c, errs: map[string]*widget.Label{}}
	f.cn = widget.NewEntry()
	f.cn.SetPlaceHolder("common name, such as jdoe or mycompany-ca")
	f.email = widget.NewEntry()
	f.validity = widget.NewEntry()
	f.validity.SetText("730")
	f.kind = widget.NewSelect(certKinds, nil)
	f.kind.SetSelected("code-signing")
	f.bits = widget.NewSelect(keyBits["rsa"], nil)
	f.bits.SetSelected("3072")
	f.keyType = widget.NewSelect([]string{"rsa", "ecdsa"}, func(kt string) {
		f.bits.Options = keyBits[kt]
		f.bits.SetSelected(keyBits[kt][1])
	})
	f.keyType.SetSelected("rsa")
	f.issuerCert = newPathField(c.win, "issuer certificate (empty: self-signed CA)", false)
	f.issuerKey = newPathField(c.win, "issuer key", false)
	f.issuerPW = widget.NewPasswordEntry()
	f.issuerPW.SetPlaceHolder("issuer key password (empty: the new key's)")
	f.outDir = newPathField(c.win, "folder for the new key and certificate", true)
	f.pw1 = widget.NewPasswordEntry()
	f.pw1.SetPlaceHolder("at least 8 characters")
	f.pw2 = widget.NewPasswordEntry()
	f.pw2.SetPlaceHolder("again")
	f.general = errorLabel()
	f.result = widget.NewLabel("")
	f.result.Wrapping = fyne.TextWrapWord
	f.generate = widget.NewButton("Generate", f.run)
	f.generate.Importance = widget.HighImportance

	grid := formGrid()
	row := func(key, label string, o fyne.CanvasObject) {
		f.errs[key] = errorLabel()
		grid.Add(widget.NewLabel(label))
		grid.Add(container.NewVBox(o, f.errs[key]))
	}
	row("cn", "Common name", f.cn)
	row("kind", "Kind", f.kind)
	row("keytype", "Key type", f.keyType)
	row("bits", "Key size", f.bits)
	row("validity", "Validity (days)", f.validity)
	row("email", "E-mail", f.email)
	row("issuercertpath", "Issuer certificate", f.issuerCert.content)
	row("issuerkeypath", "Issuer key", f.issuerKey.content)
	row("issuerpassword", "Issuer key password", f.issuerPW)
	row("outdir", "Output folder", f.outDir.content)
	row("password", "Key password", f.pw1)
	row("password2", "Password again", f.pw2)
	f.content = container.NewVBox(
		widget.NewLabel("A CA signs admin certificates; a code-signing certificate signs packages and actions; a simple one only identifies an admin."),
		grid, f.general, f.generate, f.result)
	return f
}

// fieldKeys maps admin's CertSpec field names to the form's rows.
func certFieldKey(k string) string {
	k = strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(k))
	switch k {
	case "commonname":
		return "cn"
	case "type":
		return "keytype"
	case "size", "keysize":
		return "bits"
	case "issuercert", "issuer":
		return "issuercertpath"
	case "issuerkey":
		return "issuerkeypath"
	case "out", "dir":
		return "outdir"
	}
	return k
}

func (f *certForm) clearErrors() {
	for _, l := range f.errs {
		setError(l, "")
	}
	setError(f.general, "")
}

// fieldError is the error shown under a field ("" = none).
func (f *certForm) fieldError(key string) string {
	if l, ok := f.errs[key]; ok && l.Visible() {
		return l.Text
	}
	return ""
}

// run checks that the passwords match, then generates (in the background:
// RSA keys take a while).
func (f *certForm) run() {
	f.clearErrors()
	f.result.SetText("")
	if f.pw1.Text != f.pw2.Text {
		setError(f.errs["password2"], "The passwords do not match.")
		return
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.validity.Text))
	if err != nil || days <= 0 {
		setError(f.errs["validity"], "A number of days, such as 730.")
		return
	}
	bits, _ := strconv.Atoi(f.bits.Selected)
	spec := admin.CertSpec{
		CN: strings.TrimSpace(f.cn.Text), Kind: f.kind.Selected, KeyType: f.keyType.Selected, Bits: bits,
		Validity: time.Duration(days) * 24 * time.Hour, Email: strings.TrimSpace(f.email.Text),
		IssuerCertPath: f.issuerCert.text(), IssuerKeyPath: f.issuerKey.text(), IssuerPassword: []byte(f.issuerPW.Text),
		Password: []byte(f.pw1.Text), OutDir: f.outDir.text(),
	}
	c := f.c
	f.generate.Disable()
	f.result.SetText("generating…")
	var keyPath, certPath string
	c.call(func(context.Context, Core) error {
		var err error
		keyPath, certPath, err = c.cfg.GenerateCert(spec)
		return err
	}, func(err error) {
		f.generate.Enable()
		if err != nil {
			f.result.SetText("")
			f.showErrors(err)
			return
		}
		f.pw1.SetText("")
		f.pw2.SetText("")
		f.issuerPW.SetText("")
		f.result.SetText("Key: " + keyPath + "\nCertificate: " + certPath)
		c.setStatus("Created " + certPath)
	})
}

func (f *certForm) showErrors(err error) {
	fe, ok := fieldErrors(err)
	if !ok {
		setError(f.general, errorText(err))
		return
	}
	var other []string
	for k, v := range fe {
		if l, ok := f.errs[certFieldKey(k)]; ok {
			setError(l, v)
		} else {
			other = append(other, k+": "+v)
		}
	}
	setError(f.general, strings.Join(append([]string{"Fix the fields marked in red."}, other...), "\n"))
}

// chainViewer shows the certificates of a PEM file.
type chainViewer struct {
	c       *Console
	file    *pathField
	out     *widget.Label
	content fyne.CanvasObject
}

func newChainViewer(c *Console) *chainViewer {
	v := &chainViewer{c: c, file: newPathField(c.win, "PEM file (certificate or chain)", false), out: widget.NewLabel("")}
	v.out.Wrapping = fyne.TextWrapWord
	v.out.TextStyle = fyne.TextStyle{Monospace: true}
	v.file.entry.OnSubmitted = func(string) { v.load() }
	load := widget.NewButton("Show", v.load)
	v.content = container.NewBorder(container.NewBorder(nil, nil, nil, load, v.file.content), nil, nil, nil,
		container.NewVScroll(v.out))
	return v
}

func (v *chainViewer) load() {
	b, err := os.ReadFile(v.file.text())
	if err != nil {
		v.out.SetText(err.Error())
		return
	}
	v.out.SetText(describeChain(b))
}

// describeChain lists subject, issuer, validity, key usages and SHA-256
// fingerprint of every certificate of a PEM text.
func describeChain(pemText []byte) string {
	var b strings.Builder
	n := 0
	for rest := pemText; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		n++
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			fmt.Fprintf(&b, "#%d: %v\n\n", n, err)
			continue
		}
		sum := sha256.Sum256(cert.Raw)
		fmt.Fprintf(&b, "#%d  %s\n", n, cert.Subject)
		fmt.Fprintf(&b, "    issuer:      %s\n", cert.Issuer)
		fmt.Fprintf(&b, "    valid:       %s → %s\n", cert.NotBefore.Format("2006-01-02"), cert.NotAfter.Format("2006-01-02"))
		fmt.Fprintf(&b, "    CA:          %v\n", cert.IsCA)
		fmt.Fprintf(&b, "    key usage:   %s\n", strings.Join(ekuNames(cert), ", "))
		if len(cert.EmailAddresses) > 0 {
			fmt.Fprintf(&b, "    e-mail:      %s\n", strings.Join(cert.EmailAddresses, ", "))
		}
		fmt.Fprintf(&b, "    SHA-256:     %s\n\n", hex.EncodeToString(sum[:]))
	}
	if n == 0 {
		return "no certificate in this file"
	}
	return strings.TrimRight(b.String(), "\n")
}

func ekuNames(c *x509.Certificate) []string {
	names := map[x509.ExtKeyUsage]string{
		x509.ExtKeyUsageAny: "any", x509.ExtKeyUsageServerAuth: "server auth", x509.ExtKeyUsageClientAuth: "client auth",
		x509.ExtKeyUsageCodeSigning: "code signing", x509.ExtKeyUsageEmailProtection: "e-mail",
		x509.ExtKeyUsageTimeStamping: "time stamping", x509.ExtKeyUsageOCSPSigning: "OCSP signing",
	}
	var out []string
	if c.KeyUsage&x509.KeyUsageCertSign != 0 {
		out = append(out, "cert sign")
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature != 0 {
		out = append(out, "digital signature")
	}
	for _, u := range c.ExtKeyUsage {
		if s, ok := names[u]; ok {
			out = append(out, s)
		} else {
			out = append(out, fmt.Sprintf("eku(%d)", u))
		}
	}
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

// registerForm registers an admin certificate with rights
// (core.RegisterAdmin).
type registerForm struct {
	c       *Console
	cert    *pathField
	rights  *widget.CheckGroup
	errText *widget.Label
	btn     *widget.Button
	content fyne.CanvasObject
}

func newRegisterForm(c *Console) *registerForm {
	r := &registerForm{c: c, cert: newPathField(c.win, "admin certificate (PEM)", false), errText: errorLabel()}
	r.rights = widget.NewCheckGroup(wire.Rights, nil)
	r.rights.SetSelected([]string{wire.RightView})
	r.btn = widget.NewButton("Register", r.run)
	r.btn.Importance = widget.HighImportance
	r.content = container.NewVBox(
		widget.NewLabel("Register another admin's certificate with the server."),
		formGrid(widget.NewLabel("Certificate"), r.cert.content, widget.NewLabel("Rights"), r.rights),
		r.errText, r.btn)
	return r
}

func (r *registerForm) run() {
	c, path := r.c, r.cert.text()
	rights := append([]string(nil), r.rights.Selected...)
	if path == "" {
		setError(r.errText, "Choose the certificate file.")
		return
	}
	r.btn.Disable()
	c.call(func(ctx context.Context, core Core) error {
		pemText, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return core.RegisterAdmin(ctx, pemText, rights)
	}, func(err error) {
		r.btn.Enable()
		if err != nil {
			setError(r.errText, errorText(err))
			return
		}
		setError(r.errText, "")
		c.setStatus("Registered " + path)
		if c.certs != nil {
			c.certs.acl.reload()
		}
	})
}

// aclEditor lists the admins (core.Admins) and edits their rights
// (core.SetAdminRights).
type aclEditor struct {
	c       *Console
	admins  []wire.AdminInfo
	sel     int
	list    *widget.List
	rights  *widget.CheckGroup
	save    *widget.Button
	errText *widget.Label
	content fyne.CanvasObject
}

func newACLEditor(c *Console) *aclEditor {
	a := &aclEditor{c: c, sel: -1, errText: errorLabel()}
	a.list = widget.NewList(
		func() int { return len(a.admins) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			x := a.admins[id]
			fp := x.Fingerprint
			if len(fp) > 16 {
				fp = fp[:16] + "…"
			}
			o.(*widget.Label).SetText(fmt.Sprintf("%s  [%s]  %s  until %s", x.Name, strings.Join(x.Rights, ", "), fp, x.NotAfter.Format("2006-01-02")))
		},
	)
	a.rights = widget.NewCheckGroup(wire.Rights, nil)
	a.save = widget.NewButton("Save rights", a.saveRights)
	a.save.Disable()
	a.list.OnSelected = func(id widget.ListItemID) {
		a.sel = id
		a.rights.SetSelected(a.admins[id].Rights)
		a.save.Enable()
	}
	right := container.NewVBox(widget.NewLabel("Rights of the selected admin"), a.rights, a.errText, a.save)
	a.content = container.NewBorder(nil, nil, nil, right,
		container.NewBorder(nil, widget.NewButton("Refresh", a.reload), nil, nil, a.list))
	return a
}

func (a *aclEditor) reload() {
	c := a.c
	var l wire.AdminList
	c.call(func(ctx context.Context, core Core) error {
		var err error
		l, err = core.Admins(ctx)
		return err
	}, func(err error) {
		if err != nil {
			setError(a.errText, errorText(err))
			return
		}
		setError(a.errText, "")
		a.admins = l.Admins
		a.sel = -1
		a.list.UnselectAll()
		a.save.Disable()
		a.list.Refresh()
	})
}

func (a *aclEditor) saveRights() {
	if a.sel < 0 || a.sel >= len(a.admins) {
		return
	}
	c, x := a.c, a.admins[a.sel]
	rights := append([]string(nil), a.rights.Selected...)
	c.call(func(ctx context.Context, core Core) error { return core.SetAdminRights(ctx, x.Fingerprint, rights) }, func(err error) {
		if err != nil {
			setError(a.errText, errorText(err))
			return
		}
		c.setStatus("Rights of " + x.Name + " saved.")
		a.reload()
	})
}
