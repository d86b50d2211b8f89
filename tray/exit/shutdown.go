package exit

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Shutdown integration: what makes the system run waptexit before it shuts
// down. The file contents are pure functions below (tested on every OS);
// InstallShutdownHook and UninstallShutdownHook (per-OS files) write them:
//
//   - Linux: a systemd unit, SystemdUnit.
//   - Windows: a local GPO shutdown script: scripts.ini and gpt.ini under
//     %SystemRoot%\System32\GroupPolicy (AddShutdownScript, UpdateGptINI)
//     and the registry entries under
//     HKLM\Software\Policies\Microsoft\Windows\System\Scripts\Shutdown.
//   - macOS: a loginwindow logout hook, LogoutHookScript.

// ShutdownConfig describes the shutdown hook to install.
type ShutdownConfig struct {
	// Exe is the absolute path of the waptexit binary.
	Exe string
	// Args are waptexit's arguments at shutdown (default ["--console"]
	// on Linux and macOS, none on Windows).
	Args []string
	// AgentUnit is the agent's systemd unit, which must still run when
	// waptexit does (default "waptagent.service").
	AgentUnit string
	// Timeout bounds one waptexit run at shutdown, a backstop for the
	// policy's MaxDuration: systemd's TimeoutStopSec (default 1 h) and,
	// when set, Windows' MaxGPOScriptWait (default: left as is, 10 min).
	Timeout time.Duration
	// Root prefixes the files written (tests); "" is the real root.
	Root string
	// Run runs a system command (systemctl, defaults, gpupdate) and
	// returns its output; nil means exec.CommandContext.
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ErrHookInUse means another program's logout hook is installed (macOS).
var ErrHookInUse = errors.New("another logout hook is installed")

// DefaultShutdownTimeout is ShutdownConfig.Timeout's default for systemd.
const DefaultShutdownTimeout = time.Hour

// UnitName is the systemd unit of waptexit.
const UnitName = "waptexit.service"

func (c ShutdownConfig) withDefaults(consoleArgs bool) ShutdownConfig {
	if c.Args == nil && consoleArgs {
		c.Args = []string{"--console"}
	}
	if c.AgentUnit == "" {
		c.AgentUnit = "waptagent.service"
	}
	if c.Run == nil {
		c.Run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
			out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
			if err != nil {
				return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
			}
			return out, nil
		}
	}
	return c
}

// SystemdUnit is the unit that runs waptexit at shutdown.
//
// The unit is started at boot and does nothing; its ExecStop runs
// waptexit when systemd stops it at shutdown. Because the unit is ordered
// After= the agent and the network, systemd stops it — and waits for
// waptexit — before it stops them. (A oneshot unit started by
// shutdown.target would instead run while, or after, the agent is being
// stopped: for units being started and stopped in the same transaction,
// systemd orders every stop before every start.)
func SystemdUnit(c ShutdownConfig) string {
	c = c.withDefaults(true)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	cmd := []string{systemdQuote(c.Exe)}
	for _, a := range c.Args {
		cmd = append(cmd, systemdQuote(a))
	}
	return `# Installed by "waptexit install-shutdown-script"; removed by "waptexit uninstall-shutdown-script".
[Unit]
Description=WAPT: install pending upgrades before shutdown (waptexit)
After=` + c.AgentUnit + ` network-online.target
Wants=network-online.target
Before=shutdown.target reboot.target halt.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStop=` + strings.Join(cmd, " ") + `
TimeoutStopSec=` + strconv.Itoa(int(timeout.Seconds())) + `

[Install]
WantedBy=multi-user.target
`
}

// systemdQuote quotes one word of a systemd command line: specifiers (%)
// and variables ($) are escaped, and a word with spaces, quotes or
// backslashes is double-quoted with C escapes.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// LogoutHookScript is the macOS loginwindow logout hook: a shell script
// that runs waptexit (as root, when a user logs out or the Mac shuts
// down with a user logged in).
func LogoutHookScript(c ShutdownConfig) string {
	c = c.withDefaults(true)
	words := []string{shellQuote(c.Exe)}
	for _, a := range c.Args {
		words = append(words, shellQuote(a))
	}
	return `#!/bin/sh
# WAPT: install pending upgrades at logout (waptexit).
# Installed by "waptexit install-shutdown-script"; removed by "waptexit uninstall-shutdown-script".
exec ` + strings.Join(words, " ") + ` </dev/null
`
}

