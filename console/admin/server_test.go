package admin

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestConnect(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	unknown := s.settings(t, newIdent(t, "mallory", certs.RoleCodeSigning, &s.ca), "mallory")
	down := s.admin
	down.ServerURL = closedURL(t)
	mixed := s.admin
	mixed.KeyPath = unknown.KeyPath
	token := s.admin
	token.KeyPath, token.PKCS11Module = "", "/usr/lib/softhsm/libsofthsm2.so"
	cancelled := func(context.Context, string) ([]byte, error) { return nil, nil }

	tests := []struct {
		name     string
		settings Settings
		ask      Prompt
		want     error  // nil: connected
		text     string // in the error, when want is nil and it fails
	}{
		{"ok", s.admin, password(adminPassword), nil, ""},
		{"wrong password", s.admin, password("wrong"), ErrWrongPassword, ""},
		{"cancelled prompt", s.admin, cancelled, context.Canceled, ""},
		{"unknown admin", unknown, password(adminPassword), ErrNotAdmin, ""},
		{"server down", down, password(adminPassword), ErrUnreachable, ""},
		{"missing settings", Settings{}, password(adminPassword), ErrInvalid, ""},
		{"key of another certificate", mixed, password(adminPassword), nil, "does not match"},
		{"no PKCS#11", token, password("1234"), nil, "PKCS#11 support not built in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := Connect(context.Background(), tt.settings, tt.ask)
			switch {
			case tt.want == nil && tt.text == "":
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer sess.Close()
				if sess.AdminName() != "alice" || !reflect.DeepEqual(sess.Settings(), tt.settings) {
					t.Errorf("AdminName %q, Settings %+v", sess.AdminName(), sess.Settings())
				}
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Fatalf("Connect = %v, want %v", err, tt.want)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.text) {
					t.Fatalf("Connect = %v, want %q", err, tt.text)
				}
			}
		})
	}
	if err := RegisterFirstAdmin(context.Background(), unknown, s.bootstrap, []string{wire.RightAdmin}); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("RegisterFirstAdmin once an admin exists = %v", err)
	}
}

