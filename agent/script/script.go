// Package script runs WAPT setup.py hooks (install, uninstall,
// session_setup, audit, update_package) in an embedded Starlark
// interpreter, never in a system Python. A source pre-pass accepts WAPT's
// Python idioms (coding cookies, imports, u"" strings, raise X(msg)); the
// setuphelpers functions are Go builtins with WAPT's names and keyword
// arguments, and every process and file-system change goes through a
// System so that a dry run records it instead.
package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/wapt-go/wapt/agent/engine"
)

// Defaults for Config.
const (
	DefaultMaxSteps = 50_000_000
	DefaultTimeout  = 30 * time.Minute
	maxOutput       = 1 << 20 // print output kept (the tail)
)

// Config holds a Runner's dependencies.
type Config struct {
	Logf     func(format string, args ...any) // nil: discard
	MaxSteps uint64                           // Starlark execution steps per run (default 50M)
	Timeout  time.Duration                    // per run (default 30 min)
	System   System                           // nil: OS{}
}

// Runner runs setup.py hooks; it is safe for concurrent use.
type Runner struct {
	logf     func(format string, args ...any)
	maxSteps uint64
	timeout  time.Duration
	sys      System
}

var _ engine.Scripts = (*Runner)(nil)

// New returns a Runner.
func New(cfg Config) *Runner {
	r := &Runner{logf: cfg.Logf, maxSteps: cfg.MaxSteps, timeout: cfg.Timeout, sys: cfg.System}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	if r.maxSteps == 0 {
		r.maxSteps = DefaultMaxSteps
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.sys == nil {
		r.sys = OS{}
	}
	return r
}

// Error is a failed script: the file and line that failed and why. It
// wraps engine.ErrScript, and the context's error when the run was
// cancelled or timed out.
type Error struct {
	File      string
	Line      int // 0 when unknown
	Msg       string
	Backtrace string // Starlark call stack, when the error happened at run time
	cause     error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns engine.ErrScript and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{engine.ErrScript, e.cause}
	}
	return []error{engine.ErrScript}
}

// fileOptions is the Python-like Starlark dialect setup.py files use.
var fileOptions = &syntax.FileOptions{While: true, Set: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// Run loads req.Source and calls req.Hook with no arguments.
func (r *Runner) Run(ctx context.Context, req engine.ScriptRequest) (engine.ScriptResult, error) {
	if req.Filename == "" {
		req.Filename = "setup.py"
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	e := newEnv(ctx, r, req)
	predeclared := e.predeclared()
	res := func() engine.ScriptResult {
		out := engine.ScriptResult{Output: e.out.String(), UninstallKeys: e.keys.strings()}
		if rec, ok := e.sys.(*recorder); ok {
			out.Calls = append([]engine.Call{}, rec.calls...)
		}
		return out
	}

	src, lerr := prepass(req.Source, e.modules, predeclared)
	if lerr != nil {
		return res(), &Error{File: req.Filename, Line: lerr.line, Msg: lerr.msg}
	}
	f, err := fileOptions.Parse(req.Filename, src, 0)
	if err != nil {
		return res(), r.scriptError(ctx, req.Filename, err)
	}
	wrapUninstallKeyAssign(f)
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return res(), r.scriptError(ctx, req.Filename, err)
	}

	thread := &starlark.Thread{Name: req.Filename, Print: func(_ *starlark.Thread, msg string) { e.print(msg) }}
	thread.SetMaxExecutionSteps(r.maxSteps)
	stop := context.AfterFunc(ctx, func() { thread.Cancel(cancelReason(ctx)) })
	defer stop()

	globals, err := prog.Init(thread, predeclared)
	if err != nil {
		return res(), r.scriptError(ctx, req.Filename, err)
	}
	hook, ok := globals[req.Hook].(starlark.Callable)
	if !ok {
		return res(), fmt.Errorf("%s: %s(): %w", req.Filename, req.Hook, engine.ErrNoSuchHook)
	}
	r.logf("script: %s: %s() (dry-run=%t)", req.Filename, req.Hook, req.DryRun)
	ret, err := starlark.Call(thread, hook, nil, nil)
	if err != nil {
		return res(), r.scriptError(ctx, req.Filename, err)
	}
	out := res()
	switch v := ret.(type) {
	case starlark.NoneType:
	case starlark.String:
		out.Return = string(v)
	default:
		out.Return = v.String()
	}
	return out, nil
}

func cancelReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	return "cancelled"
}

// scriptError turns a parse, resolve or evaluation error into an *Error
// naming the script's file and line.
func (r *Runner) scriptError(ctx context.Context, file string, err error) error {
	se := &Error{File: file, Msg: err.Error(), cause: ctx.Err()}
	var (
		synErr  syntax.Error
		evalErr *starlark.EvalError
	)
	switch {
	case errors.As(err, &synErr):
		se.Line, se.Msg = int(synErr.Pos.Line), synErr.Msg
	case errors.As(err, &evalErr):
		se.Backtrace = evalErr.Backtrace()
		for i := len(evalErr.CallStack) - 1; i >= 0; i-- {
			if fr := evalErr.CallStack[i]; fr.Pos.Filename() == file {
				se.Line = int(fr.Pos.Line)
				break
			}
		}
		se.Msg = evalErr.Msg
		var pe *packageError
		if errors.As(err, &pe) {
			se.Msg = pe.msg
		}
		if ctx.Err() != nil && strings.Contains(se.Msg, "cancelled") {
			se.Msg = fmt.Sprintf("stopped: %s", cancelReason(ctx))
		}
	default:
		if l, msg, ok := resolveError(err); ok {
			se.Line, se.Msg = l, msg
		}
	}
	r.logf("script: %v", se)
	return se
}

// resolveError reads the first error of a resolve.ErrorList.
func resolveError(err error) (int, string, bool) {
	var list resolve.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		msg := list[0].Msg
		if len(list) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(list)-1)
		}
		return int(list[0].Pos.Line), msg, true
	}
	return 0, "", false
}

// wrapUninstallKeyAssign turns a top-level `uninstallkey = X` into
// `uninstallkey = __wapt_set_uninstallkey(X)`, so the global stays the
// mutable Go-side list that install() may append to after globals freeze.
func wrapUninstallKeyAssign(f *syntax.File) {
	for _, st := range f.Stmts {
		as, ok := st.(*syntax.AssignStmt)
		if !ok || as.Op != syntax.EQ {
			continue
		}
		if id, ok := as.LHS.(*syntax.Ident); !ok || id.Name != "uninstallkey" {
			continue
		}
		start, end := as.RHS.Span()
		as.RHS = &syntax.CallExpr{
			Fn:     &syntax.Ident{NamePos: start, Name: setUninstallKeyName},
			Lparen: start,
			Args:   []syntax.Expr{as.RHS},
			Rparen: end,
		}
	}
}
