package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/pkgfile"
)

// payload returns n pseudo-random bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(b)
	return b
}

// serveContent answers with http.ServeContent (Range support), except for
// the first cuts requests: they honour "Range: bytes=N-" too, but drop the
// connection after cutAt bytes of the body.
func serveContent(data []byte, cuts int, cutAt int) http.Handler {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if int(n.Add(1)) > cuts {
			http.ServeContent(w, req, "pkg.wapt", time.Time{}, bytes.NewReader(data))
			return
		}
		start := 0
		if rng, ok := strings.CutPrefix(req.Header.Get("Range"), "bytes="); ok {
			start, _ = strconv.Atoi(strings.TrimSuffix(rng, "-"))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)-start))
		if start > 0 {
			w.WriteHeader(http.StatusPartialContent)
		}
		w.Write(data[start : start+cutAt])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
}

// checkFiles checks dest's content (nil: absent) and whether dest.part
// exists.
func checkFiles(t *testing.T, dest string, want []byte, part bool) {
	t.Helper()
	got, err := os.ReadFile(dest)
	switch {
	case want == nil && !errors.Is(err, os.ErrNotExist):
		t.Errorf("%s exists (err %v)", dest, err)
	case want != nil && !bytes.Equal(got, want):
		t.Errorf("%s: %d bytes, err %v; want %d bytes", dest, len(got), err, len(want))
	}
	if _, err := os.Stat(dest + ".part"); (err == nil) != part {
		t.Errorf("part file exists: %v, want %v", err == nil, part)
	}
}

