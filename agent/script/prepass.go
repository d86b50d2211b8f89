package script

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// lineError is a pre-pass error at a 1-based source line.
type lineError struct {
	line int
	msg  string
}

// setuphelpersModules are the WAPT modules whose names are Go builtins
// here: importing from them binds nothing new.
var setuphelpersModules = map[string]bool{
	"setuphelpers": true, "setuphelpers_linux": true, "setuphelpers_windows": true,
	"setuphelpers_macos": true, "setuphelpers_unix": true, "waptutils": true,
}

// unsupported maps Python statements Starlark rejects to an explanation.
var unsupported = map[string]string{
	"try":      "try/except: check return values (run_notfatal, isfile) instead of catching exceptions",
	"except":   "try/except: check return values (run_notfatal, isfile) instead of catching exceptions",
	"finally":  "try/finally is not available",
	"class":    "classes are not available; use functions and dicts",
	"with":     "with blocks are not available; use the setuphelpers functions",
	"global":   "functions cannot assign module variables (only 'global uninstallkey' is accepted)",
	"nonlocal": "nonlocal is not available",
	"del":      "del is not available; rebuild the list or dict, or use .pop()",
	"assert":   "assert is not available; use: if not cond: error(msg)",
	"yield":    "generators are not available",
	"async":    "async functions are not available",
	"await":    "async functions are not available",
	"raise":    "only 'raise SomeError(message)' is accepted (it becomes error(message))",
	"exec":     "exec is not available",
}