// shellQuote single-quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Local GPO files (Windows).

// ScriptsCSE is the gPCMachineExtensionNames entry of the Scripts client
// side extension, which runs the GPO shutdown scripts.
const ScriptsCSE = "[{42B5FAAE-6536-11D2-AE5A-0000F87571E3}{40B6664F-4972-11D1-A7CA-0000F87571E3}]"

// ShutdownScript is one entry of the [Shutdown] section of scripts.ini.
type ShutdownScript struct {
	CmdLine    string
	Parameters string
}

// ShutdownScripts returns the [Shutdown] entries of a scripts.ini, in
// order of their index.
func ShutdownScripts(ini string) []ShutdownScript {
	f := parseINI(ini)
	s := f.section("Shutdown")
	if s == nil {
		return nil
	}
	byIndex := map[int]*ShutdownScript{}
	var idx []int
	for _, kv := range s.keys {
		n, field, ok := splitIndexed(kv.key)
		if !ok {
			continue
		}
		e := byIndex[n]
		if e == nil {
			e = &ShutdownScript{}
			byIndex[n] = e
			idx = append(idx, n)
		}
		if field == "cmdline" {
			e.CmdLine = kv.value
		} else {
			e.Parameters = kv.value
		}
	}
	slices.Sort(idx)
	out := make([]ShutdownScript, 0, len(idx))
	for _, n := range idx {
		out = append(out, *byIndex[n])
	}
	return out
}

// AddShutdownScript returns ini (a scripts.ini, possibly empty) with sc in
// its [Shutdown] section, and sc's index there. changed is false when sc
// was already there (command line and parameters compare case-insensitively).
func AddShutdownScript(ini string, sc ShutdownScript) (out string, index int, changed bool) {
	scripts := ShutdownScripts(ini)
	for i, e := range scripts {
		if sameScript(e, sc) {
			return ini, i, false
		}
	}
	scripts = append(scripts, sc)
	return setShutdownScripts(ini, scripts), len(scripts) - 1, true
}

// RemoveShutdownScript returns ini without sc in its [Shutdown] section,
// the other scripts renumbered from 0; changed is false when sc was not
// there.
func RemoveShutdownScript(ini string, sc ShutdownScript) (out string, changed bool) {
	scripts := ShutdownScripts(ini)
	kept := slices.DeleteFunc(slices.Clone(scripts), func(e ShutdownScript) bool { return sameScript(e, sc) })
	if len(kept) == len(scripts) {
		return ini, false
	}
	return setShutdownScripts(ini, kept), true
}

func sameScript(a, b ShutdownScript) bool {
	return strings.EqualFold(strings.TrimSpace(a.CmdLine), strings.TrimSpace(b.CmdLine)) &&
		strings.EqualFold(strings.TrimSpace(a.Parameters), strings.TrimSpace(b.Parameters))
}

// setShutdownScripts replaces ini's [Shutdown] section with scripts.
func setShutdownScripts(ini string, scripts []ShutdownScript) string {
	f := parseINI(ini)
	s := f.section("Shutdown")
	if s == nil {
		s = &iniSection{name: "Shutdown"}
		f.sections = append(f.sections, s)
	}
	s.keys = nil
	for i, e := range scripts {
		s.keys = append(s.keys,
			iniKV{key: strconv.Itoa(i) + "CmdLine", value: e.CmdLine},
			iniKV{key: strconv.Itoa(i) + "Parameters", value: e.Parameters})
	}
	return f.String()
}

// splitIndexed splits a scripts.ini key "3CmdLine" into 3 and "cmdline".
func splitIndexed(key string) (int, string, bool) {
	i := 0
	for i < len(key) && key[i] >= '0' && key[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, "", false
	}
	n, err := strconv.Atoi(key[:i])
	field := strings.ToLower(key[i:])
	if err != nil || (field != "cmdline" && field != "parameters") {
		return 0, "", false
	}
	return n, field, true
}

