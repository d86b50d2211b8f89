package resolve

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/version"
)

// ErrFiltered is wrapped by the errors of Accept: the package does not suit
// the host (maturity, locale, OS, OS version or architecture).
var ErrFiltered = errors.New("package filtered out for this host")

// FilterError says why a package does not suit a host.
type FilterError struct {
	Package string
	Version string
	Reason  string // e.g. "maturity BETA not accepted (PROD)"
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Package, e.Version, ErrFiltered, e.Reason)
}

// Unwrap returns ErrFiltered.
func (e *FilterError) Unwrap() error { return ErrFiltered }

// prod is the maturity of a package with no maturity.
const prod = "PROD"

// hostPrefs is a Host normalized once for filtering and ranking.
type hostPrefs struct {
	os         string // "windows", "linux", "darwin" or "" (any)
	osVersion  version.Version
	hasOSVer   bool
	arch       string   // normalized, "" = any
	locales    []string // lowercased, preference order; empty = any
	maturities []string // uppercased, preference order; never empty
}

func newHostPrefs(h Host) *hostPrefs {
	p := &hostPrefs{
		os:   osFamily(strings.ToLower(strings.TrimSpace(h.OS))),
		arch: normArch(h.Arch),
	}
	if p.os == "" && strings.TrimSpace(h.OS) != "" {
		p.os = strings.ToLower(strings.TrimSpace(h.OS)) // unknown OS: only exact tokens match
	}
	p.osVersion, p.hasOSVer = osVersion(h.OSVersion)
	for _, l := range h.Locales {
		if l = strings.ToLower(strings.TrimSpace(l)); l != "" && !slices.Contains(p.locales, l) {
			p.locales = append(p.locales, l)
		}
	}
	for _, m := range h.Maturities {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" && !slices.Contains(p.maturities, m) {
			p.maturities = append(p.maturities, m)
		}
	}
	if len(p.maturities) == 0 {
		p.maturities = []string{prod}
	}
	return p
}

// Accept reports whether c suits host h: nil, or a *FilterError (wrapping
// ErrFiltered) giving the first reason it does not. The rules, WAPT's:
//   - maturity (empty means PROD) is one of h.Maturities (default [PROD]);
//   - locale is empty, "all", or shares a locale with h.Locales (any locale
//     when h.Locales is empty); a package locale may be a list "fr,en";
//   - target_os is empty, "all", or names h.OS or an alias of it (windows:
//     win; linux: unix, debian_based, redhat_based, ubuntu, debian, …;
//     darwin: macos, mac, osx, unix). Linux distribution names all count as
//     linux: Host carries no distribution;
//   - min_os_version <= h.OSVersion <= max_os_version, compared naturally on
//     the leading dotted numbers; skipped when h.OSVersion is empty;
//   - architecture is empty, "all", h.Arch, or x86 on an x64 host (amd64,
//     i386 and aarch64 are read as x64, x86 and arm64).
//
// An empty h.OS or h.Arch accepts any target OS or architecture.
func Accept(h Host, c *control.Control) error {
	return newHostPrefs(h).accept(c)
}

func (p *hostPrefs) accept(c *control.Control) error {
	reject := func(format string, args ...any) error {
		return &FilterError{Package: c.Package(), Version: c.Get("version"), Reason: fmt.Sprintf(format, args...)}
	}
	if m := maturity(c); !slices.Contains(p.maturities, m) {
		return reject("maturity %s not accepted (%s)", m, strings.Join(p.maturities, ","))
	}
	if p.localeRank(c.Get("locale")) < 0 {
		return reject("locale %s not in %s", strings.TrimSpace(c.Get("locale")), strings.Join(p.locales, ","))
	}
	if t := c.Get("target_os"); !p.osMatches(t) {
		return reject("target_os %s does not include %s", strings.TrimSpace(t), p.os)
	}
	if p.hasOSVer {
		if s := strings.TrimSpace(c.Get("min_os_version")); s != "" {
			min, ok := osVersion(s)
			if !ok {
				return reject("min_os_version %q is not a version", s)
			}
			if version.Compare(p.osVersion, min) < 0 {
				return reject("needs OS version >= %s (host has %s)", s, p.osVersion)
			}
		}
		if s := strings.TrimSpace(c.Get("max_os_version")); s != "" {
			max, ok := osVersion(s)
			if !ok {
				return reject("max_os_version %q is not a version", s)
			}
			if version.Compare(p.osVersion, max) > 0 {
				return reject("needs OS version <= %s (host has %s)", s, p.osVersion)
			}
		}
	}
	if a := c.Get("architecture"); p.archRank(a) < 0 {
		return reject("architecture %s does not run on %s", strings.TrimSpace(a), p.arch)
	}
	return nil
}

