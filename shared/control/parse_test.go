package control

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pairs returns c as "key=value" strings in key order.
func pairs(c *Control) []string {
	var out []string
	for _, k := range c.Keys() {
		out = append(out, k+"="+c.Get(k))
	}
	return out
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustParse(tb testing.TB, data string) *Control {
	tb.Helper()
	c, err := Parse("test", []byte(data))
	if err != nil {
		tb.Fatalf("Parse(%q): %v", data, err)
	}
	return c
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"simple", "package: a\nversion: 1\n", []string{"package=a", "version=1"}},
		{"no final newline", "package: a\nversion: 1", []string{"package=a", "version=1"}},
		{"CRLF", "package: a\r\nversion: 1\r\n", []string{"package=a", "version=1"}},
		{"CRLF no final newline", "package: a\r\nversion: 1", []string{"package=a", "version=1"}},
		{"key case and spaces", "Package  :   a  \nVERSION\t:1", []string{"package=a", "version=1"}},
		{"colon in value", "sources: https://h:8080/x?a=b:c", []string{"sources=https://h:8080/x?a=b:c"}},
		{"empty values", "package: a\nconflicts:\nmaturity :   \n", []string{"package=a", "conflicts=", "maturity="}},
		{"continuation", "description: one\n two\n\tthree\n   four  \npackage: a",
			[]string{"description=one\ntwo\nthree\nfour", "package=a"}},
		{"continuation CRLF", "description: one\r\n two\r\npackage: a\r\n",
			[]string{"description=one\ntwo", "package=a"}},
		{"continuation of empty first line", "description:\n two", []string{"description=\ntwo"}},
		{"whitespace-only continuation is an empty line", "description: a\n \n b\n", []string{"description=a\n\nb"}},
		{"duplicate key: last wins, first position", "package: a\nversion: 1\nPackage: b\n more\n",
			[]string{"package=b\nmore", "version=1"}},
		{"blank lines skipped", "\n\npackage: a\n\n\r\n\nversion: 1\n\n", []string{"package=a", "version=1"}},
		{"whitespace-only line before any key", "   \npackage: a", []string{"package=a"}},
		{"accents", "maintainer: Équipe Système\ndescription_fr: Éditeur à l'œuvre",
			[]string{"maintainer=Équipe Système", "description_fr=Éditeur à l'œuvre"}},
		{"CJK", "name: 火狐浏览器\ndescription: 中文\n 日本語\n", []string{"name=火狐浏览器", "description=中文\n日本語"}},
		{"non-ASCII key", "Clé: v", []string{"clé=v"}},
		{"unknown keys kept", "x-custom: 1\npackage: a", []string{"x-custom=1", "package=a"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.in)
			if got := pairs(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("k: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n"), MaxSize/64)
	tests := []struct {
		name string
		in   []byte
		line int
		msg  string
	}{
		{"no colon", []byte("package: a\nversion 1\n"), 2, "no ':'"},
		{"no colon CRLF", []byte("package: a\r\n\r\nversion 1\r\n"), 3, "no ':'"},
		{"continuation first", []byte(" description\npackage: a"), 1, "continuation"},
		{"tab continuation first", []byte("\tdescription\npackage: a"), 1, "continuation"},
		{"continuation after blank line", []byte("description: a\n\n b\n"), 3, "continuation"},
		{"empty key", []byte("package: a\n: b\n"), 2, "empty key"},
		{"invalid UTF-8", []byte("package: a\nname: caf\xe9\n"), 2, "UTF-8"},
		{"invalid UTF-8 in continuation", []byte("package: a\ndescription: x\n \xff\xfe\n"), 3, "UTF-8"},
		{"BOM", []byte("\xef\xbb\xbfpackage: a\n"), 1, "byte order mark"},
		{"too large", big, MaxSize/96 + 1, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("WAPT/control", tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v; want *SyntaxError", c, err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
			if se.File != "WAPT/control" || se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("error = %+v, want file WAPT/control, line %d, message with %q", se, tt.line, tt.msg)
			}
			if want := "WAPT/control:"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err, want)
			}
		})
	}
	if len(big) <= MaxSize {
		t.Fatalf("test data of %d bytes is not over MaxSize", len(big))
	}
	if _, err := Parse("ok", big[:MaxSize-MaxSize%96]); err != nil {
		t.Errorf("Parse of %d bytes (under MaxSize): %v", MaxSize-MaxSize%96, err)
	}
}

