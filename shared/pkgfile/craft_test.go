package pkgfile

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// zent describes one member of a hand-crafted ZIP. Zero fields get valid
// defaults: version made by 0x0314 (Unix, 2.0), needed 20, time 12:00,
// date 2026-03-10, mode 0644 (0755 directory for names ending in "/").
type zent struct {
	name       string
	data       []byte // uncompressed content
	method     uint16 // 0 store, 8 deflate (data is compressed here)
	comp       []byte // compressed bytes; nil → computed from data
	made       uint16
	needed     uint16
	flags      uint16
	ext        uint32
	descriptor int  // 0 none, 1 with signature, 2 without signature
	zeroLocal  bool // local CRC and sizes 0 (with descriptor)
	zip64      bool // Python-style: 0xffffffff sizes, zip64 extra in the local and central headers
	extra      []byte
	// Hooks to corrupt the encoded headers (fixed part + name + extra).
	local, central, desc func(b []byte)
}

// zopts describes the archive around the members.
type zopts struct {
	comment []byte
	zip64   bool // zip64 end record and locator (Go style: legacy fields 0xffff...)
	end     func(b []byte)
	prefix  []byte // bytes before the first member
	gap     []byte // bytes between the members and the central directory
}

func put16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func put32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func put64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// craft encodes a ZIP from ents.
func craft(tb testing.TB, ents []zent, o zopts) []byte {
	tb.Helper()
	var out, cd bytes.Buffer
	out.Write(o.prefix)
	for _, e := range ents {
		if e.made == 0 {
			e.made = 0x0314
		}
		if e.needed == 0 {
			e.needed = 20
		}
		if e.ext == 0 {
			if len(e.name) > 0 && e.name[len(e.name)-1] == '/' {
				e.ext = (0o40755 << 16) | dosDir
			} else {
				e.ext = 0o100644 << 16
			}
		}
		comp := e.comp
		if comp == nil {
			comp = e.data
			if e.method == methodDeflate {
				var b bytes.Buffer
				w, _ := flate.NewWriter(&b, 6)
				w.Write(e.data)
				w.Close()
				comp = b.Bytes()
			}
		}
		if e.descriptor != 0 {
			e.flags |= flagDescriptor
		}
		crc := crc32.ChecksumIEEE(e.data)
		csize, usize := uint32(len(comp)), uint32(len(e.data))
		offset := uint32(out.Len())
		date, tm := dosDateTime(testNow)

		lcrc, lcs, lus := crc, csize, usize
		if e.zeroLocal {
			lcrc, lcs, lus = 0, 0, 0
		}
		lextra := append([]byte(nil), e.extra...)
		if e.zip64 {
			lextra = put16(put16(lextra, extraZip64), 16)
			lextra = put64(put64(lextra, uint64(lus)), uint64(lcs))
			lcs, lus = max32, max32
		}
		var h []byte
		h = put32(h, sigLocal)
		h = put16(h, e.needed)
		h = put16(h, e.flags)
		h = put16(h, e.method)
		h = put16(h, tm)
		h = put16(h, date)
		h = put32(h, lcrc)
		h = put32(h, lcs)
		h = put32(h, lus)
		h = put16(h, uint16(len(e.name)))
		h = put16(h, uint16(len(lextra)))
		h = append(h, e.name...)
		h = append(h, lextra...)
		if e.local != nil {
			e.local(h)
		}
		out.Write(h)
		out.Write(comp)
		if e.descriptor != 0 {
			var d []byte
			if e.descriptor == 1 {
				d = put32(d, sigDescriptor)
			}
			d = put32(d, crc)
			if e.zip64 {
				d = put64(put64(d, uint64(csize)), uint64(usize))
			} else {
				d = put32(put32(d, csize), usize)
			}
			if e.desc != nil {
				e.desc(d)
			}
			out.Write(d)
		}

		cextra := append([]byte(nil), e.extra...)
		ccs, cus, coff := csize, usize, offset
		if e.zip64 {
			cextra = put16(put16(cextra, extraZip64), 24)
			cextra = put64(put64(put64(cextra, uint64(usize)), uint64(csize)), uint64(offset))
			ccs, cus, coff = max32, max32, max32
		}
		var c []byte
		c = put32(c, sigCentral)
		c = put16(c, e.made)
		c = put16(c, e.needed)
		c = put16(c, e.flags)
		c = put16(c, e.method)
		c = put16(c, tm)
		c = put16(c, date)
		c = put32(c, crc)
		c = put32(c, ccs)
		c = put32(c, cus)
		c = put16(c, uint16(len(e.name)))
		c = put16(c, uint16(len(cextra)))
		c = put16(c, 0) // comment
		c = put16(c, 0) // disk
		c = put16(c, 0) // internal attributes
		c = put32(c, e.ext)
		c = put32(c, coff)
		c = append(c, e.name...)
		c = append(c, cextra...)
		if e.central != nil {
			e.central(c)
		}
		cd.Write(c)
	}
	out.Write(o.gap)
	cdOff := uint32(out.Len())
	out.Write(cd.Bytes())
	n, size, off := uint16(len(ents)), uint32(cd.Len()), cdOff
	if o.zip64 {
		recOff := uint64(out.Len())
		var z []byte
		z = put32(z, sigEnd64)
		z = put64(z, lenEnd64-12)
		z = put16(z, 45)
		z = put16(z, 45)
		z = put32(z, 0)
		z = put32(z, 0)
		z = put64(z, uint64(n))
		z = put64(z, uint64(n))
		z = put64(z, uint64(size))
		z = put64(z, uint64(off))
		z = put32(z, sigLocator64)
		z = put32(z, 0)
		z = put64(z, recOff)
		z = put32(z, 1)
		out.Write(z)
		n, size, off = max16, max32, max32
	}
	var end []byte
	end = put32(end, sigEnd)
	end = put16(end, 0)
	end = put16(end, 0)
	end = put16(end, n)
	end = put16(end, n)
	end = put32(end, size)
	end = put32(end, off)
	end = put16(end, uint16(len(o.comment)))
	end = append(end, o.comment...)
	if o.end != nil {
		o.end(end)
	}
	out.Write(end)
	return out.Bytes()
}
