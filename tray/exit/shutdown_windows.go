package exit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Registry keys of the GPO shutdown scripts, under HKLM: the policy
// Windows reads at shutdown, and the state gpupdate keeps of it.
var scriptKeys = []string{
	`SOFTWARE\Policies\Microsoft\Windows\System\Scripts\Shutdown`,
	`SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\State\Machine\Scripts\Shutdown`,
}

// systemPolicyKey holds MaxGPOScriptWait.
const systemPolicyKey = `SOFTWARE\Policies\Microsoft\Windows\System`

// gpDir is %SystemRoot%\System32\GroupPolicy, under c.Root.
func gpDir(c ShutdownConfig) (string, error) {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return "", err
	}
	if c.Root != "" {
		sys = filepath.Join(c.Root, strings.TrimPrefix(sys, filepath.VolumeName(sys)))
	}
	return filepath.Join(sys, "GroupPolicy"), nil
}

// InstallShutdownHook adds waptexit to the local GPO shutdown scripts:
// scripts.ini and gpt.ini under %SystemRoot%\System32\GroupPolicy, and the
// registry entries under HKLM\Software\Policies\Microsoft\Windows\System\
// Scripts\Shutdown (and gpupdate's state of them), so that it runs at the
// next shutdown without waiting for gpupdate. It needs administrator
// rights.
func InstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	c = c.withDefaults(false)
	if !filepath.IsAbs(c.Exe) {
		return nil, fmt.Errorf("install shutdown script: waptexit path %q is not absolute", c.Exe)
	}
	sc := WindowsShutdownScript(c)
	dir, err := gpDir(c)
	if err != nil {
		return nil, fmt.Errorf("install shutdown script: %w", err)
	}
	scriptsINI := filepath.Join(dir, "Machine", "Scripts", "scripts.ini")
	gptINI := filepath.Join(dir, "gpt.ini")
	cur, err := readINI(scriptsINI)
	if err != nil {
		return nil, fmt.Errorf("install shutdown script: %w", err)
	}
	out, index, changed := AddShutdownScript(cur, sc)
	done := []string{}
	if changed {
		if err := writeScriptsINI(scriptsINI, out); err != nil {
			return nil, fmt.Errorf("install shutdown script: %w", err)
		}
		if err := bumpGpt(gptINI); err != nil {
			return []string{scriptsINI}, fmt.Errorf("install shutdown script: %w", err)
		}
		done = append(done, scriptsINI, gptINI)
	}
	for _, base := range scriptKeys {
		if err := setScriptKey(base, index, sc, dir); err != nil {
			return done, fmt.Errorf("install shutdown script: HKLM\\%s: %w", base, err)
		}
		done = append(done, `HKLM\`+base)
	}
	if c.Timeout > 0 {
		k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, systemPolicyKey, registry.SET_VALUE)
		if err != nil {
			return done, fmt.Errorf("install shutdown script: HKLM\\%s: %w", systemPolicyKey, err)
		}
		err = k.SetDWordValue("MaxGPOScriptWait", uint32(c.Timeout.Seconds()))
		k.Close()
		if err != nil {
			return done, fmt.Errorf("install shutdown script: MaxGPOScriptWait: %w", err)
		}
	}
	c.Run(ctx, "gpupdate", "/Target:Computer", "/Force", "/Wait:30") // best effort
	return done, nil
}

// UninstallShutdownHook removes waptexit from the local GPO shutdown
// scripts and from the registry.
func UninstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	c = c.withDefaults(false)
	sc := WindowsShutdownScript(c)
	dir, err := gpDir(c)
	if err != nil {
		return nil, fmt.Errorf("uninstall shutdown script: %w", err)
	}
	scriptsINI := filepath.Join(dir, "Machine", "Scripts", "scripts.ini")
	gptINI := filepath.Join(dir, "gpt.ini")
	cur, err := readINI(scriptsINI)
	if err != nil {
		return nil, fmt.Errorf("uninstall shutdown script: %w", err)
	}
	var done []string
	if out, changed := RemoveShutdownScript(cur, sc); changed {
		if err := writeScriptsINI(scriptsINI, out); err != nil {
			return nil, fmt.Errorf("uninstall shutdown script: %w", err)
		}
		if err := bumpGpt(gptINI); err != nil {
			return []string{scriptsINI}, fmt.Errorf("uninstall shutdown script: %w", err)
		}
		done = append(done, scriptsINI, gptINI)
	}
	for _, base := range scriptKeys {
		n, err := deleteScriptKeys(base, sc)
		if err != nil {
			return done, fmt.Errorf("uninstall shutdown script: HKLM\\%s: %w", base, err)
		}
		if n > 0 {
			done = append(done, `HKLM\`+base)
		}
	}
	c.Run(ctx, "gpupdate", "/Target:Computer", "/Force", "/Wait:30") // best effort
	return done, nil
}

// localGPO finds the subkey of base that holds the local GPO's scripts,
// or the next free number when there is none.
func localGPO(base registry.Key) (string, error) {
	names, err := base.ReadSubKeyNames(-1)
	if err != nil {
		return "", err
	}
	next := 0
	for _, n := range names {
		k, err := registry.OpenKey(base, n, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		id, _, _ := k.GetStringValue("GPO-ID")
		k.Close()
		if strings.EqualFold(id, "LocalGPO") {
			return n, nil
		}
		if i, err := strconv.Atoi(n); err == nil && i >= next {
			next = i + 1
		}
	}
	return strconv.Itoa(next), nil
}

// setScriptKey writes the local GPO key of base and its script index.
func setScriptKey(basePath string, index int, sc ShutdownScript, gpDir string) error {
	base, _, err := registry.CreateKey(registry.LOCAL_MACHINE, basePath, registry.ALL_ACCESS)
	if err != nil {
		return err
	}
	defer base.Close()
	gpo, err := localGPO(base)
	if err != nil {
		return err
	}
	g, _, err := registry.CreateKey(base, gpo, registry.ALL_ACCESS)
	if err != nil {
		return err
	}
	defer g.Close()
	for name, v := range map[string]string{
		"GPO-ID": "LocalGPO", "SOM-ID": "Local", "FileSysPath": filepath.Join(gpDir, "Machine"),
		"DisplayName": "Local Group Policy", "GPOName": "Local Group Policy",
	} {
		if err := g.SetStringValue(name, v); err != nil {
			return err
		}
	}
	if err := g.SetDWordValue("PSScriptOrder", 1); err != nil {
		return err
	}
	s, _, err := registry.CreateKey(g, strconv.Itoa(index), registry.ALL_ACCESS)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.SetStringValue("Script", sc.CmdLine); err != nil {
		return err
	}
	if err := s.SetStringValue("Parameters", sc.Parameters); err != nil {
		return err
	}
	if err := s.SetDWordValue("IsPowershell", 0); err != nil {
		return err
	}
	return s.SetQWordValue("ExecTime", 0)
}

// deleteScriptKeys deletes the script keys of sc under base's local GPO
// and returns how many it deleted.
func deleteScriptKeys(basePath string, sc ShutdownScript) (int, error) {
	base, err := registry.OpenKey(registry.LOCAL_MACHINE, basePath, registry.ALL_ACCESS)
	if errors.Is(err, registry.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer base.Close()
	gpo, err := localGPO(base)
	if err != nil {
		return 0, err
	}
	g, err := registry.OpenKey(base, gpo, registry.ALL_ACCESS)
	if errors.Is(err, registry.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer g.Close()
	names, err := g.ReadSubKeyNames(-1)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		s, err := registry.OpenKey(g, name, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		script, _, _ := s.GetStringValue("Script")
		params, _, _ := s.GetStringValue("Parameters")
		s.Close()
		if !sameScript(ShutdownScript{script, params}, sc) {
			continue
		}
		if err := registry.DeleteKey(g, name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// readINI reads an INI file written as UTF-16 (with a BOM) or UTF-8; a
// missing file is empty.
func readINI(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe {
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
		}
		return string(utf16.Decode(u)), nil
	}
	return string(b), nil
}

// writeScriptsINI writes scripts.ini as Windows does: UTF-16LE with a
// BOM, hidden. A hidden file cannot be overwritten by CREATE_ALWAYS, so
// it is made visible first.
func writeScriptsINI(path, s string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	windows.SetFileAttributes(p, windows.FILE_ATTRIBUTE_NORMAL) // may not exist yet
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xff, 0xfe
	for _, r := range u {
		b = append(b, byte(r), byte(r>>8))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	return windows.SetFileAttributes(p, windows.FILE_ATTRIBUTE_HIDDEN)
}

// bumpGpt updates gpt.ini (UpdateGptINI).
func bumpGpt(path string) error {
	cur, err := readINI(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(UpdateGptINI(cur)), 0o644)
}
