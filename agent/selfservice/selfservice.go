// Package selfservice decides which packages a local user may install or
// remove without being an administrator: WAPT's self-service rules. The
// rules come from the WAPT/selfservice.json member of the installed
// packages of section "selfservice" (agent/engine keeps that member when it
// installs such a package, after its signature has been verified); this
// package parses them strictly and evaluates them for the OS identity of a
// local API caller. It does no I/O.
//
// A rules file is a JSON object mapping who to what:
//
//	{
//	  "Domain Users":       ["tis-firefox", "category:Office"],
//	  "EXAMPLE\\compta":    ["tis-7zip"],
//	  "user:alice":         ["*"],
//	  "*":                  ["tis-vlc"]
//	}
//
// A key is a group name (matched case-insensitively against the caller's OS
// groups; a name without a domain, "compta", also matches "EXAMPLE\compta",
// while "EXAMPLE\compta" needs that domain), "group:<name>" (the same, for
// a group whose name would otherwise read as another kind of key),
// "user:<name>" (the caller's login name, with the same domain rule) or
// "*" (every local user: the agent identifies every caller by the OS). An
// entry is a package name, "category:<Category>" (the packages whose control
// "categories" list holds it, case-insensitively) or "*" (every package).
//
// Precedence: WAPT has no deny rules, so neither do we. The rules of every
// self-service package are merged by union: a caller may install a package
// when at least one rule of one file grants it to them, and nothing takes a
// grant away. Administrators (root, elevated Administrators, SYSTEM) may
// install anything, rules or not. Host, unit, profile and selfservice
// packages are never offered, whatever the rules say: the host's own
// configuration decides those.
package selfservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/wire"
)

// Where the rules are and their bounds.
const (
	// Section is the control section of a self-service rules package.
	Section = "selfservice"
	// RulesFile is the member of such a package that holds its rules.
	RulesFile = "WAPT/selfservice.json"
	// MaxSize bounds a rules file.
	MaxSize = 1 << 20
	// MaxRules bounds the entries of one rules file (summed over its keys).
	MaxRules = 10000
	// maxKeyLen bounds a group or user name.
	maxKeyLen = 256
)

// Sentinel errors.
var (
	// ErrRules wraps every parse error of a rules file.
	ErrRules = errors.New("bad self-service rules")
	// ErrNotAllowed is returned when no rule grants a package to a caller.
	ErrNotAllowed = errors.New("not allowed by the self-service rules")
)

type whoKind uint8

const (
	anyone whoKind = iota
	user
	group
)

type whatKind uint8

const (
	everything whatKind = iota
	pkg
	category
)

// grant is one (key, entry) pair of a rules file.
type grant struct {
	who   whoKind
	name  string // user or group name as written (matched case-insensitively)
	what  whatKind
	value string // lower-cased package or category name
	from  string // the rules package that holds it
}

// Rules are the parsed rules of one or several self-service packages. The
// zero value grants nothing.
type Rules struct {
	grants []grant
}

// Len returns the number of (key, entry) pairs.
func (r Rules) Len() int { return len(r.grants) }

// Merge returns the union of rs.
func Merge(rs ...Rules) Rules {
	var out Rules
	for _, r := range rs {
		out.grants = append(out.grants, r.grants...)
	}
	return out
}

