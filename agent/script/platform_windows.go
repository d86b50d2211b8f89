package script

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"go.starlark.net/starlark"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/wapt-go/wapt/shared/version"
)

const uninstallPath = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`

// platformHelpers are the Windows setuphelpers.
func (e *env) platformHelpers() starlark.StringDict {
	envDir := func(vars ...string) builtinFunc {
		return func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			for _, v := range vars {
				if s := os.Getenv(v); s != "" {
					return starlark.String(s), nil
				}
			}
			return starlark.String(""), nil
		}
	}
	return builtins(map[string]builtinFunc{
		"programfiles":   envDir("ProgramW6432", "ProgramFiles"),
		"programfiles64": envDir("ProgramW6432", "ProgramFiles"),
		"programfiles32": envDir("ProgramFiles(x86)", "ProgramFiles"),
		"system32": func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.String(filepath.Join(os.Getenv("SystemRoot"), "System32")), nil
		},
		"installed_softwares": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var kw, key, name starlark.Value = starlark.String(""), starlark.None, starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "keywords?", &kw, "uninstallkey?", &key, "name?", &name); err != nil {
				return nil, err
			}
			keywords, err := keywordsArg(kw)
			if err != nil {
				return nil, err
			}
			k, _ := starlark.AsString(key)
			n, _ := starlark.AsString(name)
			list, err := filterSoftwares(windowsSoftwares(k), keywords, n)
			if err != nil {
				return nil, err
			}
			return starlark.NewList(list), nil
		},
		"registry_readstring": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var root int
			var path string
			var keyname, def starlark.Value = starlark.None, starlark.String("")
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "root", &root, "path", &path, "keyname", &keyname, "default?", &def); err != nil {
				return nil, err
			}
			name, _ := starlark.AsString(keyname)
			if v, ok := readRegistryString(uint32(root), path, name); ok {
				return starlark.String(v), nil
			}
			return def, nil
		},
		"registry_setstring": e.registrySet(true),
		"registry_set":       e.registrySet(false),
		"need_install": func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var key, minVersion, getVersion starlark.Value = starlark.None, starlark.None, starlark.None
			var force bool
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "min_version?", &minVersion, "force?", &force, "get_version?", &getVersion); err != nil {
				return nil, err
			}
			need, err := needInstall(thread, key, minVersion, force, getVersion)
			return starlark.Bool(need), err
		},
		"uninstall_cmd": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var guid string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "guid", &guid); err != nil {
				return nil, err
			}
			for _, s := range windowsSoftwares(guid) {
				if strings.EqualFold(s.key, guid) {
					quiet, _ := readRegistryString(hkeyLocalMachine, uninstallPath+`\`+guid, "QuietUninstallString")
					return starlark.String(quietUninstallCmd(quiet, s.uninstallString)), nil
				}
			}
			return nil, fmt.Errorf("%s: no uninstall entry %s", b.Name(), guid)
		},
		"get_msi_properties": func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var msi string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msi_filename", &msi); err != nil {
				return nil, err
			}
			d := starlark.NewDict(4)
			for _, p := range []string{"ProductCode", "ProductVersion", "ProductName", "Manufacturer"} {
				v, _ := e.msiProperty(e.abs(msi), p)
				_ = d.SetKey(starlark.String(p), starlark.String(v))
			}
			return d, nil
		},
		"getsilentflags": e.pathOp(func(p string) (starlark.Value, error) { return starlark.String(silentFlagsOf(p)), nil }),
		"install_msi_if_needed": func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return e.installIfNeeded(thread, b, args, kwargs, true)
		},
		"install_exe_if_needed": func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return e.installIfNeeded(thread, b, args, kwargs, false)
		},
	})
}

func silentFlagsOf(p string) string {
	head := make([]byte, 600000)
	f, err := os.Open(p)
	if err != nil {
		return guessSilentFlags(p, nil)
	}
	defer f.Close()
	n, _ := f.Read(head)
	return guessSilentFlags(p, head[:n])
}

func (e *env) msiProperty(msi, prop string) (string, error) {
	out, err := e.query(e.ctx, powershellArgv(msiPropertyScript(msi, prop))...)
	return strings.TrimSpace(out), err
}

// registrySet is registry_setstring(root, path, keyname, value, type=REG_SZ)
// and registry_set(root, path, keyname, value, type=None).
func (e *env) registrySet(asString bool) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var root int
		var path, name string
		var value, typ starlark.Value = nil, starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "root", &root, "path", &path, "keyname", &name, "value", &value, "type?", &typ); err != nil {
			return nil, err
		}
		var v any
		switch x := value.(type) {
		case starlark.String:
			v = string(x)
		case starlark.Int:
			n, _ := x.Uint64()
			if n > 0xffffffff {
				v = n
			} else {
				v = uint32(n)
			}
		default:
			ss, err := stringList(value)
			if err != nil {
				return nil, fmt.Errorf("%s: unsupported value %s", b.Name(), value.Type())
			}
			v = ss
		}
		if asString {
			v = fmt.Sprint(v)
		}
		return starlark.None, e.sys.SetRegistryValue(uint32(root), path, name, v)
	}
}

func readRegistryString(root uint32, path, name string) (string, bool) {
	path = strings.ReplaceAll(path, "/", `\`)
	for _, view := range []uint32{registry.WOW64_64KEY, registry.WOW64_32KEY} {
		k, err := registry.OpenKey(registry.Key(root), path, registry.QUERY_VALUE|view)
		if err != nil {
			continue
		}
		s, _, err := k.GetStringValue(name)
		if err != nil {
			if n, _, ierr := k.GetIntegerValue(name); ierr == nil {
				s, err = fmt.Sprint(n), nil
			}
		}
		k.Close()
		if err == nil {
			return s, true
		}
	}
	return "", false
}

// windowsSoftwares reads the Uninstall keys (64 and 32-bit views); a
// non-empty key restricts to that entry.
func windowsSoftwares(only string) []softwareEntry {
	var out []softwareEntry
	for _, view := range []uint32{registry.WOW64_64KEY, registry.WOW64_32KEY} {
		root, err := registry.OpenKey(registry.LOCAL_MACHINE, uninstallPath, registry.ENUMERATE_SUB_KEYS|view)
		if err != nil {
			continue
		}
		names, _ := root.ReadSubKeyNames(-1)
		root.Close()
		for _, n := range names {
			if only != "" && !strings.EqualFold(n, only) {
				continue
			}
			k, err := registry.OpenKey(registry.LOCAL_MACHINE, uninstallPath+`\`+n, registry.QUERY_VALUE|view)
			if err != nil {
				continue
			}
			get := func(v string) string { s, _, _ := k.GetStringValue(v); return s }
			s := softwareEntry{key: n, name: get("DisplayName"), version: get("DisplayVersion"), installDate: get("InstallDate"),
				location: get("InstallLocation"), uninstallString: get("UninstallString"), publisher: get("Publisher")}
			k.Close()
			if s.name != "" || only != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// needInstall is WAPT's need_install: true unless key is installed at
// min_version or newer.
func needInstall(thread *starlark.Thread, key, minVersion starlark.Value, force bool, getVersion starlark.Value) (bool, error) {
	k, ok := starlark.AsString(key)
	if force || !ok || k == "" {
		return true, nil
	}
	min, _ := starlark.AsString(minVersion)
	for _, s := range windowsSoftwares(k) {
		if minVersion == starlark.None || min == "" {
			return false, nil
		}
		installed := s.version
		if c, ok := getVersion.(starlark.Callable); ok {
			v, err := starlark.Call(thread, c, starlark.Tuple{s.value()}, nil)
			if err != nil {
				return false, err
			}
			installed, _ = starlark.AsString(v)
		}
		if compareVersions(min, installed) <= 0 {
			return false, nil
		}
	}
	return true, nil
}

func compareVersions(a, b string) int {
	va, err1 := version.Parse(a)
	vb, err2 := version.Parse(b)
	if err1 != nil || err2 != nil {
		return strings.Compare(a, b)
	}
	return version.Compare(va, vb)
}

// installIfNeeded is install_msi_if_needed and install_exe_if_needed with
// WAPT's keyword arguments.
func (e *env) installIfNeeded(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, msi bool) (starlark.Value, error) {
	var (
		file                                  string
		minVersion, killbefore, props, getVer = starlark.Value(starlark.None), starlark.Value(starlark.None), starlark.Value(starlark.None), starlark.Value(starlark.None)
		key, silentflags, keylist, pidlist    = starlark.Value(starlark.None), starlark.Value(starlark.None), starlark.Value(starlark.None), starlark.Value(starlark.None)
		accept                                = starlark.Value(starlark.NewList([]starlark.Value{starlark.MakeInt(0), starlark.MakeInt(3010)}))
		timeout                               = starlark.Value(starlark.MakeInt(300))
		removeOld, force                      bool
	)
	var err error
	if msi {
		err = starlark.UnpackArgs(b.Name(), args, kwargs, "msi", &file, "min_version?", &minVersion, "killbefore?", &killbefore,
			"accept_returncodes?", &accept, "timeout?", &timeout, "properties?", &props, "get_version?", &getVer,
			"remove_old_version?", &removeOld, "force?", &force, "uninstallkeylist?", &keylist, "pidlist?", &pidlist, "key?", &key)
	} else {
		err = starlark.UnpackArgs(b.Name(), args, kwargs, "exe", &file, "silentflags?", &silentflags, "key?", &key,
			"min_version?", &minVersion, "killbefore?", &killbefore, "accept_returncodes?", &accept, "timeout?", &timeout,
			"get_version?", &getVer, "remove_old_version?", &removeOld, "force?", &force, "uninstallkeylist?", &keylist, "pidlist?", &pidlist)
	}
	if err != nil {
		return nil, err
	}
	path := e.abs(file)
	if !isFile(path) {
		return nil, &packageError{fmt.Sprintf("%s: %s not found in package", b.Name(), file)}
	}
	if msi && key == starlark.None {
		code, err := e.msiProperty(path, "ProductCode")
		if err != nil {
			return nil, fmt.Errorf("%s: reading ProductCode: %w", b.Name(), err)
		}
		key = starlark.String(code)
	}
	if msi && minVersion == starlark.None {
		v, _ := e.msiProperty(path, "ProductVersion")
		minVersion = starlark.String(v)
	}
	need, err := needInstall(thread, key, minVersion, force, getVer)
	if err != nil {
		return nil, err
	}
	if !need {
		e.print(fmt.Sprintf("%s already installed. Skipping", file))
	} else {
		if killbefore != starlark.None {
			if _, err := e.killalltasks(thread, b, starlark.Tuple{killbefore}, nil); err != nil {
				return nil, err
			}
		}
		var cmd string
		if msi {
			var list []msiProperty
			raw := ""
			if d, ok := props.(*starlark.Dict); ok {
				for _, kv := range d.Items() {
					k, _ := starlark.AsString(kv[0])
					v, ok := starlark.AsString(kv[1])
					if !ok {
						v = kv[1].String()
					}
					list = append(list, msiProperty{k, v})
				}
			} else if s, ok := starlark.AsString(props); ok {
				raw = s
			}
			cmd = msiInstallCmd(path, list, raw)
		} else {
			flags, ok := starlark.AsString(silentflags)
			if !ok {
				flags = silentFlagsOf(path)
			}
			cmd = exeInstallCmd(path, flags)
		}
		spec, err := e.parseRun("run", starlark.Tuple{starlark.String(cmd)},
			[]starlark.Tuple{{starlark.String("accept_returncodes"), accept}, {starlark.String("timeout"), timeout}}, true)
		if err != nil {
			return nil, err
		}
		if _, err := e.run(thread, spec); err != nil {
			return nil, err
		}
		if k, _ := starlark.AsString(key); k != "" && !e.req.DryRun && len(windowsSoftwares(k)) == 0 {
			return nil, &packageError{fmt.Sprintf("%s has been installed but the uninstall key %s can not be found", file, k)}
		}
	}
	if k, _ := starlark.AsString(key); k != "" {
		if l, ok := keylist.(*starlark.List); ok {
			if err := l.Append(starlark.String(k)); err != nil {
				return nil, err
			}
		} else if has, _ := e.keys.Has(starlark.String(k)); !has {
			e.keys.elems = append(e.keys.elems, k)
		}
	}
	return starlark.None, nil
}

// listProcesses takes a Toolhelp snapshot.
func listProcesses(context.Context, System) ([]process, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	var out []process
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		out = append(out, process{pid: int(pe.ProcessID), ppid: int(pe.ParentProcessID), name: windows.UTF16ToString(pe.ExeFile[:])})
	}
	return out, nil
}
