// Package version parses and compares WAPT package versions
// ("upstream-packaging", e.g. "1.2.3.4-5") and package requests such as
// "firefox(>=115-2)".
//
// Ordering: the upstream part has 1 to 4 dot-separated members; missing
// members count as "0", so 7 == 7.0 == 7.0.0.0. Members are compared
// naturally, like WAPT's Version: a member is split into alternating text and
// digit runs, digit runs compare as integers of any length (leading zeros are
// ignored, so 1.01 == 1.1) and text runs compare case-insensitively by ASCII
// code. A member that is a prefix of another sorts first, so 1.0 < 1.0a <
// 1.0b and 1.0 < 1.0rc1. Because text runs align with text runs, a member
// starting with a digit sorts before one starting with a letter (numeric <
// text): 1.9 < 1.a. The packaging part, after the last "-", is a
// non-negative integer compared numerically; a missing packaging counts as 0.
package version

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every parse error; the message names the input.
var ErrInvalid = errors.New("invalid version")

// MaxMembers is the largest number of dot-separated upstream members.
const MaxMembers = 4

// maxLen bounds the text of a version so comparisons stay cheap.
const maxLen = 256

// Version is a parsed package version. The zero value is the empty version
// (IsZero); it compares like "0".
type Version struct {
	raw          string
	upstream     string
	members      []member
	packaging    int
	hasPackaging bool
}

// member is one upstream member split into runs: even indexes hold text runs
// (lowercased, possibly empty), odd indexes digit runs (leading zeros removed,
// "" for zero). The slice always has odd length.
type member []string

// zeroMember is the value of a missing member ("0").
var zeroMember = member{"", "", ""}

// Parse parses s (surrounding spaces are ignored).
func Parse(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return Version{}, fmt.Errorf("%w %q: empty", ErrInvalid, s)
	}
	if len(raw) > maxLen {
		return Version{}, fmt.Errorf("%w %.40q...: longer than %d bytes", ErrInvalid, raw, maxLen)
	}
	v := Version{raw: raw, upstream: raw}
	if i := strings.LastIndexByte(raw, '-'); i >= 0 {
		v.upstream = raw[:i]
		pk := raw[i+1:]
		if pk == "" || !allDigits(pk) {
			return Version{}, fmt.Errorf("%w %q: packaging %q is not a non-negative integer", ErrInvalid, raw, pk)
		}
		n, err := strconv.Atoi(pk)
		if err != nil {
			return Version{}, fmt.Errorf("%w %q: packaging %q out of range", ErrInvalid, raw, pk)
		}
		v.packaging, v.hasPackaging = n, true
	}
	if v.upstream == "" {
		return Version{}, fmt.Errorf("%w %q: empty upstream version", ErrInvalid, raw)
	}
	parts := strings.Split(v.upstream, ".")
	if len(parts) > MaxMembers {
		return Version{}, fmt.Errorf("%w %q: %d members, at most %d allowed", ErrInvalid, raw, len(parts), MaxMembers)
	}
	v.members = make([]member, len(parts))
	for i, p := range parts {
		if p == "" {
			return Version{}, fmt.Errorf("%w %q: empty member %d", ErrInvalid, raw, i+1)
		}
		for j := 0; j < len(p); j++ {
			if !memberChar(p[j]) {
				return Version{}, fmt.Errorf("%w %q: character %q not allowed (letters, digits, ~ + _)", ErrInvalid, raw, rune(p[j]))
			}
		}
		v.members[i] = splitMember(p)
	}
	return v, nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func memberChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '~' || c == '+' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// splitMember splits p into alternating text and digit runs, starting and
// ending with a (possibly empty) text run.
func splitMember(p string) member {
	var m member
	i := 0
	for {
		j := i
		for j < len(p) && !isDigit(p[j]) {
			j++
		}
		m = append(m, strings.ToLower(p[i:j]))
		if j == len(p) {
			return m
		}
		k := j
		for k < len(p) && isDigit(p[k]) {
			k++
		}
		m = append(m, strings.TrimLeft(p[j:k], "0"))
		i = k
	}
}

// String returns the version as given (trimmed); "" for the zero Version.
func (v Version) String() string { return v.raw }

// IsZero reports whether v is the zero (unparsed, empty) Version.
func (v Version) IsZero() bool { return v.raw == "" }

// HasPackaging reports whether v has a "-packaging" suffix.
func (v Version) HasPackaging() bool { return v.hasPackaging }

// Upstream returns the text before the packaging suffix.
func (v Version) Upstream() string { return v.upstream }

// Packaging returns the packaging number (0 when absent).
func (v Version) Packaging() int { return v.packaging }

// Compare returns -1, 0 or +1 as a is lower than, equal to or higher than b:
// upstream first, then packaging (a missing packaging counts as 0).
func Compare(a, b Version) int {
	if c := CompareUpstream(a, b); c != 0 {
		return c
	}
	return cmpInt(a.packaging, b.packaging)
}

// CompareUpstream compares only the upstream parts of a and b.
func CompareUpstream(a, b Version) int {
	for i := range MaxMembers {
		if c := compareMember(a.member(i), b.member(i)); c != 0 {
			return c
		}
	}
	return 0
}

func (v Version) member(i int) member {
	if i < len(v.members) {
		return v.members[i]
	}
	return zeroMember
}

func compareMember(a, b member) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		var c int
		if i%2 == 0 {
			c = strings.Compare(a[i], b[i])
		} else {
			c = compareDigits(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmpInt(len(a), len(b))
}

// compareDigits compares two digit runs without leading zeros as integers.
func compareDigits(a, b string) int {
	if c := cmpInt(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
