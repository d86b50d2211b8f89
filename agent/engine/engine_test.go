package engine_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/fetch"
	"github.com/wapt-go/wapt/agent/installer"
	"github.com/wapt-go/wapt/agent/script"
	"github.com/wapt-go/wapt/agent/store"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/signing"
)

type keyPair struct {
	key  crypto.Signer
	cert *x509.Certificate
}

var (
	keysOnce sync.Once
	ca       keyPair
	admin    keyPair
	repoKey  keyPair
	otherCA  keyPair
	rogue    keyPair // code-signing, chained to otherCA
	repo2    keyPair // repository key, chained to otherCA
	keysErr  error
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		now := time.Now()
		gen := func(dst *keyPair, r certs.Request, issuer *keyPair) {
			if keysErr != nil {
				return
			}
			r.KeyType, r.Now = "ecdsa", now.Add(-time.Hour)
			if issuer != nil {
				r.Issuer, r.IssuerKey = issuer.cert, issuer.key
			}
			dst.key, dst.cert, keysErr = certs.Generate(r)
		}
		gen(&ca, certs.Request{CN: "Test CA", Role: certs.RoleCA}, nil)
		gen(&admin, certs.Request{CN: "admin", Role: certs.RoleCodeSigning}, &ca)
		gen(&repoKey, certs.Request{CN: "repo", Role: certs.RoleRepository}, &ca)
		gen(&otherCA, certs.Request{CN: "Other CA", Role: certs.RoleCA}, nil)
		gen(&rogue, certs.Request{CN: "rogue", Role: certs.RoleCodeSigning}, &otherCA)
		gen(&repo2, certs.Request{CN: "server repository", Role: certs.RoleRepository}, &otherCA)
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
}

// testRepo is a real repository served over loopback HTTP.
type testRepo struct {
	t          *testing.T
	dir        string // served root: wapt/ and wapt-host/
	srv        *httptest.Server
	version    int64
	expires    time.Duration
	requests   atomic.Int64 // requests under /wapt/
	indexKey   *keyPair     // signs Packages.sig; repoKey when nil
	indexChain []*x509.Certificate
	hostReqs   atomic.Int64
}

func newTestRepo(t *testing.T) *testRepo {
	testKeys(t)
	r := &testRepo{t: t, dir: t.TempDir(), version: 100, expires: time.Hour}
	for _, d := range []string{"wapt", "wapt-host"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fs := http.FileServer(http.Dir(r.dir))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/wapt/") {
			r.requests.Add(1)
			// A content ETag, as Last-Modified alone has a one-second
			// resolution and the tests re-index faster than that.
			if b, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(req.URL.Path))); err == nil {
				w.Header().Set("ETag", fmt.Sprintf(`"%x"`, sha256.Sum256(b)))
			}
		} else {
			r.hostReqs.Add(1)
		}
		fs.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// publish builds and signs a package from files (path → content) and
// re-indexes the repository.
func (r *testRepo) publish(control string, files map[string]string) string {
	r.t.Helper()
	return r.publishAs(admin, []*x509.Certificate{admin.cert, ca.cert}, control, files)
}

