package serve

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startServer runs a real waptserver on a loopback port and returns its base URL.
func startServer(tb testing.TB, dataDir string) string {
	tb.Helper()
	return startServerWith(tb, Options{DataDir: dataDir})
}

func startServerWith(tb testing.TB, o Options) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	o.Listen = ln.Addr().String()
	go func() { done <- Run(ctx, o, ln, tb.Logf, io.Discard) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("server stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			tb.Error("server did not stop")
		}
	})
	base := "http://" + ln.Addr().String()
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if i == 100 {
			tb.Fatalf("server not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRepositoryServing(t *testing.T) {
	data := t.TempDir()
	base := startServer(t, data)
	// The server created the tree; drop files into it as scan-packages would.
	pub := filepath.Join(data, "wapt")
	must(t, os.WriteFile(filepath.Join(pub, "Packages"), []byte("PK-index-bytes"), 0o644))
	must(t, os.WriteFile(filepath.Join(pub, ".Packages.cache.json"), []byte("{}"), 0o644))
	must(t, os.WriteFile(filepath.Join(data, "secret.txt"), []byte("secret"), 0o644))
	must(t, os.Symlink(filepath.Join(data, "secret.txt"), filepath.Join(pub, "link.wapt")))

	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		must(t, err)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp, string(b)
	}

	resp, body := get("/wapt/Packages", nil)
	if resp.StatusCode != 200 || body != "PK-index-bytes" {
		t.Fatalf("GET Packages = %d %q", resp.StatusCode, body)
	}
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("missing validators: ETag=%q Last-Modified=%q", etag, lm)
	}

	tests := []struct {
		name   string
		path   string
		hdr    map[string]string
		status int
		body   string
	}{
		{"unchanged by etag", "/wapt/Packages", map[string]string{"If-None-Match": etag}, 304, ""},
		{"unchanged by date", "/wapt/Packages", map[string]string{"If-Modified-Since": lm}, 304, ""},
		{"changed etag", "/wapt/Packages", map[string]string{"If-None-Match": `"other"`}, 200, "PK-index-bytes"},
		{"range", "/wapt/Packages", map[string]string{"Range": "bytes=3-7"}, 206, "index"},
		{"missing", "/wapt/nope.wapt", nil, 404, `"code":"not_found"`},
		{"hidden file", "/wapt/.Packages.cache.json", nil, 404, `"code":"not_found"`},
		{"encoded traversal", "/wapt/..%2fsecret.txt", nil, 404, `"code":"not_found"`},
		{"traversal", "/wapt/icons/../../secret.txt", nil, 400, `"code":"invalid"`},
		{"symlink out of the tree", "/wapt/link.wapt", nil, 400, `"code":"invalid"`},
		{"directory", "/wapt/icons", nil, 404, `"code":"not_found"`},
		{"host packages need auth", "/wapt-host/abc.wapt", nil, 401, `"code":"unauthorized"`},
		{"unknown route", "/nothing", nil, 404, `"code":"not_found"`},
		{"health", "/healthz", nil, 200, `"status":"ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body = %q, want it to contain %q", body, tt.body)
			}
		})
	}
}

func TestPublicHostPackages(t *testing.T) {
	data := t.TempDir()
	base := startServerWith(t, Options{DataDir: data, PublicHostPackages: true})
	must(t, os.WriteFile(filepath.Join(data, "wapt-host", "HOST-1.wapt"), []byte("host package"), 0o644))
	tests := []struct {
		path   string
		status int
	}{
		{"/wapt-host/HOST-1.wapt", 200},
		{"/wapt-host/HOST-2.wapt", 404},
		{"/wapt-host/sub/HOST-1.wapt", 404},
		{"/wapt-host/notes.txt", 404},
		{"/wapt-host/..%2fwapt%2fPackages", 404},
	}
	for _, tt := range tests {
		resp, err := http.Get(base + tt.path)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr bool
	}{
		{nil, Options{DataDir: "data", Listen: "127.0.0.1:8080"}, false},
		{[]string{"--data", "/tmp/x", "--listen", ":9"}, Options{DataDir: "/tmp/x", Listen: ":9"}, false},
		{[]string{"--bogus"}, Options{}, true},
		{[]string{"extra"}, Options{}, true},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.args, io.Discard)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseFlags(%v) err = %v, wantErr %v", tt.args, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("ParseFlags(%v) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
