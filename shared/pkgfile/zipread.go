package pkgfile

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
)

// ZIP record signatures and fixed lengths (APPNOTE 6.3).
const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	sigDescriptor = 0x08074b50

	lenLocal     = 30
	lenCentral   = 46
	lenEnd       = 22
	lenEnd64     = 56
	lenLocator64 = 20

	extraZip64 = 0x0001
	max16      = 0xffff
	max32      = 0xffffffff

	methodStore   = 0
	methodDeflate = 8

	flagDescriptor = 0x8
	flagUTF8       = 0x800
)

// entry is one parsed and cross-checked ZIP member.
type entry struct {
	name         string
	made, needed uint16
	flags        uint16
	method       uint16
	mtime, mdate uint16
	crc          uint32
	csize, usize uint64
	ext          uint32
	extra        []byte // central extra records other than zip64
	offset       uint64 // local header
	dataOff      int64  // first byte of the (compressed) data
	zip64        bool   // the central record carries a zip64 extra field
	dir, exec    bool
}

func (e *entry) member() Member {
	return Member{Name: e.name, Size: int64(e.usize), CompressedSize: int64(e.csize), Method: e.method}
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// readAt reads len(b) bytes at off; a short read means the file is
// truncated.
func readAt(r io.ReaderAt, b []byte, off int64, what string) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return corruptf("%s at offset %d: truncated", what, off)
	}
	return fmt.Errorf("read %s at offset %d: %w", what, off, err)
}

// parseZip reads the structure of the ZIP in r (size bytes) strictly and
// returns its entries in file order. No member data is read.
func parseZip(r io.ReaderAt, size int64, lim Limits) ([]*entry, error) {
	lim = lim.clamp()
	if size > lim.MaxFileSize {
		return nil, largef("file of %d bytes (max %d)", size, lim.MaxFileSize)
	}
	if size < lenEnd {
		return nil, corruptf("file of %d bytes is too short for a ZIP", size)
	}
	end, err := findEnd(r, size)
	if err != nil {
		return nil, err
	}
	count, cdOff, cdSize, err := readEnd(r, end)
	if err != nil {
		return nil, err
	}
	if count > uint64(lim.MaxMembers) {
		return nil, largef("%d members (max %d)", count, lim.MaxMembers)
	}
	if count*lenCentral > cdSize {
		return nil, corruptf("central directory of %d bytes cannot hold %d entries", cdSize, count)
	}
	if maxCD := 1<<20 + uint64(lim.MaxMembers)*1024; cdSize > maxCD {
		return nil, largef("central directory of %d bytes (max %d)", cdSize, maxCD)
	}
	cd := make([]byte, cdSize)
	if err := readAt(r, cd, int64(cdOff), "central directory"); err != nil {
		return nil, err
	}
	entries := make([]*entry, 0, count)
	names := nameTree{}
	var total uint64
	for i := uint64(0); i < count; i++ {
		e, n, err := parseCentral(cd, i, lim)
		if err != nil {
			return nil, err
		}
		cd = cd[n:]
		if err := names.add(e.name); err != nil {
			return nil, err
		}
		if total += e.usize; total > uint64(lim.MaxTotalUncompressed) {
			return nil, largef("more than %d bytes uncompressed in total", lim.MaxTotalUncompressed)
		}
		entries = append(entries, e)
	}
	if len(cd) != 0 {
		return nil, corruptf("%d unused bytes at the end of the central directory", len(cd))
	}
	slices.SortStableFunc(entries, func(a, b *entry) int { return cmp.Compare(a.offset, b.offset) })
	pos := uint64(0)
	for _, e := range entries {
		if e.offset != pos {
			return nil, corruptf("member %q: local header at offset %d, expected %d", e.name, e.offset, pos)
		}
		if pos, err = checkLocal(r, e, cdOff); err != nil {
			return nil, err
		}
	}
	if pos != cdOff {
		return nil, corruptf("%d unused bytes before the central directory at offset %d", cdOff-pos, cdOff)
	}
	return entries, nil
}

