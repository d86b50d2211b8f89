package script

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// maxSleep caps one time.sleep call.
const maxSleep = 10 * time.Minute

func module(name string, members starlark.StringDict) *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: name, Members: members}
}

// buildModules makes the Python modules scripts import: the common subset
// of os, os.path, shutil, glob, time, json, sys, subprocess, platform and re.
func (e *env) buildModules() map[string]starlark.Value {
	path := module("os.path", builtins(map[string]builtinFunc{
		"join": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			parts, err := stringList(args)
			if err != nil || len(kwargs) > 0 {
				return nil, fmt.Errorf("%s: want string arguments", b.Name())
			}
			return starlark.String(pyJoin(parts...)), nil
		},
		"exists": e.strFunc(func(p string) starlark.Value {
			_, err := os.Stat(e.abs(p))
			return starlark.Bool(err == nil)
		}),
		"isfile":   e.strFunc(func(p string) starlark.Value { return starlark.Bool(isFile(e.abs(p))) }),
		"isdir":    e.strFunc(func(p string) starlark.Value { return starlark.Bool(isDir(e.abs(p))) }),
		"isabs":    e.strFunc(func(p string) starlark.Value { return starlark.Bool(filepath.IsAbs(p)) }),
		"basename": e.strFunc(func(p string) starlark.Value { _, f := splitPath(p); return starlark.String(f) }),
		"dirname":  e.strFunc(func(p string) starlark.Value { d, _ := splitPath(p); return starlark.String(d) }),
		"split": e.strFunc(func(p string) starlark.Value {
			d, f := splitPath(p)
			return starlark.Tuple{starlark.String(d), starlark.String(f)}
		}),
		"abspath":  e.strFunc(func(p string) starlark.Value { return starlark.String(e.abs(p)) }),
		"normpath": e.strFunc(func(p string) starlark.Value { return starlark.String(filepath.Clean(p)) }),
		"expanduser": e.strFunc(func(p string) starlark.Value {
			if strings.HasPrefix(p, "~") {
				if h, err := os.UserHomeDir(); err == nil {
					p = h + p[1:]
				}
			}
			return starlark.String(p)
		}),
		"splitext": e.strFunc(func(p string) starlark.Value {
			_, f := splitPath(p)
			ext := filepath.Ext(f)
			if ext == f { // ".bashrc" has no extension
				ext = ""
			}
			return starlark.Tuple{starlark.String(p[:len(p)-len(ext)]), starlark.String(ext)}
		}),
		"getsize": e.statFunc(func(st os.FileInfo) starlark.Value { return starlark.MakeInt64(st.Size()) }),
		"getmtime": e.statFunc(func(st os.FileInfo) starlark.Value {
			return starlark.Float(float64(st.ModTime().UnixNano()) / 1e9)
		}),
	}))
	path.Members["sep"] = starlark.String(string(filepath.Separator))

	environ := starlark.NewDict(0)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			_ = environ.SetKey(starlark.String(k), starlark.String(v))
		}
	}
	pyOSName := "posix"
	if runtime.GOOS == "windows" {
		pyOSName = "nt"
	}
	osm := module("os", builtins(map[string]builtinFunc{
		"makedirs": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var p string
			var mode int
			var existOK bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &p, "mode?", &mode, "exist_ok?", &existOK); err != nil {
				return nil, err
			}
			if isDir(e.abs(p)) {
				if existOK {
					return starlark.None, nil
				}
				return nil, fmt.Errorf("%s: %s: file exists", b.Name(), p)
			}
			return starlark.None, e.sys.MkdirAll(e.abs(p))
		},
		"mkdir":  e.pathOp(func(p string) (starlark.Value, error) { return starlark.None, e.sys.MkdirAll(p) }),
		"remove": e.pathOp(func(p string) (starlark.Value, error) { return starlark.None, e.sys.Remove(p) }),
		"unlink": e.pathOp(func(p string) (starlark.Value, error) { return starlark.None, e.sys.Remove(p) }),
		"rmdir":  e.pathOp(func(p string) (starlark.Value, error) { return starlark.None, e.sys.Remove(p) }),
		"rename": e.twoPaths(func(a, b string) error { return e.sys.Rename(a, b) }),
		"listdir": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			p := "."
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path?", &p); err != nil {
				return nil, err
			}
			ents, err := os.ReadDir(e.abs(p))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			names := make([]starlark.Value, len(ents))
			for i, d := range ents {
				names[i] = starlark.String(d.Name())
			}
			return starlark.NewList(names), nil
		},
		"getcwd": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.String(e.req.WorkDir), nil
		},
		"getenv": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var k string
			var def starlark.Value = starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &k, "default?", &def); err != nil {
				return nil, err
			}
			if v, ok := os.LookupEnv(k); ok {
				return starlark.String(v), nil
			}
			return def, nil
		},
	}))
	osm.Members["path"] = path
	osm.Members["environ"] = environ
	osm.Members["sep"] = starlark.String(string(filepath.Separator))
	osm.Members["linesep"] = starlark.String(map[bool]string{true: "\r\n", false: "\n"}[runtime.GOOS == "windows"])
	osm.Members["name"] = starlark.String(pyOSName)

	shutil := module("shutil", builtins(map[string]builtinFunc{
		"copy":     e.twoPaths(func(a, b string) error { return e.copyFile("copy", a, b) }),
		"copy2":    e.twoPaths(func(a, b string) error { return e.copyFile("copy2", a, b) }),
		"copyfile": e.twoPaths(func(a, b string) error { return e.copyFile("copyfile", a, b) }),
		"move":     e.twoPaths(func(a, b string) error { return e.sys.Rename(a, b) }),
		"copytree": func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var src, dst string
			var ignore starlark.Value = starlark.None
			var dirsExistOK, symlinks bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "dst", &dst, "symlinks?", &symlinks,
				"ignore?", &ignore, "dirs_exist_ok?", &dirsExistOK); err != nil {
				return nil, err
			}
			if isDir(e.abs(dst)) && !dirsExistOK {
				return nil, fmt.Errorf("%s: %s: file exists", b.Name(), dst)
			}
			overwrite := func(string, string) (bool, error) { return true, nil }
			return starlark.String(dst), e.copyTree(thread, e.abs(src), e.abs(dst), ignore, overwrite, nil)
		},
		"rmtree": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var p string
			var ignore bool
			var onerror starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &p, "ignore_errors?", &ignore, "onerror?", &onerror); err != nil {
				return nil, err
			}
			return starlark.None, e.rmtree(b.Name(), e.abs(p), ignore)
		},
	}))

	globm := module("glob", builtins(map[string]builtinFunc{
		"glob": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern string
			var recursive bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pathname", &pattern, "recursive?", &recursive); err != nil {
				return nil, err
			}
			matches, err := filepath.Glob(e.abs(pattern))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			sort.Strings(matches)
			out := make([]starlark.Value, len(matches))
			for i, m := range matches {
				if !filepath.IsAbs(pattern) && e.req.WorkDir != "" {
					if rel, err := filepath.Rel(e.req.WorkDir, m); err == nil {
						m = rel
					}
				}
				out[i] = starlark.String(m)
			}
			return starlark.NewList(out), nil
		},
	}))

	timem := module("time", builtins(map[string]builtinFunc{
		"time": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(float64(time.Now().UnixNano()) / 1e9), nil
		},
		"sleep": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var secs starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &secs); err != nil {
				return nil, err
			}
			f, ok := starlark.AsFloat(secs)
			if !ok || f < 0 {
				return nil, fmt.Errorf("%s: want a non-negative number", b.Name())
			}
			d := min(time.Duration(f*float64(time.Second)), maxSleep)
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return starlark.None, nil
			case <-e.ctx.Done():
				return nil, fmt.Errorf("%s: %w", b.Name(), e.ctx.Err())
			}
		},
		"strftime": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var format string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &format); err != nil {
				return nil, err
			}
			return starlark.String(strftime(format, time.Now())), nil
		},
	}))

	jsonm := module("json", starlark.StringDict{
		"loads": json.Module.Members["decode"],
		"dumps": starlark.NewBuiltin("dumps", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var obj, indent starlark.Value = nil, starlark.None
			var sortKeys bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "obj", &obj, "indent?", &indent, "sort_keys?", &sortKeys); err != nil {
				return nil, err
			}
			s, err := starlark.Call(thread, json.Module.Members["encode"], starlark.Tuple{obj}, nil)
			if err != nil || indent == starlark.None {
				return s, err
			}
			var n int
			if err := starlark.AsInt(indent, &n); err != nil {
				return nil, fmt.Errorf("%s: indent: %w", b.Name(), err)
			}
			return starlark.Call(thread, json.Module.Members["indent"], starlark.Tuple{s},
				[]starlark.Tuple{{starlark.String("indent"), starlark.String(strings.Repeat(" ", n))}})
		}),
	})

	sysPlatform := map[string]string{"windows": "win32"}[runtime.GOOS]
	if sysPlatform == "" {
		sysPlatform = runtime.GOOS
	}
	sysm := module("sys", starlark.StringDict{
		"platform": starlark.String(sysPlatform),
		"argv":     starlark.NewList(nil),
		"maxsize":  starlark.MakeInt64(1<<63 - 1),
	})

	platm := module("platform", builtins(map[string]builtinFunc{
		"system":  constString(osName()),
		"machine": constString(machine()),
		"node":    hostname,
	}))

	subprocess := module("subprocess", builtins(map[string]builtinFunc{
		"check_output": e.subprocess(func(out string, code int, cmd string) (starlark.Value, error) {
			if code != 0 {
				return nil, fmt.Errorf("command %q returned exit code %d%s", cmd, code, outputTail(out))
			}
			return starlark.String(out), nil
		}),
		"check_call": e.subprocess(func(out string, code int, cmd string) (starlark.Value, error) {
			if code != 0 {
				return nil, fmt.Errorf("command %q returned exit code %d%s", cmd, code, outputTail(out))
			}
			return starlark.MakeInt(0), nil
		}),
		"call": e.subprocess(func(_ string, code int, _ string) (starlark.Value, error) { return starlark.MakeInt(code), nil }),
	}))
	subprocess.Members["PIPE"] = starlark.MakeInt(-1)
	subprocess.Members["STDOUT"] = starlark.MakeInt(-2)
	subprocess.Members["DEVNULL"] = starlark.MakeInt(-3)

	return map[string]starlark.Value{
		"os": osm, "os.path": path, "shutil": shutil, "glob": globm, "time": timem, "json": jsonm,
		"sys": sysm, "platform": platm, "subprocess": subprocess, "re": reModule(),
	}
}