func TestDownload(t *testing.T) {
	data := payload(300 << 10)
	sum := sums(data)
	half := data[:len(data)/2]
	tests := []struct {
		name    string
		handler http.Handler
		part    []byte // dest.part before the download
		size    int64  // 0: len(data)
		want    []error
		ranges  []string // Range headers the server must see
	}{
		{name: "full", handler: serveContent(data, 0, 0), ranges: []string{""}},
		{name: "resume part file", handler: serveContent(data, 0, 0), part: half,
			ranges: []string{"bytes=" + strconv.Itoa(len(half)) + "-"}},
		{name: "resume after cut", handler: serveContent(data, 2, 100000),
			ranges: []string{"", "bytes=100000-", "bytes=200000-"}},
		{name: "server ignores range", part: half,
			handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(data) }),
			ranges:  []string{"bytes=" + strconv.Itoa(len(half)) + "-"}},
		{name: "full-length bad part file", handler: serveContent(data, 0, 0), part: bytes.Repeat([]byte{0}, len(data)),
			ranges: []string{""}},
		{name: "part longer than size", handler: serveContent(data, 0, 0), part: append(bytes.Clone(data), 'x'),
			ranges: []string{""}},
		{name: "retry 503", ranges: []string{"", "", ""}, handler: func() http.Handler {
			var n atomic.Int32
			ok := serveContent(data, 0, 0)
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if n.Add(1) <= 2 {
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return
				}
				ok.ServeHTTP(w, req)
			})
		}()},
		{name: "more than size with length", handler: serveContent(append(bytes.Clone(data), "extra"...), 0, 0),
			want: errs(engine.ErrSizeExceeded), ranges: []string{""}},
		{name: "more than size chunked", want: errs(engine.ErrSizeExceeded), ranges: []string{""},
			handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for range 1000 { // endless data, as far as the client cares
					if _, err := w.Write(data[:64<<10]); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			})},
		{name: "resumed more than size", handler: serveContent(append(bytes.Clone(data), "extra"...), 0, 0), part: half,
			want: errs(engine.ErrSizeExceeded), ranges: []string{"bytes=" + strconv.Itoa(len(half)) + "-"}},
		{name: "wrong hash", handler: serveContent(payload(len(data) + 1)[1:], 0, 0),
			want: errs(engine.ErrHashMismatch), ranges: []string{""}},
		{name: "shorter than size", handler: serveContent(data[:1000], 0, 0),
			want: errs(engine.ErrHashMismatch), ranges: []string{""}},
		{name: "not found", handler: http.NotFoundHandler(), want: errs(engine.ErrNotFound), ranges: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := newServer(t, tt.handler)
			dest := filepath.Join(t.TempDir(), "pkg.wapt")
			if tt.part != nil {
				if err := os.WriteFile(dest+".part", tt.part, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			var last [2]int64
			progress := func(done, total int64) {
				mu.Lock()
				defer mu.Unlock()
				if done < 0 || done > total || total != int64(len(data)) {
					t.Errorf("progress(%d, %d)", done, total)
				}
				last = [2]int64{done, total}
			}
			err := newFetcher(t).Download(context.Background(), srv.URL+"/pkg.wapt", dest, int64(len(data)), sum, progress)
			wantErr(t, err, tt.want)
			var ranges []string
			for _, r := range rec.take() {
				ranges = append(ranges, r.Range)
			}
			if !equalStrings(ranges, tt.ranges) {
				t.Errorf("ranges %q, want %q", ranges, tt.ranges)
			}
			if tt.want != nil {
				checkFiles(t, dest, nil, false)
				return
			}
			checkFiles(t, dest, data, false)
			if last != [2]int64{int64(len(data)), int64(len(data))} {
				t.Errorf("last progress %v", last)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDownloadAlreadyThere(t *testing.T) {
	data := payload(1000)
	srv, rec := newServer(t, serveContent(data, 0, 0))
	dest := filepath.Join(t.TempDir(), "pkg.wapt")
	if err := os.WriteFile(dest, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(t)
	wantErr(t, f.Download(context.Background(), srv.URL+"/x", dest, int64(len(data)), sums(data), nil), nil)
	if n := len(rec.take()); n != 0 {
		t.Fatalf("%d requests for a file already downloaded", n)
	}
	// A stale dest is replaced.
	if err := os.WriteFile(dest, payload(999), 0o644); err != nil {
		t.Fatal(err)
	}
	wantErr(t, f.Download(context.Background(), srv.URL+"/x", dest, int64(len(data)), sums(data), nil), nil)
	checkFiles(t, dest, data, false)
}

// TestDownloadCancel cancels a download half-way: it returns promptly and
// keeps the part file, which the next call resumes.
func TestDownloadCancel(t *testing.T) {
	data := payload(1 << 20)
	release := make(chan struct{})
	var calls atomic.Int32
	srv, rec := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if calls.Add(1) > 1 {
			http.ServeContent(w, req, "pkg.wapt", time.Time{}, bytes.NewReader(data))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		select { // hang until the client goes away
		case <-req.Context().Done():
		case <-release:
		}
	}))
	defer close(release)
	dest := filepath.Join(t.TempDir(), "pkg.wapt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFetcher(t)
	cancelled := make(chan time.Time, 1)
	go func() { // cancel once half the data is on disk
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if fi, err := os.Stat(dest + ".part"); err == nil && fi.Size() == int64(len(data)/2) {
				break
			}
		}
		cancelled <- time.Now()
		cancel()
	}()
	err := f.Download(ctx, srv.URL+"/pkg.wapt", dest, int64(len(data)), sums(data), nil)
	wantErr(t, err, errs(context.Canceled))
	if d := time.Since(<-cancelled); d > 2*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	fi, err := os.Stat(dest + ".part")
	if err != nil || fi.Size() != int64(len(data)/2) {
		t.Fatalf("part file: %v, %v", fi, err)
	}
	checkFiles(t, dest, nil, true)

	err = f.Download(context.Background(), srv.URL+"/pkg.wapt", dest, int64(len(data)), sums(data), nil)
	wantErr(t, err, nil)
	checkFiles(t, dest, data, false)
	if reqs := rec.take(); len(reqs) != 2 || reqs[1].Range != "bytes=524288-" {
		t.Errorf("requests %+v", reqs)
	}
}

// TestDownloadStall fails a server that stops sending without closing.
func TestDownloadStall(t *testing.T) {
	data := payload(10000)
	release := make(chan struct{})
	srv, rec := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:100])
		w.(http.Flusher).Flush()
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	defer close(release)
	f := newFetcher(t)
	f.timeout = 50 * time.Millisecond
	dest := filepath.Join(t.TempDir(), "pkg.wapt")
	err := f.Download(context.Background(), srv.URL+"/pkg.wapt", dest, int64(len(data)), sums(data), nil)
	wantErr(t, err, errs(errStalled), "giving up")
	checkFiles(t, dest, nil, true)
	if n := len(rec.take()); n != maxStalls+1 {
		// The first attempt made progress (100 bytes), the rest did not.
		t.Errorf("%d requests", n)
	}
}

func TestFetchHostPackage(t *testing.T) {
	data := payload(5000)
	srv, rec := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/wapt-host/host1.example.org.wapt":
			w.Write(data)
		case "/wapt-host/denied.wapt":
			http.Error(w, "client certificate required", http.StatusUnauthorized)
		default:
			http.NotFound(w, req)
		}
	}))
	f := newFetcher(t)
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", HostURL: srv.URL + "/wapt-host"}
	dir := t.TempDir()
	dest := filepath.Join(dir, "host.wapt")
	ctx := context.Background()

	wantErr(t, f.FetchHostPackage(ctx, repo, "host1.example.org", dest, 0), nil)
	checkFiles(t, dest, data, false)
	if got := paths(rec.take()); len(got) != 1 || got[0] != "/wapt-host/host1.example.org.wapt" {
		t.Errorf("requests %v", got)
	}

	other := filepath.Join(dir, "other.wapt")
	wantErr(t, f.FetchHostPackage(ctx, repo, "unknown", other, 0), errs(engine.ErrNotFound))
	wantErr(t, f.FetchHostPackage(ctx, repo, "denied", other, 0), errs(errAny), "access denied", "HTTP 401", "client certificate required")
	wantErr(t, f.FetchHostPackage(ctx, repo, "host1.example.org", other, 4999), errs(engine.ErrSizeExceeded))
	wantErr(t, f.FetchHostPackage(ctx, repo, "../x", other, 0), errs(errAny), "invalid name")
	wantErr(t, f.FetchHostPackage(ctx, engine.Repo{URL: repo.URL}, "host1", other, 0), errs(engine.ErrNotFound))
	checkFiles(t, other, nil, false)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
}

// TestDownloadRepository downloads a real package listed in a real index.
func TestDownloadRepository(t *testing.T) {
	r := newTestRepo(t, "firefox")
	r.write(1, nil)
	srv, _ := serveRepo(t, r.dir)
	f := newFetcher(t)
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: testPKI(t).trust}
	up, err := f.FetchIndex(context.Background(), repo, engine.RepoState{}, testNow)
	wantErr(t, err, nil)
	e := up.Index.Entries[0]
	size, _ := strconv.ParseInt(e.Get("size"), 10, 64)
	dest := filepath.Join(t.TempDir(), e.Get("filename"))
	err = f.Download(context.Background(), repo.URL+"/"+e.Get("filename"), dest, size, e.Get("sha256"), nil)
	wantErr(t, err, nil)
	p, err := pkgfile.Open(dest, pkgfile.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Verify(context.Background(), repo.Trust, testNow); err != nil {
		t.Fatal(err)
	}
}
