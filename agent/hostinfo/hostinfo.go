// Package hostinfo tells the engine what this machine is for package
// selection: OS, OS version, architecture, names and the SMBIOS UUID.
package hostinfo

import (
	"net"
	"os"
	"regexp"
	"runtime"
	"strings"
)

// Info is what package filters need to know about the host.
type Info struct {
	OS        string // linux, windows, darwin
	OSVersion string
	Arch      string // x64, x86, arm64, arm
	Hostname  string
	FQDN      string
	// SystemUUID is the SMBIOS/DMI UUID when readable and plausible, else "".
	SystemUUID string
}

// Detect reads the host facts.
func Detect() Info {
	h, _ := os.Hostname()
	return Info{
		OS:         runtime.GOOS,
		OSVersion:  osVersion(),
		Arch:       Arch(runtime.GOARCH),
		Hostname:   h,
		FQDN:       fqdn(h),
		SystemUUID: ValidUUID(systemUUID()),
	}
}

// Arch maps a GOARCH to WAPT's architecture names.
func Arch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "x86"
	case "arm64":
		return "arm64"
	case "arm":
		return "arm"
	}
	return goarch
}

var uuidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// ValidUUID returns s in upper case when it is a usable machine UUID; the
// all-zero, all-F and malformed values some firmwares report give "".
func ValidUUID(s string) string {
	s = strings.TrimSpace(s)
	if !uuidRE.MatchString(s) {
		return ""
	}
	hex := strings.ReplaceAll(strings.ToUpper(s), "-", "")
	if strings.Trim(hex, "0") == "" || strings.Trim(hex, "F") == "" {
		return ""
	}
	return strings.ToUpper(s)
}

func fqdn(host string) string {
	if strings.Contains(host, ".") {
		return strings.ToLower(host)
	}
	if cname, err := net.LookupCNAME(host); err == nil {
		if c := strings.TrimSuffix(cname, "."); strings.Contains(c, ".") {
			return strings.ToLower(c)
		}
	}
	return strings.ToLower(host)
}
