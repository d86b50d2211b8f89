package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/store"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
)

// TestHelperProcess is the child of the kill tests: it runs wapt-get with
// the arguments after "--". It does nothing in a normal test run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("WAPT_GET_HELPER") != "1" {
		t.Skip("helper process only")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(Run(context.Background(), args, Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
}

// killEnv is a repository with one slow-to-download and slow-to-install
// package, and an agent configuration pointing at it.
type killEnv struct {
	ini, base, marker string
	slow              atomic.Bool // throttle package downloads
	served            atomic.Int64
}

func newKillEnv(t *testing.T) *killEnv {
	t.Helper()
	now := time.Now()
	caKey, caCert, err := certs.Generate(certs.Request{CN: "ca", Role: certs.RoleCA, KeyType: "ecdsa", Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := certs.Generate(certs.Request{CN: "admin", Role: certs.RoleCodeSigning, KeyType: "ecdsa", Now: now.Add(-time.Hour), Issuer: caCert, IssuerKey: caKey})
	if err != nil {
		t.Fatal(err)
	}
	k := &killEnv{base: t.TempDir()}
	k.marker = filepath.Join(k.base, "install-started")
	repo := filepath.Join(t.TempDir(), "wapt")
	src := filepath.Join(t.TempDir(), "test-slow")
	writeFile(t, filepath.Join(src, "WAPT", "control"), "package: test-slow\nversion: 1-1\narchitecture: all\nsection: base\npriority: optional\n")
	writeFile(t, filepath.Join(src, "setup.py"), fmt.Sprintf("def install():\n    run('touch %s && sleep 3')\n", k.marker))
	// 2 MiB of incompressible payload so the download takes a while when throttled.
	payload := make([]byte, 2<<20)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "payload.bin"), string(payload))
	chain := []*x509.Certificate{cert, caCert}
	repoKey, repoCert, err := certs.Generate(certs.Request{CN: "repo", Role: certs.RoleRepository, KeyType: "ecdsa", Now: now.Add(-time.Hour), Issuer: caCert, IssuerKey: caKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pkgfile.Build(context.Background(), src, pkgfile.BuildOptions{OutDir: repo, Signer: key, Chain: chain, Now: now}); err != nil {
		t.Fatal(err)
	}
	ix, _, err := repoindex.Scan(context.Background(), repo, nil, repoindex.ScanOptions{Limits: pkgfile.DefaultLimits(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := repoindex.WriteFiles(repo, ix, &repoindex.SigInfo{Repo: "wapt", Version: 1, Issued: now, Expires: now.Add(time.Hour)}, repoKey, []*x509.Certificate{repoCert, caCert}); err != nil {
		t.Fatal(err)
	}
	fs := http.FileServer(http.Dir(filepath.Dir(repo)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".wapt") && k.slow.Load() {
			fs.ServeHTTP(&slowWriter{ResponseWriter: w, served: &k.served}, r)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	writeFile(t, filepath.Join(k.base, "ssl", "ca.crt"), string(certs.EncodeCertsPEM(caCert)))
	k.ini = filepath.Join(k.base, "wapt-get.ini")
	writeFile(t, k.ini, fmt.Sprintf("[global]\nrepo_url = %s/wapt\nuse_hostpackages = 0\n", srv.URL))
	return k
}

// slowWriter sends the body in 32 KiB pieces, 50 ms apart.
type slowWriter struct {
	http.ResponseWriter
	served *atomic.Int64
}

func (s *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), 32<<10)
		m, err := s.ResponseWriter.Write(p[:c])
		n += m
		s.served.Add(int64(m))
		if err != nil {
			return n, err
		}
		if f, ok := s.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[c:]
		time.Sleep(50 * time.Millisecond)
	}
	return n, nil
}

func (k *killEnv) child(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "WAPT_GET_HELPER=1", "WAPT_CONFIG="+k.ini)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (k *killEnv) record(t *testing.T) (engine.Installed, error) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(k.base, "db", "waptdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.GetInstalled(context.Background(), "test-slow")
}

// TestKilledDuringDownloadResumes kills wapt-get with SIGKILL in the middle
// of a download: nothing is recorded, and the next run resumes and installs.
func TestKilledDuringDownloadResumes(t *testing.T) {
	k := newKillEnv(t)
	if r := run(t, map[string]string{"WAPT_CONFIG": k.ini}, "update"); r.code != 0 {
		t.Fatalf("update: %d %s", r.code, r.stderr)
	}
	k.slow.Store(true)
	cmd := k.child(t, "install", "test-slow")
	waitFor(t, "part of the download", func() bool { return k.served.Load() > 256<<10 })
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	if _, err := k.record(t); err == nil {
		t.Fatal("a record exists after a download was killed")
	}
	parts, _ := filepath.Glob(filepath.Join(k.base, "cache", "*.part"))
	if len(parts) != 1 {
		t.Fatalf("no partial download kept: %v", parts)
	}
	k.slow.Store(false)
	if r := run(t, map[string]string{"WAPT_CONFIG": k.ini}, "install", "test-slow"); r.code != 0 {
		t.Fatalf("install after kill: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	in, err := k.record(t)
	if err != nil || in.Status != engine.StatusOK {
		t.Errorf("record after resume = %+v, %v", in, err)
	}
}

// TestKilledDuringInstallIsRepaired kills wapt-get while install() runs: the
// next start finds the INSTALLING record, marks it ERROR, and the next
// upgrade retries it.
func TestKilledDuringInstallIsRepaired(t *testing.T) {
	k := newKillEnv(t)
	if r := run(t, map[string]string{"WAPT_CONFIG": k.ini}, "update"); r.code != 0 {
		t.Fatalf("update: %d %s", r.code, r.stderr)
	}
	cmd := k.child(t, "install", "test-slow")
	waitFor(t, "install() to start", func() bool { _, err := os.Stat(k.marker); return err == nil })
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	in, err := k.record(t)
	if err != nil || in.Status != engine.StatusInstalling {
		t.Fatalf("record right after the kill = %+v, %v (want INSTALLING)", in, err)
	}
	r := run(t, map[string]string{"WAPT_CONFIG": k.ini}, "list", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ERROR"`) || !strings.Contains(r.stderr, "interrupted") {
		t.Fatalf("list after kill: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, map[string]string{"WAPT_CONFIG": k.ini}, "upgrade"); r.code != 0 {
		t.Fatalf("upgrade after kill: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	in, err = k.record(t)
	if err != nil || in.Status != engine.StatusOK {
		t.Errorf("record after upgrade = %+v, %v", in, err)
	}
}
