package inventory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/version"
)

// Software versions come from dpkg, rpm, the Windows registry and macOS
// bundles, and many are not WAPT versions: "3.0.19-1~deb12u2",
// "1:2.3-4", "1.1.1f-1ubuntu2", "10.0.19041.1 (WinBuild.160101)". They
// are compared with shared/version semantics after SoftwareVersion has
// brought them to that form:
//
//   - a version version.Parse accepts is taken as it is;
//   - otherwise a Debian epoch ("1:") is dropped, the upstream part is the
//     leading run of version members (letters, digits, ~ + _ separated by
//     dots, at most version.MaxMembers: "1.2.3.4.5" keeps "1.2.3.4"), and
//     the packaging number the digits right after a "-" ("-1~deb12u2"
//     gives 1, "-1ubuntu2" gives 1);
//   - a version without even one leading member ("", "(none)", "unknown
//     build") has no key: its rows match a software name filter but no
//     version comparison (not even !=).
//
// So "openssl<3.0.20" matches 3.0.19-1~deb12u2, "vim>=9" does not match
// 2:8.2.3995-1 (the epoch is ignored), and as with packages a filter
// version without a packaging part compares upstream parts only:
// "openssl==3.0.19" matches 3.0.19-1~deb12u2.

// SoftwareVersion returns v in shared/version form (see above); ok is
// false when v has no usable leading version.
func SoftwareVersion(v string) (version.Version, bool) {
	s := strings.TrimSpace(v)
	if s == "" {
		return version.Version{}, false
	}
	if pv, err := version.Parse(s); err == nil {
		return pv, true
	}
	if i := strings.IndexByte(s, ':'); i > 0 && allDigits(s[:i]) {
		s = s[i+1:]
	}
	var b strings.Builder
	i, members := 0, 0
	for members < version.MaxMembers {
		j := i
		for j < len(s) && memberChar(s[j]) {
			j++
		}
		if j == i {
			break
		}
		if members > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s[i:j])
		members++
		i = j
		if i+1 < len(s) && s[i] == '.' && memberChar(s[i+1]) {
			i++
			continue
		}
		break
	}
	if members == 0 {
		return version.Version{}, false
	}
	// Skip members beyond MaxMembers, then look for "-<digits>".
	for i < len(s) && (s[i] == '.' || memberChar(s[i])) {
		i++
	}
	if i+1 < len(s) && s[i] == '-' && isDigit(s[i+1]) {
		j := i + 1
		for j < len(s) && isDigit(s[j]) && j-i <= 9 {
			j++
		}
		b.WriteString(s[i:j])
	}
	pv, err := version.Parse(b.String())
	if err != nil {
		return version.Version{}, false
	}
	return pv, true
}

// SoftwareVersionKey returns the sortable key of a software version
// (VersionKey of SoftwareVersion), nil when it has none.
func SoftwareVersionKey(v string) []byte {
	pv, ok := SoftwareVersion(v)
	if !ok {
		return nil
	}
	return VersionKey(pv)
}

func memberChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '~' || c == '+' || c == '_'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// SoftwareCond is a validated software filter as the store runs it.
type SoftwareCond struct {
	// Name is the lower-cased software name: equal to the row's NameKey,
	// or its prefix when Prefix is set.
	Name   string
	Prefix bool
	// Versions bounds the row's version key; nil: any version (rows
	// without a key included).
	Versions *KeyRange
	// Exclude inverts Versions (the != operator): rows with a key outside
	// it.
	Exclude bool
}

// MaxSoftwareFilter bounds the text of a software filter.
const MaxSoftwareFilter = 1024

// softwareOps are the comparison operators, longest first.
var softwareOps = []string{"==", "!=", "<=", ">=", "<", ">", "="}

// ParseSoftwareFilter parses a software filter: "name", "name<op>version"
// or "name(<op>version)" with op one of == = != < <= > >=; a name ending
// in "*" matches every name with that prefix ("python3*>=3.11"). Names
// match case-insensitively, in full; the version is brought to
// shared/version form like the installed ones (SoftwareVersion). Windows
// display names may hold parentheses ("Mozilla Firefox (x64 en-US)<128"):
// only a final "(…)" starting with an operator is a condition. Errors wrap
// ErrInvalid.
func ParseSoftwareFilter(s string) (SoftwareCond, error) {
	bad := func(why string) (SoftwareCond, error) {
		return SoftwareCond{}, fmt.Errorf("%w: software filter %.60q: %s", ErrInvalid, s, why)
	}
	in := strings.TrimSpace(s)
	switch {
	case in == "":
		return bad("empty")
	case len(in) > MaxSoftwareFilter:
		return bad(fmt.Sprintf("longer than %d bytes", MaxSoftwareFilter))
	case !utf8.ValidString(in):
		return bad("not valid UTF-8")
	case strings.IndexFunc(in, unicode.IsControl) >= 0:
		return bad("control character")
	}
	name, cond := in, ""
	if i := strings.LastIndexByte(in, '('); i > 0 && strings.HasSuffix(in, ")") {
		if inner := strings.TrimSpace(in[i+1 : len(in)-1]); inner != "" && strings.IndexByte("<>=!", inner[0]) >= 0 {
			name, cond = in[:i], inner
		}
	}
	if cond == "" {
		if i := strings.IndexAny(in, "<>=!"); i >= 0 {
			name, cond = in[:i], in[i:]
		}
	}
	name = strings.TrimSpace(name)
	if strings.HasSuffix(name, "(") {
		return bad("missing ')'")
	}
	var c SoftwareCond
	if n, ok := strings.CutSuffix(name, "*"); ok {
		name, c.Prefix = strings.TrimSpace(n), true
	}
	if name == "" {
		return bad("no software name")
	}
	c.Name = strings.ToLower(name)
	if cond == "" {
		return c, nil
	}
	op := ""
	for _, o := range softwareOps {
		if strings.HasPrefix(cond, o) {
			op = o
			break
		}
	}
	if op == "" {
		return bad(fmt.Sprintf("unknown operator in %q (== = != < <= > >=)", cond))
	}
	vs := strings.TrimSpace(cond[len(op):])
	if vs == "" {
		return bad("no version after " + op)
	}
	if strings.ContainsAny(vs[:1], "<>=!") {
		return bad(fmt.Sprintf("unknown operator in %q (== = != < <= > >=)", cond))
	}
	v, ok := SoftwareVersion(vs)
	if !ok {
		return bad(fmt.Sprintf("%q is not a version", vs))
	}
	vop := version.Op(op)
	if op == "!=" {
		vop, c.Exclude = version.OpEq, true
	}
	kr, ok := rangeFor(version.Request{Name: c.Name, Op: vop, Version: v})
	if !ok {
		return bad("no version condition")
	}
	c.Versions = &kr
	return c, nil
}
