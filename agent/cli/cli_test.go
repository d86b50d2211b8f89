package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type result struct {
	code           int
	stdout, stderr string
}

// run executes wapt-get in-process with a fixed environment.
func run(t *testing.T, envv map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Env{
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return envv[k] },
		ReadPassword: func(string) ([]byte, error) {
			return nil, errors.New("no terminal in tests")
		},
	})
	return result{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const testControl = `package           : test-app
version           : 1.2.3-4
architecture      : all
section           : base
priority          : optional
description       : test package
`

// keyset creates a CA, a code-signing, a simple and a repository certificate.
func keyset(t *testing.T, env map[string]string) string {
	t.Helper()
	keys := t.TempDir()
	steps := [][]string{
		{"create-keycert", "--cn", "ca", "--ca", "--out", keys, "--key-type", "ecdsa"},
		{"create-keycert", "--cn", "admin", "--code-signing", "--out", keys, "--key-type", "ecdsa",
			"--issuer-key", filepath.Join(keys, "ca.pem"), "--issuer-cert", filepath.Join(keys, "ca.crt")},
		{"create-keycert", "--cn", "simple", "--out", keys, "--key-type", "ecdsa",
			"--issuer-key", filepath.Join(keys, "ca.pem"), "--issuer-cert", filepath.Join(keys, "ca.crt")},
		{"create-keycert", "--cn", "other-ca", "--ca", "--out", keys, "--key-type", "ecdsa"},
		{"create-keycert", "--cn", "repo", "--repo", "--out", keys, "--key-type", "ecdsa",
			"--issuer-key", filepath.Join(keys, "ca.pem"), "--issuer-cert", filepath.Join(keys, "ca.crt")},
	}
	for _, s := range steps {
		if r := run(t, env, s...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", s, r.code, r.stderr)
		}
	}
	return keys
}

func TestAdminVerbs(t *testing.T) {
	env := map[string]string{PasswordEnv: "s3cret"}
	keys := keyset(t, env)
	k := func(n string) string { return filepath.Join(keys, n) }

	for _, n := range []string{"ca.pem", "admin.pem"} {
		data, err := os.ReadFile(k(n))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "ENCRYPTED PRIVATE KEY") {
			t.Errorf("%s is not encrypted although %s is set", n, PasswordEnv)
		}
	}
	trust := t.TempDir()
	ca, _ := os.ReadFile(k("ca.crt"))
	writeFile(t, filepath.Join(trust, "ca.crt"), string(ca))
	otherTrust := t.TempDir()
	other, _ := os.ReadFile(k("other-ca.crt"))
	writeFile(t, filepath.Join(otherTrust, "other.crt"), string(other))

	src := filepath.Join(t.TempDir(), "test-app")
	writeFile(t, filepath.Join(src, "WAPT", "control"), testControl)
	writeFile(t, filepath.Join(src, "setup.py"), "def install():\n    print('hi')\n")
	writeFile(t, filepath.Join(src, "files", "payload.txt"), strings.Repeat("payload\n", 100))
	repo := t.TempDir()

	r := run(t, env, "build-package", src, "-o", repo, "--key", k("admin.pem"), "--cert", k("admin.crt"))
	if r.code != 0 {
		t.Fatalf("build-package: exit %d: %s", r.code, r.stderr)
	}
	pkg := strings.TrimSpace(r.stdout)
	if filepath.Base(pkg) != "test-app_1.2.3-4.wapt" {
		t.Fatalf("build-package printed %q", r.stdout)
	}

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		contains string // in stdout+stderr
	}{
		{"verify ok", env, []string{"verify-package", pkg, "--trust", trust}, 0, "OK"},
		{"verify untrusted", env, []string{"verify-package", pkg, "--trust", otherTrust}, 1, "trust"},
		{"verify missing trust flag", env, []string{"verify-package", pkg}, 2, "--trust"},
		{"verify missing file", env, []string{"verify-package", pkg + ".nope", "--trust", trust}, 1, "nope"},
		{"sign with simple cert refused (setup.py)", env, []string{"sign-package", pkg, "--key", k("simple.pem"), "--cert", k("simple.crt")}, 1, "setup.py"},
		{"build with simple cert refused (setup.py)", env, []string{"build-package", src, "-o", t.TempDir(), "--key", k("simple.pem"), "--cert", k("simple.crt")}, 1, "setup.py"},
		{"wrong password", map[string]string{PasswordEnv: "wrong"}, []string{"sign-package", pkg, "--key", k("admin.pem"), "--cert", k("admin.crt")}, 1, PasswordEnv},
		{"no password and no terminal", map[string]string{}, []string{"sign-package", pkg, "--key", k("admin.pem"), "--cert", k("admin.crt")}, 1, "encrypted"},
		{"key does not match cert", env, []string{"sign-package", pkg, "--key", k("ca.pem"), "--cert", k("admin.crt")}, 1, "does not match"},
		{"re-sign ok", env, []string{"sign-package", pkg, "--key", k("admin.pem"), "--cert", k("admin.crt")}, 0, "signed by admin"},
		{"verify after re-sign", env, []string{"verify-package", pkg, "--trust", trust}, 0, "signed by admin"},
		{"unknown verb", env, []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", env, []string{"verify-package", "--bogus"}, 2, "bogus"},
		{"keycert without cn", env, []string{"create-keycert", "--out", keys}, 2, "--cn"},
		{"keycert exists", env, []string{"create-keycert", "--cn", "ca", "--ca", "--out", keys}, 1, "already exists"},
		{"keycert bad name", env, []string{"create-keycert", "--cn", "../x", "--out", keys}, 2, "file name"},
		{"scan unsigned", env, []string{"scan-packages", repo}, 0, "1 packages"},
		{"scan signed by an admin key refused", env, []string{"scan-packages", repo, "--key", k("simple.pem"), "--cert", k("simple.crt"), "--expires", "1h"}, 1, "not a repository certificate"},
		{"scan signed", env, []string{"scan-packages", repo, "--key", k("repo.pem"), "--cert", k("repo.crt"), "--expires", "1h"}, 0, "Packages.sig"},
		{"keycert two roles", env, []string{"create-keycert", "--cn", "x", "--ca", "--repo", "--out", keys}, 2, "choose one"},
		{"scan bad expiry", env, []string{"scan-packages", repo, "--expires", "-1h"}, 2, "expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout+r.stderr, tt.contains) {
				t.Errorf("output does not mention %q\nstdout: %s\nstderr: %s", tt.contains, r.stdout, r.stderr)
			}
		})
	}
	for _, n := range []string{"Packages", "Packages.sig"} {
		if _, err := os.Stat(filepath.Join(repo, n)); err != nil {
			t.Errorf("scan-packages did not write %s: %v", n, err)
		}
	}
}

