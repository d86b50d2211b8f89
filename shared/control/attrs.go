package control

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/wapt-go/wapt/shared/version"
)

// ErrInvalid is wrapped by every *ValidationError.
var ErrInvalid = errors.New("invalid control")

// Sections are the known package types (values of "section").
var Sections = []string{"base", "restricted", "group", "host", "unit", "profile", "selfservice", "config", "wsus"}

// Architectures are the known values of "architecture" (compared
// case-insensitively).
var Architectures = []string{"all", "x86", "x64", "arm", "arm64", "armhf", "aarch64", "amd64", "i386"}

// ValidationError lists every missing or bad field of a control: field name
// → reason. File and Line say where the control was parsed from (empty and
// 0 for a control built in memory).
type ValidationError struct {
	File   string
	Line   int
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	where := e.File
	if where == "" {
		where = "control"
	}
	if e.Line > 1 {
		where = fmt.Sprintf("%s:%d", where, e.Line)
	}
	return fmt.Sprintf("%s: %v: %s", where, ErrInvalid, strings.Join(parts, "; "))
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// misread returns the first character of s that WAPT's Python reader would
// treat differently from Parse: control characters other than "\n" and
// "\t" (str.splitlines breaks lines at "\r", "\v", "\f", "\x1c"-"\x1e",
// U+0085, U+2028 and U+2029, and str.strip removes "\x1c"-"\x1f").
func misread(s string) (rune, bool) {
	for _, r := range s {
		if r != '\n' && r != '\t' && unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return r, true
		}
	}
	return 0, false
}

// Validate checks that the required attributes are present and non-empty,
// that version parses, that section and architecture are known, that
// depends and conflicts parse, that installed_size and size are integers
// when set, and that no key or value holds what WAPT would misread (control
// characters other than "\n" and "\t", a blank inner or final line in a
// multi-line value, a line break in a required attribute). It returns a
// *ValidationError listing every bad field, or nil.
func (c *Control) Validate() error {
	bad := map[string]string{}
	for _, k := range RequiredAttributes {
		v := c.Get(k)
		switch {
		case !c.Has(k):
			bad[k] = "missing"
		case strings.TrimSpace(v) == "":
			bad[k] = "empty"
		case strings.Contains(v, "\n"):
			bad[k] = "must be a single line"
		}
	}
	if _, ok := bad["version"]; !ok {
		if _, err := version.Parse(c.Get("version")); err != nil {
			bad["version"] = err.Error()
		}
	}
	if _, ok := bad["section"]; !ok && !slices.Contains(Sections, c.Section()) {
		bad["section"] = fmt.Sprintf("unknown section %q (want one of %s)", c.Get("section"), strings.Join(Sections, ", "))
	}
	if _, ok := bad["architecture"]; !ok && !slices.Contains(Architectures, strings.ToLower(strings.TrimSpace(c.Get("architecture")))) {
		bad["architecture"] = fmt.Sprintf("unknown architecture %q (want one of %s)", c.Get("architecture"), strings.Join(Architectures, ", "))
	}
	for _, k := range []string{"depends", "conflicts"} {
		if _, err := version.ParseRequests(c.Get(k)); err != nil {
			bad[k] = err.Error()
		}
	}
	for _, k := range []string{"installed_size", "size"} {
		if v := strings.TrimSpace(c.Get(k)); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				bad[k] = fmt.Sprintf("%q is not a non-negative integer", v)
			}
		}
	}
	for _, k := range c.Keys() {
		if _, ok := bad[k]; ok {
			continue
		}
		if r, ok := misread(k); ok {
			bad[k] = fmt.Sprintf("control character %q in the key", r)
			continue
		}
		v := c.vals[k]
		if r, ok := misread(v); ok {
			bad[k] = fmt.Sprintf("control character %q in the value", r)
		} else if strings.Contains(v+"\n", "\n\n") {
			bad[k] = "blank inner or final line in the value (WAPT stops reading the control there)"
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &ValidationError{File: c.file, Line: c.line, Fields: bad}
}

// Version parses the "version" attribute.
func (c *Control) Version() (version.Version, error) {
	v, err := version.Parse(c.Get("version"))
	if err != nil {
		return version.Version{}, fmt.Errorf("%sversion: %w", c.where(), err)
	}
	return v, nil
}

// where returns "file:line: " for errors, or "" for in-memory controls.
func (c *Control) where() string {
	switch {
	case c == nil || c.file == "":
		return ""
	case c.line > 1:
		return fmt.Sprintf("%s:%d: ", c.file, c.line)
	}
	return c.file + ": "
}

// Section returns the lowercased "section" attribute, "base" when empty.
func (c *Control) Section() string {
	s := strings.ToLower(strings.TrimSpace(c.Get("section")))
	if s == "" {
		return "base"
	}
	return s
}

// Depends parses the "depends" attribute.
func (c *Control) Depends() ([]version.Request, error) { return c.requests("depends") }

// Conflicts parses the "conflicts" attribute.
func (c *Control) Conflicts() ([]version.Request, error) { return c.requests("conflicts") }

func (c *Control) requests(key string) ([]version.Request, error) {
	r, err := version.ParseRequests(c.Get(key))
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", c.where(), key, err)
	}
	return r, nil
}

// Int returns the value of key as an integer (e.g. "installed_size",
// "size"); ok is false when the key is absent, empty or not an integer.
func (c *Control) Int(key string) (n int64, ok bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(c.Get(key)), 10, 64)
	return n, err == nil
}

// Filename returns the standard package file name, like WAPT's
// make_package_filename: "<package>.wapt" for host packages, else
// "<package>_<version>[_<arch>][_<maturity>][_<locales>].wapt" where empty
// parts and parts equal to "all" are dropped (kept for a package ending in
// "-waptupgrade", as WAPT does) and a locale list "fr,en" becomes "fr-en".
// A package name with characters other than letters, digits and "-_~." is
// replaced by the hex MD5 of the name. Characters unsafe in file names are
// removed from the other parts.
func (c *Control) Filename() string {
	name := c.Package()
	if !safeName(name) {
		sum := md5.Sum([]byte(name))
		name = hex.EncodeToString(sum[:])
	}
	if c.Section() == "host" {
		return sanitize(name) + ".wapt"
	}
	var locales []string
	for l := range strings.SplitSeq(c.Get("locale"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			locales = append(locales, l)
		}
	}
	parts := []string{sanitize(name), sanitize(c.Get("version"))}
	upgrade := strings.HasSuffix(strings.ToLower(name), "-waptupgrade")
	for _, p := range []string{c.Get("architecture"), c.Get("maturity"), strings.Join(locales, "-")} {
		p = sanitize(p)
		if p != "" && (upgrade || !strings.EqualFold(p, "all")) {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "_") + ".wapt"
}

// safeName reports whether a package name may be used as is in a file name
// (WAPT's is_valid_package_for_filename).
func safeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !strings.ContainsRune("-_~.", r) {
			return false
		}
	}
	return true
}

// sanitize removes from one part of a file name path separators, characters Windows refuses in file
// names, control characters and spaces, and replaces ".." by "_".
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune(`/\:*?"<>|@(),;%[]`+"`", r) {
			return -1
		}
		return r
	}, s)
	return strings.ReplaceAll(s, "..", "_")
}