func TestConnectTLS(t *testing.T) {
	t.Parallel()
	s := newServer(t, true)
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("base %s", s.base)
	}
	wrongCA := s.admin
	wrongCA.ServerCA = s.caCertPath
	systemRoots := s.admin
	systemRoots.ServerCA = ""
	badCA := s.admin
	badCA.ServerCA = filepath.Join(t.TempDir(), "missing.crt")
	tests := []struct {
		name     string
		settings Settings
		want     error
	}{
		{"trusted server CA", s.admin, nil},
		{"another CA", wrongCA, ErrUntrustedServer},
		{"system roots", systemRoots, ErrUntrustedServer},
		{"unreadable CA file", badCA, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := Connect(context.Background(), tt.settings, password(adminPassword))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				sess.Close()
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Connect = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHostsAndDashboard(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	sess := s.connect(t, s.admin)
	ctx := context.Background()
	ok := func(p string) wire.PackageState {
		return wire.PackageState{Package: p, Version: "1-1", Status: "OK", State: wire.StateOK}
	}
	failed := func(p string) wire.PackageState {
		return wire.PackageState{Package: p, Version: "1-1", Status: "ERROR", State: wire.StateError, LastError: "boom"}
	}
	s.registerHost(t, "host-a").report(t, failed("broken"), ok("firefox"))
	hb := s.registerHost(t, "host-b")
	hb.report(t, ok("firefox"))
	// host-b's inventory lists openssl 3.0.19 (the software filter).
	sw := []byte(`[{"name":"openssl","version":"3.0.19-1~deb12u2","source":"dpkg"}]`)
	sum := sha256.Sum256(sw)
	hash := hex.EncodeToString(sum[:])
	must(t, hb.c.PostStatus(ctx, "host-b", wire.StatusReport{UUID: "host-b", Time: time.Now().UTC(), Packages: []wire.PackageState{ok("firefox")},
		Sections: map[string]wire.Section{"software": {Hash: hash, Data: sw}}, SectionHashes: map[string]string{"software": hash}}))
	s.registerHost(t, "host-c")
	s.registerHost(t, "host-d").report(t, failed("broken"), failed("other"),
		wire.PackageState{Package: "tis-7zip", Version: "19-1", State: wire.StateNeedInstall})

	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"host-a", "host-b", "host-c", "host-d"}},
		{"status:error", []string{"host-a", "host-d"}},
		{"status=OK", []string{"host-b"}},
		{"host-b", []string{"host-b"}},
		{"package:broken", []string{"host-a", "host-d"}},
		{"package:firefox>=1", []string{"host-a", "host-b"}},
		{"software:openssl<99", []string{"host-b"}},
		{"software:openssl<3.0.10", nil},
		{"software:open*", []string{"host-b"}},
	}
	for _, tt := range tests {
		q, err := ParseFilter(tt.filter)
		must(t, err)
		l, err := sess.Hosts(ctx, q)
		must(t, err)
		var got []string
		for _, h := range l.Hosts {
			got = append(got, h.UUID)
		}
		if !slices.Equal(got, tt.want) || l.Total != len(tt.want) {
			t.Errorf("Hosts(%q) = %v (total %d), want %v", tt.filter, got, l.Total, tt.want)
		}
	}

	d, err := sess.Host(ctx, "host-a")
	must(t, err)
	if d.Summary.Status != wire.StateError || len(d.Packages) != 2 {
		t.Errorf("Host(host-a) = %+v", d)
	}
	if _, err := sess.Host(ctx, "host-z"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Host(host-z) = %v", err)
	}
	ev, err := sess.History(ctx, "host-a", 10)
	must(t, err)
	if len(ev) == 0 {
		t.Error("History(host-a) is empty")
	}

	db, err := sess.Dashboard(ctx)
	must(t, err)
	want := map[string]int{wire.StateOK: 1, wire.StateError: 2, wire.StateNeedInstall: 0, wire.StateNeedUpgrade: 0, wire.StateNeedRemove: 0, "": 1, StatusUnreachable: 0}
	if db.Total != 4 || !maps.Equal(db.ByStatus, want) {
		t.Errorf("Dashboard total %d, by status %v, want %v", db.Total, db.ByStatus, want)
	}
	if wantTop := []ErrorCount{{"broken", 2}, {"other", 1}}; !slices.Equal(db.TopErrors, wantTop) {
		t.Errorf("TopErrors = %v, want %v", db.TopErrors, wantTop)
	}
	later := time.Now().Add(UnreachableAfter + time.Hour)
	sess.now = func() time.Time { return later }
	db, err = sess.Dashboard(ctx)
	must(t, err)
	if db.ByStatus[StatusUnreachable] != 3 || !db.At.Equal(later) {
		t.Errorf("unreachable %d hours later: %d (at %v)", int(UnreachableAfter.Hours())+1, db.ByStatus[StatusUnreachable], db.At)
	}
}

func TestActionsAndAdmins(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	sess := s.connect(t, s.admin)
	ctx := context.Background()
	s.registerHost(t, "host-a")

	acc, err := sess.SendAction(ctx, "upgrade", []string{"host-a"}, nil, false)
	must(t, err)
	if acc.ID == "" || acc.Hosts != 1 || acc.Connected != 0 {
		t.Errorf("SendAction = %+v", acc)
	}
	d, err := sess.ActionResults(ctx, acc.ID)
	must(t, err)
	if d.Action != "upgrade" || len(d.Results) != 1 || d.Results[0].Host != "host-a" || d.Results[0].State != wire.ActionPending {
		t.Errorf("ActionResults = %+v", d)
	}
	l, err := sess.Actions(ctx, 10)
	must(t, err)
	if len(l) != 1 || l[0].ID != acc.ID || l[0].Signer != "alice" {
		t.Errorf("Actions = %+v", l)
	}
	if _, err := sess.SendAction(ctx, "install", []string{"host-a"}, nil, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("install without packages = %v", err)
	}
	if _, err := sess.SendAction(ctx, "format-disk", []string{"host-a"}, nil, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown action = %v", err)
	}

	viewerID := newIdent(t, "victor", certs.RoleSimple, &s.ca)
	must(t, sess.RegisterAdmin(ctx, certs.EncodeCertsPEM(viewerID.cert), []string{wire.RightView}))
	viewer := s.connect(t, s.settings(t, viewerID, "victor"))
	if _, err := viewer.Hosts(ctx, client.HostQuery{}); err != nil {
		t.Errorf("a viewer cannot list hosts: %v", err)
	}
	if _, err := viewer.SendAction(ctx, "update", []string{"host-a"}, nil, false); !errors.Is(err, ErrNoRights) {
		t.Errorf("a viewer's action = %v, want ErrNoRights", err)
	}
	if _, err := viewer.Admins(ctx); !errors.Is(err, ErrNoRights) {
		t.Errorf("a viewer's Admins = %v, want ErrNoRights", err)
	}

	admins, err := sess.Admins(ctx)
	must(t, err)
	var names []string
	for _, a := range admins.Admins {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"alice", "victor"}) {
		t.Fatalf("Admins = %+v", admins)
	}
	fp := signing.Fingerprint(viewerID.cert)
	must(t, sess.SetAdminRights(ctx, strings.ToUpper(fp), []string{wire.RightView, wire.RightTriggerAction}))
	if _, err := viewer.SendAction(ctx, "update", []string{"host-a"}, nil, false); err != nil {
		t.Errorf("action after SetAdminRights: %v", err)
	}
	if err := sess.SetAdminRights(ctx, fp, []string{"superuser"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetAdminRights(superuser) = %v", err)
	}
	if err := sess.RegisterAdmin(ctx, []byte("not a certificate"), []string{wire.RightView}); !errors.Is(err, ErrInvalid) {
		t.Errorf("RegisterAdmin(garbage) = %v", err)
	}
	outsider := newIdent(t, "outsider", certs.RoleSimple, nil)
	var fe FieldErrors
	if err := sess.RegisterAdmin(ctx, certs.EncodeCertsPEM(outsider.cert), []string{wire.RightView}); !errors.As(err, &fe) || fe["certificate"] == "" {
		t.Errorf("RegisterAdmin of a certificate of another CA = %v", err)
	}
}

