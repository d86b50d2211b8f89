//go:build linux || darwin

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/wire"
)

// The unprivileged identity the helper client runs as ("nobody",
// "nogroup" on Debian).
const (
	otherUID = 65534
	otherGID = 65534
)

// helperEnv names the socket the helper client talks to; the helper test
// only runs when it is set.
const helperEnv = "WAPT_DAEMON_SELFSERVICE_HELPER_SOCKET"

// TestSelfServiceCrossUID serves the real daemon's local API on a real
// unix socket, then runs a copy of this test binary as uid 65534: the
// daemon identifies it by SO_PEERCRED, offers and lets it install only the
// packages granted to its group or to its user name, and refuses one
// granted to a group it is not in, whatever the client sends.
func TestSelfServiceCrossUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	dir, err := os.MkdirTemp("", "wsd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, ok := reachableByOthers(dir); !ok {
		t.Skipf("%s is not searchable by other users, so uid %d cannot reach a socket under it", p, otherUID)
	}
	helper := filepath.Join(dir, "helper.test")
	if err := copyExecutable(helper); err != nil {
		t.Fatal(err)
	}
	userName, groupName := strconv.Itoa(otherUID), strconv.Itoa(otherGID)
	if u, err := user.LookupId(userName); err == nil {
		userName = u.Username
	}
	if g, err := user.LookupGroupId(groupName); err == nil {
		groupName = g.Name
	}
	rules := fmt.Sprintf(`{%q: ["tis-group"], %q: ["tis-user"], "wapt-test-staff": ["tis-forbidden"]}`, groupName, "user:"+userName)
	eng := &fakeEngine{
		catalog: []resolve.Candidate{cand("tis-forbidden", "1"), cand("tis-group", "1"), cand("tis-user", "1"), cand("tis-other", "1")},
		rules:   []engine.SelfServiceRules{{Package: "rules", Version: "1", Data: []byte(rules)}},
	}
	d := runDaemon(t, eng, Config{Logf: t.Logf})

	path := filepath.Join(dir, "agent.sock")
	l, err := localapi.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- localapi.New(d, localapi.WithLogf(t.Logf)).Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	cmd := exec.CommandContext(ctx, helper, "-test.run=^TestSelfServiceHelperClient$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, helperEnv + "=" + path}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: otherUID, Gid: otherGID, Groups: []uint32{}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			t.Skipf("uid %d may not run %s (noexec temp dir?): %v", otherUID, helper, err)
		}
		t.Fatalf("helper client: %v\n%s", err, out)
	}
	t.Logf("helper client:\n%s", out)
	if !strings.Contains(string(out), "--- PASS: TestSelfServiceHelperClient") {
		t.Fatalf("the helper client did not run its test:\n%s", out)
	}

	// The helper's tasks ran as its identity, and only those it was granted.
	ts, _ := d.Tasks(ctx, wire.LocalCaller{})
	if len(ts) != 2 {
		t.Fatalf("tasks %+v, want the helper's two installs", ts)
	}
	for _, tk := range ts {
		if tk.Caller != userName {
			t.Errorf("task %+v not recorded as %s's", tk, userName)
		}
		waitTask(t, d, tk.ID)
	}
	if calls := eng.Calls(); !slices.Equal(calls, []string{"install-packages tis-group", "install-packages tis-user"}) {
		t.Errorf("engine calls %v", calls)
	}

	// Root on the same socket is an administrator: no rule needed.
	task, err := localclient.New(path).StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{"tis-forbidden"}})
	if err != nil {
		t.Fatalf("root install: %v", err)
	}
	waitTask(t, d, task.ID)
	if calls := eng.Calls(); calls[len(calls)-1] != "install-packages tis-forbidden" {
		t.Errorf("engine calls %v", calls)
	}
}

// TestSelfServiceHelperClient is the client half of TestSelfServiceCrossUID,
// run as uid 65534 in a copy of the test binary.
func TestSelfServiceHelperClient(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("only run by TestSelfServiceCrossUID")
	}
	if os.Getuid() != otherUID || os.Getgid() != otherGID {
		t.Fatalf("running as %d:%d, want %d:%d", os.Getuid(), os.Getgid(), otherUID, otherGID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := localclient.New(path)
	ss, err := c.SelfService(ctx)
	if err != nil {
		t.Fatalf("SelfService: %v", err)
	}
	var names []string
	for _, p := range ss {
		names = append(names, p.Package)
	}
	if strings.Join(names, ",") != "tis-group,tis-user" {
		t.Fatalf("SelfService offers %v, want tis-group and tis-user", names)
	}
	for _, pkgs := range [][]string{{"tis-forbidden"}, {"tis-other"}, {"tis-group", "tis-forbidden"}} {
		_, err := c.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: pkgs})
		if !errors.Is(err, localclient.ErrForbidden) {
			t.Fatalf("install %v: %v, want ErrForbidden", pkgs, err)
		}
		t.Logf("install %v refused as expected: %v", pkgs, err)
	}
	for _, p := range []string{"tis-group", "tis-user"} {
		if _, err := c.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{p}}); err != nil {
			t.Fatalf("install %s: %v", p, err)
		}
	}
}

// reachableByOthers reports whether every directory from dir up to the
// root is searchable by others; if not, it returns the first one that is
// not.
func reachableByOthers(dir string) (string, bool) {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return p, false
		}
		if filepath.Dir(p) == p {
			return "", true
		}
	}
}

// copyExecutable copies the running test binary to dst, mode 0755: the
// go build cache directory holding it is not readable by other users.
func copyExecutable(dst string) error {
	src, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
