package wapt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

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

// server is a waptserver process.
type server struct {
	cmd       *exec.Cmd
	base      string
	token     string
	bootstrap string
	log       *lockedBuffer
}

// startServer starts waptserver on listen and reads its banner.
func startServer(t *testing.T, ctx context.Context, bin, data, listen string) *server {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "waptserver"), "--data", data, "--listen", listen, "--tls=false")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, log: &lockedBuffer{}}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(true) })
	re := regexp.MustCompile(`serving (http://[^/]+)/wapt/`)
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
	if s.base == "" {
		t.Fatalf("waptserver did not print its address:\n%s", s.log.String())
	}
	go io.Copy(io.Discard, stdout)
	return s
}

// stop kills (SIGKILL) or terminates the server and waits for it.
func (s *server) stop(kill bool) {
	if s.cmd.ProcessState != nil {
		return
	}
	if kill {
		_ = s.cmd.Process.Kill()
	} else {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	_ = s.cmd.Wait()
}

// agentProc is a waptagent process with its own data directory.
type agentProc struct {
	dir, ini string
	cmd      *exec.Cmd
	log      *lockedBuffer
}

func (a *agentProc) start(t *testing.T, ctx context.Context, bin string) {
	t.Helper()
	a.cmd = exec.CommandContext(ctx, filepath.Join(bin, "waptagent"), "run", "-c", a.ini)
	a.log = &lockedBuffer{}
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := a.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
}

func (a *agentProc) stop(t *testing.T) {
	t.Helper()
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = a.cmd.Process.Kill()
		t.Errorf("waptagent did not stop on SIGTERM:\n%s", a.log.String())
	}
}