// findEnd returns the offset of the end of central directory record: the
// last one whose comment reaches the end of the file exactly.
func findEnd(r io.ReaderAt, size int64) (int64, error) {
	var b [lenEnd]byte // common case first: no archive comment
	if err := readAt(r, b[:], size-lenEnd, "end of central directory"); err != nil {
		return 0, err
	}
	if le32(b[:]) == sigEnd && le16(b[20:]) == 0 {
		return size - lenEnd, nil
	}
	n := min(size, lenEnd+max16)
	tail := make([]byte, n)
	if err := readAt(r, tail, size-n, "end of central directory"); err != nil {
		return 0, err
	}
	for i := len(tail) - lenEnd; i >= 0; i-- {
		if le32(tail[i:]) == sigEnd && int(le16(tail[i+20:])) == len(tail)-i-lenEnd {
			return size - n + int64(i), nil
		}
	}
	return 0, corruptf("no end of central directory record")
}

// readEnd parses the end of central directory record at end (and the zip64
// record and locator before it when present) and returns the entry count
// and the central directory offset and size. The central directory must
// end exactly where the zip64 record, or the end record, starts.
func readEnd(r io.ReaderAt, end int64) (count, cdOff, cdSize uint64, err error) {
	var b [lenEnd]byte
	if err := readAt(r, b[:], end, "end of central directory"); err != nil {
		return 0, 0, 0, err
	}
	disk, cdDisk, nDisk, n := le16(b[4:]), le16(b[6:]), le16(b[8:]), le16(b[10:])
	size32, off32 := le32(b[12:]), le32(b[16:])
	switch {
	case disk != 0 || cdDisk != 0:
		return 0, 0, 0, corruptf("multi-disk archive (disk %d, central directory disk %d)", disk, cdDisk)
	case nDisk != n:
		return 0, 0, 0, corruptf("end record: %d entries on this disk but %d in total", nDisk, n)
	}
	sentinel := n == max16 || size32 == max32 || off32 == max32
	if !sentinel && uint64(off32)+uint64(size32) == uint64(end) {
		return uint64(n), uint64(off32), uint64(size32), nil
	}
	// zip64: record and locator right before the end record.
	start := end - lenLocator64 - lenEnd64
	if start < 0 {
		return 0, 0, 0, corruptf("central directory at offset %d (size %d) does not end at the end record at %d", off32, size32, end)
	}
	var z [lenEnd64 + lenLocator64]byte
	if err := readAt(r, z[:], start, "zip64 end of central directory"); err != nil {
		return 0, 0, 0, err
	}
	loc := z[lenEnd64:]
	switch {
	case le32(loc) != sigLocator64:
		return 0, 0, 0, corruptf("central directory at offset %d (size %d) does not end at the end record at %d", off32, size32, end)
	case le32(loc[4:]) != 0 || le32(loc[16:]) != 1:
		return 0, 0, 0, corruptf("zip64 locator: multi-disk archive")
	case le64(loc[8:]) != uint64(start):
		return 0, 0, 0, corruptf("zip64 locator points to %d, expected %d", le64(loc[8:]), start)
	case le32(z[:]) != sigEnd64:
		return 0, 0, 0, corruptf("no zip64 end of central directory record at %d", start)
	case le64(z[4:]) != lenEnd64-12:
		return 0, 0, 0, corruptf("zip64 end record of unsupported size %d", le64(z[4:]))
	case !validVersionMade(le16(z[12:])) || le16(z[14:]) > 63:
		return 0, 0, 0, corruptf("zip64 end record: bad versions %#x/%#x", le16(z[12:]), le16(z[14:]))
	case le32(z[16:]) != 0 || le32(z[20:]) != 0:
		return 0, 0, 0, corruptf("zip64 end record: multi-disk archive")
	case le64(z[24:]) != le64(z[32:]):
		return 0, 0, 0, corruptf("zip64 end record: %d entries on this disk but %d in total", le64(z[24:]), le64(z[32:]))
	}
	count, cdSize, cdOff = le64(z[32:]), le64(z[40:]), le64(z[48:])
	switch {
	case n != max16 && uint64(n) != count,
		size32 != max32 && uint64(size32) != cdSize,
		off32 != max32 && uint64(off32) != cdOff:
		return 0, 0, 0, corruptf("end record disagrees with the zip64 end record")
	case cdOff > uint64(start) || cdSize != uint64(start)-cdOff:
		return 0, 0, 0, corruptf("central directory at offset %d (size %d) does not end at the zip64 end record at %d", cdOff, cdSize, start)
	}
	return count, cdOff, cdSize, nil
}

// validVersionMade accepts "version made by" values of the hosts MS-DOS,
// Unix, NTFS and OS X with a specification version up to 6.3.
func validVersionMade(v uint16) bool {
	switch v >> 8 {
	case 0, 3, 10, 19:
		return v&0xff <= 63
	}
	return false
}

