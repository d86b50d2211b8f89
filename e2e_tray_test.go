package wapt_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
	"github.com/wapt-go/wapt/tray/menu"
)

// recordUI is a menu.UI that records what the tray shows.
type recordUI struct {
	mu    sync.Mutex
	items []*recordItem
	ic    menu.Icon
}

type recordItem struct {
	ui     *recordUI
	title  string
	hidden bool
	click  chan struct{}
}

func (u *recordUI) SetIcon(k menu.Icon) { u.mu.Lock(); u.ic = k; u.mu.Unlock() }
func (u *recordUI) SetTooltip(string)   {}
func (u *recordUI) add(title string) menu.Item {
	u.mu.Lock()
	defer u.mu.Unlock()
	it := &recordItem{ui: u, title: title, click: make(chan struct{})}
	u.items = append(u.items, it)
	return it
}
func (u *recordUI) AddItem(title, _ string) menu.Item                 { return u.add(title) }
func (u *recordUI) AddCheckbox(title, _ string, _ bool) menu.Item     { return u.add(title) }
func (u *recordUI) AddSubItem(_ menu.Item, title, _ string) menu.Item { return u.add(title) }
func (u *recordUI) AddSeparator()                                     {}
func (u *recordUI) Notify(string, string)                             {}
func (u *recordUI) Quit()                                             {}

func (u *recordUI) icon() menu.Icon { u.mu.Lock(); defer u.mu.Unlock(); return u.ic }

func (u *recordUI) titles() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, it := range u.items {
		if !it.hidden {
			out = append(out, it.title)
		}
	}
	return out
}

