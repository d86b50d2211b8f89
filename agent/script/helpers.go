package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"
)

// Helper names that only exist on one system. Elsewhere they are
// predeclared too, and raise "not available on <os>".
var (
	linuxHelpers = []string{
		"install_deb", "uninstall_deb", "remove_deb", "purge_deb", "install_apt", "uninstall_apt",
		"update_apt", "upgrade_apt", "autoremove_apt", "install_required_dependencies_apt",
		"install_yum", "uninstall_yum", "install_rpm", "get_distrib_linux", "get_distrib_version",
		"type_debian", "type_redhat", "isLinux64",
	}
	windowsHelpers = []string{
		"install_msi_if_needed", "install_exe_if_needed", "need_install", "uninstall_cmd",
		"registry_readstring", "registry_setstring", "registry_set", "get_msi_properties",
		"getsilentflags", "programfiles", "programfiles32", "programfiles64", "system32",
	}
	macHelpers = []string{
		"install_pkg", "uninstall_pkg", "install_dmg", "install_app", "uninstall_app", "get_installed_pkgs",
	}
)

type builtinFunc = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

func builtins(fns map[string]builtinFunc) starlark.StringDict {
	d := make(starlark.StringDict, len(fns))
	for name, fn := range fns {
		d[name] = starlark.NewBuiltin(name, fn)
	}
	return d
}

// helpers are the setuphelpers functions common to every system.
func (e *env) helpers() starlark.StringDict {
	return builtins(map[string]builtinFunc{
		"makepath":     e.makepath,
		"run":          e.runBuiltin,
		"run_notfatal": e.runNotFatal,
		"filecopyto":   e.filecopyto,
		"copytree2":    e.copytree2,
		"default_skip": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.False, nil
		},
		"default_overwrite": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.True, nil
		},
		"default_overwrite_older": e.overwriteOlder,
		"default_oncopy": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.True, nil
		},
		"mkdirs":      e.pathOp(func(p string) (starlark.Value, error) { return starlark.None, e.mkdirs(p) }),
		"ensure_dir":  e.pathOp(func(p string) (starlark.Value, error) { return starlark.None, e.mkdirs(filepath.Dir(p)) }),
		"remove_file": e.pathOp(e.removeFile),
		"remove_tree": e.removeTree,
		"isfile":      e.pathOp(func(p string) (starlark.Value, error) { return starlark.Bool(isFile(p)), nil }),
		"isdir":       e.pathOp(func(p string) (starlark.Value, error) { return starlark.Bool(isDir(p)), nil }),
		"dir_is_empty": e.pathOp(func(p string) (starlark.Value, error) {
			ents, err := os.ReadDir(p)
			return starlark.Bool(err == nil && len(ents) == 0), nil
		}),
		"killalltasks":          e.killalltasks,
		"isrunning":             e.isrunning,
		"error":                 errorBuiltin,
		"currentdate":           timeFormat("20060102"),
		"currentdatetime":       timeFormat("20060102-150405"),
		"ensure_list":           ensureList,
		"get_os_name":           constString(osName()),
		"get_host_architecture": constString(hostArchitecture()),
		"user_home_directory": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			h, err := os.UserHomeDir()
			return starlark.String(h), err
		},
		"get_computername": hostname,
		"get_hostname":     hostname,
		"get_current_user": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			u, err := user.Current()
			if err != nil {
				return nil, err
			}
			return starlark.String(u.Username), nil
		},
	})
}

func osName() string {
	switch runtime.GOOS {
	case "linux":
		return "Linux"
	case "windows":
		return "Windows"
	case "darwin":
		return "Darwin"
	}
	return runtime.GOOS
}

// hostArchitecture uses WAPT's architecture names.
func hostArchitecture() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x64"
	case "386":
		return "x86"
	case "arm":
		return "armhf"
	}
	return runtime.GOARCH
}

func constString(s string) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
			return nil, err
		}
		return starlark.String(s), nil
	}
}

func hostname(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	h, err := os.Hostname()
	return starlark.String(h), err
}

func timeFormat(layout string) builtinFunc {
	return func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.String(time.Now().Format(layout)), nil
	}
}

func errorBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var reason starlark.Value = starlark.String("")
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "reason?", &reason); err != nil {
		return nil, err
	}
	msg, ok := starlark.AsString(reason)
	if !ok {
		msg = reason.String()
	}
	return nil, &packageError{msg: msg}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// pathOp is a one-argument helper taking a path (resolved against WorkDir).