func TestHostAndGroupPackages(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	sess := s.connect(t, s.admin)
	ctx := context.Background()
	s.registerHost(t, "host-a")

	deps, confs, err := sess.HostDepends(ctx, "host-a")
	if err != nil || len(deps) != 0 || len(confs) != 0 {
		t.Fatalf("HostDepends before any edit = %v, %v, %v", deps, confs, err)
	}
	info, err := sess.SetHostDepends(ctx, "host-a", []string{"firefox", " ", "tis-7zip(>=19)"}, []string{"badpkg"})
	if err != nil {
		t.Fatalf("SetHostDepends: %v\n%s", err, s.log.String())
	}
	if info.Package != "host-a" || info.Section != "host" || len(info.Version) != len("20060102150405") {
		t.Errorf("SetHostDepends = %+v", info)
	}
	deps, confs, err = sess.HostDepends(ctx, "host-a")
	must(t, err)
	if !slices.Equal(deps, []string{"firefox", "tis-7zip(>=19)"}) || !slices.Equal(confs, []string{"badpkg"}) {
		t.Errorf("HostDepends = %v, %v", deps, confs)
	}
	d, err := sess.Host(ctx, "host-a")
	must(t, err)
	if !slices.Contains(d.Groups, "firefox") {
		t.Errorf("Host(host-a).Groups = %v", d.Groups)
	}
	info2, err := sess.SetHostDepends(ctx, "host-a", nil, nil)
	must(t, err)
	v1, _ := strconv.ParseInt(info.Version, 10, 64)
	v2, _ := strconv.ParseInt(info2.Version, 10, 64)
	if v2 <= v1 {
		t.Errorf("second host package version %d, not above %d", v2, v1)
	}
	deps, confs, err = sess.HostDepends(ctx, "host-a")
	if err != nil || len(deps) != 0 || len(confs) != 0 {
		t.Errorf("HostDepends after emptying = %v, %v, %v", deps, confs, err)
	}
	var fe FieldErrors
	if _, err := sess.SetHostDepends(ctx, "host-a", []string{"bad("}, []string{"a,b"}); !errors.As(err, &fe) || fe["depends"] == "" || fe["conflicts"] == "" {
		t.Errorf("SetHostDepends with bad requests = %v", err)
	}
	if _, _, err := sess.HostDepends(ctx, "../x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("HostDepends(../x) = %v", err)
	}

	for _, want := range []string{"0-1", "0-2"} {
		g, err := sess.SaveGroup(ctx, "office", "", []string{"firefox", "tis-7zip"})
		must(t, err)
		if g.Package != "office" || g.Section != "group" || g.Version != want || g.Depends != "firefox,tis-7zip" || g.Description != "Group office" {
			t.Errorf("SaveGroup = %+v, want version %s", g, want)
		}
	}
	pkgs, err := sess.Packages(ctx)
	must(t, err)
	if !slices.ContainsFunc(pkgs, func(p wire.PackageInfo) bool { return p.Package == "office" && p.Version == "0-2" }) {
		t.Errorf("Packages = %+v", pkgs)
	}
	for name, deps := range map[string][]string{"bad name": nil, "office2": {"office2"}, "office3": {"x(<<1)"}} {
		if _, err := sess.SaveGroup(ctx, name, "", deps); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveGroup(%q, %v) = %v", name, deps, err)
		}
	}
}