// UpdateGptINI returns gpt.ini (possibly empty) with the Scripts extension
// listed in gPCMachineExtensionNames and the computer half of Version
// (its low 16 bits) incremented, so that Windows applies the local GPO
// again.
func UpdateGptINI(ini string) string {
	f := parseINI(ini)
	s := f.section("General")
	if s == nil {
		s = &iniSection{name: "General"}
		f.sections = append(f.sections, s)
	}
	ext := s.get("gPCMachineExtensionNames")
	pairs := extensionPairs(ext)
	if !slices.ContainsFunc(pairs, func(p string) bool { return strings.EqualFold(p, ScriptsCSE) }) {
		pairs = append(pairs, ScriptsCSE)
		slices.SortFunc(pairs, func(a, b string) int { return strings.Compare(strings.ToUpper(a), strings.ToUpper(b)) })
	}
	s.set("gPCMachineExtensionNames", strings.Join(pairs, ""))
	v, _ := strconv.ParseUint(strings.TrimSpace(s.get("Version")), 10, 32)
	user, computer := v&0xffff0000, (v+1)&0xffff
	s.set("Version", strconv.FormatUint(user|computer, 10))
	return f.String()
}

// extensionPairs splits "[{a}{b}][{c}{d}]" into its bracketed pairs.
func extensionPairs(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return out
		}
		out = append(out, s[i:i+j+1])
		s = s[i+j+1:]
	}
}

// A minimal INI model that keeps unknown sections and keys as they are.

type iniKV struct{ key, value string }

type iniSection struct {
	name string
	keys []iniKV
}

type iniFile struct {
	head     []iniKV // keys before any section
	sections []*iniSection
}

func parseINI(s string) *iniFile {
	f := &iniFile{}
	var cur *iniSection
	s = strings.TrimPrefix(s, "\ufeff")
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		switch {
		case line == "" || line[0] == ';' || line[0] == '#':
			continue
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			name := strings.TrimSpace(line[1 : len(line)-1])
			if cur = f.section(name); cur == nil {
				cur = &iniSection{name: name}
				f.sections = append(f.sections, cur)
			}
		default:
			k, v, _ := strings.Cut(line, "=")
			kv := iniKV{strings.TrimSpace(k), strings.TrimSpace(v)}
			if cur == nil {
				f.head = append(f.head, kv)
			} else {
				cur.keys = append(cur.keys, kv)
			}
		}
	}
	return f
}

func (f *iniFile) section(name string) *iniSection {
	for _, s := range f.sections {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

func (s *iniSection) get(key string) string {
	for _, kv := range s.keys {
		if strings.EqualFold(kv.key, key) {
			return kv.value
		}
	}
	return ""
}

func (s *iniSection) set(key, value string) {
	for i, kv := range s.keys {
		if strings.EqualFold(kv.key, key) {
			s.keys[i].value = value
			return
		}
	}
	s.keys = append(s.keys, iniKV{key, value})
}

// String formats f with Windows line ends.
func (f *iniFile) String() string {
	var b strings.Builder
	for _, kv := range f.head {
		b.WriteString(kv.key + "=" + kv.value + "\r\n")
	}
	for _, s := range f.sections {
		b.WriteString("[" + s.name + "]\r\n")
		for _, kv := range s.keys {
			b.WriteString(kv.key + "=" + kv.value + "\r\n")
		}
	}
	return b.String()
}

// WindowsShutdownScript is the scripts.ini entry that runs c.Exe with
// c.Args at shutdown.
func WindowsShutdownScript(c ShutdownConfig) ShutdownScript {
	c = c.withDefaults(false)
	params := make([]string, len(c.Args))
	for i, a := range c.Args {
		params[i] = windowsArg(a)
	}
	return ShutdownScript{CmdLine: c.Exe, Parameters: strings.Join(params, " ")}
}

// windowsArg quotes one argument for CommandLineToArgvW (the rules of
// syscall.EscapeArg, which only exists on Windows).
func windowsArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\n\v\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}