// machine is platform.machine().
func machine() string {
	switch runtime.GOARCH {
	case "amd64":
		if runtime.GOOS == "windows" {
			return "AMD64"
		}
		return "x86_64"
	case "386":
		return "i686"
	case "arm64":
		if runtime.GOOS == "linux" {
			return "aarch64"
		}
		return "arm64"
	}
	return runtime.GOARCH
}

// splitPath is os.path.split: Python keeps "/" for a root directory.
func splitPath(p string) (string, string) {
	i := strings.LastIndexAny(p, `/`+string(filepath.Separator))
	if i < 0 {
		return "", p
	}
	dir := strings.TrimRight(p[:i+1], `/`+string(filepath.Separator))
	if dir == "" {
		dir = p[:i+1]
	}
	return dir, p[i+1:]
}

func (e *env) strFunc(fn func(string) starlark.Value) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
			return nil, err
		}
		return fn(p), nil
	}
}

func (e *env) statFunc(fn func(os.FileInfo) starlark.Value) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
			return nil, err
		}
		st, err := os.Stat(e.abs(p))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return fn(st), nil
	}
}

func (e *env) twoPaths(fn func(a, b string) error) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var src, dst string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src", &src, "dst", &dst); err != nil {
			return nil, err
		}
		if err := fn(e.abs(src), e.abs(dst)); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return starlark.String(dst), nil
	}
}

