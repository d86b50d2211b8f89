package script

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/control"
)

// setUninstallKeyName is the builtin a top-level `uninstallkey = X` is
// routed through (see wrapUninstallKeyAssign).
const setUninstallKeyName = "__wapt_set_uninstallkey"

// env is the state of one Run: what the builtins act on.
type env struct {
	ctx     context.Context
	r       *Runner
	req     engine.ScriptRequest
	sys     System // a *recorder in dry-run mode
	out     tailBuffer
	keys    *keyList
	modules map[string]starlark.Value // "os", "os.path", …
}

func newEnv(ctx context.Context, r *Runner, req engine.ScriptRequest) *env {
	e := &env{ctx: ctx, r: r, req: req, sys: r.sys, keys: &keyList{}}
	e.out.max = maxOutput
	if req.DryRun {
		e.sys = &recorder{real: r.sys}
	}
	e.modules = e.buildModules()
	return e
}

// print is the thread's print: captured into the result, copied to
// req.Output.
func (e *env) print(msg string) {
	e.out.Write([]byte(msg + "\n"))
	if e.req.Output != nil {
		_, _ = e.req.Output.Write([]byte(msg + "\n"))
	}
}

// abs resolves a script path against the package directory.
func (e *env) abs(p string) string {
	if p == "" {
		return e.req.WorkDir
	}
	if strings.HasPrefix(p, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + p[1:]
		}
	}
	if filepath.IsAbs(p) || e.req.WorkDir == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(e.req.WorkDir, p)
}

// predeclared is the script's global scope.
func (e *env) predeclared() starlark.StringDict {
	d := starlark.StringDict{}
	for name, m := range e.modules {
		if !strings.Contains(name, ".") {
			d[name] = m
		}
	}
	for k, v := range e.helpers() {
		d[k] = v
	}
	for k, v := range e.platformHelpers() {
		d[k] = v
	}
	for _, names := range [][]string{linuxHelpers, windowsHelpers, macHelpers} {
		for _, n := range names {
			if _, ok := d[n]; !ok {
				d[n] = notAvailable(n)
			}
		}
	}
	for _, r := range registryRoots {
		d[r.name] = starlark.MakeUint64(uint64(r.key))
	}
	for i, n := range []string{"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD"} {
		d[n] = starlark.MakeInt(i)
	}
	d["REG_MULTI_SZ"] = starlark.MakeInt(7)
	d["REG_QWORD"] = starlark.MakeInt(11)

	params := starlark.NewDict(len(e.req.Params))
	keys := make([]string, 0, len(e.req.Params))
	for k := range e.req.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = params.SetKey(starlark.String(k), starlark.String(e.req.Params[k]))
	}
	c := e.req.Control
	if c == nil {
		c = control.New()
	}
	host, _ := os.Hostname()
	d["control"] = &controlValue{c: c}
	d["params"] = params
	d["persistent_dir"] = starlark.String(e.req.PersistentDir)
	d["user"] = starlark.String(e.req.User)
	d["basedir"] = starlark.String(e.req.WorkDir)
	d["uninstallkey"] = e.keys
	d["__name__"] = starlark.String("__wapt_setup__")
	d["WAPT"] = starlarkstruct.FromStringDict(starlark.String("WAPT"), starlark.StringDict{
		"dry_run": starlark.Bool(e.req.DryRun),
		"user":    starlark.String(e.req.User),
		"host": starlarkstruct.FromStringDict(starlark.String("host"), starlark.StringDict{
			"computer_name": starlark.String(host),
			"os_name":       starlark.String(osName()),
			"architecture":  starlark.String(hostArchitecture()),
		}),
	})
	d[setUninstallKeyName] = starlark.NewBuiltin(setUninstallKeyName, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		e.keys.elems = nil
		if len(args) == 1 {
			if err := e.keys.extend(args[0]); err != nil {
				return nil, fmt.Errorf("uninstallkey: %w", err)
			}
		}
		return e.keys, nil
	})
	return d
}

func notAvailable(name string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return nil, fmt.Errorf("%s: not available on %s", name, strings.ToLower(osName()))
	})
}

// packageError is raised by error(): a failure the package itself reports.
type packageError struct{ msg string }

func (p *packageError) Error() string { return p.msg }

// keyList is uninstallkey: a list that stays mutable after the module's
// globals are frozen, so install() can append to it.
type keyList struct{ elems []string }

var (
	_ starlark.HasAttrs  = (*keyList)(nil)
	_ starlark.Indexable = (*keyList)(nil)
	_ starlark.Sequence  = (*keyList)(nil)
	_ starlark.Container = (*keyList)(nil)
)

