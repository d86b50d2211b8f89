package hostinfo

import (
	"os/exec"
	"strings"
)

func osVersion() string {
	out, err := exec.Command("cmd", "/c", "ver").Output()
	if err != nil {
		return ""
	}
	// "Microsoft Windows [Version 10.0.19045.3930]"
	s := string(out)
	if i := strings.Index(s, "Version "); i >= 0 {
		return strings.TrimSpace(strings.TrimRight(s[i+len("Version "):], "]\r\n"))
	}
	return ""
}

func systemUUID() string {
	out, err := exec.Command("powershell", "-NoProfile", "-Command", "(Get-CimInstance Win32_ComputerSystemProduct).UUID").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