func TestBuildUploadImportDuplicate(t *testing.T) {
	t.Parallel()
	s := newServer(t, false)
	sess := s.connect(t, s.admin)
	ctx := context.Background()

	d, err := NewDraft(t.TempDir(), "tis-demo")
	must(t, err)
	payload := filepath.Join(t.TempDir(), "payload.txt")
	must(t, os.WriteFile(payload, []byte("hello"), 0o644))
	must(t, d.AddFile(payload))
	d.SetupPy = "from setuphelpers import *\n\ndef install():\n    filecopyto('payload.txt', makepath(persistent_dir, 'payload.txt'))\n"
	var steps []string
	info, err := sess.BuildUpload(ctx, d, func(step string, done, total int64) {
		if done == total {
			steps = append(steps, step)
		}
	})
	if err != nil {
		t.Fatalf("BuildUpload: %v\n%s", err, s.log.String())
	}
	if info.Package != "tis-demo" || info.Version != "0-1" || info.Filename != "tis-demo_0-1.wapt" || info.SHA256 == "" {
		t.Errorf("BuildUpload = %+v", info)
	}
	if !slices.Equal(steps, []string{"validate", "build", "upload"}) {
		t.Errorf("progress steps = %v", steps)
	}
	if has := listed(t, sess, "tis-demo"); !has {
		t.Error("Packages does not list tis-demo")
	}
	d.Control.Set("version", "1..2")
	if _, err := sess.BuildUpload(ctx, d, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("BuildUpload of an invalid draft = %v", err)
	}
	if _, err := sess.SaveGroup(ctx, "tis-demo", "", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveGroup over a base package = %v", err)
	}

	// Duplicate: download, verify, extract as a new draft, build it.
	out := t.TempDir()
	dup, err := sess.Duplicate(ctx, info.Filename, "tis-demo-copy", out)
	if err != nil {
		t.Fatalf("Duplicate: %v", err)
	}
	files, err := dup.Files()
	must(t, err)
	if dup.Dir != filepath.Join(out, "tis-demo-copy") || dup.Control.Package() != "tis-demo-copy" ||
		dup.SetupPy != d.SetupPy || !slices.Equal(files, []string{"payload.txt"}) {
		t.Errorf("Duplicate = %+v, files %v", dup, files)
	}
	for _, k := range []string{"signature", "signer", "package_uuid", "signed_attributes"} {
		if dup.Control.Get(k) != "" {
			t.Errorf("duplicate keeps %s = %q", k, dup.Control.Get(k))
		}
	}
	if _, err := os.Stat(filepath.Join(dup.Dir, "WAPT", "certificate.crt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("duplicate keeps the certificate: %v", err)
	}
	if _, err := sess.BuildUpload(ctx, dup, nil); err != nil {
		t.Fatalf("BuildUpload of the duplicate: %v", err)
	}
	if !listed(t, sess, "tis-demo-copy") {
		t.Error("Packages does not list tis-demo-copy")
	}
	if _, err := sess.Duplicate(ctx, info.Filename, "tis-demo-copy", out); !errors.Is(err, os.ErrExist) {
		t.Errorf("Duplicate over an existing folder = %v", err)
	}
	if _, err := sess.Duplicate(ctx, "missing_1.wapt", "x", out); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Duplicate of a missing package = %v", err)
	}

	// Import: a package of another CA, trusted through trustDir.
	otherCA := newIdent(t, "Other CA", certs.RoleCA, nil)
	otherSigner := newIdent(t, "other signer", certs.RoleCodeSigning, &otherCA)
	foreign := buildForeign(t, "imported", otherSigner, otherCA)
	trustDir, wrongDir := t.TempDir(), t.TempDir()
	must(t, os.WriteFile(filepath.Join(trustDir, "other.crt"), certs.EncodeCertsPEM(otherCA.cert), 0o644))
	must(t, os.WriteFile(filepath.Join(wrongDir, "admin.crt"), certs.EncodeCertsPEM(s.ca.cert), 0o644))
	if _, err := sess.client.UploadPackage(ctx, foreign); err == nil {
		t.Fatal("the server accepted a package of an untrusted CA")
	}
	if _, err := sess.Import(ctx, foreign, wrongDir); !errors.Is(err, signing.ErrUntrusted) {
		t.Errorf("Import of an unverifiable package = %v, want ErrUntrusted", err)
	}
	unsigned := buildForeign(t, "unsigned", ident{}, ident{})
	if _, err := sess.Import(ctx, unsigned, trustDir); !errors.Is(err, signing.ErrUnsigned) {
		t.Errorf("Import of an unsigned package = %v, want ErrUnsigned", err)
	}
	if listed(t, sess, "imported") {
		t.Fatal("a refused import was published")
	}
	before, err := os.ReadFile(foreign)
	must(t, err)
	imp, err := sess.Import(ctx, foreign, trustDir)
	if err != nil {
		t.Fatalf("Import: %v\n%s", err, s.log.String())
	}
	if imp.Package != "imported" || !listed(t, sess, "imported") {
		t.Errorf("Import = %+v", imp)
	}
	if after, _ := os.ReadFile(foreign); string(after) != string(before) {
		t.Error("Import changed the file it imported")
	}

	must(t, sess.DeletePackage(ctx, imp.Filename))
	if listed(t, sess, "imported") {
		t.Error("DeletePackage left the package listed")
	}
	if err := sess.DeletePackage(ctx, "../x.wapt"); !errors.Is(err, ErrInvalid) {
		t.Errorf("DeletePackage(../x.wapt) = %v", err)
	}
}

