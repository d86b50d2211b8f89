package script

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// platformHelpers are the macOS setuphelpers. The agent runs as root, so
// WAPT's "sudo" prefixes are dropped.
func (e *env) platformHelpers() starlark.StringDict {
	return builtins(map[string]builtinFunc{
		"installed_softwares": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var kw, name starlark.Value = starlark.String(""), starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "keywords?", &kw, "name?", &name); err != nil {
				return nil, err
			}
			keywords, err := keywordsArg(kw)
			if err != nil {
				return nil, err
			}
			pkgs, err := e.macPkgs()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			var all []softwareEntry
			for _, p := range pkgs {
				all = append(all, softwareEntry{key: p, name: p})
			}
			apps, _ := filepath.Glob("/Applications/*.app")
			for _, a := range apps {
				n := strings.TrimSuffix(filepath.Base(a), ".app")
				all = append(all, softwareEntry{key: n, name: n, location: a})
			}
			n, _ := starlark.AsString(name)
			list, err := filterSoftwares(all, keywords, n)
			if err != nil {
				return nil, err
			}
			return starlark.NewList(list), nil
		},
		"get_installed_pkgs": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			pkgs, err := e.macPkgs()
			if err != nil {
				return nil, err
			}
			vs := make([]starlark.Value, len(pkgs))
			for i, p := range pkgs {
				vs[i] = starlark.String(p)
			}
			return starlark.NewList(vs), nil
		},
		"install_pkg": e.pathArg("pkg_path", func(thread *starlark.Thread, p string) (starlark.Value, error) {
			argv := pkgInstallArgv(p)
			return e.run(thread, runSpec{argv: argv, display: strings.Join(argv, " "), accept: []int{0}})
		}),
		"uninstall_pkg": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var name string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pkg_name", &name); err != nil {
				return nil, err
			}
			files, err := e.query(e.ctx, "pkgutil", "--only-files", "--files", name)
			if err != nil {
				e.r.logf("script: %s: %s is not installed: %v", b.Name(), name, err)
				return starlark.False, nil
			}
			for _, f := range strings.Split(strings.TrimSpace(files), "\n") {
				if f != "" {
					_ = e.sys.Remove("/" + f)
				}
			}
			if _, code, err := e.sys.Run(e.ctx, []string{"pkgutil", "--forget", name}, RunOptions{}); err != nil || code != 0 {
				return nil, fmt.Errorf("%s: pkgutil --forget %s failed (%d): %v", b.Name(), name, code, err)
			}
			return starlark.True, nil
		},
		"install_app": e.pathArg("app_dir", func(_ *starlark.Thread, p string) (starlark.Value, error) {
			return starlark.None, e.copyApp(p)
		}),
		"uninstall_app": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var name string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "app_name", &name); err != nil {
				return nil, err
			}
			if !strings.HasSuffix(name, ".app") {
				name += ".app"
			}
			p := filepath.Join("/Applications", name)
			if !isDir(p) {
				return starlark.False, nil
			}
			return starlark.True, e.sys.RemoveAll(p)
		},
		"install_dmg": func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var p string
			var checkVersion bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dmg_path", &p, "check_version?", &checkVersion); err != nil {
				return nil, err
			}
			return e.installDmg(thread, e.abs(p))
		},
	})
}

func (e *env) pathArg(kw string, fn func(*starlark.Thread, string) (starlark.Value, error)) builtinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, kw, &p); err != nil {
			return nil, err
		}
		return fn(thread, e.abs(p))
	}
}

func (e *env) macPkgs() ([]string, error) {
	out, err := e.query(e.ctx, "pkgutil", "--pkgs")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// copyApp copies an .app bundle into /Applications.
func (e *env) copyApp(app string) error {
	argv := []string{"cp", "-R", app, "/Applications/"}
	_, code, err := e.sys.Run(e.ctx, argv, RunOptions{})
	if err == nil && code != 0 {
		err = fmt.Errorf("%s returned exit code %d", strings.Join(argv, " "), code)
	}
	return err
}

// installDmg mounts the image, installs the .pkg and .app it holds, and
// unmounts it.
func (e *env) installDmg(thread *starlark.Thread, dmg string) (starlark.Value, error) {
	mnt, err := os.MkdirTemp("", "wapt-dmg-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(mnt)
	attach := dmgAttachArgv(dmg, mnt)
	if _, err := e.run(thread, runSpec{argv: attach, display: strings.Join(attach, " "), accept: []int{0}}); err != nil {
		return nil, err
	}
	defer func() {
		detach := dmgDetachArgv(mnt)
		_, _, _ = e.sys.Run(context.WithoutCancel(e.ctx), detach, RunOptions{})
	}()
	ents, _ := os.ReadDir(mnt)
	n := 0
	for _, d := range ents {
		p := filepath.Join(mnt, d.Name())
		switch filepath.Ext(d.Name()) {
		case ".pkg":
			argv := pkgInstallArgv(p)
			if _, err := e.run(thread, runSpec{argv: argv, display: strings.Join(argv, " "), accept: []int{0}}); err != nil {
				return nil, err
			}
			n++
		case ".app":
			if err := e.copyApp(p); err != nil {
				return nil, err
			}
			n++
		}
	}
	if n == 0 {
		e.r.logf("script: install_dmg: %s holds no .pkg or .app", dmg)
	}
	return starlark.True, nil
}

// listProcesses asks ps.
func listProcesses(ctx context.Context, sys System) ([]process, error) {
	out, code, err := sys.Query(ctx, []string{"ps", "-axo", "pid=,ppid=,comm="}, RunOptions{})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("ps returned exit code %d", code)
	}
	var procs []process
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		ppid, _ := strconv.Atoi(f[1])
		procs = append(procs, process{pid: pid, ppid: ppid, name: filepath.Base(strings.Join(f[2:], " "))})
	}
	return procs, nil
}