// subprocess makes check_output/check_call/call(args, shell=False, cwd=None, **ignored).
func (e *env) subprocess(result func(out string, code int, cmd string) (starlark.Value, error)) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("%s: want one positional argument", b.Name())
		}
		var shell bool
		dir := e.req.WorkDir
		for _, kv := range kwargs {
			k, _ := starlark.AsString(kv[0])
			switch k {
			case "shell":
				shell = bool(kv[1].Truth())
			case "cwd":
				if s, ok := starlark.AsString(kv[1]); ok {
					dir = e.abs(s)
				}
			}
		}
		var argv []string
		var display string
		if s, ok := starlark.AsString(args[0]); ok {
			display = s
			if shell {
				argv = shellArgv(s)
			} else {
				argv = strings.Fields(s)
			}
		} else {
			ss, err := stringList(args[0])
			if err != nil || len(ss) == 0 {
				return nil, fmt.Errorf("%s: want a command", b.Name())
			}
			argv, display = ss, strings.Join(ss, " ")
		}
		e.r.logf("script: %s %s", b.Name(), display)
		out, code, err := e.sys.Run(e.ctx, argv, RunOptions{Dir: dir, Shell: shell})
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", b.Name(), display, err)
		}
		return result(out, code, display)
	}
}

// strftime supports the usual directives of Python's time.strftime.
func strftime(format string, t time.Time) string {
	r := strings.NewReplacer("%Y", "2006", "%m", "01", "%d", "02", "%H", "15", "%M", "04", "%S", "05",
		"%y", "06", "%b", "Jan", "%B", "January", "%a", "Mon", "%A", "Monday", "%p", "PM", "%%", "%")
	return t.Format(r.Replace(format))
}

