package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/script"
)

// Bounds of a setup.py dry run in the console.
const (
	previewSteps   = 20_000_000
	previewTimeout = 15 * time.Second
	// syntaxHook is a hook name no script defines: loading the script
	// (parse, resolve, top level in dry-run) then stops at ErrNoSuchHook.
	syntaxHook = "__waptconsole_syntax_check__"
)

// errPreview is what the preview System answers for an action the dry
// run should have recorded.
var errPreview = errors.New("not available in a preview")

// previewSystem is the System of the console's dry runs: the script
// runner records every change instead of calling it, and read-only
// queries (dpkg-query, pkgutil, ...) answer "nothing known" instead of
// looking at the admin's own machine.
type previewSystem struct{}

var _ script.System = previewSystem{}

func (previewSystem) Run(context.Context, []string, script.RunOptions) (string, int, error) {
	return "", -1, errPreview
}

func (previewSystem) Query(context.Context, []string, script.RunOptions) (string, int, error) {
	return "", 1, nil
}
func (previewSystem) CopyFile(string, string) error                      { return errPreview }
func (previewSystem) MkdirAll(string) error                              { return errPreview }
func (previewSystem) Remove(string) error                                { return errPreview }
func (previewSystem) RemoveAll(string) error                             { return errPreview }
func (previewSystem) Rename(string, string) error                        { return errPreview }
func (previewSystem) Kill(int) error                                     { return errPreview }
func (previewSystem) SetRegistryValue(uint32, string, string, any) error { return errPreview }

// dryRun runs hook of d's setup.py in dry-run mode.
func dryRun(ctx context.Context, d *Draft, hook string) (engine.ScriptResult, error) {
	r := script.New(script.Config{MaxSteps: previewSteps, Timeout: previewTimeout, System: previewSystem{}})
	req := engine.ScriptRequest{
		Source:        []byte(d.SetupPy),
		Filename:      setupFile,
		Hook:          hook,
		WorkDir:       d.Dir,
		DryRun:        true,
		PersistentDir: filepath.Join(os.TempDir(), "wapt-persistent"),
	}
	if d.Control != nil {
		req.Control = d.Control.Clone()
		if p := d.Control.Package(); p != "" && filepath.IsLocal(p) {
			req.PersistentDir = filepath.Join(req.PersistentDir, p)
		}
	}
	return r.Run(ctx, req)
}

// checkScript loads d's setup.py without calling any hook: nil when it
// parses and its top level runs, else the *script.Error naming the line.
func checkScript(ctx context.Context, d *Draft) error {
	_, err := dryRun(ctx, d, syntaxHook)
	if errors.Is(err, engine.ErrNoSuchHook) {
		return nil
	}
	if err == nil {
		return nil
	}
	return err
}

// CheckScript runs hook ("install" when empty) of d's setup.py with the
// agent's script engine in dry-run mode, in d.Dir: processes, copies,
// removals and registry writes are recorded in Preview.Calls, never done.
// Helpers of another OS than the console's (install_msi_if_needed on
// Linux, ...) fail as they would on this OS.
func CheckScript(ctx context.Context, d *Draft, hook string) Preview {
	if hook == "" {
		hook = "install"
	}
	switch {
	case !validHook(hook):
		return Preview{Err: fmt.Errorf("%w: unknown hook %q (install, uninstall, session_setup, audit, update_package)", ErrInvalid, hook)}
	case d == nil || d.SetupPy == "":
		return Preview{Err: fmt.Errorf("%w: the package has no setup.py", ErrInvalid)}
	}
	res, err := dryRun(ctx, d, hook)
	p := Preview{Output: res.Output, Err: err}
	for _, c := range res.Calls {
		p.Calls = append(p.Calls, formatCall(c))
	}
	return p
}

// formatCall writes a recorded call the Python way: run(['a', 'b']) for
// a command, name('a', 'b') for the others.
func formatCall(c engine.Call) string {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = pyQuote(a)
	}
	if c.Name == "run" {
		return "run([" + strings.Join(args, ", ") + "])"
	}
	return c.Name + "(" + strings.Join(args, ", ") + ")"
}

var pyEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

func pyQuote(s string) string { return "'" + pyEscaper.Replace(s) + "'" }