// parseCentral parses the central directory entry number i at the start of
// cd and returns it with its length.
func parseCentral(cd []byte, i uint64, lim Limits) (*entry, int, error) {
	if len(cd) < lenCentral || le32(cd) != sigCentral {
		return nil, 0, corruptf("central directory entry %d: bad or truncated header", i)
	}
	nlen, xlen, clen := int(le16(cd[28:])), int(le16(cd[30:])), int(le16(cd[32:]))
	total := lenCentral + nlen + xlen + clen
	if len(cd) < total {
		return nil, 0, corruptf("central directory entry %d: truncated", i)
	}
	e := &entry{
		name:   string(cd[lenCentral : lenCentral+nlen]),
		made:   le16(cd[4:]),
		needed: le16(cd[6:]),
		flags:  le16(cd[8:]),
		method: le16(cd[10:]),
		mtime:  le16(cd[12:]),
		mdate:  le16(cd[14:]),
		crc:    le32(cd[16:]),
		csize:  uint64(le32(cd[20:])),
		usize:  uint64(le32(cd[24:])),
		ext:    le32(cd[38:]),
		offset: uint64(le32(cd[42:])),
	}
	if err := checkName(e.name); err != nil {
		return nil, 0, fmt.Errorf("central directory entry %d: %w", i, err)
	}
	e.dir = strings.HasSuffix(e.name, "/")
	diskStart, internal := le16(cd[34:]), le16(cd[36:])
	switch {
	case !validVersionMade(e.made):
		return nil, 0, corruptf("member %q: bad \"version made by\" %#x", e.name, e.made)
	case e.needed > 63:
		return nil, 0, corruptf("member %q: bad \"version needed\" %#x", e.name, e.needed)
	case e.flags&^(flagDescriptor|flagUTF8) != 0:
		return nil, 0, corruptf("member %q: unsupported flags %#x (encryption or other features)", e.name, e.flags)
	case e.method != methodStore && e.method != methodDeflate:
		return nil, 0, corruptf("member %q: unsupported compression method %d", e.name, e.method)
	case !validDOSTime(e.mtime, e.mdate):
		return nil, 0, corruptf("member %q: invalid MS-DOS time %#x or date %#x", e.name, e.mtime, e.mdate)
	case diskStart != 0:
		return nil, 0, corruptf("member %q: on disk %d", e.name, diskStart)
	case internal > 1:
		return nil, 0, corruptf("member %q: bad internal attributes %#x", e.name, internal)
	}
	var err error
	if e.exec, err = checkAttrs(e.name, e.ext, e.dir); err != nil {
		return nil, 0, err
	}
	zip64, other, err := splitExtra(cd[lenCentral+nlen:lenCentral+nlen+xlen], e.name)
	if err != nil {
		return nil, 0, err
	}
	e.extra = other
	if zip64 == nil && (e.usize == max32 || e.csize == max32 || e.offset == max32) {
		return nil, 0, corruptf("member %q: 0xffffffff size or offset without zip64 extra field", e.name)
	}
	if zip64 != nil {
		if err := e.applyZip64(zip64); err != nil {
			return nil, 0, err
		}
	}
	if err := e.checkSizes(lim); err != nil {
		return nil, 0, err
	}
	return e, total, nil
}

// splitExtra checks the structure of an extra field and returns the data
// of its zip64 record (nil when absent) and the other records, verbatim.
func splitExtra(x []byte, name string) (zip64, other []byte, err error) {
	for len(x) > 0 {
		if len(x) < 4 {
			return nil, nil, corruptf("member %q: truncated extra field", name)
		}
		id, n := le16(x), int(le16(x[2:]))
		if len(x) < 4+n {
			return nil, nil, corruptf("member %q: extra field %#x overflows", name, id)
		}
		if id == extraZip64 {
			if zip64 != nil {
				return nil, nil, corruptf("member %q: two zip64 extra fields", name)
			}
			zip64 = x[4 : 4+n : 4+n]
		} else {
			other = append(other, x[:4+n]...)
		}
		x = x[4+n:]
	}
	return zip64, other, nil
}