// Python regular expressions, through Go's regexp (RE2: no backreferences
// or lookarounds).
const reIgnoreCase = 2

func compilePython(pattern string, flags int) (*regexp.Regexp, error) {
	if flags&reIgnoreCase != 0 {
		pattern = "(?i)" + pattern
	}
	return regexp.Compile(pattern)
}

func reModule() *starlarkstruct.Module {
	m := module("re", starlark.StringDict{})
	for _, name := range []string{"search", "match", "fullmatch", "sub", "findall", "split"} {
		m.Members[name] = reFunc(name, nil)
	}
	m.Members["compile"] = starlark.NewBuiltin("compile", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var pattern string
		var flags int
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "flags?", &flags); err != nil {
			return nil, err
		}
		re, err := compilePython(pattern, flags)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		members := starlark.StringDict{"pattern": starlark.String(pattern)}
		for _, name := range []string{"search", "match", "fullmatch", "sub", "findall", "split"} {
			members[name] = reFunc(name, re)
		}
		return starlarkstruct.FromStringDict(starlark.String("Pattern"), members), nil
	})
	m.Members["IGNORECASE"] = starlark.MakeInt(reIgnoreCase)
	m.Members["I"] = starlark.MakeInt(reIgnoreCase)
	return m
}

// reFunc is re.<name>(pattern, …) or, with a compiled re, Pattern.<name>(…).
func reFunc(name string, compiled *regexp.Regexp) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var pattern, s, repl string
		var flags, count int
		var err error
		switch {
		case name == "sub" && compiled == nil:
			err = starlark.UnpackArgs(name, args, kwargs, "pattern", &pattern, "repl", &repl, "string", &s, "count?", &count, "flags?", &flags)
		case name == "sub":
			err = starlark.UnpackArgs(name, args, kwargs, "repl", &repl, "string", &s, "count?", &count)
		case compiled == nil:
			err = starlark.UnpackArgs(name, args, kwargs, "pattern", &pattern, "string", &s, "flags?", &flags)
		default:
			err = starlark.UnpackArgs(name, args, kwargs, "string", &s)
		}
		if err != nil {
			return nil, err
		}
		re := compiled
		if re == nil {
			if re, err = compilePython(pattern, flags); err != nil {
				return nil, fmt.Errorf("re.%s: %w", name, err)
			}
		}
		switch name {
		case "search":
			if loc := re.FindStringSubmatchIndex(s); loc != nil {
				return matchValue(s, loc), nil
			}
			return starlark.None, nil
		case "match", "fullmatch":
			suffix := ""
			if name == "fullmatch" {
				suffix = "$"
			}
			anchored, err := regexp.Compile(`^(?:` + re.String() + `)` + suffix)
			if err != nil {
				return nil, fmt.Errorf("re.%s: %w", name, err)
			}
			if loc := anchored.FindStringSubmatchIndex(s); loc != nil {
				return matchValue(s, loc), nil
			}
			return starlark.None, nil
		case "sub":
			n := 0
			return starlark.String(re.ReplaceAllStringFunc(s, func(m string) string {
				n++
				if count > 0 && n > count {
					return m
				}
				return re.ReplaceAllString(m, pythonRepl(repl))
			})), nil
		case "findall":
			var out []starlark.Value
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				switch len(m) {
				case 1:
					out = append(out, starlark.String(m[0]))
				case 2:
					out = append(out, starlark.String(m[1]))
				default:
					t := make(starlark.Tuple, len(m)-1)
					for i, g := range m[1:] {
						t[i] = starlark.String(g)
					}
					out = append(out, t)
				}
			}
			return starlark.NewList(out), nil
		default: // split
			parts := re.Split(s, -1)
			out := make([]starlark.Value, len(parts))
			for i, p := range parts {
				out[i] = starlark.String(p)
			}
			return starlark.NewList(out), nil
		}
	})
}

