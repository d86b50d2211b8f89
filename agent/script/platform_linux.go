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

// aptEnv is the environment WAPT gives dpkg and apt-get.
var aptEnv = []string{"LANG=C", "DEBIAN_FRONTEND=noninteractive"}

// platformHelpers are the Linux setuphelpers.
func (e *env) platformHelpers() starlark.StringDict {
	cmd := func(argv ...string) builtinFunc { // no arguments
		return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			return e.run(thread, runSpec{argv: argv, display: strings.Join(argv, " "), env: aptEnv, accept: []int{0}})
		}
	}
	pkgCmd := func(kw string, argv ...string) builtinFunc { // one argument: package name(s)
		return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pkg string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, kw, &pkg); err != nil {
				return nil, err
			}
			full := append(append([]string{}, argv...), strings.Fields(pkg)...)
			return e.run(thread, runSpec{argv: full, display: strings.Join(full, " "), env: aptEnv, accept: []int{0}})
		}
	}
	distrib := func(key string) builtinFunc {
		return func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.String(osRelease()[key]), nil
		}
	}
	isFamily := func(ids ...string) builtinFunc {
		return func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			rel := osRelease()
			fam := " " + rel["ID"] + " " + rel["ID_LIKE"] + " "
			for _, id := range ids {
				if strings.Contains(fam, " "+id+" ") {
					return starlark.True, nil
				}
			}
			return starlark.False, nil
		}
	}
	return builtins(map[string]builtinFunc{
		"installed_softwares": e.installedSoftwares,
		"install_deb":         e.installDeb,
		"uninstall_deb":       pkgCmd("deb_name", "dpkg", "-r"),
		"remove_deb":          pkgCmd("deb_name", "dpkg", "-r"),
		"purge_deb":           pkgCmd("deb_name", "dpkg", "--purge"),
		"install_apt": func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pkg string
			var unauth bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "package", &pkg, "allow_unauthenticated?", &unauth); err != nil {
				return nil, err
			}
			if _, err := e.run(thread, runSpec{argv: []string{"apt-get", "-y", "update"}, display: "apt-get -y update", env: aptEnv, accept: []int{0}}); err != nil {
				return nil, err
			}
			argv := []string{"apt-get", "install", "-y"}
			if unauth {
				argv = append(argv, "--allow-unauthenticated")
			}
			argv = append(argv, strings.Fields(pkg)...)
			return e.run(thread, runSpec{argv: argv, display: strings.Join(argv, " "), env: aptEnv, accept: []int{0}})
		},
		"uninstall_apt":                     pkgCmd("package", "apt-get", "remove", "-y"),
		"update_apt":                        cmd("apt-get", "-y", "update"),
		"upgrade_apt":                       cmd("apt-get", "-y", "upgrade"),
		"autoremove_apt":                    cmd("apt-get", "-y", "autoremove"),
		"install_required_dependencies_apt": cmd("apt-get", "-f", "-y", "install"),
		"install_yum":                       pkgCmd("package", "yum", "install", "-y"),
		"uninstall_yum":                     pkgCmd("package", "yum", "remove", "-y"),
		"install_rpm":                       pkgCmd("package", "yum", "localinstall", "-y"),
		"get_distrib_linux":                 distrib("ID"),
		"get_distrib_version":               distrib("VERSION_ID"),
		"type_debian":                       isFamily("debian", "ubuntu"),
		"type_redhat":                       isFamily("rhel", "fedora", "centos"),
		"isLinux64": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Bool(strings.HasSuffix(machine(), "64")), nil
		},
	})
}

// osRelease reads /etc/os-release.
func osRelease() map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	return out
}

// installDeb is install_deb(path_to_deb): dpkg -i, then apt-get -f install
// when dependencies are missing; the package name is added to uninstallkey.
func (e *env) installDeb(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path_to_deb", &p); err != nil {
		return nil, err
	}
	deb := e.abs(p)
	if !isFile(deb) {
		return nil, fmt.Errorf("%s: %s: no such file", b.Name(), p)
	}
	name, err := e.query(e.ctx, "dpkg-deb", "-f", deb, "Package")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	name = strings.TrimSpace(name)
	argv := []string{"dpkg", "-i", deb}
	out, err := e.run(thread, runSpec{argv: argv, display: strings.Join(argv, " "), env: aptEnv, accept: []int{0}})
	if err != nil {
		if e.ctx.Err() != nil {
			return nil, err
		}
		fix := []string{"apt-get", "-f", "-y", "install"}
		if _, ferr := e.run(thread, runSpec{argv: fix, display: strings.Join(fix, " "), env: aptEnv, accept: []int{0}}); ferr != nil {
			return nil, fmt.Errorf("%s: %w (then: %v)", b.Name(), err, ferr)
		}
	}
	if ok, _ := e.keys.Has(starlark.String(name)); !ok && name != "" {
		e.keys.elems = append(e.keys.elems, name)
	}
	return out, nil
}

// installedSoftwares is installed_softwares(keywords=”, name=None), from
// dpkg-query (or rpm when dpkg is absent).
func (e *env) installedSoftwares(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var kw, name starlark.Value = starlark.String(""), starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "keywords?", &kw, "name?", &name); err != nil {
		return nil, err
	}
	keywords, err := keywordsArg(kw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	all, err := e.linuxPackages(e.ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	n, _ := starlark.AsString(name)
	list, err := filterSoftwares(all, keywords, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.NewList(list), nil
}

func (e *env) linuxPackages(ctx context.Context) ([]softwareEntry, error) {
	var all []softwareEntry
	out, err := e.query(ctx, "dpkg-query", "-W", "-f", `${db:Status-Abbrev}\t${Package}\t${Version}\t${Homepage}\n`)
	if err == nil {
		for _, l := range strings.Split(out, "\n") {
			f := strings.Split(l, "\t")
			if len(f) < 4 || !strings.HasPrefix(f[0], "ii") {
				continue
			}
			all = append(all, softwareEntry{key: f[1], name: f[1], version: f[2], publisher: f[3],
				uninstallString: "dpkg -r " + f[1]})
		}
		return all, nil
	}
	out, rerr := e.query(ctx, "rpm", "-qa", "--qf", `%{NAME}\t%{VERSION}-%{RELEASE}\t%{URL}\t%{INSTALLTIME}\n`)
	if rerr != nil {
		return nil, fmt.Errorf("%v; %v", err, rerr)
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 4 {
			continue
		}
		all = append(all, softwareEntry{key: f[0], name: f[0], version: f[1], publisher: f[2], installDate: f[3]})
	}
	return all, nil
}

// listProcesses reads /proc.
func listProcesses(context.Context, System) ([]process, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []process
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		name := s[open+1 : end]
		fields := strings.Fields(s[end+1:])
		ppid := 0
		if len(fields) > 1 {
			ppid, _ = strconv.Atoi(fields[1])
		}
		// comm is cut at 15 bytes: prefer the executable's name.
		if exe, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); err == nil && strings.HasPrefix(filepath.Base(exe), name) {
			name = filepath.Base(exe)
		}
		out = append(out, process{pid: pid, ppid: ppid, name: name})
	}
	return out, nil
}