// applyZip64 takes the 64-bit values of a central zip64 extra field: the
// sizes when the 32-bit fields are 0xffffffff (both must be), then the
// local header offset when its field is 0xffffffff (Go's writer also
// stores it when it fits: it must then be equal), then a disk number 0.
func (e *entry) applyZip64(z []byte) error {
	bad := func(why string) error { return corruptf("member %q: zip64 extra field: %s", e.name, why) }
	e.zip64 = true
	used := false
	if e.usize == max32 || e.csize == max32 {
		if e.usize != max32 || e.csize != max32 || len(z) < 16 {
			return bad("sizes missing")
		}
		e.usize, e.csize, z, used = le64(z), le64(z[8:]), z[16:], true
	}
	if e.offset == max32 {
		if len(z) < 8 {
			return bad("offset missing")
		}
		e.offset, z, used = le64(z), z[8:], true
	} else if len(z) >= 8 {
		if le64(z) != e.offset {
			return bad("offset differs from the header")
		}
		z = z[8:]
	}
	if len(z) == 4 && le32(z) == 0 {
		z = z[4:]
	}
	if len(z) != 0 || !used {
		return bad("unexpected content")
	}
	return nil
}

// checkSizes applies the per-member rules and Limits to the sizes.
func (e *entry) checkSizes(lim Limits) error {
	switch {
	case e.usize > uint64(lim.MaxMemberSize):
		return largef("member %q: %d bytes uncompressed (max %d)", e.name, e.usize, lim.MaxMemberSize)
	case e.csize > 1<<62:
		return corruptf("member %q: compressed size %d", e.name, e.csize)
	case e.dir && (e.usize != 0 || e.csize != 0 || e.method != methodStore):
		return corruptf("member %q: directory with data", e.name)
	case e.method == methodStore && e.csize != e.usize:
		return corruptf("member %q: stored with compressed size %d != size %d", e.name, e.csize, e.usize)
	case e.method == methodDeflate && e.usize > ratioMinimumSize:
		hi, lo := bits.Mul64(e.csize, uint64(lim.MaxRatio))
		if hi == 0 && lo < e.usize {
			return largef("member %q: compression ratio %d:%d over %d", e.name, e.usize, e.csize, lim.MaxRatio)
		}
	}
	return nil
}

// checkLocal compares the local header (and data descriptor) of e with its
// central record, sets e.dataOff and returns the offset right after the
// member. Nothing may extend past limit (the central directory offset).
func checkLocal(r io.ReaderAt, e *entry, limit uint64) (uint64, error) {
	pos := int64(e.offset)
	if e.offset+lenLocal > limit {
		return 0, corruptf("member %q: local header overlaps the central directory", e.name)
	}
	var h [lenLocal]byte
	if err := readAt(r, h[:], pos, fmt.Sprintf("local header of %q", e.name)); err != nil {
		return 0, err
	}
	nlen, xlen := uint64(le16(h[26:])), uint64(le16(h[28:]))
	if e.offset+lenLocal+nlen+xlen > limit {
		return 0, corruptf("member %q: local header overlaps the central directory", e.name)
	}
	bad := func(field string) (uint64, error) {
		return 0, corruptf("member %q: local header %s differs from the central directory", e.name, field)
	}
	needed := le16(h[4:])
	switch {
	case le32(h[:]) != sigLocal:
		return 0, corruptf("member %q: no local header signature at offset %d", e.name, pos)
	case needed != e.needed && !(e.zip64 && needed < e.needed):
		return bad("version needed")
	case le16(h[6:]) != e.flags:
		return bad("flags")
	case le16(h[8:]) != e.method:
		return bad("method")
	case le16(h[10:]) != e.mtime || le16(h[12:]) != e.mdate:
		return bad("time")
	case nlen != uint64(len(e.name)):
		return bad("name")
	}
	v := make([]byte, nlen+xlen)
	if err := readAt(r, v, pos+lenLocal, fmt.Sprintf("local header of %q", e.name)); err != nil {
		return 0, err
	}
	if string(v[:nlen]) != e.name {
		return bad("name")
	}
	zip64, other, err := splitExtra(v[nlen:], e.name)
	if err != nil {
		return 0, err
	}
	if !bytes.Equal(other, e.extra) {
		return 0, corruptf("member %q: local extra field differs from the central directory", e.name)
	}
	crc, csize, usize := le32(h[14:]), uint64(le32(h[18:])), uint64(le32(h[22:]))
	if zip64 != nil {
		if len(zip64) != 16 || csize != max32 || usize != max32 {
			return 0, corruptf("member %q: bad zip64 extra field in the local header", e.name)
		}
		usize, csize = le64(zip64), le64(zip64[8:])
	}
	equal := crc == e.crc && csize == e.csize && usize == e.usize
	zero := crc == 0 && csize == 0 && usize == 0
	if !equal && !(zero && e.flags&flagDescriptor != 0) {
		return bad("CRC or sizes")
	}
	e.dataOff = pos + lenLocal + int64(nlen+xlen)
	next := uint64(e.dataOff) + e.csize
	if next > limit {
		return 0, corruptf("member %q: data overlaps the central directory", e.name)
	}
	if e.flags&flagDescriptor == 0 {
		return next, nil
	}
	return checkDescriptor(r, e, next, limit, zip64 != nil)
}

