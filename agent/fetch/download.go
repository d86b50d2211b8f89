package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/reqsign"
)

// FetchHostPackage downloads <repo.HostURL>/<name>.wapt to dest through a
// temp file in dest's directory, synced and renamed into place. A missing
// package (404, 410, or no HostURL) gives an error wrapping
// engine.ErrNotFound; more than maxSize bytes (<= 0: the pkgfile default
// file limit) one wrapping engine.ErrSizeExceeded.
func (f *Fetcher) FetchHostPackage(ctx context.Context, repo engine.Repo, name, dest string, maxSize int64) error {
	if repo.HostURL == "" {
		return fmt.Errorf("host package %s: repository %q serves no host packages: %w", name, repo.Name, engine.ErrNotFound)
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
		return fmt.Errorf("host package %q: invalid name", name)
	}
	if maxSize <= 0 {
		maxSize = pkgfile.DefaultLimits().MaxFileSize
	}
	u := joinURL(repo.HostURL, name+".wapt")
	var hdr map[string]string
	if f.hostSigner != nil && f.hostCert != nil {
		// Signed as this host: the server serves a host package to its host only.
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("host package %s: %w", name, err)
		}
		if err := reqsign.Sign(req, nil, f.hostSigner, f.hostCert, time.Now(), nil); err != nil {
			return fmt.Errorf("host package %s: %w", name, err)
		}
		hdr = map[string]string{}
		for k := range req.Header {
			hdr[k] = req.Header.Get(k)
		}
	}
	r, err := f.get(ctx, u, hdr)
	if err != nil {
		return fmt.Errorf("host package %s: %w", name, err)
	}
	defer r.Close()
	if r.status != http.StatusOK {
		return fmt.Errorf("host package %s: %w", name, statusError(u, r))
	}
	if r.contentLength > maxSize {
		return fmt.Errorf("host package %s: %w: %d bytes, limit %d", name, engine.ErrSizeExceeded, r.contentLength, maxSize)
	}
	err = atomicfile.Write(dest, 0o644, func(w io.Writer) error {
		n, err := io.Copy(w, io.LimitReader(r.body, maxSize+1))
		switch {
		case err != nil:
			return fmt.Errorf("GET %s: %w", redact(u), err)
		case n > maxSize:
			return fmt.Errorf("%w: more than %d bytes", engine.ErrSizeExceeded, maxSize)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("host package %s: %w", name, err)
	}
	return nil
}

// Download fetches url to dest, checking that it is exactly size bytes
// with the given sha256 (hex). When dest already matches it returns at
// once, without a request. Bytes go to dest+".part", which a later call
// resumes with a Range request (a 200 answer restarts it from zero); the
// part file is synced and renamed to dest only when its hash matches.
//
// More than size bytes gives an error wrapping engine.ErrSizeExceeded, a
// wrong hash (or a complete response shorter than size) one wrapping
// engine.ErrHashMismatch; both delete the part file. Network errors, stalls
// and 5xx/408/429 answers are retried with a short backoff, resuming from
// the part file, up to maxStalls times in a row without progress. When ctx
// is cancelled Download returns promptly and keeps the part file.
//
// progress, when not nil, is called with the bytes on disk and size as
// they arrive, at most every 100 ms, and once at the end.
func (f *Fetcher) Download(ctx context.Context, url, dest string, size int64, sha256hex string, progress func(done, total int64)) error {
	want, err := hex.DecodeString(sha256hex)
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("download %s: invalid sha256 %q", redact(url), sha256hex)
	}
	if size < 0 {
		return fmt.Errorf("download %s: invalid size %d", redact(url), size)
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if fileMatches(dest, size, want) {
		os.Remove(dest + ".part") // left from an older download, if any
		progress(size, size)
		return nil
	}
	d := &download{f: f, url: url, dest: dest, part: dest + ".part", size: size, want: want, progress: progress}
	defer d.closeFile()
	if err := d.open(); err != nil {
		return d.errorf("%w", err)
	}

	stalls := 0 // failed attempts in a row without a new byte
	for attempt := 1; ; attempt++ {
		before := d.done
		retry, err := d.attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return d.errorf("%w (%d of %d bytes kept in %s)", context.Cause(ctx), d.done, d.size, filepath.Base(d.part))
		}
		if !retry {
			return err
		}
		if d.done > before {
			stalls = 0
		} else {
			stalls++
		}
		if stalls >= maxStalls || attempt >= maxAttempts {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		wait := min(f.retryWait<<max(stalls-1, 0), maxRetryWait)
		f.logf("fetch: %v; retrying in %s from byte %d", err, wait, d.done)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return d.errorf("%w (%d of %d bytes kept in %s)", context.Cause(ctx), d.done, d.size, filepath.Base(d.part))
		case <-t.C:
		}
	}
}

// download is the state of one Download. Between attempts the part file
// holds done bytes, its offset is done and h has hashed them.
type download struct {
	f          *Fetcher
	url        string
	dest, part string
	size       int64
	want       []byte
	progress   func(done, total int64)

	file     *os.File
	h        hash.Hash
	done     int64
	reported time.Time
}

func (d *download) errorf(format string, args ...any) error {
	return fmt.Errorf("download %s: "+format, append([]any{redact(d.url)}, args...)...)
}