var pyGroupRef = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

// pythonRepl turns \1 and \g<name> into Go's ${1} and ${name}.
func pythonRepl(repl string) string {
	repl = strings.ReplaceAll(repl, "$", "$$")
	return pyGroupRef.ReplaceAllStringFunc(repl, func(m string) string {
		sm := pyGroupRef.FindStringSubmatch(m)
		if sm[1] != "" {
			return "${" + sm[1] + "}"
		}
		return "${" + sm[2] + "}"
	})
}

// matchValue is a Match object: group(n=0), groups(), start(), end().
func matchValue(s string, loc []int) starlark.Value {
	group := func(i int) starlark.Value {
		if 2*i+1 >= len(loc) || loc[2*i] < 0 {
			return starlark.None
		}
		return starlark.String(s[loc[2*i]:loc[2*i+1]])
	}
	return starlarkstruct.FromStringDict(starlark.String("Match"), starlark.StringDict{
		"group": starlark.NewBuiltin("group", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			n := 0
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &n); err != nil {
				return nil, err
			}
			if 2*n+1 >= len(loc) {
				return nil, fmt.Errorf("group: no such group %d", n)
			}
			return group(n), nil
		}),
		"groups": starlark.NewBuiltin("groups", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			t := make(starlark.Tuple, len(loc)/2-1)
			for i := range t {
				t[i] = group(i + 1)
			}
			return t, nil
		}),
		"start": constInt(loc[0]),
		"end":   constInt(loc[1]),
	})
}

func constInt(n int) *starlark.Builtin {
	return starlark.NewBuiltin("int", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.MakeInt(n), nil
	})
}
