package menu

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Icon images are drawn here rather than shipped as files: a coloured
// disc per state with a white glyph (a tick, an arrow, three dots, an
// exclamation mark, a cross), readable at 16 px.

// iconColors are the disc colours.
var iconColors = map[Icon]color.NRGBA{
	IconOK:           {0x2e, 0x9d, 0x4a, 0xff}, // green
	IconPending:      {0xe8, 0x8a, 0x12, 0xff}, // orange
	IconRunning:      {0x1f, 0x6f, 0xd1, 0xff}, // blue
	IconError:        {0xd3, 0x2f, 0x2f, 0xff}, // red
	IconDisconnected: {0x80, 0x80, 0x80, 0xff}, // grey
}

// segment is a thick line of the glyph, in units of the icon size.
type segment struct{ x0, y0, x1, y1 float64 }

// glyphs are the white strokes over the disc, in [0,1] coordinates.
var glyphs = map[Icon][]segment{
	IconOK:           {{0.28, 0.52, 0.44, 0.68}, {0.44, 0.68, 0.72, 0.34}},
	IconPending:      {{0.5, 0.25, 0.5, 0.72}, {0.32, 0.55, 0.5, 0.72}, {0.68, 0.55, 0.5, 0.72}},
	IconRunning:      {{0.28, 0.5, 0.28, 0.5}, {0.5, 0.5, 0.5, 0.5}, {0.72, 0.5, 0.72, 0.5}},
	IconError:        {{0.5, 0.24, 0.5, 0.58}, {0.5, 0.74, 0.5, 0.74}},
	IconDisconnected: {{0.34, 0.34, 0.66, 0.66}, {0.66, 0.34, 0.34, 0.66}},
}

// IconImage draws the icon of k at size×size pixels.
func IconImage(k Icon, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	disc, ok := iconColors[k]
	if !ok {
		disc = iconColors[IconDisconnected]
	}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	s := float64(size)
	r := s/2 - 0.5
	stroke := s * 0.07
	for y := range size {
		for x := range size {
			px, py := float64(x)+0.5, float64(y)+0.5
			// Coverage of the disc, antialiased over one pixel.
			d := math.Hypot(px-s/2, py-s/2)
			a := math.Max(0, math.Min(1, r-d+0.5))
			if a == 0 {
				continue
			}
			c := disc
			for _, g := range glyphs[k] {
				dist := segDist(px, py, g.x0*s, g.y0*s, g.x1*s, g.y1*s)
				if w := math.Max(0, math.Min(1, stroke-dist+0.5)); w > 0 {
					c = mix(c, white, w)
				}
			}
			c.A = uint8(a * 255)
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// segDist is the distance from (px,py) to the segment (x0,y0)-(x1,y1).
func segDist(px, py, x0, y0, x1, y1 float64) float64 {
	dx, dy := x1-x0, y1-y0
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/l))
	}
	return math.Hypot(px-(x0+t*dx), py-(y0+t*dy))
}

func mix(a, b color.NRGBA, w float64) color.NRGBA {
	f := func(x, y uint8) uint8 { return uint8(float64(x)*(1-w) + float64(y)*w + 0.5) }
	return color.NRGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), a.A}
}

// IconPNG is the icon of k as a 64×64 PNG (Linux, macOS).
func IconPNG(k Icon) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, IconImage(k, 64)); err != nil {
		panic(err) // encoding an in-memory NRGBA does not fail
	}
	return b.Bytes()
}

// IconICO is the icon of k as a 32×32 32-bit ICO (Windows; the BMP form,
// which every Windows loads).
func IconICO(k Icon) []byte {
	const size = 32
	img := IconImage(k, size)
	maskRow := ((size + 31) / 32) * 4 // 1-bit AND mask rows, 32-bit aligned
	bmpLen := 40 + size*size*4 + maskRow*size
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	// ICONDIR
	w(uint16(0))
	w(uint16(1)) // icon
	w(uint16(1)) // one image
	// ICONDIRENTRY
	b.Write([]byte{size, size, 0, 0})
	w(uint16(1))  // planes
	w(uint16(32)) // bits per pixel
	w(uint32(bmpLen))
	w(uint32(6 + 16)) // offset of the image
	// BITMAPINFOHEADER: the height counts the XOR and AND bitmaps.
	w(uint32(40))
	w(int32(size))
	w(int32(2 * size))
	w(uint16(1))
	w(uint16(32))
	w(uint32(0)) // BI_RGB
	w(uint32(size * size * 4))
	w(int32(0))
	w(int32(0))
	w(uint32(0))
	w(uint32(0))
	// Pixels, bottom-up, BGRA.
	for y := size - 1; y >= 0; y-- {
		for x := range size {
			c := img.NRGBAAt(x, y)
			b.Write([]byte{c.B, c.G, c.R, c.A})
		}
	}
	// AND mask: all zero, the alpha channel does the masking.
	b.Write(make([]byte, maskRow*size))
	return b.Bytes()
}