func (u *recordUI) shows(s string) bool {
	for _, t := range u.titles() {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func (i *recordItem) SetTitle(t string)        { i.ui.mu.Lock(); i.title = t; i.ui.mu.Unlock() }
func (i *recordItem) SetTooltip(string)        {}
func (i *recordItem) Enable()                  {}
func (i *recordItem) Disable()                 {}
func (i *recordItem) Show()                    { i.ui.mu.Lock(); i.hidden = false; i.ui.mu.Unlock() }
func (i *recordItem) Hide()                    { i.ui.mu.Lock(); i.hidden = true; i.ui.mu.Unlock() }
func (i *recordItem) Check()                   {}
func (i *recordItem) Uncheck()                 {}
func (i *recordItem) Clicked() <-chan struct{} { return i.click }

// TestTrayAndWaptexitWithAgent runs waptexit (text UI) against a real waptagent
// whose host must install a package: it counts down, has the service run
// the upgrade, and exits 0 with the host OK; run again with nothing
// pending, it exits at once.
func TestTrayAndWaptexitWithAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts a server and an agent")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bin, data := t.TempDir(), t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./server/cmd/waptserver", "./agent/cmd/wapt-get", "./agent/cmd/waptagent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// waptexit links Fyne for its window (cgo); the text UI is used here.
	if err := exec.CommandContext(ctx, "pkg-config", "--exists", "gl", "x11").Run(); err != nil {
		t.Skip("waptexit links Fyne: the GUI libraries are missing (packaging/install-deps.sh gui)")
	}
	build = exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./tray/selfservice/cmd/waptexit")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build waptexit: %v\n%s", err, out)
	}
	demo := exec.CommandContext(ctx, "packaging/demo-repo.sh", bin, data)
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("demo-repo.sh: %v\n%s", err, out)
	}
	srv := startServer(t, ctx, bin, data, "127.0.0.1:0")
	keys := filepath.Join(data, "keys")
	admin := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "wapt-get"), append(args, "--server", srv.base,
			"--key", filepath.Join(keys, "demo-admin.pem"), "--cert", filepath.Join(keys, "demo-admin.crt"))...)
		cmd.Env = append(os.Environ(), "WAPT_BOOTSTRAP="+srv.bootstrap)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("wapt-get %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	reg := exec.CommandContext(ctx, filepath.Join(bin, "wapt-get"), "register-admin", "--server", srv.base, "--cert", filepath.Join(keys, "demo-admin.crt"),
		"--rights", "admin", "--bootstrap-password-env", "WAPT_BOOTSTRAP")
	reg.Env = append(os.Environ(), "WAPT_BOOTSTRAP="+srv.bootstrap)
	if out, err := reg.CombinedOutput(); err != nil {
		t.Fatalf("register-admin: %v\n%s", err, out)
	}
	admin("edit-host", "exit-host", "--depends", "demo-hello")

	dir := t.TempDir()
	for sub, src := range map[string]string{"ssl": filepath.Join(data, "ssl", "demo-ca.crt"), "server-ca": filepath.Join(data, "pki", "host-ca.crt")} {
		b, err := os.ReadFile(src)
		must(t, err)
		must(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, sub, filepath.Base(src)), b, 0o644))
	}
	sock := filepath.Join(dir, "agent.sock")
	ini := filepath.Join(dir, "wapt-get.ini")
	must(t, os.WriteFile(ini, []byte("[global]\nrepo_url = "+srv.base+"/wapt\nindex_certs_dir = server-ca\nuuid = exit-host\nwapt_server = "+srv.base+
		"\nenrollment_token = "+srv.token+"\nlocal_api = "+sock+"\nwaptexit_countdown = 1\n"), 0o644))
	a := &agentProc{dir: dir, ini: ini}
	a.start(t, ctx, bin)
	defer a.stop(t)

	status := func() string {
		var l wire.HostList
		if err := json.Unmarshal([]byte(admin("hosts", "--json")), &l); err != nil {
			t.Fatal(err)
		}
		for _, h := range l.Hosts {
			if h.UUID == "exit-host" {
				return h.Status
			}
		}
		return ""
	}
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for status() != want {
			if time.Now().After(deadline) {
				t.Fatalf("host status %q, want %s\nagent:\n%s", status(), want, a.log.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitStatus(wire.StateNeedInstall)

	// The tray's logic against the real agent (its local API socket): the
	// icon says pending and the submenu lists demo-hello. The recording UI
	// stands in for the system tray.
	ui := &recordUI{}
	tctx, tcancel := context.WithCancel(ctx)
	tdone := make(chan error, 1)
	go func() {
		tdone <- menu.New(menu.Config{Agent: localclient.New(sock), UI: ui, PollInterval: 200 * time.Millisecond}).Run(tctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !ui.shows("demo-hello") || ui.icon() != menu.IconPending {
		if time.Now().After(deadline) {
			t.Fatalf("tray: icon %v, items %q", ui.icon(), ui.titles())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tcancel()
	<-tdone
	trayUnderXvfb(t, ctx, bin, sock)

	waptexit := func() (string, time.Duration) {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "waptexit"), "--console", "--socket", sock)
		cmd.Stdin = strings.NewReader("") // nobody answers: the countdown runs out
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("waptexit: %v\n%s\nagent:\n%s", err, out, a.log.String())
		}
		return string(out), time.Since(start)
	}
	out, _ := waptexit()
	if !strings.Contains(out, "demo-hello") {
		t.Errorf("waptexit did not list the pending package:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "private", "persistent", "demo-hello", "demo-hello", "hello.txt")); err != nil || !strings.Contains(string(b), "Hello") {
		t.Errorf("demo-hello not installed by waptexit's upgrade: %v\n%s", err, out)
	}
	waitStatus(wire.StateOK)
	if out, took := waptexit(); took > 10*time.Second || strings.Contains(out, "demo-hello") {
		t.Errorf("with nothing pending waptexit took %s:\n%s", took, out)
	}
}

// trayScript runs wapttray under Xvfb in a private D-Bus session and prints
// its menu (com.canonical.dbusmenu, exported by the status-notifier
// library) once it lists demo-hello.
const trayScript = `
xvfb-run -a "$TRAY" --socket "$SOCK" --poll 500ms >"$LOG" 2>&1 &
for i in $(seq 1 20); do
  for n in $(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
      --method org.freedesktop.DBus.ListNames | grep -o "':1\.[0-9]*'" | tr -d "'"); do
    out=$(gdbus call --timeout 2 --session --dest "$n" --object-path /org/ayatana/NotificationItem/systray/Menu \
      --method com.canonical.dbusmenu.GetLayout -- 0 -1 '@as []' 2>/dev/null) || continue
    case "$out" in *demo-hello*) echo "$out"; kill %1 2>/dev/null; exit 0;; esac
  done
  sleep 0.5
done
kill %1 2>/dev/null
exit 1
`

// trayUnderXvfb runs the real tray (systray, cgo) under Xvfb against the
// agent's socket and reads its menu over D-Bus: the pending upgrade is
// listed. Skipped where Xvfb, D-Bus or the GUI libraries are missing.
func trayUnderXvfb(t *testing.T, ctx context.Context, bin, sock string) {
	t.Helper()
	for _, tool := range []string{"xvfb-run", "dbus-run-session", "gdbus"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("real tray not tried: %s missing (packaging/install-deps.sh gui)", tool)
			return
		}
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./tray/cmd/wapttray")
	if out, err := build.CombinedOutput(); err != nil {
		t.Logf("real tray not tried: go build wapttray: %v\n%s", err, out)
		return
	}
	log := filepath.Join(t.TempDir(), "tray.log")
	cmd := exec.CommandContext(ctx, "dbus-run-session", "--", "sh", "-c", trayScript)
	cmd.Env = append(os.Environ(), "TRAY="+filepath.Join(bin, "wapttray"), "SOCK="+sock, "LOG="+log)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "demo-hello") || !strings.Contains(string(out), "ending") {
		b, _ := os.ReadFile(log)
		t.Errorf("the tray under Xvfb did not list the pending upgrade: %v\n%s\ntray log:\n%s", err, out, b)
	}
}
