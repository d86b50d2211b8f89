package menu

import (
	"encoding/xml"
	"strings"
)

// Autostart: `wapttray install` makes the tray start at login. The
// contents are pure functions below (tested on every OS); InstallAutostart
// and UninstallAutostart (per-OS files) write them:
//
//   - Linux and other XDG desktops: os.UserConfigDir()/autostart/wapttray.desktop
//   - Windows: the "wapttray" value of HKCU\Software\Microsoft\Windows\CurrentVersion\Run
//   - macOS: ~/Library/LaunchAgents/org.wapt.wapttray.plist

// Names of the autostart entries.
const (
	DesktopFileName = "wapttray.desktop"
	LaunchAgentName = "org.wapt.wapttray"
	RunValueName    = "wapttray"
	RunKeyPath      = `Software\Microsoft\Windows\CurrentVersion\Run`
)

// DesktopEntry is the XDG autostart entry that runs exe with args.
func DesktopEntry(exe string, args []string) string {
	words := []string{desktopExecArg(exe)}
	for _, a := range args {
		words = append(words, desktopExecArg(a))
	}
	// The Exec value is a string: its backslashes are escaped once more
	// after the Exec quoting (Desktop Entry Specification, "The Exec key").
	execLine := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(strings.Join(words, " "))
	return `[Desktop Entry]
Type=Application
Name=WAPT
Comment=WAPT software updates (tray icon)
Exec=` + execLine + `
Terminal=false
Categories=System;
X-GNOME-Autostart-enabled=true
`
}

// desktopExecArg quotes one argument of an Exec key: field codes are
// escaped (%%), and an argument with a reserved character is
// double-quoted with ", `, $ and \ escaped.
func desktopExecArg(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`).Replace(s) + `"`
}

// LaunchAgentPlist is the macOS LaunchAgent that runs exe with args at
// login, in GUI sessions only.
func LaunchAgentPlist(exe string, args []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + LaunchAgentName + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{exe}, args...) {
		b.WriteString("\t\t<string>" + xmlText(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<false/>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.String()
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// RunValue is the command line of the Windows Run key value that runs exe
// with args.
func RunValue(exe string, args []string) string {
	words := []string{`"` + exe + `"`} // a program path cannot hold a quote
	for _, a := range args {
		words = append(words, windowsArg(a))
	}
	return strings.Join(words, " ")
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
		switch s[i] {
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