func (l *keyList) String() string {
	parts := make([]string, len(l.elems))
	for i, s := range l.elems {
		parts[i] = starlark.String(s).String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
func (l *keyList) Type() string          { return "list" }
func (l *keyList) Freeze()               {} // deliberately stays mutable
func (l *keyList) Truth() starlark.Bool  { return len(l.elems) > 0 }
func (l *keyList) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: list") }
func (l *keyList) Len() int              { return len(l.elems) }
func (l *keyList) Index(i int) starlark.Value {
	return starlark.String(l.elems[i])
}
func (l *keyList) Iterate() starlark.Iterator {
	return starlark.NewList(l.values()).Iterate()
}
func (l *keyList) Has(y starlark.Value) (bool, error) {
	s, ok := starlark.AsString(y)
	if !ok {
		return false, nil
	}
	for _, e := range l.elems {
		if e == s {
			return true, nil
		}
	}
	return false, nil
}

func (l *keyList) values() []starlark.Value {
	vs := make([]starlark.Value, len(l.elems))
	for i, s := range l.elems {
		vs[i] = starlark.String(s)
	}
	return vs
}

func (l *keyList) strings() []string { return append([]string(nil), l.elems...) }

func (l *keyList) add(v starlark.Value) error {
	s, ok := starlark.AsString(v)
	if !ok {
		return fmt.Errorf("uninstall keys are strings, got %s", v.Type())
	}
	l.elems = append(l.elems, s)
	return nil
}

func (l *keyList) extend(v starlark.Value) error {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return fmt.Errorf("want a list, got %s", v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		if err := l.add(x); err != nil {
			return err
		}
	}
	return nil
}

func (l *keyList) AttrNames() []string {
	return []string{"append", "clear", "extend", "index", "remove"}
}

func (l *keyList) Attr(name string) (starlark.Value, error) {
	var fn func(args starlark.Tuple) (starlark.Value, error)
	switch name {
	case "append":
		fn = func(args starlark.Tuple) (starlark.Value, error) { return starlark.None, l.add(args[0]) }
	case "extend":
		fn = func(args starlark.Tuple) (starlark.Value, error) { return starlark.None, l.extend(args[0]) }
	case "remove", "index":
		fn = func(args starlark.Tuple) (starlark.Value, error) {
			s, _ := starlark.AsString(args[0])
			for i, e := range l.elems {
				if e == s {
					if name == "index" {
						return starlark.MakeInt(i), nil
					}
					l.elems = append(l.elems[:i], l.elems[i+1:]...)
					return starlark.None, nil
				}
			}
			return nil, fmt.Errorf("%s: %q not in list", name, s)
		}
	case "clear":
		return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			l.elems = nil
			return starlark.None, nil
		}), nil
	default:
		return nil, nil
	}
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
			return nil, err
		}
		return fn(starlark.Tuple{x})
	}), nil
}

// controlValue is `control`: attribute access to the control fields
// (control.package, control.version; "" when absent) plus get().
type controlValue struct{ c *control.Control }

var (
	_ starlark.HasAttrs = (*controlValue)(nil)
	_ starlark.Mapping  = (*controlValue)(nil)
)

func (c *controlValue) String() string {
	return fmt.Sprintf("PackageEntry(%q, %q)", c.c.Package(), c.c.Get("version"))
}
func (c *controlValue) Type() string          { return "PackageEntry" }
func (c *controlValue) Freeze()               {}
func (c *controlValue) Truth() starlark.Bool  { return true }
func (c *controlValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: PackageEntry") }

func (c *controlValue) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := starlark.AsString(k)
	if !ok || !c.c.Has(s) {
		return nil, false, nil
	}
	return starlark.String(c.c.Get(s)), true, nil
}

func (c *controlValue) AttrNames() []string {
	return append([]string{"get", "get_software_version"}, c.c.Keys()...)
}

func (c *controlValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return starlark.NewBuiltin("get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var key string
			var def starlark.Value = starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "default?", &def); err != nil {
				return nil, err
			}
			if !c.c.Has(key) {
				return def, nil
			}
			return starlark.String(c.c.Get(key)), nil
		}), nil
	case "get_software_version":
		return starlark.NewBuiltin(name, func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			v := c.c.Get("version")
			if i := strings.LastIndexByte(v, '-'); i >= 0 {
				v = v[:i]
			}
			return starlark.String(v), nil
		}), nil
	}
	return starlark.String(c.c.Get(name)), nil
}
