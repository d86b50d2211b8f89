package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestMakeGroupTemplate(t *testing.T) {
	out := t.TempDir()
	r := run(t, nil, "make-group-template", "office", "firefox(>=115),libreoffice", "7zip", "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	dir := filepath.Join(out, "office")
	if got := strings.TrimSpace(r.stdout); got != dir {
		t.Errorf("printed %q, want %q", got, dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, "WAPT", "control"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := control.Parse("control", data)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"package": "office", "section": "group", "version": "0", "architecture": "all",
		"depends": "firefox(>=115),libreoffice,7zip", "description": "Group office",
	} {
		if got := c.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// The template builds as is.
	if _, _, err := pkgfile.Build(context.Background(), dir, pkgfile.BuildOptions{OutDir: t.TempDir()}); err != nil {
		t.Errorf("build the template: %v", err)
	}
	if r := run(t, nil, "make-group-template", "office", "-o", out); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("second run: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, nil, "make-group-template", "../evil", "-o", out); r.code != 2 {
		t.Errorf("bad name: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, nil, "make-group-template", "g2", "bad dep(", "-o", out); r.code != 2 {
		t.Errorf("bad depends: exit %d: %s", r.code, r.stderr)
	}
}

func TestServerVerbsUsage(t *testing.T) {
	env := map[string]string{"PW": "bootstrap"}
	srv := "--server=http://127.0.0.1:1"
	id := []string{"--key", "k.pem", "--cert", "c.crt"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"hosts without server", nil, append([]string{"hosts"}, id...), "--server"},
		{"hosts bad server", nil, append([]string{"hosts", "--server", "ftp://x"}, id...), "--server"},
		{"hosts without identity", nil, []string{"hosts", srv}, "--key"},
		{"hosts bad filter", nil, append([]string{"hosts", srv, "--filter", "colour=red"}, id...), "unknown key"},
		{"hosts filter without =", nil, append([]string{"hosts", srv, "--filter", "status"}, id...), "KEY=VALUE"},
		{"hosts extra arg", nil, append([]string{"hosts", srv, "x"}, id...), "expects"},
		{"hosts bad size", nil, append([]string{"hosts", srv, "--filter", "ram_max=lots"}, id...), "ram_max"},
		{"hosts bad export", nil, append([]string{"hosts", srv, "--export", "xml"}, id...), "--export"},
		{"hosts -o without export", nil, append([]string{"hosts", srv, "-o", "x.csv"}, id...), "-o"},
		{"host-show no uuid", nil, append([]string{"host-show", srv}, id...), "expects"},
		{"host-show bad uuid", nil, append([]string{"host-show", srv, "a/b"}, id...), "uuid"},
		{"upload no file", nil, append([]string{"upload-package", srv}, id...), ""},
		{"upload without server", map[string]string{}, append([]string{"upload-package", "x.wapt"}, id...), "--server"},
		{"build-upload without identity", nil, []string{"build-upload", srv, "dir"}, "--key"},
		{"edit-host without depends", nil, append([]string{"edit-host", srv, "h1"}, id...), "--depends"},
		{"edit-host bad uuid", nil, append([]string{"edit-host", srv, "../h1", "--depends", "a"}, id...), "uuid"},
		{"edit-host bad depends", nil, append([]string{"edit-host", srv, "h1", "--depends", "a(("}, id...), "depends"},
		{"edit-host without server", nil, append([]string{"edit-host", "h1", "--depends", "a"}, id...), "--server"},
		{"register-admin no mode", env, []string{"register-admin", srv, "--cert", "c.crt", "--rights", "view"}, "bootstrap"},
		{"register-admin both modes", env, []string{"register-admin", srv, "--cert", "c.crt", "--rights", "view",
			"--bootstrap-password-env", "PW", "--signer-key", "k", "--signer-cert", "c"}, "either"},
		{"register-admin half signer", env, []string{"register-admin", srv, "--cert", "c.crt", "--rights", "view", "--signer-key", "k"}, "together"},
		{"register-admin empty password", env, []string{"register-admin", srv, "--cert", "c.crt", "--rights", "view",
			"--bootstrap-password-env", "NOPE"}, "$NOPE"},
		{"register-admin no rights", env, []string{"register-admin", srv, "--cert", "c.crt", "--bootstrap-password-env", "PW"}, "--rights"},
		{"register-admin password flag", env, []string{"register-admin", srv, "--cert", "c.crt", "--rights", "view", "--password", "x"}, "unknown flag"},
		{"bad timeout", nil, append([]string{"hosts", srv, "--timeout", "0s"}, id...), "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want %d: %s", r.code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tt.want)
			}
		})
	}
}

// fakeServer stands in for the waptserver API: it checks request signatures
// with reqsign against the admin certificate, and package signatures against
// the CA, as the real one does, and records what it got.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	uploads  []*control.Control
	queries  []string
	admins   []wire.AdminRegisterRequest
	hostVers string // version of h1's host package in the package list
}