// publishAs is publish with another signer.
func (r *testRepo) publishAs(signer keyPair, chain []*x509.Certificate, control string, files map[string]string) string {
	r.t.Helper()
	src := filepath.Join(r.t.TempDir(), "src")
	write(r.t, filepath.Join(src, "WAPT", "control"), control)
	for p, c := range files {
		write(r.t, filepath.Join(src, p), c)
	}
	dest := filepath.Join(r.dir, "wapt")
	if strings.Contains(control, "section           : host") {
		dest = filepath.Join(r.dir, "wapt-host")
	}
	path, _, err := pkgfile.Build(context.Background(), src, pkgfile.BuildOptions{
		OutDir: dest, Signer: signer.key, Chain: chain, Now: time.Now(),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.reindex()
	return path
}

func (r *testRepo) reindex() {
	r.t.Helper()
	dir := filepath.Join(r.dir, "wapt")
	ix, _, err := repoindex.Scan(context.Background(), dir, nil, repoindex.ScanOptions{Limits: pkgfile.DefaultLimits(), Now: time.Now()})
	if err != nil {
		r.t.Fatal(err)
	}
	r.version++
	now := time.Now()
	issued := now
	if r.expires < 0 {
		issued = now.Add(2 * r.expires)
	}
	info := &repoindex.SigInfo{Repo: "wapt", Version: r.version, Issued: issued, Expires: now.Add(r.expires)}
	key, chain := repoKey, []*x509.Certificate{repoKey.cert, ca.cert}
	if r.indexKey != nil {
		key, chain = *r.indexKey, r.indexChain
	}
	if err := repoindex.WriteFiles(dir, ix, info, key.key, chain); err != nil {
		r.t.Fatal(err)
	}
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ctl(name, ver, section, depends string) string {
	return fmt.Sprintf("package           : %s\nversion           : %s\narchitecture      : all\nsection           : %s\npriority          : optional\ndepends           : %s\n", name, ver, section, depends)
}

const hostUUID = "4C4C4544-0042-3510-8052-B4C04F4E4D32"

type agent struct {
	eng  *engine.Engine
	st   *store.DB
	base string
}

func newAgent(t *testing.T, r *testRepo, trust *signing.Trust) *agent {
	t.Helper()
	return newAgentWith(t, r, trust, nil)
}

func newAgentWith(t *testing.T, r *testRepo, trust, indexTrust *signing.Trust) *agent {
	t.Helper()
	base := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(base, "db", "waptdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(engine.Config{
		Store:       st,
		Fetcher:     fetch.New(fetch.Config{}),
		Scripts:     script.New(script.Config{Timeout: time.Minute}),
		Uninstaller: installer.New(),
		Repos: []engine.Repo{{
			Name: "wapt", URL: r.srv.URL + "/wapt", HostURL: r.srv.URL + "/wapt-host", Trust: trust, IndexTrust: indexTrust,
		}},
		Host: resolve.Host{
			UUID: hostUUID, OS: runtime.GOOS, Arch: "x64", Maturities: []string{"PROD"}, UseHostPackages: true,
		},
		CacheDir:      filepath.Join(base, "cache"),
		WorkDir:       filepath.Join(base, "tmp"),
		PersistentDir: filepath.Join(base, "persistent"),
		Logf:          t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return &agent{eng: eng, st: st, base: base}
}

func stateOf(t *testing.T, st engine.HostStatus, name string) engine.State {
	t.Helper()
	for _, p := range st.Packages {
		if p.Package == name {
			return p.State
		}
	}
	return ""
}

func mustStatus(t *testing.T, a *agent) engine.HostStatus {
	t.Helper()
	st, err := a.eng.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestUpdateUpgradeChain: host package → app → lib, installed for real by
// their setup.py, upgraded, then removed when no longer wanted.
func TestUpdateUpgradeChain(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	target := t.TempDir()
	libSetup := fmt.Sprintf(`# -*- coding: utf-8 -*-
from setuphelpers import *

def install():
    filecopyto('lib.txt', makepath(%q, 'lib.txt'))
    print('lib installed')

def uninstall():
    remove_file(makepath(%q, 'lib.txt'))
`, target, target)
	appSetup := func(v string) string {
		return fmt.Sprintf(`from setuphelpers import *

def install():
    filecopyto('app.txt', makepath(%q, 'app.txt'))
    run('echo app %s > ' + makepath(%q, 'ran.txt'))
`, target, v, target)
	}
	r.publish(ctl("test-lib", "1.0-1", "base", ""), map[string]string{"setup.py": libSetup, "lib.txt": "lib v1"})
	r.publish(ctl("test-app", "1.0-1", "base", "test-lib"), map[string]string{"setup.py": appSetup("1.0"), "app.txt": "app v1"})
	r.publish(ctl(hostUUID, "1", "host", "test-app"), nil)

	a := newAgent(t, r, signing.NewTrust(ca.cert))
	res, err := a.eng.Update(ctx)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if len(res.Repos) != 1 || !res.Repos[0].Changed || !res.Repos[0].Signed || res.HostPackage == "" {
		t.Fatalf("update result = %+v", res)
	}
	st := mustStatus(t, a)
	if st.State != engine.StateNeedInstall || stateOf(t, st, "test-app") != engine.StateNeedInstall || stateOf(t, st, "test-lib") != engine.StateNeedInstall {
		t.Fatalf("status before upgrade = %+v", st)
	}
	// download-upgrade fetches what the index lists; the host package,
	// fetched by Update, is not downloaded again (it is not in the index).
	if drep, err := a.eng.DownloadUpgrade(ctx); err != nil || len(drep.Outcomes) != 2 {
		t.Fatalf("download-upgrade: %+v, %v", drep.Outcomes, err)
	}

	rep, err := a.eng.Upgrade(ctx)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if rep.Status.State != engine.StateOK {
		t.Fatalf("status after upgrade = %+v", rep.Status)
	}
	// Dependency order: lib before app.
	var order []string
	for _, o := range rep.Outcomes {
		order = append(order, o.Package)
	}
	if strings.Join(order, ",") != "test-lib,test-app,"+hostUUID {
		t.Errorf("install order = %v", order)
	}
	for f, want := range map[string]string{"lib.txt": "lib v1", "app.txt": "app v1", "ran.txt": "app 1.0\n"} {
		b, err := os.ReadFile(filepath.Join(target, f))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", f, b, err, want)
		}
	}
	in, err := a.st.GetInstalled(ctx, "test-lib")
	if err != nil || in.Status != engine.StatusOK || in.Explicit || !strings.Contains(in.Output, "lib installed") || len(in.SetupPy) == 0 {
		t.Errorf("test-lib record = %+v, %v", in, err)
	}

	// Nothing changed: exactly one conditional request to the repository.
	before := r.requests.Load()
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.requests.Load() - before; n != 1 {
		t.Errorf("unchanged update made %d repository requests, want 1", n)
	}

	// A new version → NEED-UPGRADE → upgraded.
	r.publish(ctl("test-app", "1.1-1", "base", "test-lib"), map[string]string{"setup.py": appSetup("1.1"), "app.txt": "app v2"})
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(t, mustStatus(t, a), "test-app"); s != engine.StateNeedUpgrade {
		t.Fatalf("test-app state = %s, want NEED-UPGRADE", s)
	}
	if _, err := a.eng.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "app.txt")); string(b) != "app v2" {
		t.Errorf("app.txt after upgrade = %q", b)
	}

	// The host package drops test-app: both become NEED-REMOVE and go,
	// lib's uninstall() runs.
	r.publish(ctl(hostUUID, "2", "host", ""), nil)
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	st = mustStatus(t, a)
	if stateOf(t, st, "test-app") != engine.StateNeedRemove || stateOf(t, st, "test-lib") != engine.StateNeedRemove {
		t.Fatalf("status = %+v", st)
	}
	rep, err = a.eng.Upgrade(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status.State != engine.StateOK || len(rep.Status.Packages) != 1 || rep.Status.Packages[0].Package != hostUUID {
		t.Errorf("after removal: %+v", rep.Status)
	}
	if _, err := os.Stat(filepath.Join(target, "lib.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lib.txt still there after uninstall(): %v", err)
	}
}

func TestFailingInstallDoesNotBlockOthers(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	target := t.TempDir()
	r.publish(ctl("test-bad", "1-1", "base", ""), map[string]string{"setup.py": "def install():\n    print('about to fail')\n    error('disk on fire')\n"})
	r.publish(ctl("test-good", "1-1", "base", ""), map[string]string{"setup.py": fmt.Sprintf("def install():\n    mkdirs(%q)\n", filepath.Join(target, "good"))})
	r.publish(ctl("test-needs-bad", "1-1", "base", "test-bad"), nil)
	r.publish(ctl(hostUUID, "1", "host", "test-bad,test-good,test-needs-bad"), nil)

	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := a.eng.Upgrade(ctx)
	if err == nil {
		t.Fatal("upgrade with a failing package returned no error")
	}
	if _, err := os.Stat(filepath.Join(target, "good")); err != nil {
		t.Errorf("test-good was not installed: %v", err)
	}
	bad, err := a.st.GetInstalled(ctx, "test-bad")
	if err != nil || bad.Status != engine.StatusError || !strings.Contains(bad.LastError, "disk on fire") || !strings.Contains(bad.Output, "about to fail") {
		t.Errorf("test-bad record = %+v, %v", bad, err)
	}
	if _, err := a.st.GetInstalled(ctx, "test-needs-bad"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("test-needs-bad was installed although its dependency failed: %v", err)
	}
	if rep.Status.State != engine.StateError || stateOf(t, rep.Status, "test-bad") != engine.StateError {
		t.Errorf("status = %+v", rep.Status)
	}
	matches, _ := filepath.Glob(filepath.Join(a.base, "cache", "test-bad_*.wapt"))
	if len(matches) != 1 {
		t.Errorf("failed package not kept in the cache: %v", matches)
	}
	// Retried on the next upgrade (and fails again, counted).
	if _, err := a.eng.Upgrade(ctx); err == nil {
		t.Error("second upgrade: no error")
	}
	bad, _ = a.st.GetInstalled(ctx, "test-bad")
	if bad.Retries != 2 {
		t.Errorf("retries = %d, want 2", bad.Retries)
	}
}

func TestRepositoryRefusals(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-one", "1-1", "base", ""), nil)
	r.publish(ctl(hostUUID, "1", "host", "test-one"), nil)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	indexPath := filepath.Join(r.dir, "wapt", "Packages")
	sigPath := indexPath + ".sig"
	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		for _, p := range []string{indexPath, sigPath} {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m[p] = b
		}
		return m
	}
	older := snapshot()
	r.publish(ctl("test-two", "1-1", "base", ""), nil)
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	current := snapshot()
	good, err := a.st.RepoState(ctx, "wapt")
	if err != nil {
		t.Fatal(err)
	}
	put := func(m map[string][]byte) {
		for p, b := range m {
			write(t, p, string(b))
		}
	}

	tests := []struct {
		name   string
		break_ func()
		want   string
	}{
		{"rollback to an older signed index", func() { put(older) }, "lower"},
		{"expired", func() {
			r.expires = -time.Minute
			defer func() { r.expires = time.Hour }()
			r.publish(ctl("test-three", "1-1", "base", ""), nil)
		}, "expire"},
		{"index does not match its signature", func() {
			b := append([]byte(nil), current[indexPath]...)
			b[len(b)/2] ^= 0xFF
			write(t, indexPath, string(b))
		}, ""},
		{"signature removed", func() {
			os.Remove(sigPath)
			write(t, indexPath, string(older[indexPath]))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.break_()
			defer put(current)
			res, err := a.eng.Update(ctx)
			if err == nil || res.Repos[0].Err == nil {
				t.Fatalf("update accepted a bad repository: %+v", res)
			}
			if tt.want != "" && !strings.Contains(strings.ToLower(err.Error()), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			now, err := a.st.RepoState(ctx, "wapt")
			if err != nil || now.IndexVersion != good.IndexVersion || string(now.Index) != string(good.Index) {
				t.Errorf("stored state changed after a refused update")
			}
			if st := mustStatus(t, a); st.State != engine.StateOK {
				t.Errorf("installed state changed: %+v", st)
			}
		})
	}
}

func TestUntrustedSignerRefused(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-one", "1-1", "base", ""), nil)
	a := newAgent(t, r, signing.NewTrust(otherCA.cert))
	res, err := a.eng.Update(ctx)
	if err == nil || res.Repos[0].Err == nil {
		t.Fatalf("an index signed by an untrusted key was accepted: %+v", res)
	}
}

func TestPinnedInstallHoldsAcrossUpgrades(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-pin", "1.0-1", "base", ""), nil)
	r.publish(ctl("test-pin", "2.0-1", "base", ""), nil)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Install(ctx, "test-pin(=1.0)"); err != nil {
		t.Fatal(err)
	}
	r.publish(ctl("test-pin", "3.0-1", "base", ""), nil)
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	in, err := a.st.GetInstalled(ctx, "test-pin")
	if err != nil || in.Version != "1.0-1" || !in.Explicit {
		t.Errorf("pinned package = %+v, %v", in, err)
	}
	// Unpinned explicit install follows the newest.
	if _, err := a.eng.Install(ctx, "test-pin"); err != nil {
		t.Fatal(err)
	}
}

func TestDownloadLargerThanSignedSizeRefused(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	path := r.publish(ctl("test-big", "1-1", "base", ""), map[string]string{"data.bin": "small"})
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	// The file on the server grows after indexing: more bytes than signed.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 4096))
	f.Close()
	if _, err := a.eng.Install(ctx, "test-big"); err == nil {
		t.Fatal("install accepted a package larger than its signed size")
	}
	if _, err := a.st.GetInstalled(ctx, "test-big"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a record was written: %v", err)
	}
}

func TestAuditAndSessionSetup(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	home := t.TempDir()
	r.publish(ctl("test-audited", "1-1", "base", "")+"audit_schedule    : 1h\n", map[string]string{"setup.py": fmt.Sprintf(`
def install():
    pass

def audit():
    if isfile(%q):
        return 'OK'
    print('marker missing')
    return 'WARNING'

def session_setup():
    mkdirs(makepath(%q, user))
`, filepath.Join(home, "marker"), home)})
	r.publish(ctl("test-broken-audit", "1-1", "base", ""), map[string]string{"setup.py": "def install():\n    pass\n\ndef audit():\n    error('cannot check')\n"})
	r.publish(ctl("test-plain", "1-1", "base", ""), nil)
	r.publish(ctl(hostUUID, "1", "host", "test-audited,test-broken-audit,test-plain"), nil)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}

	res, worst, err := a.eng.Audit(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res {
		got[r.Package] = r.Status
	}
	if got["test-audited"] != "WARNING" || got["test-broken-audit"] != "ERROR" || got["test-plain"] != "OK" || worst != "ERROR" {
		t.Errorf("audit = %v, worst %s", got, worst)
	}
	in, _ := a.st.GetInstalled(ctx, "test-audited")
	if in.AuditStatus != "WARNING" || !strings.Contains(in.AuditOutput, "marker missing") || in.NextAudit.IsZero() {
		t.Errorf("recorded audit = %q %q next %v", in.AuditStatus, in.AuditOutput, in.NextAudit)
	}
	// Not due again within the hour: skipped, previous result kept.
	write(t, filepath.Join(home, "marker"), "x")
	res, _, err = a.eng.Audit(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Package == "test-audited" && (!r.Skipped || r.Status != "WARNING") {
			t.Errorf("audit before its schedule = %+v", r)
		}
	}
	res, _, _ = a.eng.Audit(ctx, false, "test-audited")
	if len(res) != 1 || res[0].Status != "OK" {
		t.Errorf("audit by name = %+v", res)
	}

	// session_setup once per user and version.
	for i, wantSkipped := range []bool{false, true} {
		sr, err := a.eng.SessionSetup(ctx, "alice", false)
		if err != nil {
			t.Fatal(err)
		}
		if len(sr) != 1 || sr[0].Package != "test-audited" || sr[0].Skipped != wantSkipped {
			t.Errorf("run %d: session setup = %+v", i, sr)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "alice")); err != nil {
		t.Errorf("session_setup did not run for alice: %v", err)
	}
	if sr, _ := a.eng.SessionSetup(ctx, "bob", false); len(sr) != 1 || sr[0].Skipped {
		t.Errorf("bob: %+v", sr)
	}
}

func TestAuditSchedule(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"", 0, false}, {"30", 30 * time.Minute, false}, {"45m", 45 * time.Minute, false},
		{"2h", 2 * time.Hour, false}, {"1d", 24 * time.Hour, false}, {"1w", 7 * 24 * time.Hour, false},
		{"x", 0, true}, {"-1", 0, true}, {"0", 0, true}, {"1y", 0, true},
	}
	for _, tt := range tests {
		got, err := engine.ParseAuditSchedule(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseAuditSchedule(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// TestOfflineInstallFromCache: with the server gone, a package already
// downloaded and still valid installs from the cache.
func TestOfflineInstallFromCache(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-offline", "1-1", "base", ""), map[string]string{"data.txt": "cached"})
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Install(ctx, "test-offline"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Remove(ctx, "test-offline"); err != nil {
		t.Fatal(err)
	}
	r.srv.Close()
	if _, err := a.eng.Install(ctx, "test-offline"); err != nil {
		t.Fatalf("offline install from the cache: %v", err)
	}
	if in, err := a.st.GetInstalled(ctx, "test-offline"); err != nil || in.Status != engine.StatusOK {
		t.Errorf("record = %+v, %v", in, err)
	}
}

// TestRealDebInstallAndRemove installs a real .deb built with dpkg-deb
// through setup.py's install_deb(), then removes it through its uninstall key.
func TestRealDebInstallAndRemove(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("no dpkg-deb")
	}
	ctx := context.Background()
	const debPkg = "wapt-engine-test-hello"
	exec.Command("dpkg", "--purge", debPkg).Run()
	t.Cleanup(func() { exec.Command("dpkg", "--purge", debPkg).Run() })

	tree := t.TempDir()
	write(t, filepath.Join(tree, "DEBIAN", "control"), "Package: "+debPkg+"\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.lan>\nDescription: wapt engine test\n")
	write(t, filepath.Join(tree, "usr", "share", debPkg, "hello.txt"), "hello from a deb\n")
	deb := filepath.Join(t.TempDir(), debPkg+".deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", tree, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	debBytes, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestRepo(t)
	r.publish(ctl("test-deb", "1.0-1", "base", ""), map[string]string{
		"setup.py":      "def install():\n    install_deb('" + debPkg + ".deb')\n",
		debPkg + ".deb": string(debBytes),
	})
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Install(ctx, "test-deb"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", debPkg).Output(); err != nil || string(out) != "install ok installed" {
		t.Fatalf("deb not installed: %q %v", out, err)
	}
	in, _ := a.st.GetInstalled(ctx, "test-deb")
	if len(in.UninstallKeys) != 1 || in.UninstallKeys[0] != debPkg {
		t.Errorf("uninstall keys = %v", in.UninstallKeys)
	}
	if _, err := a.eng.Remove(ctx, "test-deb"); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", debPkg).Output(); string(out) == "install ok installed" {
		t.Errorf("deb still installed after remove: %q", out)
	}
	if _, err := a.st.GetInstalled(ctx, "test-deb"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("record kept after remove: %v", err)
	}
}

func TestInstallFromSourcesAndFile(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	target := t.TempDir()
	src := filepath.Join(t.TempDir(), "test-dev")
	write(t, filepath.Join(src, "WAPT", "control"), ctl("test-dev", "0.1-1", "base", ""))
	write(t, filepath.Join(src, "setup.py"), fmt.Sprintf("def install():\n    filecopyto('f.txt', %q)\n", filepath.Join(target, "f.txt")))
	write(t, filepath.Join(src, "f.txt"), "from sources")
	if _, err := a.eng.Install(ctx, src); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "f.txt")); err != nil || string(b) != "from sources" {
		t.Errorf("f.txt = %q, %v", b, err)
	}
	in, err := a.st.GetInstalled(ctx, "test-dev")
	if err != nil || in.Repo != "local-sources" || !in.Explicit || in.Status != engine.StatusOK {
		t.Errorf("record = %+v, %v", in, err)
	}
	if st := mustStatus(t, a); st.State != engine.StateOK || len(st.Problems) > 0 {
		t.Errorf("status with a package from sources = %+v", st)
	}

	// A signed file installs; one signed by an untrusted key does not.
	path := r.publish(ctl("test-file", "1-1", "base", ""), nil)
	a2 := newAgentLocal(t, r, signing.NewTrust(ca.cert))
	if _, err := a2.eng.Install(ctx, path); err != nil {
		t.Fatalf("install file: %v", err)
	}
	a3 := newAgentLocal(t, r, signing.NewTrust(otherCA.cert))
	if _, err := a3.eng.Install(ctx, path); err == nil {
		t.Error("a package signed by an untrusted key installed from a file")
	}
}

// newAgentLocal is newAgent with LocalTrust set for package files.
func newAgentLocal(t *testing.T, r *testRepo, trust *signing.Trust) *agent {
	t.Helper()
	base := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(base, "waptdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(engine.Config{
		Store: st, Fetcher: fetch.New(fetch.Config{}), Scripts: script.New(script.Config{}),
		Repos:      []engine.Repo{{Name: "wapt", URL: r.srv.URL + "/wapt", Trust: trust}},
		LocalTrust: trust,
		Host:       resolve.Host{UUID: hostUUID, OS: runtime.GOOS, Arch: "x64", Maturities: []string{"PROD"}},
		CacheDir:   filepath.Join(base, "cache"), WorkDir: filepath.Join(base, "tmp"), PersistentDir: filepath.Join(base, "p"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &agent{eng: eng, st: st, base: base}
}

// TestPackageSignedByUntrustedKeyRefused: the index is signed by the
// repository key, but one package in it is signed by an admin this agent
// does not trust: it is refused (ERROR), nothing of it runs.
func TestPackageSignedByUntrustedKeyRefused(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	marker := filepath.Join(t.TempDir(), "ran")
	r.publishAs(rogue, []*x509.Certificate{rogue.cert, otherCA.cert}, ctl("test-rogue", "1-1", "base", ""),
		map[string]string{"setup.py": fmt.Sprintf("def install():\n    mkdirs(%q)\n", marker)})
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := a.eng.Install(ctx, "test-rogue")
	if err == nil || len(rep.Failed()) != 1 || !errors.Is(rep.Failed()[0].Err, signing.ErrUntrusted) {
		t.Fatalf("install of a package signed by an untrusted key: %v, %+v", err, rep.Outcomes)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Error("its setup.py ran")
	}
	if _, err := a.st.GetInstalled(ctx, "test-rogue"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a record was written: %v", err)
	}
}

// TestIndexTrustIsSeparate: the index is signed by the server's repository
// key (its own CA), packages by admins (the admin CA); each is checked
// against its own anchors only.
func TestIndexTrustIsSeparate(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.indexKey, r.indexChain = &repo2, []*x509.Certificate{repo2.cert, otherCA.cert}
	r.publish(ctl("test-sep", "1-1", "base", ""), nil)
	r.publishAs(rogue, []*x509.Certificate{rogue.cert, otherCA.cert}, ctl("test-rogue2", "1-1", "base", ""), nil)

	if _, err := newAgent(t, r, signing.NewTrust(ca.cert)).eng.Update(ctx); err == nil {
		t.Error("an index signed under the server CA was accepted with only the admin CA trusted")
	}
	a := newAgentWith(t, r, signing.NewTrust(ca.cert), signing.NewTrust(otherCA.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatalf("update with the index trust: %v", err)
	}
	if _, err := a.eng.Install(ctx, "test-sep"); err != nil {
		t.Errorf("package signed by a trusted admin: %v", err)
	}
	// A package signed under the server CA is not an admin's package.
	if _, err := a.eng.Install(ctx, "test-rogue2"); err == nil {
		t.Error("a package signed under the index CA was installed")
	}
}
