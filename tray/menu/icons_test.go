package menu

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"
)

func TestIcons(t *testing.T) {
	centers := map[[4]uint8]Icon{}
	for _, k := range Icons {
		img, err := png.Decode(bytes.NewReader(IconPNG(k)))
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
			t.Errorf("%v: size %v", k, b)
		}
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
			t.Errorf("%v: corner not transparent", k)
		}
		// A point of the disc away from every glyph: the state's colour.
		r, g, b, a := img.At(32, 8).RGBA()
		c := [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
		if c[3] != 0xff {
			t.Errorf("%v: disc not opaque: %v", k, c)
		}
		if other, dup := centers[c]; dup {
			t.Errorf("%v and %v have the same colour", k, other)
		}
		centers[c] = k

		ico := IconICO(k)
		if len(ico) != 6+16+40+32*32*4+4*32 {
			t.Errorf("%v: ICO of %d bytes", k, len(ico))
		}
		le := binary.LittleEndian
		if le.Uint16(ico[2:]) != 1 || le.Uint16(ico[4:]) != 1 || ico[6] != 32 || le.Uint32(ico[14:]) != uint32(len(ico)-22) || le.Uint32(ico[18:]) != 22 {
			t.Errorf("%v: bad ICO header % x", k, ico[:22])
		}
		if le.Uint32(ico[22:]) != 40 || le.Uint32(ico[30:]) != 64 {
			t.Errorf("%v: bad BITMAPINFOHEADER % x", k, ico[22:62])
		}
	}
}
