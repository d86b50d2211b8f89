package pkgfile

import (
	"archive/zip"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/wapt-go/wapt/shared/signing"
)

// sampleSize is the number of bytes compressed to choose between store
// and deflate.
const sampleSize = 64 << 10

// packWriter writes package members to a ZIP stream with archive/zip and
// records the SHA-256 of each in the manifest.
type packWriter struct {
	zw       *zip.Writer
	manifest []signing.ManifestEntry
	bufs     [][]byte      // chunkCount buffers of chunkSize, allocated on first use
	small    []byte        // whole content of files up to chunkSize
	sampler  *flate.Writer // level 1 compressor for the store/deflate choice
	count    countWriter
}

func newPackWriter(w io.Writer) *packWriter {
	return &packWriter{zw: zip.NewWriter(w)}
}

func (pw *packWriter) buffers() [][]byte {
	if pw.bufs == nil {
		pw.bufs = newBuffers()
	}
	return pw.bufs
}

// countWriter counts and discards.
type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

// method chooses deflate when level 1 saves at least 10% on the first
// 64 KiB of data, else store.
func (pw *packWriter) method(data []byte) uint16 {
	data = data[:min(len(data), sampleSize)]
	if len(data) == 0 {
		return methodStore
	}
	pw.count.n = 0
	if pw.sampler == nil {
		pw.sampler, _ = flate.NewWriter(&pw.count, flate.BestSpeed) // level 1 is valid: no error
	} else {
		pw.sampler.Reset(&pw.count)
	}
	_, _ = pw.sampler.Write(data) // countWriter never fails
	_ = pw.sampler.Close()
	if pw.count.n*10 <= len(data)*9 {
		return methodDeflate
	}
	return methodStore
}

// dosDateTime converts t (in UTC) to MS-DOS date and time fields, clamped
// to the representable years 1980-2107.
func dosDateTime(t time.Time) (date, tm uint16) {
	t = t.UTC()
	switch {
	case t.Year() < 1980:
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	case t.Year() > 2107:
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	tm = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return date, tm
}

// header returns the ZIP header of a member: Unix mode 0644 (0755 when
// exec, 0755 directory for names ending in "/"), legacy MS-DOS time only.
func header(name string, method uint16, mod time.Time, exec bool) *zip.FileHeader {
	fh := &zip.FileHeader{Name: name, Method: method}
	switch {
	case name != "" && name[len(name)-1] == '/':
		fh.SetMode(fs.ModeDir | 0o755)
	case exec:
		fh.SetMode(0o755)
	default:
		fh.SetMode(0o644)
	}
	fh.ModifiedDate, fh.ModifiedTime = dosDateTime(mod)
	return fh
}

func (pw *packWriter) record(name string, sum []byte) {
	pw.manifest = append(pw.manifest, signing.ManifestEntry{Path: name, SHA256: hex.EncodeToString(sum)})
}

// addBytes writes a member from memory; inManifest tells whether its hash
// goes to the manifest.
func (pw *packWriter) addBytes(name string, data []byte, mod time.Time, exec, inManifest bool) error {
	w, err := pw.zw.CreateHeader(header(name, pw.method(data), mod, exec))
	if err != nil {
		return fmt.Errorf("zip %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("zip %s: %w", name, err)
	}
	if inManifest {
		sum := sha256.Sum256(data)
		pw.record(name, sum[:])
	}
	return nil
}

// errChanged reports a source file whose size changed during the build.
var errChanged = errors.New("file changed during the build")

// addFile writes the member name from the file at path, which had size
// bytes when listed. Files larger than one buffer go through a pipeline:
// one goroutine reads, one hashes, and this one compresses, checksums and
// writes.
func (pw *packWriter) addFile(ctx context.Context, name, path string, size int64, mod time.Time, exec bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if size <= chunkSize {
		if int64(cap(pw.small)) < size+1 {
			pw.small = make([]byte, size+1, max(size+1, 64<<10))
		}
		b := pw.small[:size+1]
		n, err := io.ReadFull(f, b)
		switch {
		case err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
			return err
		case int64(n) != size:
			return fmt.Errorf("%s: %w", path, errChanged)
		}
		return pw.addBytes(name, b[:size], mod, exec, true)
	}
	bufs := pw.buffers()

	var (
		w     io.Writer
		h     = sha256.New()
		total int64
	)
	hash := func(b []byte) error {
		h.Write(b)
		total += int64(len(b))
		return nil
	}
	write := func(b []byte) error {
		if w == nil {
			zw, err := pw.zw.CreateHeader(header(name, pw.method(b), mod, exec))
			if err != nil {
				return fmt.Errorf("zip %s: %w", name, err)
			}
			w = zw
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("zip %s: %w", name, err)
		}
		return nil
	}
	if err := pipeline(ctx, f, bufs, hash, write); err != nil {
		return err // read errors are *fs.PathError naming the file
	}
	if w == nil || total != size {
		return fmt.Errorf("%s: %w", path, errChanged)
	}
	pw.record(name, h.Sum(nil))
	return nil
}

// copyRaw copies member e of r without recompressing it, checking its
// size, deflate stream and CRC while hashing its content for the manifest.
func (pw *packWriter) copyRaw(ctx context.Context, r io.ReaderAt, e *entry) error {
	fh := header(e.name, e.method, time.Time{}, e.exec)
	fh.ModifiedDate, fh.ModifiedTime = e.mdate, e.mtime
	fh.CRC32, fh.CompressedSize64, fh.UncompressedSize64 = e.crc, e.csize, e.usize
	fh.CreatorVersion = fh.CreatorVersion&0xff00 | 20
	fh.ReaderVersion = 20
	if e.usize >= max32 || e.csize >= max32 {
		fh.ReaderVersion = 45
	}
	if !e.dir {
		fh.Flags |= flagDescriptor
	}
	for i := 0; i < len(e.name); i++ {
		if e.name[i] >= 0x80 {
			fh.Flags |= flagUTF8
			break
		}
	}
	w, err := pw.zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("zip %s: %w", e.name, err)
	}
	h, crc := sha256.New(), crc32.NewIEEE()
	src := newMemberReader(e, io.TeeReader(io.NewSectionReader(r, e.dataOff, int64(e.csize)), w))
	if e.usize <= chunkSize {
		_, err = io.Copy(io.MultiWriter(h, crc), src)
	} else {
		err = pipeline(ctx, src, pw.buffers(), func(b []byte) error {
			h.Write(b)
			crc.Write(b)
			return nil
		})
	}
	if err != nil {
		return err
	}
	if crc.Sum32() != e.crc {
		return corruptf("member %q: CRC-32 %08x, expected %08x", e.name, crc.Sum32(), e.crc)
	}
	pw.record(e.name, h.Sum(nil))
	return nil
}
