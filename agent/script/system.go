package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
)

// RunOptions tunes one command run through System.
type RunOptions struct {
	Dir     string        // working directory (the package's WorkDir when empty in scripts)
	Env     []string      // extra KEY=VALUE entries added to the agent's environment
	Timeout time.Duration // 0: no limit besides ctx
	// Shell means argv is {shell, flag, command line}: the last element is
	// a raw command line for the shell (on Windows it is passed verbatim to
	// cmd.exe, not re-quoted).
	Shell bool
}

// System is everything a script does to the machine: processes and
// file-system changes. Reads (isfile, listdir, …) go to the real file
// system directly; Query runs read-only commands. In dry-run mode the
// runner wraps System so that mutations are recorded instead of done.
type System interface {
	// Run runs argv and returns its combined output (bounded, tail kept)
	// and exit code. A non-zero exit is not an error; failing to start,
	// a timeout or a cancellation is.
	Run(ctx context.Context, argv []string, opts RunOptions) (output string, exitCode int, err error)
	// Query is Run for commands that only read (dpkg-deb -f, dpkg-query,
	// pkgutil --pkgs): it runs even in dry-run mode.
	Query(ctx context.Context, argv []string, opts RunOptions) (output string, exitCode int, err error)
	CopyFile(src, dst string) error // dst is a file path; mode is kept
	MkdirAll(path string) error
	Remove(path string) error
	RemoveAll(path string) error
	Rename(oldpath, newpath string) error
	Kill(pid int) error
	// SetRegistryValue writes a Windows registry value (root is an
	// HKEY_* constant); other systems return an error.
	SetRegistryValue(root uint32, path, name string, value any) error
}

// maxCommandOutput bounds what is kept of a command's output.
const maxCommandOutput = 1 << 20

// OS is the System of the machine the agent runs on.
type OS struct{}

var _ System = OS{}

// Run implements System.
func (OS) Run(ctx context.Context, argv []string, opts RunOptions) (string, int, error) {
	if len(argv) == 0 {
		return "", -1, errors.New("empty command")
	}
	parent := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = opts.Dir
	if len(opts.Env) > 0 {
		cmd.Env = append(os.Environ(), opts.Env...)
	}
	var out tailBuffer
	out.max = maxCommandOutput
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	prepareCommand(cmd, argv, opts)
	err := cmd.Run()
	if parent.Err() != nil {
		return out.String(), -1, parent.Err()
	}
	if ctx.Err() != nil {
		return out.String(), -1, fmt.Errorf("timed out after %s: %w", opts.Timeout, ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode(), nil
	}
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), 0, nil
}

// Query implements System.
func (o OS) Query(ctx context.Context, argv []string, opts RunOptions) (string, int, error) {
	return o.Run(ctx, argv, opts)
}

// CopyFile implements System.
func (OS) CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("copy %s: is a directory", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	_ = os.Chtimes(dst, time.Now(), st.ModTime())
	return os.Chmod(dst, st.Mode().Perm())
}

// MkdirAll implements System.
func (OS) MkdirAll(path string) error { return os.MkdirAll(path, 0o755) }

// Remove implements System.
func (OS) Remove(path string) error { return os.Remove(path) }

// RemoveAll implements System.
func (OS) RemoveAll(path string) error { return os.RemoveAll(path) }

// Rename implements System.
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Kill implements System.
func (OS) Kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// SetRegistryValue implements System.
func (OS) SetRegistryValue(root uint32, path, name string, value any) error {
	return setRegistryValue(root, path, name, value)
}

// recorder is the dry-run System: it records mutations as engine.Calls and
// passes queries through to the real System.
type recorder struct {
	real  System
	mu    sync.Mutex
	calls []engine.Call
}

func (r *recorder) record(name string, args ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, engine.Call{Name: name, Args: append([]string(nil), args...)})
}

func (r *recorder) Run(_ context.Context, argv []string, _ RunOptions) (string, int, error) {
	r.record("run", argv...)
	return "", 0, nil
}

func (r *recorder) Query(ctx context.Context, argv []string, opts RunOptions) (string, int, error) {
	return r.real.Query(ctx, argv, opts)
}

func (r *recorder) CopyFile(src, dst string) error {
	r.record("copy", src, dst)
	return nil
}

func (r *recorder) MkdirAll(path string) error {
	r.record("mkdirs", path)
	return nil
}

func (r *recorder) Remove(path string) error {
	r.record("remove", path)
	return nil
}

func (r *recorder) RemoveAll(path string) error {
	r.record("rmtree", path)
	return nil
}

func (r *recorder) Rename(oldpath, newpath string) error {
	r.record("move", oldpath, newpath)
	return nil
}

func (r *recorder) Kill(pid int) error {
	r.record("kill", strconv.Itoa(pid))
	return nil
}

func (r *recorder) SetRegistryValue(root uint32, path, name string, value any) error {
	r.record("registry_set", registryRootName(root), path, name, fmt.Sprint(value))
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	b       []byte
	dropped bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.max {
		p = p[len(p)-t.max:]
		t.b = t.b[:0]
		t.dropped = true
	}
	if over := len(t.b) + len(p) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
		t.dropped = true
	}
	t.b = append(t.b, p...)
	return n, nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return "…" + string(bytes.ToValidUTF8(t.b, nil))
	}
	return string(t.b)
}