func newFakeServer(t *testing.T, keys string) *fakeServer {
	t.Helper()
	load := func(name string) *x509.Certificate {
		cs, err := certs.LoadCerts(filepath.Join(keys, name))
		if err != nil {
			t.Fatal(err)
		}
		return cs[0]
	}
	admin, trust := load("admin.crt"), signing.NewTrust(load("ca.crt"))
	v := &reqsign.Verifier{
		Lookup: func(_ context.Context, fp string) (*x509.Certificate, error) {
			if fp == signing.Fingerprint(admin) {
				return admin, nil
			}
			return nil, nil
		},
		Nonces: reqsign.NewMemoryNonces(100),
	}
	fs := &fakeServer{}
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		fs.mu.Lock()
		defer fs.mu.Unlock()
		route := r.Method + " " + r.URL.Path
		if route == "POST /api/v1/admins" {
			var req wire.AdminRegisterRequest
			if err := json.Unmarshal(body, &req); err != nil || req.BootstrapPassword != "bootstrap" {
				reply(w, 401, wire.Error{Error: "bad bootstrap password", Code: wire.CodeUnauthorized})
				return
			}
			fs.admins = append(fs.admins, req)
			w.WriteHeader(http.StatusCreated)
			return
		}
		if _, err := v.Verify(r.Context(), r, body); err != nil {
			reply(w, 401, wire.Error{Error: err.Error(), Code: wire.CodeUnauthorized})
			return
		}
		switch route {
		case "GET /api/v1/hosts":
			fs.queries = append(fs.queries, r.URL.RawQuery)
			reply(w, 200, wire.HostList{Hosts: []wire.HostSummary{
				{UUID: "h1", FQDN: "h1.example.org", OS: "linux", Status: wire.StateError, Errors: 1},
				{UUID: "h2", FQDN: "h2.example.org", Status: wire.StateOK},
			}, Total: 5, Limit: 2})
		case "GET /api/v1/hosts/export":
			fs.queries = append(fs.queries, r.URL.RawQuery)
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, "name,fqdn\nh1,h1.example.org\n")
		case "GET /api/v1/hosts/h1":
			reply(w, 200, wire.HostDetail{Summary: wire.HostSummary{UUID: "h1", FQDN: "h1.example.org", Status: wire.StateError},
				Packages: []wire.PackageState{{Package: "firefox", Version: "115.0-1", Status: "ERROR", State: wire.StateError, LastError: "exit 1603\nmore"}},
				Problems: []string{"repository unreachable"}})
		case "GET /api/v1/hosts/h1/history":
			fs.queries = append(fs.queries, r.URL.RawQuery)
			reply(w, 200, wire.HostHistory{Events: []wire.HostEvent{
				{At: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), Kind: wire.EventError, Target: "firefox", Detail: "115.0-1 exit 1603"},
				{At: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), Kind: "register", Actor: "token"},
			}})
		case "PUT /api/v1/admins/" + strings.Repeat("ab", 32):
			var req wire.AdminRightsRequest
			if err := json.Unmarshal(body, &req); err != nil || req.Validate() != nil {
				reply(w, 422, wire.Error{Error: "bad rights", Code: wire.CodeInvalid})
				return
			}
			fs.queries = append(fs.queries, strings.Join(req.Rights, ","))
			w.WriteHeader(http.StatusNoContent)
		case "DELETE /api/v1/admins/" + strings.Repeat("ab", 32):
			w.WriteHeader(http.StatusNoContent)
		case "GET /api/v1/audit":
			fs.queries = append(fs.queries, r.URL.RawQuery)
			reply(w, 200, wire.AuditLog{Entries: []wire.AuditEntry{{ID: 2, At: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), Actor: "alice", Action: "upload_package", Target: "x_1.wapt"}}})
		case "GET /api/v1/hosts/h9":
			reply(w, 404, wire.Error{Error: "host h9 not found", Code: wire.CodeNotFound})
		case "GET /api/v1/packages":
			var l wire.PackageList
			if fs.hostVers != "" {
				l.Packages = append(l.Packages, wire.PackageInfo{Package: "h1", Version: fs.hostVers, Section: "host"})
			}
			reply(w, 200, l)
		case "POST /api/v1/packages":
			p, err := pkgfile.OpenReader(bytes.NewReader(body), int64(len(body)), "upload.wapt", pkgfile.DefaultLimits())
			if err != nil {
				reply(w, 422, wire.Error{Error: err.Error(), Code: wire.CodeInvalid})
				return
			}
			defer p.Close()
			if _, err := p.Verify(r.Context(), trust, time.Now()); err != nil {
				reply(w, 422, wire.Error{Error: err.Error(), Code: wire.CodeInvalid})
				return
			}
			c := p.Control()
			for _, u := range fs.uploads {
				if u.Package() == c.Package() && u.Get("version") == c.Get("version") {
					reply(w, 409, wire.Error{Error: "version already in the repository", Code: "conflict"})
					return
				}
			}
			fs.uploads = append(fs.uploads, c)
			reply(w, 201, wire.PackageInfo{Filename: c.Filename(), Package: c.Package(), Version: c.Get("version"), Section: c.Section()})
		default:
			reply(w, 404, wire.Error{Error: "no route", Code: wire.CodeNotFound})
		}
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) setHostVersion(v string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.hostVers = v
}

