package admin

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// serverBinEnv names a prebuilt waptserver to test against instead of
// building one.
const serverBinEnv = "WAPT_TEST_WAPTSERVER"

// serverBin is the waptserver binary the tests start.
var serverBin string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "console-admin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if serverBin = os.Getenv(serverBinEnv); serverBin == "" {
		if serverBin, err = buildServer(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// buildServer builds waptserver from the module root into dir.
func buildServer(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "waptserver")
	cmd := exec.Command("go", "build", "-o", bin, "./server/cmd/waptserver")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build waptserver: %v\n%s", err, b)
	}
	return bin, nil
}

// lockedBuffer collects a process's output for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ident is a key and its certificate.
type ident struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func newIdent(tb testing.TB, cn string, role certs.Role, issuer *ident) ident {
	tb.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: "ecdsa", Now: time.Now().Add(-time.Hour)}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert, issuer.key
	}
	k, c, err := certs.Generate(r)
	if err != nil {
		tb.Fatal(err)
	}
	return ident{k, c}
}

// write stores id in dir as name.pem (encrypted with password) and
// name.crt (id's certificate, then chain).
func (id ident) write(tb testing.TB, dir, name string, password []byte, chain ...*x509.Certificate) (keyPath, certPath string) {
	tb.Helper()
	keyPEM, err := certs.EncodePrivateKeyPEM(id.key, password)
	if err != nil {
		tb.Fatal(err)
	}
	keyPath, certPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".crt")
	must(tb, os.WriteFile(keyPath, keyPEM, 0o600))
	must(tb, os.WriteFile(certPath, certs.EncodeCertsPEM(append([]*x509.Certificate{id.cert}, chain...)...), 0o644))
	return keyPath, certPath
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// password answers a Prompt with pw.
func password(pw string) Prompt {
	return func(context.Context, string) ([]byte, error) { return []byte(pw), nil }
}

// adminPassword encrypts the test admins' keys.
const adminPassword = "correct horse"

// server is a waptserver process with its admin CA and first admin.
type server struct {
	base, token, bootstrap string
	data, dir              string // the server's data; the test's keys
	log                    *lockedBuffer
	ca                     ident // the admin CA, in data/ssl
	caCertPath             string
	admin                  Settings // the first admin: code-signing, every right
	adminID                ident
}

// newServer starts a waptserver (plain HTTP, or HTTPS with its own TLS
// certificate) with a fresh admin CA, and registers a first admin with
// the admin right through RegisterFirstAdmin.
func newServer(tb testing.TB, useTLS bool) *server {
	tb.Helper()
	s := &server{data: tb.TempDir(), dir: tb.TempDir(), log: &lockedBuffer{}}
	s.ca = newIdent(tb, "Test admin CA", certs.RoleCA, nil)
	must(tb, os.MkdirAll(filepath.Join(s.data, "ssl"), 0o755))
	s.caCertPath = filepath.Join(s.data, "ssl", "admin-ca.crt")
	must(tb, os.WriteFile(s.caCertPath, certs.EncodeCertsPEM(s.ca.cert), 0o644))

	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"--data", s.data, "--listen", "127.0.0.1:0"}
	if !useTLS {
		args = append(args, "--tls=false")
	}
	cmd := exec.CommandContext(ctx, serverBin, args...)
	stdout, err := cmd.StdoutPipe()
	must(tb, err)
	cmd.Stderr = s.log
	must(tb, cmd.Start())
	tb.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	re := regexp.MustCompile(`serving (https?://[^/]+)/wapt/`)
	tokRE := regexp.MustCompile(`enrollment token .*: (\S+)$`)
	bootRE := regexp.MustCompile(`bootstrap admin password .*: (\S+)$`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := tokRE.FindStringSubmatch(sc.Text()); m != nil {
			s.token = m[1]
		}
		if m := bootRE.FindStringSubmatch(sc.Text()); m != nil {
			s.bootstrap = m[1]
		}
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			s.base = m[1]
			break
		}
	}
	if s.base == "" || s.token == "" || s.bootstrap == "" {
		tb.Fatalf("waptserver banner incomplete (base %q):\n%s", s.base, s.log.String())
	}
	go io.Copy(io.Discard, stdout)

	s.adminID = newIdent(tb, "alice", certs.RoleCodeSigning, &s.ca)
	s.admin = s.settings(tb, s.adminID, "alice")
	if useTLS {
		s.admin.ServerCA = filepath.Join(s.data, "pki", "host-ca.crt")
	}
	must(tb, RegisterFirstAdmin(context.Background(), s.admin, s.bootstrap, []string{wire.RightAdmin}))
	return s
}

// settings writes id (issued by the admin CA) to the test's key folder
// and returns the settings of a console using it.
func (s *server) settings(tb testing.TB, id ident, name string) Settings {
	tb.Helper()
	key, cert := id.write(tb, s.dir, name, []byte(adminPassword), s.ca.cert)
	return Settings{ServerURL: s.base, CertPath: cert, KeyPath: key}
}

// connect opens a session with st.
func (s *server) connect(tb testing.TB, st Settings) *Session {
	tb.Helper()
	sess, err := Connect(context.Background(), st, password(adminPassword))
	if err != nil {
		tb.Fatalf("Connect: %v\n%s", err, s.log.String())
	}
	tb.Cleanup(func() { sess.Close() })
	return sess
}

// host is a registered fake host.
type host struct {
	uuid string
	c    *client.Client // signs with the host key
}

// registerHost registers uuid with the enrollment token and a CSR.
func (s *server) registerHost(tb testing.TB, uuid string) host {
	tb.Helper()
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(tb, err)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: uuid}}, key)
	must(tb, err)
	anon, err := client.New(client.Config{BaseURL: s.base})
	must(tb, err)
	rr, err := anon.Register(ctx, wire.RegisterRequest{
		UUID: uuid, FQDN: uuid + ".example.lan", Hostname: uuid, Token: s.token,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
	})
	if err != nil {
		tb.Fatalf("register %s: %v\n%s", uuid, err, s.log.String())
	}
	cs, err := certs.ParseCertsPEM([]byte(rr.Certificate))
	must(tb, err)
	hc, err := client.New(client.Config{BaseURL: s.base, Signer: key, Cert: cs[0]})
	must(tb, err)
	return host{uuid: uuid, c: hc}
}

// report posts a status report of h with these packages.
func (h host) report(tb testing.TB, pkgs ...wire.PackageState) {
	tb.Helper()
	err := h.c.PostStatus(context.Background(), h.uuid, wire.StatusReport{UUID: h.uuid, Time: time.Now().UTC(), Packages: pkgs})
	if err != nil {
		tb.Fatalf("status of %s: %v", h.uuid, err)
	}
}
