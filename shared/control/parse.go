package control

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxSize bounds the data given to Parse and each block given to ParseBlocks.
const MaxSize = 1 << 20

// ErrSyntax is wrapped by every *SyntaxError.
var ErrSyntax = errors.New("control syntax error")

// SyntaxError reports a malformed control file. Line is 1-based; 0 when the
// error concerns the whole file.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

var bom = []byte("\xef\xbb\xbf")

// Parse parses one control file; name (e.g. "WAPT/control" or a path) is
// used in errors. Rules: UTF-8 without BOM, "\r\n" or "\n" line ends, at
// most MaxSize bytes, no final newline needed. A line "key: value" sets key
// (lowercased, trimmed) to the trimmed value; a repeated key keeps its first
// position and takes the last value. A line starting with a space or a tab
// continues the previous value: the value gets "\n" plus the trimmed line,
// so a whitespace-only continuation adds an empty line (that is how Format
// writes blank inner lines). Blank lines (empty, or whitespace only and not
// a continuation) are skipped and end the current value: a continuation
// line right after one is an error, like one before any key. A line without
// ':' or with an empty key is an error. Errors are *SyntaxError.
func Parse(name string, data []byte) (*Control, error) {
	if len(data) > MaxSize {
		return nil, &SyntaxError{File: name, Line: bytes.Count(data[:MaxSize], []byte("\n")) + 1,
			Msg: fmt.Sprintf("control data larger than %d bytes", MaxSize)}
	}
	p := parser{file: name, data: data}
	if err := p.checkStart(); err != nil {
		return nil, err
	}
	c := New()
	c.file = name
	for {
		line, text, ok := p.next()
		if !ok {
			break
		}
		if p.blank(text) {
			p.commit(c)
			continue
		}
		if c.line == 0 {
			c.line = line
		}
		if err := p.apply(c, line, text); err != nil {
			return nil, err
		}
	}
	p.commit(c)
	if c.line == 0 {
		c.line = 1
	}
	return c, nil
}

// ParseBlocks parses a Packages index: control blocks separated by one or
// more empty (or whitespace-only) lines, with the same line rules as Parse.
// fn is called for each non-empty block with the line number where it
// starts; an error from fn stops the parse and is returned unchanged. Each
// block may be at most MaxSize bytes; the caller bounds the whole data.
func ParseBlocks(name string, data []byte, fn func(line int, c *Control) error) error {
	p := parser{file: name, data: data}
	if err := p.checkStart(); err != nil {
		return err
	}
	var (
		c         *Control
		blockFrom int
	)
	flush := func() error {
		if c == nil {
			return nil
		}
		p.commit(c)
		b := c
		c = nil
		return fn(b.line, b)
	}
	for {
		start := p.off
		line, text, ok := p.next()
		if !ok {
			break
		}
		if p.blank(text) {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		if c == nil {
			c = New()
			c.file, c.line = name, line
			blockFrom = start
		}
		if p.off-blockFrom > MaxSize {
			return &SyntaxError{File: name, Line: line, Msg: fmt.Sprintf("control block starting at line %d larger than %d bytes", c.line, MaxSize)}
		}
		if err := p.apply(c, line, text); err != nil {
			return err
		}
	}
	return flush()
}

// parser walks data line by line.
type parser struct {
	file string
	data []byte
	off  int      // offset of the next line
	line int      // number of the last line returned
	cur  string   // key the next continuation line extends ("" = none)
	buf  []string // lines of cur's value, joined by commit (linear time)
}

// commit stores the value being built in c and ends it.
func (p *parser) commit(c *Control) {
	if p.cur != "" && c != nil {
		c.vals[p.cur] = strings.Join(p.buf, "\n")
	}
	p.cur, p.buf = "", p.buf[:0]
}

func (p *parser) checkStart() error {
	if bytes.HasPrefix(p.data, bom) {
		return &SyntaxError{File: p.file, Line: 1, Msg: "byte order mark not allowed"}
	}
	return nil
}

// next returns the next line without its line end. A line ending in "\r\n"
// loses the "\r"; a final line without "\n" is returned too.
func (p *parser) next() (line int, text string, ok bool) {
	if p.off >= len(p.data) {
		return 0, "", false
	}
	rest := p.data[p.off:]
	var b []byte
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		b = rest[:i]
		p.off += i + 1
	} else {
		b = rest
		p.off = len(p.data)
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	p.line++
	return p.line, string(b), true
}

// blank reports whether text is an empty line: empty or whitespace only,
// except a line starting with a space or tab that continues a value (it
// adds an empty line to the value; Format writes blank inner lines so).
func (p *parser) blank(text string) bool {
	if strings.TrimSpace(text) != "" {
		return false
	}
	return text == "" || p.cur == "" || (text[0] != ' ' && text[0] != '\t')
}

// apply adds one non-blank line to c.
func (p *parser) apply(c *Control, line int, text string) error {
	if !utf8.ValidString(text) {
		return &SyntaxError{File: p.file, Line: line, Msg: "invalid UTF-8"}
	}
	if text[0] == ' ' || text[0] == '\t' {
		if p.cur == "" {
			return &SyntaxError{File: p.file, Line: line, Msg: "continuation line without a preceding key"}
		}
		p.buf = append(p.buf, strings.TrimSpace(text))
		return nil
	}
	k, v, ok := strings.Cut(text, ":")
	if !ok {
		return &SyntaxError{File: p.file, Line: line, Msg: "no ':' in line"}
	}
	k = strings.ToLower(strings.TrimSpace(k))
	if k == "" {
		return &SyntaxError{File: p.file, Line: line, Msg: "empty key before ':'"}
	}
	p.commit(c)
	v = strings.TrimSpace(v)
	c.Set(k, v)
	p.cur, p.buf = k, append(p.buf, v)
	return nil
}
