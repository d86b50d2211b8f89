package hostinfo

import (
	"os/exec"
	"regexp"
	"strings"
)

func osVersion() string {
	out, err := exec.Command("sw_vers", "-productVersion").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var ioregUUID = regexp.MustCompile(`"IOPlatformUUID" = "([^"]+)"`)

func systemUUID() string {
	out, err := exec.Command("ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return ""
	}
	if m := ioregUUID.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}