// checkDescriptor checks the data descriptor at off and returns the offset
// after it. It has 64-bit sizes when the local header has a zip64 extra
// field or a size does not fit 32 bits; its signature is optional.
func checkDescriptor(r io.ReaderAt, e *entry, off, limit uint64, localZip64 bool) (uint64, error) {
	n := uint64(12)
	if localZip64 || e.usize >= max32 || e.csize >= max32 {
		n = 20
	}
	b := make([]byte, 4+n)
	avail := min(uint64(len(b)), limit-off)
	if err := readAt(r, b[:avail], int64(off), fmt.Sprintf("data descriptor of %q", e.name)); err != nil {
		return 0, err
	}
	b = b[:avail]
	if len(b) >= 4 && le32(b) == sigDescriptor {
		b = b[4:]
		off += 4
	}
	if uint64(len(b)) < n {
		return 0, corruptf("member %q: data descriptor overlaps the central directory", e.name)
	}
	crc := le32(b)
	var csize, usize uint64
	if n == 20 {
		csize, usize = le64(b[4:]), le64(b[12:])
	} else {
		csize, usize = uint64(le32(b[4:])), uint64(le32(b[8:]))
	}
	if crc != e.crc || csize != e.csize || usize != e.usize {
		return 0, corruptf("member %q: data descriptor differs from the central directory", e.name)
	}
	return off + n, nil
}

// memberReader streams the uncompressed content of one member and fails
// unless it is exactly the declared size and, for deflate, the stream uses
// exactly the declared compressed bytes.
type memberReader struct {
	name string
	src  io.Reader     // exactly the compressed bytes
	br   *bufio.Reader // deflate: buffered src
	fr   io.ReadCloser // deflate: decompressor
	left uint64        // uncompressed bytes still expected
	err  error         // sticky final result
}

// newMemberReader returns a reader of e's content; src yields e.csize
// bytes then io.EOF.
func newMemberReader(e *entry, src io.Reader) *memberReader {
	m := &memberReader{name: e.name, src: src, left: e.usize}
	if e.method == methodDeflate {
		m.br = bufio.NewReaderSize(src, 32<<10)
		m.fr = flate.NewReader(m.br)
	}
	return m
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if m.left == 0 {
		m.err = m.finish()
		return 0, m.err
	}
	if uint64(len(p)) > m.left {
		p = p[:m.left]
	}
	var (
		n   int
		err error
	)
	if m.fr != nil {
		n, err = m.fr.Read(p)
	} else {
		n, err = m.src.Read(p)
	}
	m.left -= uint64(n)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if m.left > 0 {
			m.err = corruptf("member %q: data ends %d bytes before its declared size", m.name, m.left)
			return n, m.err
		}
	default:
		m.err = m.wrap(err)
		return n, m.err
	}
	return n, nil
}

// finish checks that nothing follows the declared size.
func (m *memberReader) finish() error {
	if m.fr == nil {
		return io.EOF
	}
	var one [1]byte
	n, err := m.fr.Read(one[:])
	if n > 0 {
		return corruptf("member %q: more data than its declared size", m.name)
	}
	if !errors.Is(err, io.EOF) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return m.wrap(err)
	}
	if m.br.Buffered() > 0 {
		return corruptf("member %q: bytes after the end of the deflate stream", m.name)
	}
	if n, err := m.src.Read(one[:]); n > 0 || !errors.Is(err, io.EOF) {
		if err != nil && !errors.Is(err, io.EOF) {
			return m.wrap(err)
		}
		return corruptf("member %q: bytes after the end of the deflate stream", m.name)
	}
	return io.EOF
}

func (m *memberReader) wrap(err error) error {
	var ce flate.CorruptInputError
	if errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptf("member %q: bad deflate data: %v", m.name, err)
	}
	return fmt.Errorf("member %q: %w", m.name, err)
}