func (e *env) pathOp(fn func(p string) (starlark.Value, error)) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
			return nil, err
		}
		return fn(e.abs(p))
	}
}

// pyJoin is os.path.join: an absolute component restarts the path.
func pyJoin(parts ...string) string {
	var out string
	for _, p := range parts {
		switch {
		case filepath.IsAbs(p) || out == "":
			out = p
		case strings.HasSuffix(out, string(filepath.Separator)) || strings.HasSuffix(out, "/"):
			out += p
		default:
			out += string(filepath.Separator) + p
		}
	}
	return out
}

// makepath joins its components; callables (programfiles) are called.
func (e *env) makepath(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword arguments", b.Name())
	}
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if c, ok := a.(starlark.Callable); ok {
			v, err := starlark.Call(thread, c, nil, nil)
			if err != nil {
				return nil, err
			}
			a = v
		}
		s, ok := starlark.AsString(a)
		if !ok {
			return nil, fmt.Errorf("%s: want strings, got %s", b.Name(), a.Type())
		}
		if runtime.GOOS == "windows" {
			s = strings.TrimLeft(s, `\/`)
			if strings.HasSuffix(s, ":") {
				s += `\`
			}
		}
		parts = append(parts, s)
	}
	return starlark.String(pyJoin(parts...)), nil
}

// runSpec is one run() call.
type runSpec struct {
	argv    []string
	display string
	shell   bool
	timeout time.Duration
	accept  []int // nil: any exit code is accepted
	dir     string
	env     []string
	onWrite starlark.Callable
}

func (e *env) runBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	spec, err := e.parseRun(b.Name(), args, kwargs, true)
	if err != nil {
		return nil, err
	}
	return e.run(thread, spec)
}

func (e *env) runNotFatal(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	spec, err := e.parseRun(b.Name(), args, kwargs, false)
	if err != nil {
		return nil, err
	}
	spec.accept = nil
	out, err := e.run(thread, spec)
	if err != nil {
		if e.ctx.Err() != nil {
			return nil, err
		}
		return starlark.String(err.Error()), nil
	}
	return out, nil
}

// parseRun reads WAPT's run(cmd, shell=True, timeout=600,
// accept_returncodes=[0,3010], on_write=None, pidlist=None,
// return_stderr=True, cwd=None, env=None).
func (e *env) parseRun(name string, args starlark.Tuple, kwargs []starlark.Tuple, acceptKw bool) (runSpec, error) {
	var (
		cmd                           starlark.Value
		shell                         = starlark.Value(starlark.True)
		timeout                       = starlark.Value(starlark.MakeInt(600))
		accept                        = starlark.Value(starlark.NewList([]starlark.Value{starlark.MakeInt(0), starlark.MakeInt(3010)}))
		onWrite, pidlist, stderr, cwd starlark.Value
		envv                          starlark.Value
	)
	if err := starlark.UnpackArgs(name, args, kwargs, "cmd", &cmd, "shell?", &shell, "timeout?", &timeout,
		"accept_returncodes?", &accept, "on_write?", &onWrite, "pidlist?", &pidlist, "return_stderr?", &stderr,
		"cwd?", &cwd, "env?", &envv); err != nil {
		return runSpec{}, err
	}
	spec := runSpec{dir: e.req.WorkDir}
	switch c := cmd.(type) {
	case starlark.String:
		spec.display = string(c)
		spec.argv = shellArgv(string(c))
		spec.shell = true
	case starlark.Iterable:
		ss, err := stringList(c)
		if err != nil || len(ss) == 0 {
			return spec, fmt.Errorf("%s: cmd must be a string or a non-empty list of strings", name)
		}
		spec.argv = ss
		spec.display = strings.Join(ss, " ")
	default:
		return spec, fmt.Errorf("%s: cmd must be a string or a list, got %s", name, cmd.Type())
	}
	if timeout != starlark.None {
		secs, ok := starlark.AsFloat(timeout)
		if !ok {
			return spec, fmt.Errorf("%s: timeout must be a number", name)
		}
		spec.timeout = time.Duration(secs * float64(time.Second))
	}
	if accept != starlark.None {
		it, ok := accept.(starlark.Iterable)
		if !ok {
			return spec, fmt.Errorf("%s: accept_returncodes must be a list", name)
		}
		iter := it.Iterate()
		defer iter.Done()
		var x starlark.Value
		spec.accept = []int{}
		for iter.Next(&x) {
			var n int
			if err := starlark.AsInt(x, &n); err != nil {
				return spec, fmt.Errorf("%s: accept_returncodes: %w", name, err)
			}
			spec.accept = append(spec.accept, n)
		}
	}
	if s, ok := starlark.AsString(cwd); ok {
		spec.dir = e.abs(s)
	}
	if d, ok := envv.(*starlark.Dict); ok {
		for _, kv := range d.Items() {
			k, _ := starlark.AsString(kv[0])
			v, _ := starlark.AsString(kv[1])
			spec.env = append(spec.env, k+"="+v)
		}
	}
	if c, ok := onWrite.(starlark.Callable); ok {
		spec.onWrite = c
	}
	return spec, nil
}

// run runs spec through the System; a refused exit code is an error
// carrying the output's tail.
func (e *env) run(thread *starlark.Thread, spec runSpec) (starlark.Value, error) {
	e.r.logf("script: run %s", spec.display)
	out, code, err := e.sys.Run(e.ctx, spec.argv, RunOptions{Dir: spec.dir, Env: spec.env, Timeout: spec.timeout, Shell: spec.shell})
	if spec.onWrite != nil {
		for _, line := range strings.SplitAfter(out, "\n") {
			if line == "" {
				continue
			}
			if _, err := starlark.Call(thread, spec.onWrite, starlark.Tuple{starlark.String(line)}, nil); err != nil {
				return nil, err
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("command %q: %w%s", spec.display, err, outputTail(out))
	}
	if spec.accept != nil && !containsInt(spec.accept, code) {
		return nil, fmt.Errorf("command %q returned exit code %d%s", spec.display, code, outputTail(out))
	}
	return starlark.String(out), nil
}

func outputTail(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	const max = 2048
	if len(out) > max {
		out = "…" + out[len(out)-max:]
	}
	return ": " + out
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

func stringList(v starlark.Value) ([]string, error) {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("want a list, got %s", v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []string
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("want strings, got %s", x.Type())
		}
		out = append(out, s)
	}
	return out, nil
}

// ensureList is WAPT's ensure_list(csv_or_list, ignore_empty_args=True, allow_none=False).
func ensureList(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	ignoreEmpty, allowNone := true, false
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "csv_or_list", &v, "ignore_empty_args?", &ignoreEmpty, "allow_none?", &allowNone); err != nil {
		return nil, err
	}
	if v == starlark.None {
		if allowNone {
			return starlark.None, nil
		}
		return starlark.NewList(nil), nil
	}
	var items []starlark.Value
	if s, ok := starlark.AsString(v); ok {
		for _, p := range strings.Split(s, ",") {
			items = append(items, starlark.String(strings.TrimSpace(p)))
		}
	} else if it, ok := v.(starlark.Iterable); ok {
		iter := it.Iterate()
		var x starlark.Value
		for iter.Next(&x) {
			items = append(items, x)
		}
		iter.Done()
	} else {
		items = []starlark.Value{v}
	}
	if ignoreEmpty {
		kept := items[:0]
		for _, x := range items {
			if s, ok := starlark.AsString(x); ok && s == "" {
				continue
			}
			kept = append(kept, x)
		}
		items = kept
	}
	return starlark.NewList(items), nil
}

func (e *env) mkdirs(p string) error {
	if isDir(p) {
		return nil
	}
	return e.sys.MkdirAll(p)
}

// removeFile is WAPT's remove_file: a missing or locked file is logged,
// not raised.
func (e *env) removeFile(p string) (starlark.Value, error) {
	if !isFile(p) {
		e.r.logf("script: remove_file: %s does not exist", p)
		return starlark.None, nil
	}
	if err := e.sys.Remove(p); err != nil {
		e.r.logf("script: remove_file: %v", err)
	}
	return starlark.None, nil
}

// removeTree is remove_tree(path, ignore_errors=False, onerror=None).
func (e *env) removeTree(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	var ignore bool
	var onerror starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p, "ignore_errors?", &ignore, "onerror?", &onerror); err != nil {
		return nil, err
	}
	return starlark.None, e.rmtree(b.Name(), e.abs(p), ignore)
}

func (e *env) rmtree(name, p string, ignore bool) error {
	if _, err := os.Lstat(p); err != nil {
		if ignore {
			return nil
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := e.sys.RemoveAll(p); err != nil && !ignore {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// filecopyto(filename, target): target is a directory or a file path.
func (e *env) filecopyto(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var src, dst string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "filename", &src, "target", &dst); err != nil {
		return nil, err
	}
	return starlark.None, e.copyFile(b.Name(), e.abs(src), e.abs(dst))
}

func (e *env) copyFile(name, src, dst string) error {
	if isDir(dst) {
		dst = filepath.Join(dst, filepath.Base(src))
	}
	if !isFile(src) {
		return fmt.Errorf("%s: %s: no such file", name, src)
	}
	if err := e.sys.CopyFile(src, dst); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (e *env) overwriteOlder(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var src, dst string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "dst", &dst); err != nil {
		return nil, err
	}
	s, err1 := os.Stat(e.abs(src))
	d, err2 := os.Stat(e.abs(dst))
	return starlark.Bool(err1 == nil && (err2 != nil || s.ModTime().After(d.ModTime()))), nil
}

// copytree2(src, dst, ignore=None, onreplace=default_skip,
// oncopy=default_oncopy, enable_replace_at_reboot=True): returns the
// copied destination paths.
func (e *env) copytree2(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var src, dst string
	var ignore, onreplace, oncopy starlark.Value = starlark.None, starlark.None, starlark.None
	var atReboot bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "dst", &dst, "ignore?", &ignore,
		"onreplace?", &onreplace, "oncopy?", &oncopy, "enable_replace_at_reboot?", &atReboot); err != nil {
		return nil, err
	}
	var copied []starlark.Value
	replace := func(s, d string) (bool, error) {
		if onreplace == starlark.None {
			return false, nil // default_skip
		}
		return e.callBool(thread, onreplace, starlark.String(s), starlark.String(d))
	}
	err := e.copyTree(thread, e.abs(src), e.abs(dst), ignore, replace, func(s, d string, existed bool) (bool, error) {
		if oncopy != starlark.None {
			msg := "create"
			if existed {
				msg = "overwrite"
			}
			ok, err := e.callBool(thread, oncopy, starlark.String(msg), starlark.String(s), starlark.String(d))
			if err != nil || !ok {
				return false, err
			}
		}
		copied = append(copied, starlark.String(d))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.NewList(copied), nil
}

func (e *env) callBool(thread *starlark.Thread, fn starlark.Value, args ...starlark.Value) (bool, error) {
	c, ok := fn.(starlark.Callable)
	if !ok {
		return false, fmt.Errorf("%s is not callable", fn.Type())
	}
	v, err := starlark.Call(thread, c, args, nil)
	if err != nil {
		return false, err
	}
	return bool(v.Truth()), nil
}

// copyTree copies the directory src into dst (created), asking ignore
// (a Starlark func(dir, names) -> names to skip) per directory, replace
// for existing files and before for every copy.
func (e *env) copyTree(thread *starlark.Thread, src, dst string, ignore starlark.Value,
	replace func(src, dst string) (bool, error), before func(src, dst string, existed bool) (bool, error)) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	if c, ok := ignore.(starlark.Callable); ok {
		names := make([]starlark.Value, len(ents))
		for i, d := range ents {
			names[i] = starlark.String(d.Name())
		}
		v, err := starlark.Call(thread, c, starlark.Tuple{starlark.String(src), starlark.NewList(names)}, nil)
		if err != nil {
			return err
		}
		if ss, err := stringList(v); err == nil {
			for _, s := range ss {
				skip[s] = true
			}
		}
	}
	if err := e.mkdirs(dst); err != nil {
		return err
	}
	for _, d := range ents {
		if skip[d.Name()] {
			continue
		}
		s, t := filepath.Join(src, d.Name()), filepath.Join(dst, d.Name())
		if d.IsDir() {
			if err := e.copyTree(thread, s, t, ignore, replace, before); err != nil {
				return err
			}
			continue
		}
		if !d.Type().IsRegular() {
			continue
		}
		_, statErr := os.Stat(t)
		existed := statErr == nil
		if existed && replace != nil {
			ok, err := replace(s, t)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		if before != nil {
			ok, err := before(s, t, existed)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		if err := e.sys.CopyFile(s, t); err != nil {
			return err
		}
	}
	return nil
}

// process is one running process.
type process struct {
	pid, ppid int
	name      string
}

// matchProcess compares a process name as WAPT does: case-insensitive,
// with or without ".exe".
func matchProcess(procName string, wanted []string) bool {
	n := strings.ToLower(procName)
	for _, w := range wanted {
		w = strings.ToLower(w)
		if n == w || n == w+".exe" {
			return true
		}
	}
	return false
}

// killalltasks(process_names, include_children=True): returns [(pid, name)].
func (e *env) killalltasks(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var names starlark.Value
	children := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "process_names", &names, "include_children?", &children); err != nil {
		return nil, err
	}
	wanted, err := namesArg(names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if len(wanted) == 0 {
		return starlark.NewList(nil), nil
	}
	procs, err := listProcesses(e.ctx, e.sys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	var killed []starlark.Value
	for _, p := range procs {
		if p.pid == os.Getpid() || !matchProcess(p.name, wanted) {
			continue
		}
		killed = append(killed, starlark.Tuple{starlark.MakeInt(p.pid), starlark.String(p.name)})
		if children {
			for _, c := range descendants(procs, p.pid) {
				_ = e.sys.Kill(c)
			}
		}
		if err := e.sys.Kill(p.pid); err != nil {
			e.r.logf("script: kill %d (%s): %v", p.pid, p.name, err)
		}
	}
	return starlark.NewList(killed), nil
}

func descendants(procs []process, pid int) []int {
	var out []int
	for _, p := range procs {
		if p.ppid == pid && p.pid != pid {
			out = append(out, descendants(procs, p.pid)...)
			out = append(out, p.pid)
		}
	}
	return out
}

func namesArg(v starlark.Value) ([]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	if s, ok := starlark.AsString(v); ok {
		return []string{s}, nil
	}
	return stringList(v)
}

func (e *env) isrunning(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "processname", &name); err != nil {
		return nil, err
	}
	procs, err := listProcesses(e.ctx, e.sys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	for _, p := range procs {
		if matchProcess(p.name, []string{name}) {
			return starlark.True, nil
		}
	}
	return starlark.False, nil
}

// softwareEntry is one installed_softwares() item, with WAPT's keys.
type softwareEntry struct {
	key, name, version, installDate, location, uninstallString, publisher string
}

func (s softwareEntry) value() starlark.Value {
	d := starlark.NewDict(8)
	for _, kv := range [][2]string{
		{"key", s.key}, {"name", s.name}, {"version", s.version}, {"install_date", s.installDate},
		{"install_location", s.location}, {"uninstall_string", s.uninstallString},
		{"publisher", s.publisher}, {"system_component", ""},
	} {
		_ = d.SetKey(starlark.String(kv[0]), starlark.String(kv[1]))
	}
	return d
}

// filterSoftwares keeps the entries whose name matches the name regexp
// (anchored at the start, as Python's re.match) and whose name, key and
// publisher contain every keyword.
func filterSoftwares(all []softwareEntry, keywords []string, name string) ([]starlark.Value, error) {
	var re interface{ MatchString(string) bool }
	if name != "" {
		r, err := compilePython("^(?:"+name+")", 0)
		if err != nil {
			return nil, err
		}
		re = r
	}
	var out []starlark.Value
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	for _, s := range all {
		if re != nil && !re.MatchString(s.name) && !re.MatchString(s.key) {
			continue
		}
		text := strings.ToLower(s.key + " " + s.name + " " + s.publisher)
		ok := true
		for _, k := range keywords {
			if !strings.Contains(text, strings.ToLower(k)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s.value())
		}
	}
	return out, nil
}

// keywordsArg reads installed_softwares' keywords: a string of words or a list.
func keywordsArg(v starlark.Value) ([]string, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	if s, ok := starlark.AsString(v); ok {
		return strings.Fields(s), nil
	}
	return stringList(v)
}

// query runs a read-only command and fails on a non-zero exit.
func (e *env) query(ctx context.Context, argv ...string) (string, error) {
	out, code, err := e.sys.Query(ctx, argv, RunOptions{Env: []string{"LANG=C"}})
	if err != nil {
		return out, err
	}
	if code != 0 {
		return out, fmt.Errorf("%s returned exit code %d%s", strings.Join(argv, " "), code, outputTail(out))
	}
	return out, nil
}

var errNotAvailable = errors.New("not available on this system")