// Parse parses a rules file; from names it in errors and in the reasons of
// the grants (the package it comes from). Parsing is strict: at most
// MaxSize bytes of UTF-8 (a leading byte-order mark is allowed), one JSON
// object whose keys appear once each and whose values are lists of
// strings, at most MaxRules entries in all, every key and entry well
// formed. Errors wrap ErrRules.
func Parse(from string, data []byte) (Rules, error) {
	fail := func(format string, args ...any) (Rules, error) {
		return Rules{}, fmt.Errorf("%w: %s: %s", ErrRules, from, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxSize {
		return fail("larger than %d bytes", MaxSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return fail("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fail("want a JSON object mapping groups or users to lists of packages")
	}
	var r Rules
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("%v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			// JSON parsers disagree on duplicate keys: refuse them rather
			// than pick one.
			return fail("key %.80q appears twice", key)
		}
		seen[key] = true
		who, name, err := parseKey(key)
		if err != nil {
			return fail("key %.80q: %v", key, err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail("key %.80q: %v", key, err)
		}
		var entries []string
		if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) || json.Unmarshal(raw, &entries) != nil {
			return fail("key %.80q: want a list of package names", key)
		}
		for i, e := range entries {
			if r.Len() >= MaxRules {
				return fail("more than %d rules", MaxRules)
			}
			what, value, err := parseEntry(e)
			if err != nil {
				return fail("key %.80q, entry %d: %v", key, i, err)
			}
			r.grants = append(r.grants, grant{who: who, name: name, what: what, value: value, from: from})
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("data after the JSON object")
	}
	return r, nil
}

// parseKey reads who a key designates.
func parseKey(key string) (whoKind, string, error) {
	if strings.TrimSpace(key) == "*" {
		return anyone, "", nil
	}
	who, name := group, key
	if rest, ok := cutPrefixFold(key, "user:"); ok {
		who, name = user, rest
	} else if rest, ok := cutPrefixFold(key, "group:"); ok {
		name = rest
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return 0, "", errors.New("empty name")
	case len(name) > maxKeyLen:
		return 0, "", fmt.Errorf("name longer than %d bytes", maxKeyLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		return 0, "", errors.New("control character in the name")
	case strings.Contains(name, "*"):
		return 0, "", errors.New(`wildcard in a name (only the whole key "*" means everyone)`)
	}
	return who, name, nil
}

// parseEntry reads what an entry grants.
func parseEntry(e string) (whatKind, string, error) {
	e = strings.TrimSpace(e)
	if e == "*" {
		return everything, "", nil
	}
	what := pkg
	if rest, ok := cutPrefixFold(e, "category:"); ok {
		what, e = category, strings.TrimSpace(rest)
	}
	switch {
	case e == "":
		return 0, "", errors.New("empty")
	case len(e) > wire.MaxPackageNameLen:
		return 0, "", fmt.Errorf("longer than %d bytes", wire.MaxPackageNameLen)
	case strings.ContainsFunc(e, unicode.IsControl):
		return 0, "", errors.New("control character")
	case what == pkg && strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("(),<>=*", r) }):
		return 0, "", fmt.Errorf("%.80q is not a package name (no spaces, versions or wildcards)", e)
	case what == category && strings.ContainsAny(e, ",*"):
		return 0, "", fmt.Errorf("category %.80q holds a comma or a wildcard", e)
	}
	return what, strings.ToLower(e), nil
}

// cutPrefixFold is strings.CutPrefix ignoring the case of prefix.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// nameMatches reports whether a rule's user or group name designates
// have, a name the OS gave: equal ignoring case, or, when the rule names
// no domain, equal to the part of have after its domain ("DOMAIN\name").
func nameMatches(rule, have string) bool {
	if strings.EqualFold(rule, have) {
		return true
	}
	if strings.ContainsRune(rule, '\\') {
		return false
	}
	if i := strings.LastIndexByte(have, '\\'); i >= 0 {
		return strings.EqualFold(rule, have[i+1:])
	}
	return false
}

func (g grant) appliesTo(c wire.LocalCaller) bool {
	switch g.who {
	case anyone:
		return true
	case user:
		return c.Username != "" && nameMatches(g.name, c.Username)
	default:
		return slices.ContainsFunc(c.Groups, func(have string) bool { return nameMatches(g.name, have) })
	}
}

// Package is what the rules look at in a package.
type Package struct {
	Name       string
	Section    string   // "" is read as "base"
	Categories []string // the control's categories
}

// PackageOf returns what the rules look at in a control.
func PackageOf(c *control.Control) Package {
	return Package{Name: c.Package(), Section: c.Section(), Categories: Categories(c)}
}

// Categories splits the control's comma-separated "categories".
func Categories(c *control.Control) []string {
	var out []string
	for _, s := range strings.Split(c.Get("categories"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Offered reports whether packages of section may be offered by
// self-service: all but host, unit, profile and selfservice packages,
// which the host's own configuration decides.
func Offered(section string) bool {
	switch strings.ToLower(strings.TrimSpace(section)) {
	case "host", "unit", "profile", Section:
		return false
	}
	return true
}

// Grant is what the rules give one caller; For computes it once so that a
// whole catalogue is checked quickly.
type Grant struct {
	who        string   // the caller, for error messages
	groups     []string // the caller's groups, sorted, for error messages
	admin      bool
	all        string            // the source of a "*" grant, "" when none
	packages   map[string]string // lower-cased name → source
	categories map[string]string // lower-cased category → source
}

// For returns what r grants caller c. An administrator is granted
// everything.
func (r Rules) For(c wire.LocalCaller) Grant {
	who := c.Username
	if who == "" {
		who = "uid " + c.UID
	}
	g := Grant{who: who, groups: sortedCopy(c.Groups), admin: c.Admin, packages: map[string]string{}, categories: map[string]string{}}
	for _, gr := range r.grants {
		if !gr.appliesTo(c) {
			continue
		}
		src := gr.from + " (" + gr.key() + ")"
		switch gr.what {
		case everything:
			if g.all == "" {
				g.all = src
			}
		case pkg:
			if _, ok := g.packages[gr.value]; !ok {
				g.packages[gr.value] = src
			}
		case category:
			if _, ok := g.categories[gr.value]; !ok {
				g.categories[gr.value] = src
			}
		}
	}
	return g
}

func (g grant) key() string {
	switch g.who {
	case anyone:
		return "*"
	case user:
		return "user:" + g.name
	}
	return g.name
}

// Empty reports whether g grants no package at all.
func (g Grant) Empty() bool {
	return !g.admin && g.all == "" && len(g.packages) == 0 && len(g.categories) == 0
}

// Allows reports whether g grants p and, if so, which rule does
// ("administrator" for an administrator).
func (g Grant) Allows(p Package) (string, bool) {
	if !Offered(p.Section) {
		return "", false
	}
	if g.admin {
		return "administrator", true
	}
	if g.all != "" {
		return g.all, true
	}
	if src, ok := g.packages[strings.ToLower(strings.TrimSpace(p.Name))]; ok {
		return src, true
	}
	for _, c := range p.Categories {
		if src, ok := g.categories[strings.ToLower(strings.TrimSpace(c))]; ok {
			return src, true
		}
	}
	return "", false
}

// Check returns nil when g grants p, else an error wrapping ErrNotAllowed
// that says why.
func (g Grant) Check(p Package) error {
	if _, ok := g.Allows(p); ok {
		return nil
	}
	if !Offered(p.Section) {
		return fmt.Errorf("%w: %s is a %s package, never offered by self-service", ErrNotAllowed, p.Name, p.Section)
	}
	return fmt.Errorf("%w: no rule grants %s to %s (groups %s)", ErrNotAllowed, p.Name, g.who, strings.Join(g.groups, ", "))
}

// Check returns nil when r grants p to c, else an error wrapping
// ErrNotAllowed that says why.
func (r Rules) Check(c wire.LocalCaller, p Package) error { return r.For(c).Check(p) }

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
