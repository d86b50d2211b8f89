package control

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		validControl,
		"Package: a\r\nDescription: one\r\n two\r\n\tthree\r\nversion: 1",
		"package: a\nconflicts:\nx-empty:\nsignature:\n",
		"package: a\npackage: b\n more\n",
		"maintainer: Équipe\nname: 火狐浏览器\n",
		"description: a\n \n b\n\n\npackage: z\n",
		" continuation first\n",
		"no colon\n",
		"\xef\xbb\xbfpackage: a\n",
		"package: \xff\n",
		"filename: a.wapt\nsize: 3\nmd5sum: 00\n",
		"\v\n\r\n:\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		blockErr := ParseBlocks("fuzz", data, func(line int, b *Control) error {
			if line < 1 || b.Keys() == nil {
				t.Fatalf("block at line %d with keys %q", line, b.Keys())
			}
			return nil
		})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || se.File != "fuzz" {
				t.Fatalf("Parse error %v is not a *SyntaxError naming the file", err)
			}
			return
		}
		if blockErr != nil && len(data) <= MaxSize {
			// Blocks accept everything Parse accepts, except a
			// continuation right after a blank line, which Parse also rejects.
			t.Fatalf("Parse accepted %q but ParseBlocks: %v", data, blockErr)
		}
		_ = c.Validate()
		_ = c.Filename()
		out := c.Format()
		back, err := Parse("formatted", out)
		if err != nil {
			t.Fatalf("Parse(Format(%q)) = %v\n%s", data, err, out)
		}
		assertSameControl(t, c, back)
		if again := back.Format(); !bytes.Equal(again, out) {
			t.Fatalf("Format not stable for %q:\n%q\n%q", data, out, again)
		}
	})
}