func TestCreateKeycertUnencryptedWhenPasswordEmpty(t *testing.T) {
	out := t.TempDir()
	r := run(t, map[string]string{}, "create-keycert", "--cn", "plain", "--out", out, "--key-type", "ecdsa")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "plain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "ENCRYPTED") {
		t.Error("key encrypted although the password is empty")
	}
	st, err := os.Stat(filepath.Join(out, "plain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if !strings.Contains(r.stderr, "NOT encrypted") {
		t.Errorf("no warning about the clear key: %s", r.stderr)
	}
}

// TestOpenSSLReadsOurKeys checks the key and certificate files with openssl,
// so that other tools (and WAPT) can use them.
func TestOpenSSLReadsOurKeys(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (packaging/install-deps.sh installs it)")
	}
	out := t.TempDir()
	env := map[string]string{PasswordEnv: "pw"}
	if r := run(t, env, "create-keycert", "--cn", "k", "--code-signing", "--out", out, "--bits", "2048"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "openssl", "pkey", "-in", filepath.Join(out, "k.pem"), "-passin", "pass:pw", "-noout").CombinedOutput(); err != nil {
		t.Errorf("openssl cannot read the encrypted key: %v\n%s", err, b)
	}
	b, err := exec.CommandContext(ctx, "openssl", "x509", "-in", filepath.Join(out, "k.crt"), "-noout", "-ext", "extendedKeyUsage").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "Code Signing") {
		t.Errorf("certificate has no Code Signing EKU for openssl: %v\n%s", err, b)
	}
}
