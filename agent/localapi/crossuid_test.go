//go:build linux || darwin

package localapi_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

// The unprivileged identity the helper client runs as.
const (
	otherUID = 65534
	otherGID = 65534
)

// helperEnv names the socket the helper client talks to; TestHelperClient
// only runs when it is set.
const helperEnv = "WAPT_LOCALAPI_HELPER_SOCKET"

// TestCrossUID runs a client as another user (uid 65534) against a server
// run by root, through a real socket: the backend must see that uid, not
// root's, and refuse what only an admin may do, while root on the same
// socket is an admin.
func TestCrossUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	dir := sockDir(t)
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
	ts := startServer(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helper, "-test.run=^TestHelperClient$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, helperEnv + "=" + ts.path}
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
	if !strings.Contains(string(out), "--- PASS: TestHelperClient") {
		t.Fatalf("the helper client did not run its test:\n%s", out)
	}

	wantName := strconv.Itoa(otherUID)
	if u, err := user.LookupId(wantName); err == nil {
		wantName = u.Username
	}
	wantGroup := strconv.Itoa(otherGID)
	if g, err := user.LookupGroupId(wantGroup); err == nil {
		wantGroup = g.Name
	}
	calls := ts.backend.Calls()
	methods := map[string]bool{}
	for _, cl := range calls {
		methods[cl.Method] = true
		c := cl.Caller
		if c.UID != strconv.Itoa(otherUID) || c.Username != wantName || c.Admin {
			t.Errorf("%s: backend saw caller %+v, want uid %d (%s), not admin", cl.Method, c, otherUID, wantName)
		}
		if !contains(c.Groups, wantGroup) {
			t.Errorf("%s: caller groups %v lack %q", cl.Method, c.Groups, wantGroup)
		}
	}
	for _, m := range []string{"Status", "StartTask", "SelfService", "Tasks"} {
		if !methods[m] {
			t.Errorf("the backend saw no %s call from the helper; calls: %+v", m, calls)
		}
	}
	reqs, _ := ts.backend.Requests()
	if len(reqs) != 1 || reqs[0].Kind != wire.LocalKindInstall {
		t.Errorf("accepted requests from uid %d = %+v, want only the self-service install", otherUID, reqs)
	}

	// Root on the same socket is an admin and may upgrade.
	if _, err := ts.client.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade}); err != nil {
		t.Errorf("root StartTask(upgrade): %v", err)
	}
	calls = ts.backend.Calls()
	if last := calls[len(calls)-1].Caller; last.UID != "0" || !last.Admin {
		t.Errorf("root's call seen as %+v", last)
	}
}

// TestHelperClient is the client half of TestCrossUID, run as uid 65534
// in a copy of the test binary.
func TestHelperClient(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("only run by TestCrossUID")
	}
	if os.Getuid() != otherUID || os.Getgid() != otherGID {
		t.Fatalf("running as %d:%d, want %d:%d", os.Getuid(), os.Getgid(), otherUID, otherGID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := localclient.New(path)
	if !c.Running(ctx) {
		t.Fatal("Running = false")
	}
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("Status: %v", err)
	}
	_, err := c.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindUpgrade})
	if !errors.Is(err, localclient.ErrForbidden) {
		t.Fatalf("StartTask(upgrade) as uid %d: %v, want ErrForbidden", otherUID, err)
	}
	t.Logf("refused as expected: %v", err)
	ss, err := c.SelfService(ctx)
	if err != nil || len(ss) == 0 {
		t.Fatalf("SelfService: %v, %v", ss, err)
	}
	if _, err := c.StartTask(ctx, wire.LocalTaskRequest{Kind: wire.LocalKindInstall, Packages: []string{ss[0].Package}}); err != nil {
		t.Fatalf("StartTask(install %s): %v", ss[0].Package, err)
	}
	if _, err := c.Tasks(ctx); err != nil {
		t.Fatalf("Tasks: %v", err)
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
