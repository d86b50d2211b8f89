package version

import (
	"fmt"
	"strings"
	"unicode"
)

// Op is a version comparison operator of a Request.
type Op string

// Request operators. OpAny means "any version". OpEq and OpEqEq are the same
// test; both spellings are accepted and kept.
const (
	OpAny  Op = ""
	OpEq   Op = "="
	OpEqEq Op = "=="
	OpLt   Op = "<"
	OpGt   Op = ">"
	OpLe   Op = "<="
	OpGe   Op = ">="
)

// valid reports whether o is one of the known operators.
func (o Op) valid() bool {
	switch o {
	case OpAny, OpEq, OpEqEq, OpLt, OpGt, OpLe, OpGe:
		return true
	}
	return false
}

// accepts reports whether a comparison result c (-1, 0, +1 of candidate
// against requested version) satisfies o.
func (o Op) accepts(c int) bool {
	switch o {
	case OpAny:
		return true
	case OpEq, OpEqEq:
		return c == 0
	case OpLt:
		return c < 0
	case OpGt:
		return c > 0
	case OpLe:
		return c <= 0
	case OpGe:
		return c >= 0
	}
	return false
}

// Request is a package request: a name with an optional version condition,
// as in "depends" and "conflicts" attributes.
type Request struct {
	Name    string
	Op      Op
	Version Version
}

// maxRequestLen bounds one request text.
const maxRequestLen = 1024

// ParseRequest parses "name", "name(=1.2)", "name(>=1.2-3)" or, tolerated,
// "name (>=1.2)" with spaces around the parts. A condition needs an operator
// and a version. Names may not contain spaces, control characters or any of
// "(),<>". Errors wrap ErrInvalid and name the input.
func ParseRequest(s string) (Request, error) {
	in := strings.TrimSpace(s)
	bad := func(why string) (Request, error) {
		return Request{}, fmt.Errorf("%w request %q: %s", ErrInvalid, s, why)
	}
	if in == "" {
		return bad("empty")
	}
	if len(in) > maxRequestLen {
		return Request{}, fmt.Errorf("%w request %.40q...: longer than %d bytes", ErrInvalid, in, maxRequestLen)
	}
	name, cond, hasCond := strings.Cut(in, "(")
	name = strings.TrimSpace(name)
	if name == "" {
		return bad("no package name")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("(),<>", r) || r == unicode.ReplacementChar {
			return bad(fmt.Sprintf("character %q not allowed in a package name", r))
		}
	}
	if !hasCond {
		return Request{Name: name}, nil
	}
	cond, ok := strings.CutSuffix(cond, ")")
	if !ok {
		return bad("missing ')'")
	}
	cond = strings.TrimSpace(cond)
	i := 0
	for i < len(cond) && strings.IndexByte("<=>", cond[i]) >= 0 {
		i++
	}
	op := Op(cond[:i])
	if op == OpAny {
		return bad("missing operator (one of = == < > <= >=)")
	}
	if !op.valid() {
		return bad(fmt.Sprintf("unknown operator %q", op))
	}
	vs := strings.TrimSpace(cond[i:])
	if vs == "" {
		return bad("missing version after " + string(op))
	}
	if strings.ContainsAny(vs, "()") {
		return bad("unbalanced parentheses")
	}
	v, err := Parse(vs)
	if err != nil {
		return Request{}, fmt.Errorf("request %q: %w", s, err)
	}
	return Request{Name: name, Op: op, Version: v}, nil
}

// String returns "name" or "name(>=1.2-3)".
func (r Request) String() string {
	if r.Op == OpAny && r.Version.IsZero() {
		return r.Name
	}
	return r.Name + "(" + string(r.Op) + r.Version.String() + ")"
}

// Matches reports whether a package name at version v satisfies r. Names are
// compared case-insensitively. When r's version has no packaging part only
// the upstream versions are compared, so "app(=1.2)" matches "1.2-7".
func (r Request) Matches(name string, v Version) bool {
	if !strings.EqualFold(strings.TrimSpace(name), r.Name) {
		return false
	}
	if r.Op == OpAny {
		return true
	}
	var c int
	if r.Version.HasPackaging() {
		c = Compare(v, r.Version)
	} else {
		c = CompareUpstream(v, r.Version)
	}
	return r.Op.accepts(c)
}

// ParseRequests parses a comma-separated list of requests (the "depends" and
// "conflicts" attributes). Items are trimmed and empty items skipped; an
// empty list gives nil.
func ParseRequests(csv string) ([]Request, error) {
	var out []Request
	for item := range strings.SplitSeq(csv, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		r, err := ParseRequest(item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