// open opens (or creates) the part file and hashes what it already holds;
// a part file longer than size is started over.
func (d *download) open() error {
	file, err := os.OpenFile(d.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	d.file, d.h = file, sha256.New()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > d.size {
		return d.restart()
	}
	n, err := io.Copy(d.h, io.LimitReader(file, fi.Size()))
	if err != nil {
		return err
	}
	if n != fi.Size() {
		return d.restart()
	}
	d.done = n
	if n == d.size && !bytes.Equal(d.h.Sum(nil), d.want) {
		// Complete but wrong: nothing tells which part is bad.
		return d.restart()
	}
	if n > 0 {
		d.progress(d.done, d.size)
	}
	return nil
}

// restart empties the part file.
func (d *download) restart() error {
	if err := d.file.Truncate(0); err != nil {
		return err
	}
	if _, err := d.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	d.h.Reset()
	d.done = 0
	return nil
}

// closeFile closes the part file, removing it when empty.
func (d *download) closeFile() {
	if d.file != nil {
		d.file.Close()
		d.file = nil
		if d.done == 0 {
			os.Remove(d.part)
		}
	}
}

// discard closes and deletes the part file, then returns err.
func (d *download) discard(err error) error {
	d.closeFile()
	os.Remove(d.part)
	return err
}

// attempt makes one request and writes what arrives. retry tells whether
// a failure is worth another attempt.
func (d *download) attempt(ctx context.Context) (retry bool, err error) {
	if d.done == d.size {
		return false, d.finish("")
	}
	var hdr map[string]string
	if d.done > 0 {
		hdr = map[string]string{"Range": "bytes=" + strconv.FormatInt(d.done, 10) + "-"}
	}
	r, err := d.f.get(ctx, d.url, hdr)
	if err != nil {
		return true, err
	}
	defer r.Close()
	switch r.status {
	case http.StatusOK:
		if d.done > 0 {
			d.f.logf("fetch: %s ignored the Range request; restarting from zero", redact(d.url))
			if err := d.restart(); err != nil {
				return false, d.errorf("%w", err)
			}
		}
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(r.header.Get("Content-Range"))
		switch {
		case !ok || start != d.done:
			err := d.errorf("asked for bytes %d-, got Content-Range %q", d.done, r.header.Get("Content-Range"))
			if rerr := d.restart(); rerr != nil {
				return false, d.errorf("%w", rerr)
			}
			return true, err
		case total > d.size:
			return false, d.discard(d.errorf("%w: server has %d bytes, signed size is %d", engine.ErrSizeExceeded, total, d.size))
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The server's file is shorter than our part: start over.
		if err := d.restart(); err != nil {
			return false, d.errorf("%w", err)
		}
		return true, d.errorf("server refused the range from byte %d", d.done)
	default:
		se := statusError(d.url, r)
		return se.transient(), se
	}
	if r.contentLength >= 0 && d.done+r.contentLength > d.size {
		return false, d.discard(d.errorf("%w: server sends %d bytes from byte %d, signed size is %d", engine.ErrSizeExceeded, r.contentLength, d.done, d.size))
	}
	buf := make([]byte, 64<<10)
	for {
		n, rerr := r.body.Read(buf)
		if n > 0 {
			if d.done+int64(n) > d.size {
				return false, d.discard(d.errorf("%w: more than %d bytes", engine.ErrSizeExceeded, d.size))
			}
			if _, err := d.file.Write(buf[:n]); err != nil {
				return false, d.errorf("%w", err)
			}
			d.h.Write(buf[:n])
			d.done += int64(n)
			if now := time.Now(); now.Sub(d.reported) >= progressInterval {
				d.reported = now
				d.progress(d.done, d.size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return true, d.errorf("at byte %d: %w", d.done, rerr)
		}
	}
	if d.done < d.size && r.contentLength < 0 {
		// A close-delimited body may have been cut: resume.
		return true, d.errorf("connection closed at byte %d of %d", d.done, d.size)
	}
	short := ""
	if d.done < d.size {
		short = fmt.Sprintf(": server sent %d bytes, signed size is %d", d.done, d.size)
	}
	return false, d.finish(short)
}

// finish checks the hash (and size), then syncs and renames the part file
// to dest; on a mismatch it deletes the part file.
func (d *download) finish(short string) error {
	if short != "" {
		return d.discard(d.errorf("%w%s", engine.ErrHashMismatch, short))
	}
	if got := d.h.Sum(nil); !bytes.Equal(got, d.want) {
		return d.discard(d.errorf("%w: sha256 %x, signed %x", engine.ErrHashMismatch, got, d.want))
	}
	err := d.file.Sync()
	if cerr := d.file.Close(); err == nil {
		err = cerr
	}
	d.file = nil
	if err == nil {
		err = os.Rename(d.part, d.dest)
	}
	if err != nil {
		return d.errorf("%w", err)
	}
	atomicfile.SyncDir(filepath.Dir(d.dest))
	d.progress(d.size, d.size)
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*",
// returned as -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, last, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t <= end {
			return 0, 0, false
		}
		total = t
	}
	return start, total, true
}

// fileMatches reports whether path is a regular file of size bytes whose
// sha256 is want.
func fileMatches(path string, size int64, want []byte) bool {
	file, err := os.Open(path)
	if err != nil {
		return false
	}
	defer file.Close()
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	h := sha256.New()
	if n, err := io.Copy(h, io.LimitReader(file, size+1)); err != nil || n != size {
		return false
	}
	return bytes.Equal(h.Sum(nil), want)
}