func TestServerVerbs(t *testing.T) {
	env := map[string]string{PasswordEnv: "s3cret", "PW": "bootstrap"}
	keys := keyset(t, env)
	fs := newFakeServer(t, keys)
	env[ServerEnv] = fs.URL
	id := []string{"--key", filepath.Join(keys, "admin.pem"), "--cert", filepath.Join(keys, "admin.crt")}
	cmd := func(args ...string) []string { return append(args, id...) }

	t.Run("edit-host", func(t *testing.T) {
		fs.setHostVersion("99990101000000") // ahead of the clock: the new version must be above it
		r := run(t, env, cmd("edit-host", "h1", "--depends", " firefox , office", "--conflicts", "games")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		c := fs.uploads[len(fs.uploads)-1]
		for k, want := range map[string]string{
			"package": "h1", "section": "host", "version": "99990101000001",
			"depends": "firefox,office", "conflicts": "games", "maintainer": "admin",
		} {
			if got := c.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if !strings.Contains(r.stdout, "h1 version 99990101000001") {
			t.Errorf("stdout %q", r.stdout)
		}
		fs.setHostVersion("")
		if r := run(t, env, cmd("edit-host", "h1", "--depends", "")...); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		c = fs.uploads[len(fs.uploads)-1]
		if v := c.Get("version"); len(v) != 14 || c.Get("depends") != "" {
			t.Errorf("clock version %q, depends %q", v, c.Get("depends"))
		}
	})

	t.Run("build-upload and upload-package", func(t *testing.T) {
		src := t.TempDir()
		if r := run(t, env, "make-group-template", "office", "firefox", "-o", src); r.code != 0 {
			t.Fatalf("make-group-template: %s", r.stderr)
		}
		r := run(t, env, cmd("build-upload", filepath.Join(src, "office"), "--json")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var infos []wire.PackageInfo
		if err := json.Unmarshal([]byte(r.stdout), &infos); err != nil || len(infos) != 1 || infos[0].Package != "office" {
			t.Fatalf("stdout %q: %v", r.stdout, err)
		}
		// The same version again: 409, mapped to a plain failure.
		r = run(t, env, cmd("build-upload", filepath.Join(src, "office"))...)
		if r.code != 1 || strings.Count(r.stderr, "409") != 1 {
			t.Errorf("re-upload: exit %d: %s", r.code, r.stderr)
		}
		// One good, one missing file: partial.
		good := filepath.Join(t.TempDir(), "pkgs")
		if r := run(t, env, "build-package", filepath.Join(src, "office"), "-o", good, "--key", filepath.Join(keys, "admin.pem"), "--cert", filepath.Join(keys, "admin.crt")); r.code != 0 {
			t.Fatal(r.stderr)
		}
		if err := os.WriteFile(filepath.Join(src, "office", "WAPT", "control"), []byte(strings.Replace(
			string(mustRead(t, filepath.Join(src, "office", "WAPT", "control"))), "version           : 0", "version           : 1", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := run(t, env, "build-package", filepath.Join(src, "office"), "-o", good, "--key", filepath.Join(keys, "admin.pem"), "--cert", filepath.Join(keys, "admin.crt")); r.code != 0 {
			t.Fatal(r.stderr)
		}
		r = run(t, env, cmd("upload-package", filepath.Join(good, "office_1.wapt"), filepath.Join(good, "nope.wapt"))...)
		if r.code != ExitPartial || !strings.Contains(r.stdout, "uploaded") || !strings.Contains(r.stderr, "nope.wapt") {
			t.Errorf("partial upload: exit %d: %s / %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("hosts", func(t *testing.T) {
		r := run(t, env, cmd("hosts", "--filter", "status=error,package=firefox(<115)", "--filter", "os=linux,q=a b", "--limit", "2")...)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if q := fs.queries[len(fs.queries)-1]; q != "limit=2&os=linux&package=firefox%28%3C115%29&q=a+b&status=ERROR" {
			t.Errorf("query %q", q)
		}
		if !strings.Contains(r.stdout, "h1.example.org") || !strings.Contains(r.stdout, "ERROR") || !strings.Contains(r.stderr, "1 to 2 of 5") {
			t.Errorf("output %q / %q", r.stdout, r.stderr)
		}
		// The admin's INI file gives the server and the identity.
		ini := filepath.Join(t.TempDir(), "waptconsole.ini")
		writeFile(t, ini, "[global]\nwapt_server = "+fs.URL+"\npersonal_certificate_path = "+filepath.Join(keys, "admin.crt")+"\nprivate_key_path = "+filepath.Join(keys, "admin.pem")+"\n")
		noServer := map[string]string{PasswordEnv: env[PasswordEnv]}
		if r := run(t, noServer, "hosts", "--admin-config", ini); r.code != 0 || !strings.Contains(r.stdout, "h1.example.org") {
			t.Errorf("hosts with --admin-config: exit %d: %s / %s", r.code, r.stdout, r.stderr)
		}
		noServer[AdminConfigEnv] = ini
		if r := run(t, noServer, "hosts"); r.code != 0 {
			t.Errorf("hosts with $%s: exit %d: %s", AdminConfigEnv, r.code, r.stderr)
		}
		// The issue's own example, exactly.
		if r := run(t, env, cmd("hosts", "--filter", "software:openssl<99")...); r.code != 0 {
			t.Fatalf("software filter: exit %d: %s", r.code, r.stderr)
		}
		if q := fs.queries[len(fs.queries)-1]; q != "software=openssl%3C99" {
			t.Errorf("query %q", q)
		}
		r = run(t, env, cmd("hosts", "--filter", "software=firefox(>=128),manufacturer:Dell Inc.,ram_max=8G,duplicates", "--filter", "unit=OU=prod,DC=example,DC=lan")...)
		if q := fs.queries[len(fs.queries)-1]; r.code != 0 || q != "duplicates=1&manufacturer=Dell+Inc.&ram_max=8589934592&software=firefox%28%3E%3D128%29&unit=OU%3Dprod%2CDC%3Dexample%2CDC%3Dlan" {
			t.Errorf("exit %d, query %q: %s", r.code, q, r.stderr)
		}
		// Export to a file: every host (no paging), the filters kept.
		out := filepath.Join(t.TempDir(), "hosts.csv")
		r = run(t, env, cmd("hosts", "--filter", "software:openssl<99", "--export", "csv", "-o", out, "--limit", "2")...)
		if r.code != 0 || string(mustRead(t, out)) != "name,fqdn\nh1,h1.example.org\n" || !strings.Contains(r.stderr, "exported to") {
			t.Errorf("export: exit %d: %s", r.code, r.stderr)
		}
		if q := fs.queries[len(fs.queries)-1]; q != "format=csv&software=openssl%3C99" {
			t.Errorf("export query %q", q)
		}
		if r := run(t, env, cmd("hosts", "--export", "json")...); r.code != 0 || !strings.Contains(r.stdout, "h1.example.org") {
			t.Errorf("export to stdout: exit %d: %s", r.code, r.stderr)
		}
		r = run(t, env, cmd("hosts", "--json")...)
		var l wire.HostList
		if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Total != 5 {
			t.Errorf("--json: %q: %v", r.stdout, err)
		}
	})

	t.Run("host-show", func(t *testing.T) {
		r := run(t, env, cmd("host-show", "h1")...)
		if r.code != 0 || !strings.Contains(r.stdout, "exit 1603") || strings.Contains(r.stdout, "more") ||
			!strings.Contains(r.stdout, "repository unreachable") || !strings.Contains(r.stdout, "register") {
			t.Errorf("exit %d: %q / %s", r.code, r.stdout, r.stderr)
		}
		if q := fs.queries[len(fs.queries)-1]; q != "limit=20" {
			t.Errorf("history query %q", q)
		}
		r = run(t, env, cmd("host-show", "h9")...)
		if r.code != 1 || !strings.Contains(r.stderr, "host h9 not found") {
			t.Errorf("unknown host: exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("admin rights, removal, audit log", func(t *testing.T) {
		fp := strings.Repeat("ab", 32)
		if r := run(t, env, cmd("admin-rights", fp, "--rights", "view,edit_group_package")...); r.code != 0 {
			t.Fatalf("admin-rights: exit %d: %s", r.code, r.stderr)
		}
		if q := fs.queries[len(fs.queries)-1]; q != "view,edit_group_package" {
			t.Errorf("rights sent %q", q)
		}
		for _, bad := range [][]string{{"admin-rights", fp}, {"admin-rights", "xyz", "--rights", "view"}, {"admin-remove", "../x"}} {
			if r := run(t, env, cmd(bad...)...); r.code == 0 {
				t.Errorf("%v: accepted", bad)
			}
		}
		if r := run(t, env, cmd("admin-remove", fp)...); r.code != 0 || !strings.Contains(r.stdout, "removed") {
			t.Errorf("admin-remove: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		r := run(t, env, cmd("audit-log", "--limit", "5")...)
		if r.code != 0 || !strings.Contains(r.stdout, "upload_package") || fs.queries[len(fs.queries)-1] != "limit=5" {
			t.Errorf("audit-log: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("wrong admin", func(t *testing.T) {
		r := run(t, env, "hosts", "--key", filepath.Join(keys, "simple.pem"), "--cert", filepath.Join(keys, "simple.crt"))
		if r.code != 1 || !strings.Contains(r.stderr, "401") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("register-admin", func(t *testing.T) {
		r := run(t, env, "register-admin", "--cert", filepath.Join(keys, "simple.crt"), "--rights", "view,edit_host_package",
			"--bootstrap-password-env", "PW")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		a := fs.admins[len(fs.admins)-1]
		if strings.Join(a.Rights, ",") != "view,edit_host_package" || !strings.HasPrefix(a.Certificate, "-----BEGIN CERTIFICATE-----") {
			t.Errorf("request %+v", a)
		}
		if strings.Contains(r.stdout+r.stderr, "bootstrap") {
			t.Errorf("the password was printed: %q", r.stdout+r.stderr)
		}
		r = run(t, env, "register-admin", "--cert", filepath.Join(keys, "simple.crt"), "--rights", "view,fly", "--bootstrap-password-env", "PW")
		if r.code != 2 || !strings.Contains(r.stderr, "fly") {
			t.Errorf("bad right: exit %d: %s", r.code, r.stderr)
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseFilters(t *testing.T) {
	tests := []struct {
		in   []string
		want client.HostQuery
	}{
		{[]string{"software:openssl<99"}, client.HostQuery{Software: "openssl<99"}},
		{[]string{"software=openssl>=3.0"}, client.HostQuery{Software: "openssl>=3.0"}},
		{[]string{"software:Mozilla Firefox (x64 en-US)(<128),status:error"}, client.HostQuery{Software: "Mozilla Firefox (x64 en-US)(<128)", Status: "ERROR"}},
		{[]string{"status=error,package=firefox(<115)", "os:linux"}, client.HostQuery{Status: "ERROR", Package: "firefox(<115)", OS: "linux"}},
		{[]string{"unit=OU=prod,DC=example,DC=lan,group=office"}, client.HostQuery{Unit: "OU=prod,DC=example,DC=lan", Group: "office"}},
		{[]string{"q:a=b", "text=x:y"}, client.HostQuery{Text: "x:y"}},
		{[]string{"manufacturer:Dell Inc.", "model=ThinkPad"}, client.HostQuery{Manufacturer: "Dell Inc.", Model: "ThinkPad"}},
		{[]string{"ram_min=512M,ram_max:8G,disk_free_min=20GiB"}, client.HostQuery{RAMMin: 512 << 20, RAMMax: 8 << 30, DiskFreeMin: 20 << 30}},
		{[]string{"ram_max=8589934592"}, client.HostQuery{RAMMax: 8 << 30}},
		{[]string{"duplicates"}, client.HostQuery{Duplicates: true}},
		{[]string{"duplicates=1", "duplicates:0"}, client.HostQuery{}},
		{[]string{"STATUS:ok"}, client.HostQuery{Status: "OK"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, " "), func(t *testing.T) {
			var q client.HostQuery
			if err := parseFilters(tt.in, &q); err != nil {
				t.Fatal(err)
			}
			if q != tt.want {
				t.Errorf("got %+v, want %+v", q, tt.want)
			}
		})
	}
	for _, bad := range []string{"colour=red", "status", "ram_min=lots", "ram_max=0", "disk_free_min=-1G", "duplicates=maybe", "DC=lan"} {
		var q client.HostQuery
		if err := parseFilters([]string{bad}, &q); err == nil {
			t.Errorf("parseFilters(%q) accepted: %+v", bad, q)
		}
	}
}