// prepass makes WAPT's Python acceptable to the Starlark parser without
// moving any line: it drops u"" prefixes, turns `is`/`is not` into ==/!=,
// replaces import lines by `pass` or by assignments from the predeclared
// modules, rewrites `raise X(msg)` to `error(msg)`, and reports the Python
// constructs Starlark cannot run with their line.
func prepass(src []byte, modules map[string]starlark.Value, predeclared starlark.StringDict) (string, *lineError) {
	out, stmts, lerr := scanSource(string(src))
	if lerr != nil {
		return "", lerr
	}
	lines := strings.Split(out, "\n")
	for _, st := range stmts {
		first := lines[st.first-1]
		trimmed := strings.TrimSpace(first)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if st.first <= 2 && strings.Contains(trimmed, "coding") {
				lines[st.first-1] = ""
			}
			continue
		}
		indent := first[:len(first)-len(strings.TrimLeft(first, " \t"))]
		var parts []string
		for i := st.first; i <= st.last && i <= len(lines); i++ {
			l := lines[i-1]
			if k := strings.IndexByte(l, '#'); k >= 0 && !strings.ContainsAny(l[:k], `'"`) {
				l = l[:k]
			}
			parts = append(parts, strings.TrimSuffix(strings.TrimRight(l, " \t\r"), `\`))
		}
		text := strings.TrimSpace(strings.Join(parts, " "))
		kw := leadingWord(text)
		rest := strings.TrimSpace(text[len(kw):])
		var repl string
		var err *lineError
		switch kw {
		case "import":
			repl, err = rewriteImport(st.first, rest, modules)
		case "from":
			repl, err = rewriteFrom(st.first, rest, modules, predeclared)
		case "global":
			names := splitNames(rest)
			if len(names) == 1 && names[0] == "uninstallkey" {
				repl = "pass"
			} else {
				err = unsupportedAt(st.first, kw)
			}
		case "raise":
			repl, err = rewriteRaise(st.first, rest)
		case "print":
			if rest != "" && !strings.HasPrefix(rest, "(") {
				err = &lineError{st.first, `unsupported Python construct "print" statement: use print(...)`}
			}
		default:
			if _, bad := unsupported[kw]; bad && (rest == "" || !strings.ContainsAny(rest[:1], "=.[(")) {
				err = unsupportedAt(st.first, kw)
			} else if kw == "async" || kw == "exec" {
				err = unsupportedAt(st.first, kw)
			}
		}
		if err != nil {
			return "", err
		}
		if repl != "" {
			lines[st.first-1] = indent + repl
			for i := st.first + 1; i <= st.last && i <= len(lines); i++ {
				lines[i-1] = ""
			}
		}
	}
	return strings.Join(lines, "\n"), nil
}

func unsupportedAt(line int, kw string) *lineError {
	return &lineError{line, fmt.Sprintf("unsupported Python construct %q: %s", kw, unsupported[kw])}
}

func leadingWord(s string) string {
	i := 0
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return s[:i]
}

func splitNames(s string) []string {
	s = strings.Trim(strings.TrimSpace(s), "()")
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func moduleNames(modules map[string]starlark.Value) string {
	names := []string{"setuphelpers"}
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// rewriteImport handles `import a, b.c as d`.
func rewriteImport(line int, rest string, modules map[string]starlark.Value) (string, *lineError) {
	var assigns []string
	for _, item := range splitNames(rest) {
		f := strings.Fields(item)
		mod := f[0]
		if _, ok := modules[mod]; !ok && !setuphelpersModules[mod] {
			return "", &lineError{line, fmt.Sprintf("import of unknown module %q (available: %s)", mod, moduleNames(modules))}
		}
		switch {
		case len(f) == 3 && f[1] == "as":
			if setuphelpersModules[mod] {
				return "", &lineError{line, fmt.Sprintf("unsupported import %q: use 'from %s import *'", item, mod)}
			}
			assigns = append(assigns, f[2]+" = "+mod)
		case len(f) != 1:
			return "", &lineError{line, fmt.Sprintf("cannot read import %q", item)}
		}
	}
	if len(assigns) == 0 {
		return "pass", nil
	}
	return strings.Join(assigns, "; "), nil
}

// rewriteFrom handles `from M import *` and `from M import a, b as c`.
func rewriteFrom(line int, rest string, modules map[string]starlark.Value, predeclared starlark.StringDict) (string, *lineError) {
	mod, names, ok := strings.Cut(rest, " import ")
	mod = strings.TrimSpace(mod)
	if !ok {
		return "", &lineError{line, fmt.Sprintf("cannot read import %q", "from "+rest)}
	}
	if mod == "__future__" {
		return "pass", nil
	}
	helpers := setuphelpersModules[mod]
	m, known := modules[mod]
	if !helpers && !known {
		return "", &lineError{line, fmt.Sprintf("import of unknown module %q (available: %s)", mod, moduleNames(modules))}
	}
	var assigns []string
	for _, item := range splitNames(names) {
		f := strings.Fields(item)
		name, as := f[0], f[0]
		if len(f) == 3 && f[1] == "as" {
			as = f[2]
		} else if len(f) != 1 {
			return "", &lineError{line, fmt.Sprintf("cannot read import %q", item)}
		}
		if name == "*" {
			if helpers {
				continue
			}
			return "", &lineError{line, fmt.Sprintf("unsupported import: 'from %s import *'; import the names you use", mod)}
		}
		if helpers {
			if !predeclared.Has(name) {
				return "", &lineError{line, fmt.Sprintf("%s.%s is not available in this agent", mod, name)}
			}
			if as != name {
				assigns = append(assigns, as+" = "+name)
			}
			continue
		}
		if ha, ok := m.(starlark.HasAttrs); !ok || !hasAttr(ha, name) {
			return "", &lineError{line, fmt.Sprintf("%s.%s is not available in this agent", mod, name)}
		}
		assigns = append(assigns, as+" = "+mod+"."+name)
	}
	if len(assigns) == 0 {
		return "pass", nil
	}
	return strings.Join(assigns, "; "), nil
}

func hasAttr(v starlark.HasAttrs, name string) bool {
	x, err := v.Attr(name)
	return err == nil && x != nil
}

// rewriteRaise turns `raise X(msg)` into `error(msg)`; anything else is an
// unsupported construct.
func rewriteRaise(line int, rest string) (string, *lineError) {
	e, err := syntax.ParseExpr("raise", rest, 0)
	if err != nil {
		return "", unsupportedAt(line, "raise")
	}
	call, ok := e.(*syntax.CallExpr)
	if !ok || len(call.Args) > 1 {
		return "", unsupportedAt(line, "raise")
	}
	var fn string
	switch f := call.Fn.(type) {
	case *syntax.Ident:
		fn = f.Name
	case *syntax.DotExpr:
		fn = f.Name.Name
	default:
		return "", unsupportedAt(line, "raise")
	}
	if len(call.Args) == 0 {
		return fmt.Sprintf("error(%q)", fn), nil
	}
	if b, ok := call.Args[0].(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
		return "", unsupportedAt(line, "raise")
	}
	if _, ok := call.Args[0].(*syntax.UnaryExpr); ok && strings.HasPrefix(strings.TrimSpace(rest[strings.IndexByte(rest, '(')+1:]), "*") {
		return "", unsupportedAt(line, "raise")
	}
	open, end := strings.IndexByte(rest, '('), strings.LastIndexByte(rest, ')')
	return "error(" + rest[open+1:end] + ")", nil
}

// span is one logical statement: its first and last physical lines (1-based).
type span struct{ first, last int }

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// scanSource copies src, applying the token-level rewrites (u"" prefixes,
// is / is not), and splits it into logical statements, skipping strings,
// comments, bracketed continuations and backslash continuations.
func scanSource(src string) (string, []span, *lineError) {
	var out strings.Builder
	out.Grow(len(src))
	var stmts []span
	n, i, line, depth, start := len(src), 0, 1, 0, 1
	for i < n {
		c := src[i]
		switch {
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = n - i
			}
			out.WriteString(src[i : i+j])
			i += j
		case c == '\\' && i+1 < n && src[i+1] == '\n':
			out.WriteString("\\\n")
			i += 2
			line++
		case c == '\\' && i+2 < n && src[i+1] == '\r' && src[i+2] == '\n':
			out.WriteString("\\\r\n")
			i += 3
			line++
		case c == '\n':
			out.WriteByte('\n')
			if depth == 0 {
				stmts = append(stmts, span{start, line})
				start = line + 1
			}
			line++
			i++
		case c == '\'' || c == '"':
			j, nl := endOfString(src, i)
			out.WriteString(src[i:j])
			line += nl
			i = j
		case c == '(' || c == '[' || c == '{':
			depth++
			out.WriteByte(c)
			i++
		case c == ')' || c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
			out.WriteByte(c)
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < n && isIdentChar(src[j]) {
				j++
			}
			out.WriteString(src[i:j])
			i = j
		case isIdentChar(c):
			j := i
			for j < n && isIdentChar(src[j]) {
				j++
			}
			w := src[i:j]
			if j < n && (src[j] == '\'' || src[j] == '"') {
				lw := strings.ToLower(w)
				switch {
				case lw == "u":
					i = j
					continue
				case lw == "ur":
					out.WriteByte('r')
					i = j
					continue
				case strings.Contains(lw, "f") && len(lw) <= 2:
					return "", nil, &lineError{line, "unsupported Python construct f-string: use '%s' % value or '{}'.format(value)"}
				}
			}
			if w == "is" {
				k := j
				for k < n && (src[k] == ' ' || src[k] == '\t') {
					k++
				}
				if strings.HasPrefix(src[k:], "not") && (k+3 == n || !isIdentChar(src[k+3])) {
					out.WriteString("!=")
					i = k + 3
					continue
				}
				out.WriteString("==")
				i = j
				continue
			}
			out.WriteString(w)
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	stmts = append(stmts, span{start, line})
	return out.String(), stmts, nil
}

// endOfString returns the index just past the string literal starting at
// i, and the number of newlines inside it.
func endOfString(src string, i int) (int, int) {
	q := src[i]
	n, nl := len(src), 0
	if strings.HasPrefix(src[i:], strings.Repeat(string(q), 3)) {
		end := strings.Repeat(string(q), 3)
		for j := i + 3; j < n; j++ {
			switch {
			case src[j] == '\\':
				if j+1 < n && src[j+1] == '\n' {
					nl++
				}
				j++
			case src[j] == '\n':
				nl++
			case strings.HasPrefix(src[j:], end):
				return j + 3, nl
			}
		}
		return n, nl
	}
	for j := i + 1; j < n; j++ {
		switch src[j] {
		case '\\':
			if j+1 < n && src[j+1] == '\n' {
				nl++
			}
			j++
		case q:
			return j + 1, nl
		case '\n':
			return j, nl
		}
	}
	return n, nl
}