// listed reports whether the repository lists package name.
func listed(t *testing.T, sess *Session, name string) bool {
	t.Helper()
	pkgs, err := sess.Packages(context.Background())
	must(t, err)
	return slices.ContainsFunc(pkgs, func(p wire.PackageInfo) bool { return p.Package == name })
}

// buildForeign builds a package with a setup.py signed by signer (chain
// signer, ca), or unsigned when signer is zero.
func buildForeign(t *testing.T, name string, signer, ca ident) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	c := control.New()
	for k, v := range map[string]string{"package": name, "version": "3.1-2", "architecture": "all", "section": "base", "priority": "optional"} {
		c.Set(k, v)
	}
	must(t, (&Draft{Dir: src, Control: c, SetupPy: "def install():\n    print('hi')\n"}).Save())
	o := pkgfile.BuildOptions{OutDir: t.TempDir()}
	if signer.key != nil {
		o.Signer, o.Chain = signer.key, []*x509.Certificate{signer.cert, ca.cert}
	}
	path, _, err := pkgfile.Build(context.Background(), src, o)
	must(t, err)
	return path
}

// fakeToken is a PKCS#11 token holding one key, behind OpenPKCS11.
type fakeToken struct {
	id     ident
	pin    string
	closed bool
}

func (f *fakeToken) open(module, token, key string, pin []byte, cert *x509.Certificate) (crypto.Signer, io.Closer, error) {
	if string(pin) != f.pin {
		return nil, nil, fmt.Errorf("C_Login: CKR_PIN_INCORRECT: %w", ErrWrongPassword)
	}
	return f.id.key, f, nil
}

func (f *fakeToken) Close() error { f.closed = true; return nil }

// TestConnectPKCS11 is not parallel: it sets the package variable
// OpenPKCS11.
func TestConnectPKCS11(t *testing.T) {
	s := newServer(t, false)
	tok := &fakeToken{id: s.adminID, pin: "1234"}
	OpenPKCS11 = tok.open
	defer func() { OpenPKCS11 = nil }()
	st := s.admin
	st.KeyPath, st.PKCS11Module, st.TokenLabel = "", "/usr/lib/softhsm/libsofthsm2.so", "wapt"
	var prompts []string
	ask := func(pin string) Prompt {
		return func(_ context.Context, p string) ([]byte, error) {
			prompts = append(prompts, p)
			return []byte(pin), nil
		}
	}
	if _, err := Connect(context.Background(), st, ask("0000")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("Connect with a wrong PIN = %v", err)
	}
	sess, err := Connect(context.Background(), st, ask("1234"))
	if err != nil {
		t.Fatalf("Connect with the token: %v", err)
	}
	if len(prompts) != 2 || !strings.Contains(prompts[0], "wapt") {
		t.Errorf("prompts = %q", prompts)
	}
	if _, err := sess.SendAction(context.Background(), "update", []string{"host-x"}, nil, false); err != nil {
		t.Errorf("an action signed on the token: %v", err)
	}
	must(t, sess.Close())
	if !tok.closed {
		t.Error("Close did not close the token session")
	}
	other := newIdent(t, "other", certs.RoleSimple, &s.ca)
	tok.id = other
	if _, err := Connect(context.Background(), st, ask("1234")); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("Connect with a token key of another certificate = %v", err)
	}
}
