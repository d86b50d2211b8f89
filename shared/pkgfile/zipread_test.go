package pkgfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseBytes(data []byte, lim Limits) ([]*entry, error) {
	return parseZip(bytes.NewReader(data), int64(len(data)), lim)
}

// readMembers reads every member of data fully.
func readMembers(data []byte, entries []*entry) error {
	for _, e := range entries {
		if _, err := io.Copy(io.Discard, newMemberReader(e, io.NewSectionReader(bytes.NewReader(data), e.dataOff, int64(e.csize)))); err != nil {
			return err
		}
	}
	return nil
}

func deflate(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, 6)
	if err != nil {
		tb.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// set16 and set32 return hooks that overwrite a header field.
func set16(off int, v uint16) func([]byte) {
	return func(b []byte) { b[off], b[off+1] = byte(v), byte(v>>8) }
}

func set32(off int, v uint32) func([]byte) {
	return func(b []byte) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
}

func TestParseZipValid(t *testing.T) {
	text := textBytes(5000)
	tests := []struct {
		name  string
		ents  []zent
		opts  zopts
		check func(t *testing.T, es []*entry)
	}{
		{name: "stored, deflated and directory", ents: []zent{
			{name: "a.txt", data: []byte("hello")},
			{name: "dir/"},
			{name: "dir/b.txt", data: text, method: methodDeflate},
		}, check: func(t *testing.T, es []*entry) {
			if len(es) != 3 || !es[1].dir || es[2].usize != 5000 || es[2].method != methodDeflate {
				t.Errorf("entries %+v %+v %+v", es[0], es[1], es[2])
			}
		}},
		{name: "empty archive", ents: nil},
		{name: "descriptor with signature", ents: []zent{{name: "a", data: text, method: methodDeflate, descriptor: 1, zeroLocal: true}, {name: "b", data: []byte("x")}}},
		{name: "descriptor without signature", ents: []zent{{name: "a", data: text, method: methodDeflate, descriptor: 2, zeroLocal: true}, {name: "b", data: []byte("x")}}},
		{name: "descriptor and sizes in the local header", ents: []zent{{name: "a", data: text, descriptor: 1}}},
		{name: "zip64 extra fields", ents: []zent{
			{name: "a", data: text, method: methodDeflate, zip64: true, needed: 45},
			{name: "b", data: []byte("bb"), zip64: true, needed: 45},
		}, check: func(t *testing.T, es []*entry) {
			if !es[0].zip64 || es[0].usize != 5000 || es[1].offset == 0 {
				t.Errorf("entries %+v %+v", es[0], es[1])
			}
		}},
		{name: "zip64 end records", ents: []zent{{name: "a", data: []byte("x")}}, opts: zopts{zip64: true}},
		{name: "archive comment", ents: []zent{{name: "a", data: []byte("x")}}, opts: zopts{comment: []byte("PK\x05\x06 a comment")}},
		{name: "MS-DOS host with Unix mode", ents: []zent{{name: "a", data: []byte("x"), made: 0x0014, ext: 0o100666<<16 | 0x20}}},
		{name: "no mode", ents: []zent{{name: "a", data: []byte("x"), ext: 0x20}}},
		{name: "executable", ents: []zent{{name: "run.sh", data: []byte("x"), ext: 0o100755 << 16}}, check: func(t *testing.T, es []*entry) {
			if !es[0].exec {
				t.Error("run.sh not executable")
			}
		}},
		{name: "same other extra in both headers", ents: []zent{{name: "a", data: []byte("x"), extra: []byte{0x55, 0x54, 5, 0, 1, 1, 2, 3, 4}}}},
		{name: "UTF-8 name", ents: []zent{{name: "données/été.txt", data: []byte("x"), flags: flagUTF8}}},
		{name: "names that look odd but are safe", ents: []zent{{name: "...a/b..c/.hidden", data: []byte("x")}, {name: "a b/c", data: nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := craft(t, tt.ents, tt.opts)
			es, err := parseBytes(data, DefaultLimits())
			if err != nil {
				t.Fatalf("parseZip: %v", err)
			}
			if len(es) != len(tt.ents) {
				t.Fatalf("%d entries, want %d", len(es), len(tt.ents))
			}
			for i, e := range es {
				if e.name != tt.ents[i].name {
					t.Errorf("entry %d is %q, want %q", i, e.name, tt.ents[i].name)
				}
			}
			if err := readMembers(data, es); err != nil {
				t.Errorf("read: %v", err)
			}
			if tt.check != nil {
				tt.check(t, es)
			}
		})
	}
}

func TestParseZipInvalid(t *testing.T) {
	one := func(z zent) []zent {
		if z.name == "" {
			z.name = "a.txt"
		}
		if z.data == nil && z.comp == nil {
			z.data = []byte("hello")
		}
		return []zent{z, {name: "b.txt", data: []byte("world")}}
	}
	text := textBytes(5000)
	zeros := make([]byte, 3<<20)
	lim := func(f func(*Limits)) Limits { l := DefaultLimits(); f(&l); return l }
	tests := []struct {
		name   string
		ents   []zent
		opts   zopts
		raw    func([]byte) []byte // edits the encoded archive
		lim    Limits
		want   error
		onRead bool // the error comes when reading the data
	}{
		// Archive structure.
		{name: "trailing byte", ents: one(zent{}), raw: func(b []byte) []byte { return append(b, 0) }, want: ErrCorrupt},
		{name: "bytes before the first member", ents: one(zent{}), opts: zopts{prefix: []byte("junk")}, want: ErrCorrupt},
		{name: "bytes before the central directory", ents: one(zent{}), opts: zopts{gap: []byte("junk")}, want: ErrCorrupt},
		{name: "comment length too long", ents: one(zent{}), opts: zopts{comment: []byte("abc"), end: set16(20, 4)}, want: ErrCorrupt},
		{name: "comment length too short", ents: one(zent{}), opts: zopts{comment: []byte("abc"), end: set16(20, 2)}, want: ErrCorrupt},
		{name: "disk number", ents: one(zent{}), opts: zopts{end: set16(4, 1)}, want: ErrCorrupt},
		{name: "central directory disk", ents: one(zent{}), opts: zopts{end: set16(6, 1)}, want: ErrCorrupt},
		{name: "entries on disk differ", ents: one(zent{}), opts: zopts{end: set16(8, 3)}, want: ErrCorrupt},
		{name: "entry count too high", ents: one(zent{}), opts: zopts{end: func(b []byte) { set16(8, 3)(b); set16(10, 3)(b) }}, want: ErrCorrupt},
		{name: "entry count too low", ents: one(zent{}), opts: zopts{end: func(b []byte) { set16(8, 1)(b); set16(10, 1)(b) }}, want: ErrCorrupt},
		{name: "central directory size", ents: one(zent{}), opts: zopts{end: func(b []byte) { b[12]-- }}, want: ErrCorrupt},
		{name: "central directory offset", ents: one(zent{}), opts: zopts{end: func(b []byte) { b[16]-- }}, want: ErrCorrupt},
		{name: "no end record", ents: one(zent{}), opts: zopts{end: func(b []byte) { b[0] = 'X' }}, want: ErrCorrupt},
		{name: "too short", raw: func([]byte) []byte { return []byte("PK\x05\x06") }, want: ErrCorrupt},
		{name: "zip64 locator offset", ents: one(zent{}), opts: zopts{zip64: true}, raw: func(b []byte) []byte {
			b[len(b)-lenEnd-lenLocator64+8]--
			return b
		}, want: ErrCorrupt},
		{name: "zip64 record count", ents: one(zent{}), opts: zopts{zip64: true}, raw: func(b []byte) []byte {
			b[len(b)-lenEnd-lenLocator64-lenEnd64+24]++
			return b
		}, want: ErrCorrupt},
		// Central directory fields.
		{name: "encrypted", ents: one(zent{flags: 1}), want: ErrCorrupt},
		{name: "unknown flag", ents: one(zent{flags: 2}), want: ErrCorrupt},
		{name: "method bzip2", ents: one(zent{method: 12}), want: ErrCorrupt},
		{name: "bad time", ents: one(zent{local: set16(10, 0xbf7f), central: set16(12, 0xbf7f)}), want: ErrCorrupt},
		{name: "bad date", ents: one(zent{local: set16(12, 0x5dbf), central: set16(14, 0x5dbf)}), want: ErrCorrupt},
		{name: "zero date", ents: one(zent{local: set16(12, 0), central: set16(14, 0)}), want: ErrCorrupt},
		{name: "unknown host", ents: one(zent{made: 0x0714}), want: ErrCorrupt},
		{name: "version made by too new", ents: one(zent{made: 0x0340}), want: ErrCorrupt},
		{name: "version needed too new", ents: one(zent{needed: 64}), want: ErrCorrupt},
		{name: "disk start", ents: one(zent{central: set16(34, 1)}), want: ErrCorrupt},
		{name: "internal attributes", ents: one(zent{central: set16(36, 2)}), want: ErrCorrupt},
		{name: "reserved external attribute bits", ents: one(zent{ext: 0o100644<<16 | 0x100}), want: ErrCorrupt},
		{name: "DOS volume attribute", ents: one(zent{ext: 0o100644<<16 | 0x08}), want: ErrCorrupt},
		{name: "DOS device attribute", ents: one(zent{ext: 0x40}), want: ErrCorrupt},
		{name: "DOS directory attribute on a file", ents: one(zent{ext: 0x10}), want: ErrCorrupt},
		{name: "symlink", ents: one(zent{ext: 0o120777 << 16, data: []byte("/etc/passwd")}), want: ErrUnsafePath},
		{name: "character device", ents: one(zent{ext: 0o020644 << 16}), want: ErrUnsafePath},
		{name: "block device", ents: one(zent{ext: 0o060644 << 16}), want: ErrUnsafePath},
		{name: "fifo", ents: one(zent{ext: 0o010644 << 16}), want: ErrUnsafePath},
		{name: "setuid", ents: one(zent{ext: 0o104755 << 16}), want: ErrUnsafePath},
		{name: "sticky", ents: one(zent{ext: 0o101755 << 16}), want: ErrUnsafePath},
		{name: "unknown file type", ents: one(zent{ext: 0o170644 << 16}), want: ErrCorrupt},
		{name: "group has more than owner", ents: one(zent{ext: 0o100464 << 16}), want: ErrCorrupt},
		{name: "other has more than owner", ents: one(zent{ext: 0o100446 << 16}), want: ErrCorrupt},
		{name: "owner cannot read", ents: one(zent{ext: 0o100200 << 16}), want: ErrCorrupt},
		{name: "directory mode on a file", ents: one(zent{ext: 0o040755 << 16}), want: ErrCorrupt},
		{name: "file mode on a directory", ents: []zent{{name: "d/", ext: 0o100644 << 16}}, want: ErrCorrupt},
		{name: "directory with data", ents: []zent{{name: "d/", data: []byte("x")}}, want: ErrCorrupt},
		{name: "deflated directory", ents: []zent{{name: "d/", method: methodDeflate, comp: []byte{}}}, want: ErrCorrupt},
		{name: "stored sizes differ", ents: one(zent{data: []byte("hello"), comp: []byte("hello!")}), want: ErrCorrupt},
		{name: "0xffffffff size without zip64", ents: one(zent{central: set32(20, max32)}), want: ErrCorrupt},
		{name: "zip64 extra with nothing to replace", ents: one(zent{extra: []byte{1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0}}), want: ErrCorrupt},
		{name: "two zip64 extras", ents: one(zent{zip64: true, extra: []byte{1, 0, 0, 0}}), want: ErrCorrupt},
		{name: "truncated extra", ents: one(zent{extra: []byte{1, 2, 3}}), want: ErrCorrupt},
		{name: "overflowing extra", ents: one(zent{extra: []byte{0x55, 0x54, 9, 0, 1}}), want: ErrCorrupt},
		// Names.
		{name: "parent segment", ents: one(zent{name: "../evil.exe"}), want: ErrUnsafePath},
		{name: "inner parent segment", ents: one(zent{name: "a/../../evil"}), want: ErrUnsafePath},
		{name: "absolute", ents: one(zent{name: "/etc/cron.d/x"}), want: ErrUnsafePath},
		{name: "drive letter", ents: one(zent{name: "C:/Windows/x.dll"}), want: ErrUnsafePath},
		{name: "drive-relative", ents: one(zent{name: "C:x"}), want: ErrUnsafePath},
		{name: "backslash", ents: one(zent{name: "..\\evil"}), want: ErrUnsafePath},
		{name: "UNC", ents: one(zent{name: "//server/share/x"}), want: ErrUnsafePath},
		{name: "dot segment", ents: one(zent{name: "./a"}), want: ErrUnsafePath},
		{name: "empty segment", ents: one(zent{name: "a//b"}), want: ErrUnsafePath},
		{name: "NUL", ents: one(zent{name: "a\x00.txt"}), want: ErrUnsafePath},
		{name: "newline", ents: one(zent{name: "a\n.txt"}), want: ErrUnsafePath},
		{name: "trailing dot", ents: one(zent{name: "setup.py."}), want: ErrUnsafePath},
		{name: "trailing space", ents: one(zent{name: "setup.py "}), want: ErrUnsafePath},
		{name: "stream", ents: one(zent{name: "a.txt:evil"}), want: ErrUnsafePath},
		{name: "invalid UTF-8", ents: one(zent{name: "a\xff.txt"}), want: ErrUnsafePath},
		{name: "duplicate", ents: []zent{{name: "a", data: []byte("1")}, {name: "a", data: []byte("2")}}, want: ErrUnsafePath},
		{name: "case-insensitive duplicate", ents: []zent{{name: "Setup.py", data: []byte("1")}, {name: "setup.PY", data: []byte("2")}}, want: ErrUnsafePath},
		{name: "file then directory", ents: []zent{{name: "a", data: []byte("1")}, {name: "a/b", data: []byte("2")}}, want: ErrUnsafePath},
		{name: "directory then file", ents: []zent{{name: "a/b", data: []byte("1")}, {name: "A", data: []byte("2")}}, want: ErrUnsafePath},
		{name: "directory entry and file", ents: []zent{{name: "a/"}, {name: "a", data: []byte("2")}}, want: ErrUnsafePath},
		{name: "duplicate directory entry", ents: []zent{{name: "a/"}, {name: "a/"}}, want: ErrUnsafePath},
		// Local header and data descriptor against the central directory.
		{name: "local signature", ents: one(zent{local: set32(0, 0x04034b51)}), want: ErrCorrupt},
		{name: "local version needed", ents: one(zent{local: set16(4, 10)}), want: ErrCorrupt},
		{name: "local flags", ents: one(zent{local: set16(6, flagUTF8)}), want: ErrCorrupt},
		{name: "local method", ents: one(zent{local: set16(8, methodDeflate)}), want: ErrCorrupt},
		{name: "local time", ents: one(zent{local: set16(10, 0)}), want: ErrCorrupt},
		{name: "local date", ents: one(zent{local: set16(12, 0x5c21)}), want: ErrCorrupt},
		{name: "local CRC", ents: one(zent{local: set32(14, 1)}), want: ErrCorrupt},
		{name: "local compressed size", ents: one(zent{local: set32(18, 4)}), want: ErrCorrupt},
		{name: "local size", ents: one(zent{local: set32(22, 4)}), want: ErrCorrupt},
		{name: "local name", ents: one(zent{local: func(b []byte) { b[30] = 'A' }}), want: ErrCorrupt},
		{name: "local extra differs", ents: one(zent{extra: []byte{0x55, 0x54, 1, 0, 1}, local: func(b []byte) { b[len(b)-1] = 2 }}), want: ErrCorrupt},
		{name: "local CRC zero but sizes set", ents: one(zent{descriptor: 1, local: set32(14, 0)}), want: ErrCorrupt},
		{name: "zero local without descriptor flag", ents: one(zent{zeroLocal: true}), want: ErrCorrupt},
		{name: "descriptor CRC", ents: one(zent{descriptor: 1, zeroLocal: true, desc: set32(4, 1)}), want: ErrCorrupt},
		{name: "descriptor size", ents: one(zent{descriptor: 2, zeroLocal: true, desc: set32(4, 1)}), want: ErrCorrupt},
		{name: "descriptor missing", ents: one(zent{zeroLocal: true, local: set16(6, flagDescriptor), central: set16(8, flagDescriptor)}), want: ErrCorrupt},
		{name: "local zip64 extra without sentinel sizes", ents: one(zent{zip64: true, needed: 45, local: set32(18, 5)}), want: ErrCorrupt},
		// Limits.
		{name: "too many members", ents: one(zent{}), lim: lim(func(l *Limits) { l.MaxMembers = 1 }), want: ErrTooLarge},
		{name: "member too large", ents: one(zent{}), lim: lim(func(l *Limits) { l.MaxMemberSize = 4 }), want: ErrTooLarge},
		{name: "total too large", ents: one(zent{}), lim: lim(func(l *Limits) { l.MaxTotalUncompressed = 9 }), want: ErrTooLarge},
		{name: "file too large", ents: one(zent{}), lim: lim(func(l *Limits) { l.MaxFileSize = 100 }), want: ErrTooLarge},
		{name: "compression ratio", ents: one(zent{data: zeros, method: methodDeflate}), lim: lim(func(l *Limits) { l.MaxRatio = 100 }), want: ErrTooLarge},
		// Data, found when reading.
		{name: "deflate gives more than declared", ents: one(zent{data: []byte("hello"), comp: deflate(t, []byte("hello, world")), method: methodDeflate}), want: ErrCorrupt, onRead: true},
		{name: "deflate bomb", ents: one(zent{data: []byte("hello"), comp: deflate(t, zeros), method: methodDeflate}), want: ErrCorrupt, onRead: true},
		{name: "deflate gives less than declared", ents: one(zent{data: text, comp: deflate(t, text[:100]), method: methodDeflate}), want: ErrCorrupt, onRead: true},
		{name: "bytes after the deflate stream", ents: one(zent{data: text, comp: append(deflate(t, text), 0, 0), method: methodDeflate}), want: ErrCorrupt, onRead: true},
		{name: "truncated deflate stream", ents: one(zent{data: text, comp: deflate(t, text)[:20], method: methodDeflate}), want: ErrCorrupt, onRead: true},
		{name: "garbage deflate stream", ents: one(zent{data: text, comp: randomBytes(300, 5), method: methodDeflate}), want: ErrCorrupt, onRead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := craft(t, tt.ents, tt.opts)
			if tt.raw != nil {
				data = tt.raw(data)
			}
			l := tt.lim
			if l == (Limits{}) {
				l = DefaultLimits()
			}
			es, err := parseBytes(data, l)
			if err == nil && tt.onRead {
				err = readMembers(data, es)
			} else if err == nil {
				t.Fatalf("parseZip accepted it")
			} else if tt.onRead {
				t.Fatalf("parseZip: %v, want an error on read only", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestParsePythonZips reads ZIPs written by Python's zipfile (WAPT's
// writer), generated by testdata/gen_zips.py: seekable output (sizes in the
// local headers, a zip64 extra on a forced zip64 member) and unseekable
// output (data descriptors).
func TestParsePythonZips(t *testing.T) {
	for _, name := range []string{"python_seekable.zip", "python_stream.zip"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			p, err := openBytes(data)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			var names []string
			for _, m := range p.Members() {
				names = append(names, m.Name)
			}
			want := "WAPT/control setup.py sub/ sub/data.bin sub/text.txt sub/été.txt"
			if got := strings.Join(names, " "); got != want {
				t.Errorf("members %q, want %q", got, want)
			}
			if err := readMembers(data, p.entries); err != nil {
				t.Errorf("read: %v", err)
			}
			if p.Control().Package() != "python-pkg" || p.Signed() {
				t.Errorf("control %q, signed %v", p.Control().Package(), p.Signed())
			}
		})
	}
}

// TestParseGoZip64 reads the zip64 forms Go's archive/zip writes: a member
// whose declared size needs zip64 (central zip64 extra with sizes and
// offset, 64-bit data descriptor) and an archive of 65,535 members (zip64
// end records, legacy end record fields all 0xffff...).
func TestParseGoZip64(t *testing.T) {
	t.Run("large member", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		comp := deflate(t, []byte("small"))
		fh := &zip.FileHeader{Name: "big.bin", Method: zip.Deflate, Flags: flagDescriptor, ReaderVersion: 45,
			CRC32: 1, CompressedSize64: uint64(len(comp)), UncompressedSize64: 5 << 30}
		fh.SetMode(0o644)
		fh.ModifiedDate, fh.ModifiedTime = dosDateTime(testNow)
		w, err := zw.CreateRaw(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		lim := DefaultLimits()
		if _, err := parseBytes(buf.Bytes(), lim); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("default limits: %v, want ErrTooLarge", err)
		}
		lim.MaxRatio = 1 << 40
		es, err := parseBytes(buf.Bytes(), lim)
		if err != nil {
			t.Fatal(err)
		}
		if !es[0].zip64 || es[0].usize != 5<<30 {
			t.Errorf("entry %+v", es[0])
		}
		if err := readMembers(buf.Bytes(), es); !errors.Is(err, ErrCorrupt) {
			t.Errorf("read: %v, want ErrCorrupt", err)
		}
	})
	t.Run("65535 members", func(t *testing.T) {
		if testing.Short() {
			t.Skip("large archive")
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range max16 {
			fh := header(fmt.Sprintf("d%d/f%d", i/1000, i), methodStore, testNow, false)
			if _, err := zw.CreateHeader(fh); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		es, err := parseBytes(buf.Bytes(), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != max16 {
			t.Errorf("%d entries", len(es))
		}
	})
}