// TestAgentsAndActions runs waptserver and two waptagent services as real
// processes: the agents register and report NEED-INSTALL for their host
// packages, an admin-signed upgrade action installs them (files on disk,
// OK on the server), refused actions run nothing, and an action pending
// while the server is killed and restarted runs exactly once.
func TestAgentsAndActions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts a server and agents")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, data := t.TempDir(), t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./server/cmd/waptserver", "./agent/cmd/wapt-get", "./agent/cmd/waptagent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	demo := exec.CommandContext(ctx, "packaging/demo-repo.sh", bin, data)
	demo.Env = append(os.Environ(), "WAPT_KEY_PASSWORD=demo-pw")
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("demo-repo.sh: %v\n%s", err, out)
	}
	srv := startServer(t, ctx, bin, data, "127.0.0.1:0")
	base := srv.base
	keys := filepath.Join(data, "keys")
	adminID := []string{"--key", filepath.Join(keys, "demo-admin.pem"), "--cert", filepath.Join(keys, "demo-admin.crt"), "--server", base}
	wgEnv := append(os.Environ(), "WAPT_KEY_PASSWORD=demo-pw", "WAPT_BOOTSTRAP="+srv.bootstrap)
	wapt := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "wapt-get"), args...)
		cmd.Env = wgEnv
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("wapt-get %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	admin := func(args ...string) string { t.Helper(); return wapt(true, append(args, adminID...)...) }
	wapt(true, "register-admin", "--cert", filepath.Join(keys, "demo-admin.crt"), "--rights", "admin", "--bootstrap-password-env", "WAPT_BOOTSTRAP", "--server", base)

	// A package whose audit() leaves one file per run: how many times an
	// action ran is then counted on disk.
	counter := filepath.Join(t.TempDir(), "e2e-counter")
	must(t, os.MkdirAll(filepath.Join(counter, "WAPT"), 0o755))
	must(t, os.WriteFile(filepath.Join(counter, "WAPT", "control"), []byte("package: e2e-counter\nversion: 1-1\narchitecture: all\nsection: base\npriority: optional\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(counter, "mark.txt"), []byte("run\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(counter, "setup.py"), []byte(`from setuphelpers import *
import time

def install():
    mkdirs(makepath(persistent_dir, 'runs'))
    filecopyto('mark.txt', makepath(persistent_dir, 'mark.txt'))

def audit():
    filecopyto(makepath(persistent_dir, 'mark.txt'), makepath(persistent_dir, 'runs', str(time.time())))
    return 'OK'
`), 0o644))
	admin("build-upload", counter)

	serverCA, err := os.ReadFile(filepath.Join(data, "pki", "host-ca.crt"))
	must(t, err)
	adminCA, err := os.ReadFile(filepath.Join(data, "ssl", "demo-ca.crt"))
	must(t, err)
	agents := map[string]*agentProc{}
	for _, uuid := range []string{"agent-a", "agent-b"} {
		dir := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(dir, "ssl"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "ssl", "demo-ca.crt"), adminCA, 0o644))
		must(t, os.MkdirAll(filepath.Join(dir, "server-ca"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "server-ca", "host-ca.crt"), serverCA, 0o644))
		ini := filepath.Join(dir, "wapt-get.ini")
		must(t, os.WriteFile(ini, []byte("[global]\nrepo_url = "+base+"/wapt\nindex_certs_dir = server-ca\nuuid = "+uuid+
			"\nwapt_server = "+base+"\nenrollment_token = "+srv.token+"\nlocal_api = "+filepath.Join(dir, "agent.sock")+"\n"), 0o644))
		admin("edit-host", uuid, "--depends", "demo-hello,e2e-counter")
		agents[uuid] = &agentProc{dir: dir, ini: ini}
		agents[uuid].start(t, ctx, bin)
	}

	hostStates := func() map[string]string {
		var l wire.HostList
		if err := json.Unmarshal([]byte(admin("hosts", "--json")), &l); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, h := range l.Hosts {
			m[h.UUID] = h.Status
		}
		return m
	}
	waitStates := func(want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			st := hostStates()
			if st["agent-a"] == want && st["agent-b"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("hosts %v, want both %s\nagent-a:\n%s\nagent-b:\n%s\nserver:\n%s", st, want,
					agents["agent-a"].log.String(), agents["agent-b"].log.String(), srv.log.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The services registered, updated and reported what they must install.
	waitStates(wire.StateNeedInstall)

	// An admin-signed upgrade, relayed by the server: both hosts install.
	doneRE := regexp.MustCompile(`(?m)^agent-[ab]\s+done\s`)
	out := admin("host-action", "upgrade", "--host", "agent-a,agent-b", "--wait", "90s")
	if len(doneRE.FindAllString(out, -1)) != 2 {
		t.Fatalf("host-action upgrade:\n%s", out)
	}
	waitStates(wire.StateOK)
	for uuid, a := range agents {
		if b, err := os.ReadFile(filepath.Join(a.dir, "private", "persistent", "demo-hello", "demo-hello", "hello.txt")); err != nil || !strings.Contains(string(b), "Hello") {
			t.Errorf("%s: demo-hello not installed: %v", uuid, err)
		}
	}

	// The agents sent their real inventory: dpkg software on this machine.
	if out := admin("host-show", "agent-a", "--json"); !strings.Contains(out, `"software"`) || !strings.Contains(out, `"hardware`) && !strings.Contains(out, `"cpu"`) {
		t.Errorf("host-show agent-a: no inventory sections:\n%.2000s", out)
	}
	// Found by their real software (dpkg on Debian/Ubuntu, rpm elsewhere).
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		if out := admin("hosts", "--filter", "software:dpkg<999"); !strings.Contains(out, "agent-a") || !strings.Contains(out, "agent-b") {
			t.Errorf("hosts --filter software:dpkg<999:\n%s", out)
		}
		if out := admin("hosts", "--filter", "software:dpkg<0.1"); strings.Contains(out, "agent-a") {
			t.Errorf("hosts --filter software:dpkg<0.1 lists agent-a:\n%s", out)
		}
	}
	out = admin("host-action", "inventory", "--host", "agent-a", "--wait", "60s")
	if len(doneRE.FindAllString(out, -1)) != 1 {
		t.Errorf("inventory action:\n%s", out)
	}

	// wapt-get on a host whose service runs hands the work to the service
	// through the local API (the caller identified by the OS).
	if out := wapt(true, "update", "-c", agents["agent-a"].ini); !strings.Contains(out, "handed to the service") || !strings.Contains(out, "update: OK") {
		t.Errorf("wapt-get update with the service running:\n%s", out)
	}

	// Refused: an action signed by an admin certificate the agents do not
	// trust (its CA is not theirs) is refused by the server already; an
	// action for another host is not run by the agent it does not name.
	other := filepath.Join(t.TempDir(), "other")
	must(t, os.MkdirAll(other, 0o755))
	wapt(true, "create-keycert", "--cn", "stranger", "--code-signing", "--out", other)
	strangerID := []string{"--key", filepath.Join(other, "stranger.pem"), "--cert", filepath.Join(other, "stranger.crt"), "--server", base}
	if out := wapt(false, append([]string{"host-action", "audit", "--host", "agent-a"}, strangerID...)...); !strings.Contains(out, "401") {
		t.Errorf("untrusted admin: %s", out)
	}

	runs := func(a *agentProc) int {
		es, _ := os.ReadDir(filepath.Join(a.dir, "private", "persistent", "e2e-counter", "runs"))
		return len(es)
	}
	before := runs(agents["agent-a"])
	out = admin("host-action", "audit", "--force", "--host", "agent-b", "--wait", "60s")
	if len(doneRE.FindAllString(out, -1)) != 1 || runs(agents["agent-b"]) != 1 || runs(agents["agent-a"]) != before {
		t.Fatalf("audit for agent-b only: runs a=%d b=%d\n%s", runs(agents["agent-a"]), runs(agents["agent-b"]), out)
	}

	// Exactly once across a server crash: agent-b is down when the action
	// is sent; the server is killed and restarted; agent-b starts, gets the
	// pending action and runs it; another restart does not run it again.
	agents["agent-b"].stop(t)
	out = admin("host-action", "audit", "--force", "--host", "agent-b", "--lifetime", "5m")
	m := regexp.MustCompile(`action audit ([0-9a-f]{64}) sent: 0 of 1`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("action while agent-b is down:\n%s", out)
	}
	id := m[1]
	srv.stop(true)
	srv = startServer(t, ctx, bin, data, strings.TrimPrefix(base, "http://"))
	agents["agent-b"].start(t, ctx, bin)
	waitAction := func(want string) wire.ActionDetail {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var d wire.ActionDetail
			if err := json.Unmarshal([]byte(admin("actions", id, "--json")), &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Results) == 1 && d.Results[0].State == want {
				return d
			}
			if time.Now().After(deadline) {
				t.Fatalf("action %s: %+v, want %s\nagent-b:\n%s", id, d.Results, want, agents["agent-b"].log.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitAction(wire.ActionDone)
	if n := runs(agents["agent-b"]); n != 2 {
		t.Errorf("agent-b ran the audit %d times in all, want 2", n)
	}
	srv.stop(true)
	srv = startServer(t, ctx, bin, data, strings.TrimPrefix(base, "http://"))
	time.Sleep(3 * time.Second) // the agents reconnect
	waitAction(wire.ActionDone)
	if n := runs(agents["agent-b"]); n != 2 {
		t.Errorf("after another restart agent-b ran the audit %d times in all, want 2", n)
	}
	// Both agents are connected again and still take actions.
	out = admin("host-action", "update", "--host", "agent-a,agent-b", "--wait", "60s")
	if len(doneRE.FindAllString(out, -1)) != 2 {
		t.Errorf("update after the restarts:\n%s\nagent-a:\n%s", out, agents["agent-a"].log.String())
	}
	for _, a := range agents {
		a.stop(t)
	}
	srv.stop(false)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
