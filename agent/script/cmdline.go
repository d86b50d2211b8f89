package script

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Command lines built by the Windows and macOS helpers. They are pure so
// that their tests run on every system.

// Windows registry roots (the values of the HKEY_* constants).
const (
	hkeyClassesRoot  uint32 = 0x80000000
	hkeyCurrentUser  uint32 = 0x80000001
	hkeyLocalMachine uint32 = 0x80000002
	hkeyUsers        uint32 = 0x80000003
	hkeyCurrentCfg   uint32 = 0x80000005
)

var registryRoots = []struct {
	name string
	key  uint32
}{
	{"HKEY_CLASSES_ROOT", hkeyClassesRoot},
	{"HKEY_CURRENT_USER", hkeyCurrentUser},
	{"HKEY_LOCAL_MACHINE", hkeyLocalMachine},
	{"HKEY_USERS", hkeyUsers},
	{"HKEY_CURRENT_CONFIG", hkeyCurrentCfg},
}

func registryRootName(root uint32) string {
	for _, r := range registryRoots {
		if r.key == root {
			return r.name
		}
	}
	return fmt.Sprintf("0x%08x", root)
}

// windowsShellCmdLine is the command line Python's subprocess gives
// CreateProcess for shell=True: comspec /c "cmd".
func windowsShellCmdLine(comspec, cmd string) string {
	return comspec + ` /c "` + cmd + `"`
}

// msiProperty is one NAME=value property given to msiexec.
type msiProperty struct{ Name, Value string }

// msiInstallCmd is WAPT's install_msi_if_needed command line:
// msiexec /norestart /q /i "file.msi" PROP=value …  A value holding spaces
// is quoted (WAPT passes it bare, which msiexec misreads).
func msiInstallCmd(msi string, props []msiProperty, raw string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `msiexec /norestart /q /i "%s"`, msi)
	for _, p := range props {
		v := p.Value
		if strings.ContainsAny(v, " \t") && !strings.HasPrefix(v, `"`) {
			v = `"` + v + `"`
		}
		fmt.Fprintf(&b, " %s=%s", p.Name, v)
	}
	if raw = strings.TrimSpace(raw); raw != "" {
		b.WriteString(" " + raw)
	}
	return b.String()
}

// exeInstallCmd is WAPT's install_exe_if_needed command line: "setup.exe" flags.
func exeInstallCmd(exe, silentflags string) string {
	cmd := `"` + exe + `"`
	if silentflags = strings.TrimSpace(silentflags); silentflags != "" {
		cmd += " " + silentflags
	}
	return cmd
}

// guessSilentFlags guesses an installer's silent flags from its name and
// the first bytes of its content, as WAPT's get_installer_defaults does.
func guessSilentFlags(name string, head []byte) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".msi":
		return "/q /norestart"
	case ".msu":
		return "/quiet /norestart"
	case ".exe":
		switch {
		case bytes.Contains(head, []byte("Inno.Setup")):
			return "/VERYSILENT /SUPPRESSMSGBOXES /NORESTART"
		case bytes.Contains(head, []byte("Quiet installer")):
			return "-q"
		case bytes.Contains(head, []byte("nsis.sf.net")), bytes.Contains(head, []byte("Nullsoft.NSIS")):
			return "/S"
		}
	}
	return "/VERYSILENT"
}

var nonWord = regexp.MustCompile(`\W`)

var msiInstallFlag = regexp.MustCompile(`(?i)\s/i\s*`)

// quietUninstallCmd turns a registry uninstall entry into a silent command
// line, as WAPT's uninstall_cmd does: QuietUninstallString wins (Inno's
// /SILENT becomes /VERYSILENT); an msiexec UninstallString gets /X, /q and
// /norestart.
func quietUninstallCmd(quiet, uninstall string) string {
	if quiet != "" {
		if strings.Contains(strings.ToLower(quiet), "unins000") {
			quiet = strings.ReplaceAll(quiet, " /SILENT", " /VERYSILENT")
		}
		return quiet
	}
	cmd := uninstall
	low := strings.ToLower(cmd)
	if strings.Contains(low, "msiexec") {
		cmd = msiInstallFlag.ReplaceAllString(cmd, " /X")
		if !strings.Contains(low, "/q") {
			cmd += " /q"
		}
		if !strings.Contains(low, "/norestart") {
			cmd += " /norestart"
		}
	}
	return cmd
}

// msiPropertyScript is a PowerShell script printing one property of an
// MSI database (ProductCode, ProductVersion, …) through the
// WindowsInstaller COM object.
func msiPropertyScript(msi, property string) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	return `$ErrorActionPreference='Stop';` +
		`$i=New-Object -ComObject WindowsInstaller.Installer;` +
		`$db=$i.GetType().InvokeMember('OpenDatabase','InvokeMethod',$null,$i,@(` + q(msi) + `,0));` +
		`$v=$db.GetType().InvokeMember('OpenView','InvokeMethod',$null,$db,@("SELECT Value FROM Property WHERE Property='` + nonWord.ReplaceAllString(property, "") + `'"));` +
		`$v.GetType().InvokeMember('Execute','InvokeMethod',$null,$v,$null);` +
		`$r=$v.GetType().InvokeMember('Fetch','InvokeMethod',$null,$v,$null);` +
		`if($r){$r.GetType().InvokeMember('StringData','GetProperty',$null,$r,1)}`
}

// powershellArgv runs a script with a non-interactive PowerShell.
func powershellArgv(script string) []string {
	return []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", script}
}

// pkgInstallArgv is WAPT's install_pkg without sudo (the agent is root).
func pkgInstallArgv(pkg string) []string {
	return []string{"installer", "-pkg", pkg, "-target", "/"}
}

// dmgAttachArgv mounts a disk image read-only at mountpoint, hidden from Finder.
func dmgAttachArgv(dmg, mountpoint string) []string {
	return []string{"hdiutil", "attach", "-nobrowse", "-readonly", "-noautoopen", "-mountpoint", mountpoint, dmg}
}

// dmgDetachArgv unmounts a disk image mounted by dmgAttachArgv.
func dmgDetachArgv(mountpoint string) []string {
	return []string{"hdiutil", "detach", "-force", mountpoint}
}
