package wapt_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

// TestDemoRepositoryEndToEnd does what `make run` does with real processes:
// builds the binaries, creates the demo keys and signed packages with
// wapt-get, starts waptserver, and checks what an agent would download.
func TestDemoRepositoryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts a server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, data := t.TempDir(), t.TempDir()

	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./server/cmd/waptserver", "./agent/cmd/wapt-get")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	demo := exec.CommandContext(ctx, "packaging/demo-repo.sh", bin, data)
	demo.Env = append(os.Environ(), "WAPT_KEY_PASSWORD=demo-pw")
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("demo-repo.sh: %v\n%s", err, out)
	}

	srv := exec.CommandContext(ctx, filepath.Join(bin, "waptserver"), "--data", data, "--listen", "127.0.0.1:0", "--public-host-packages", "--tls=false")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var serr bytes.Buffer
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			_ = srv.Process.Kill()
			_ = srv.Wait()
		}
	}()
	base, token, bootstrap := "", "", ""
	re := regexp.MustCompile(`serving (http://[^/]+)/wapt/`)
	tokRE := regexp.MustCompile(`enrollment token .*: (\S+)$`)
	bootRE := regexp.MustCompile(`bootstrap admin password .*: (\S+)$`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := tokRE.FindStringSubmatch(sc.Text()); m != nil {
			token = m[1]
		}
		if m := bootRE.FindStringSubmatch(sc.Text()); m != nil {
			bootstrap = m[1]
		}
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if token == "" || bootstrap == "" {
		t.Fatalf("waptserver did not print its enrollment token and bootstrap password")
	}
	if base == "" {
		t.Fatalf("waptserver did not print its address; stderr:\n%s", serr.String())
	}
	go io.Copy(io.Discard, stdout)

	get := func(path string) (int, []byte, http.Header) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b, resp.Header
	}

	code, index, hdr := get("/wapt/Packages")
	if code != 200 {
		t.Fatalf("GET Packages: %d", code)
	}
	_, sig, _ := get("/wapt/Packages.sig")
	// Packages are signed by the demo admin (data/ssl); the index by the
	// server's own repository key (its host CA, data/pki).
	trust, err := signing.LoadTrustDir(filepath.Join(data, "ssl"))
	if err != nil {
		t.Fatal(err)
	}
	serverCA, err := certs.LoadCerts(filepath.Join(data, "pki", "host-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := repoindex.VerifyIndex(sig, index, signing.NewTrust(serverCA...), time.Now(), "", 0)
	if err != nil {
		t.Fatalf("Packages.sig does not verify: %v", err)
	}
	if info.Size != int64(len(index)) {
		t.Errorf("signed size %d, index is %d bytes", info.Size, len(index))
	}

	// An unchanged index costs one 304.
	req, _ := http.NewRequest(http.MethodGet, base+"/wapt/Packages", nil)
	req.Header.Set("If-None-Match", hdr.Get("ETag"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", resp.StatusCode)
	}

	ix, err := repoindex.Parse(index, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ix.Entries {
		names = append(names, e.Package())
		code, body, _ := get("/wapt/" + e.Get("filename"))
		if code != 200 {
			t.Fatalf("GET %s: %d", e.Get("filename"), code)
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != e.Get("sha256") || strconv.Itoa(len(body)) != e.Get("size") {
			t.Errorf("%s: downloaded bytes do not match the index", e.Get("filename"))
		}
		p, err := pkgfile.OpenReader(bytes.NewReader(body), int64(len(body)), e.Get("filename"), pkgfile.DefaultLimits())
		if err != nil {
			t.Fatalf("open %s: %v", e.Get("filename"), err)
		}
		if _, err := p.Verify(ctx, trust, time.Now()); err != nil {
			t.Errorf("verify %s: %v", e.Get("filename"), err)
		}
		p.Close()
	}
	sort.Strings(names)
	if want := []string{"demo-desktop", "demo-hello"}; len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Errorf("index lists %v, want %v", names, want)
	}

	// An agent whose host package is demo-host: update + upgrade installs the
	// chain demo-host -> demo-desktop -> demo-hello, running its setup.py.
	agentDir := t.TempDir()
	ssl, err := os.ReadFile(filepath.Join(data, "ssl", "demo-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(agentDir, "ssl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(agentDir, "ssl", "demo-ca.crt"), ssl, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(agentDir, "server-ca"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(agentDir, "server-ca", "host-ca.crt"), certs.EncodeCertsPEM(serverCA...), 0o644); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(agentDir, "wapt-get.ini")
	if err := os.WriteFile(ini, []byte("[global]\nrepo_url = "+base+"/wapt\nindex_certs_dir = server-ca\nuuid = demo-host\nwapt_server = "+base+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wgEnv := []string{"WAPT_ENROLLMENT_TOKEN=" + token, "WAPT_BOOTSTRAP=" + bootstrap, "WAPT_KEY_PASSWORD=demo-pw"}
	admin := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "wapt-get"), append(args, "--server", base)...)
		cmd.Env = append(os.Environ(), wgEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("wapt-get %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	wg := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "wapt-get"), append([]string{"-c", ini}, args...)...)
		cmd.Env = append(os.Environ(), wgEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("wapt-get %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := wg("register"); !strings.Contains(out, "registered demo-host") {
		t.Errorf("register:\n%s", out)
	}
	if out := wg("update"); !strings.Contains(out, "NEED-INSTALL") || !strings.Contains(out, "demo-hello") {
		t.Errorf("update did not list demo-hello as pending:\n%s", out)
	}
	wg("upgrade")
	hello, err := os.ReadFile(filepath.Join(agentDir, "private", "persistent", "demo-hello", "demo-hello", "hello.txt"))
	if err != nil || !strings.Contains(string(hello), "Hello") {
		t.Errorf("demo-hello's install() did not run: %v", err)
	}
	if out := wg("list-upgrade"); !strings.Contains(out, ": OK") {
		t.Errorf("after upgrade:\n%s", out)
	}
	if out := wg("audit", "--force"); !strings.Contains(out, "audit: OK") {
		t.Errorf("audit:\n%s", out)
	}
	if out := wg("list", "--json"); !strings.Contains(out, `"package": "demo-hello"`) || !strings.Contains(out, `"audit_status": "OK"`) {
		t.Errorf("list --json:\n%s", out)
	}

	// The admin side: the first admin registers with the bootstrap
	// password, sees the host and its status, publishes a new package that
	// the agent then finds in a freshly signed index.
	keys := filepath.Join(data, "keys")
	admin("register-admin", "--cert", filepath.Join(keys, "demo-admin.crt"), "--rights", "admin", "--bootstrap-password-env", "WAPT_BOOTSTRAP")
	adminID := []string{"--key", filepath.Join(keys, "demo-admin.pem"), "--cert", filepath.Join(keys, "demo-admin.crt")}
	if out := admin(append([]string{"admins"}, adminID...)...); !strings.Contains(out, "demo-admin") || !strings.Contains(out, "admin") {
		t.Errorf("admins:\n%s", out)
	}
	if out := admin(append([]string{"hosts", "--filter", "package=demo-hello(>=1.0)"}, adminID...)...); !strings.Contains(out, "demo-host") {
		t.Errorf("hosts does not list the registered agent:\n%s", out)
	}
	if out := admin(append([]string{"host-show", "demo-host", "--json"}, adminID...)...); !strings.Contains(out, "demo-hello") || !strings.Contains(out, `"OK"`) {
		t.Errorf("host-show:\n%s", out)
	}
	extra := filepath.Join(t.TempDir(), "demo-extra")
	if err := os.MkdirAll(filepath.Join(extra, "WAPT"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "WAPT", "control"), []byte("package: demo-extra\nversion: 2-1\narchitecture: all\nsection: base\npriority: optional\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	admin(append([]string{"build-upload", extra}, adminID...)...)
	wg("update")
	if out := wg("search", "demo-extra"); !strings.Contains(out, "demo-extra") {
		t.Errorf("the uploaded package is not in the agent's index:\n%s", out)
	}
	// The host package edited through the API makes the host a member of
	// its depends (group filter), and the host's history shows its installs.
	admin(append([]string{"edit-host", "demo-host", "--depends", "demo-desktop,demo-extra"}, adminID...)...)
	if out := admin(append([]string{"hosts", "--filter", "group=demo-extra"}, adminID...)...); !strings.Contains(out, "demo-host") {
		t.Errorf("hosts --filter group=demo-extra:\n%s", out)
	}
	if out := admin(append([]string{"hosts", "--filter", "group=demo-nope"}, adminID...)...); strings.Contains(out, "demo-host") {
		t.Errorf("hosts --filter group=demo-nope lists the host:\n%s", out)
	}
	if out := admin(append([]string{"host-show", "demo-host"}, adminID...)...); !strings.Contains(out, "WHEN") || !strings.Contains(out, "install") || !strings.Contains(out, "demo-extra") {
		t.Errorf("host-show history / groups:\n%s", out)
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = srv.Wait()
	exited = true
	if err != nil {
		t.Errorf("waptserver did not stop cleanly: %v\n%s", err, serr.String())
	}
}