// maturity returns the uppercased maturity of c, PROD when empty.
func maturity(c *control.Control) string {
	m := strings.ToUpper(strings.TrimSpace(c.Get("maturity")))
	if m == "" {
		return prod
	}
	return m
}

// isAll reports whether an attribute value means "any".
func isAll(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || strings.EqualFold(s, "all")
}

// localeRank ranks a package locale for this host: 0 is best, -1 rejected.
// A listed locale ranks by its position in the host's list, ahead of
// "all"/empty, which ranks after every listed one.
func (p *hostPrefs) localeRank(loc string) int {
	if isAll(loc) || len(p.locales) == 0 {
		return len(p.locales)
	}
	best := -1
	for l := range strings.SplitSeq(loc, ",") {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "all" {
			return len(p.locales)
		}
		if i := slices.Index(p.locales, l); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// maturityRank is the position of c's maturity in the host's list.
func (p *hostPrefs) maturityRank(c *control.Control) int {
	return slices.Index(p.maturities, maturity(c))
}

// archRank ranks a package architecture: 0 native, 1 all, 2 x86 on x64, -1
// rejected.
func (p *hostPrefs) archRank(arch string) int {
	if isAll(arch) {
		return 1
	}
	a := normArch(arch)
	switch {
	case p.arch == "" || a == p.arch:
		return 0
	case p.arch == "x64" && a == "x86":
		return 2
	}
	return -1
}

// normArch maps architecture spellings to WAPT's.
func normArch(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "amd64", "x86_64", "x86-64":
		return "x64"
	case "i386", "i686", "386", "x32":
		return "x86"
	case "aarch64":
		return "arm64"
	case "armhf", "armv7", "armv7l":
		return "arm"
	case "all":
		return ""
	}
	return s
}

// osAliases maps target_os tokens to the host OS families they name.
var osAliases = map[string][]string{
	"windows": {"windows"}, "win": {"windows"}, "win32": {"windows"}, "win64": {"windows"},
	"linux": {"linux"}, "debian_based": {"linux"}, "redhat_based": {"linux"},
	"debian": {"linux"}, "ubuntu": {"linux"}, "linuxmint": {"linux"}, "mint": {"linux"},
	"redhat": {"linux"}, "rhel": {"linux"}, "centos": {"linux"}, "rocky": {"linux"},
	"almalinux": {"linux"}, "fedora": {"linux"}, "suse": {"linux"}, "opensuse": {"linux"},
	"darwin": {"darwin"}, "macos": {"darwin"}, "mac": {"darwin"}, "macosx": {"darwin"}, "osx": {"darwin"},
	"unix": {"linux", "darwin"},
}

// osFamily returns the family of a host OS name, "" when unknown or empty.
func osFamily(s string) string {
	if f := osAliases[s]; len(f) == 1 {
		return f[0]
	}
	return ""
}

// osMatches reports whether a target_os list accepts the host OS.
func (p *hostPrefs) osMatches(target string) bool {
	if isAll(target) || p.os == "" {
		return true
	}
	for t := range strings.SplitSeq(target, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "all" || t == p.os || slices.Contains(osAliases[t], p.os) {
			return true
		}
	}
	return false
}

// osVersion parses the leading dotted numbers of an OS version ("10.0.19045",
// "22.04.3 LTS" → 22.04.3, "12"), keeping at most version.MaxMembers members.
func osVersion(s string) (version.Version, bool) {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] == '.' || s[end] >= '0' && s[end] <= '9') {
		end++
	}
	parts := strings.Split(strings.Trim(s[:end], "."), ".")
	if len(parts) > version.MaxMembers {
		parts = parts[:version.MaxMembers]
	}
	v, err := version.Parse(strings.Join(parts, "."))
	return v, err == nil
}