func TestParseBlocks(t *testing.T) {
	t.Parallel()
	lf := readFile(t, "Packages.txt")
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	for name, data := range map[string][]byte{"LF": lf, "CRLF": crlf, "CRLF no final newline": bytes.TrimSuffix(crlf, []byte("\r\n"))} {
		t.Run(name, func(t *testing.T) {
			var (
				lines []int
				names []string
			)
			err := ParseBlocks("Packages", data, func(line int, c *Control) error {
				lines = append(lines, line)
				names = append(names, c.Package())
				if err := c.Validate(); err != nil {
					t.Errorf("block at line %d: %v", line, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []int{1, 13, 25}; !reflect.DeepEqual(lines, want) {
				t.Errorf("block lines = %v, want %v", lines, want)
			}
			if want := []string{"tis-7zip", "tis-notepad++", "grp-office"}; !reflect.DeepEqual(names, want) {
				t.Errorf("packages = %q, want %q", names, want)
			}
		})
	}

	t.Run("content", func(t *testing.T) {
		var got []*Control
		if err := ParseBlocks("Packages", crlf, func(_ int, c *Control) error { got = append(got, c); return nil }); err != nil {
			t.Fatal(err)
		}
		if d := got[0].Get("description"); d != "7-Zip file archiver\nwith a second line" {
			t.Errorf("description = %q", d)
		}
		if n, ok := got[1].Int("size"); !ok || n != 4200000 {
			t.Errorf("size = %d, %v", n, ok)
		}
		if got[1].Get("description") != "Éditeur de texte" {
			t.Errorf("description = %q", got[1].Get("description"))
		}
	})

	t.Run("fn error stops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := ParseBlocks("Packages", lf, func(int, *Control) error { calls++; return stop })
		if err != stop || calls != 1 {
			t.Errorf("ParseBlocks = %v after %d calls, want the fn error after 1", err, calls)
		}
	})

	errTests := []struct {
		name string
		in   string
		line int
	}{
		{"bad line in second block", "package: a\n\npackage: b\nbroken\n", 4},
		{"continuation after separator", "package: a\n\n more\n", 3},
		{"BOM", "\xef\xbb\xbfpackage: a\n", 1},
		{"invalid UTF-8", "package: a\n\npackage: \xc3\n", 3},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			err := ParseBlocks("Packages", []byte(tt.in), func(int, *Control) error { return nil })
			var se *SyntaxError
			if !errors.As(err, &se) || se.File != "Packages" || se.Line != tt.line {
				t.Errorf("ParseBlocks = %v, want *SyntaxError at Packages:%d", err, tt.line)
			}
		})
	}

	t.Run("separators", func(t *testing.T) {
		// " " right after a key continues it (an empty inner line); a
		// whitespace-only line elsewhere, "\v" and "\r" alone are blank.
		in := "\n  \npackage: a\n \nversion: 1\n\n\t\npackage: b\n\v\npackage: c\n\r\n"
		var (
			got   []string
			lines []int
		)
		err := ParseBlocks("P", []byte(in), func(line int, c *Control) error {
			got = append(got, strings.Join(pairs(c), ";"))
			lines = append(lines, line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"package=a\n;version=1", "package=b", "package=c"}; !reflect.DeepEqual(got, want) {
			t.Errorf("blocks = %q, want %q", got, want)
		}
		if want := []int{3, 8, 10}; !reflect.DeepEqual(lines, want) {
			t.Errorf("lines = %v, want %v", lines, want)
		}
	})

	t.Run("block too large", func(t *testing.T) {
		in := "package: a\n\npackage: b\ndescription: x\n" + strings.Repeat(" yyyyyyyyyyyyyyy\n", MaxSize/16)
		err := ParseBlocks("Packages", []byte(in), func(int, *Control) error { return nil })
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "line 3") {
			t.Errorf("ParseBlocks = %v, want *SyntaxError about the block at line 3", err)
		}
	})
}
