package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDownloads(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		switch r.URL.Path {
		case "/wapt-host/host-1.wapt", "/wapt/a_1.wapt":
			w.Write([]byte("0123456789"))
		case "/api/v1/hosts":
			w.Write([]byte(`{"hosts":[],"total":3}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"no such file","code":"not_found"}`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		get  func(w *bytes.Buffer) (int64, error)
		want error
	}{
		{"host package", func(w *bytes.Buffer) (int64, error) { return c.HostPackage(ctx, "host-1", w, 10) }, nil},
		{"package", func(w *bytes.Buffer) (int64, error) { return c.DownloadPackage(ctx, "a_1.wapt", w, 0) }, nil},
		{"too long", func(w *bytes.Buffer) (int64, error) { return c.DownloadPackage(ctx, "a_1.wapt", w, 9) }, ErrTooLong},
		{"missing", func(w *bytes.Buffer) (int64, error) { return c.HostPackage(ctx, "host-2", w, 10) }, ErrNotFound},
		{"bad uuid", func(w *bytes.Buffer) (int64, error) { return c.HostPackage(ctx, "../x", w, 10) }, ErrInvalid},
		{"bad file name", func(w *bytes.Buffer) (int64, error) { return c.DownloadPackage(ctx, "a/b.wapt", w, 10) }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := tt.get(&buf)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || n != 10 || buf.String() != "0123456789" {
				t.Fatalf("got %d %q, %v", n, buf.String(), err)
			}
		})
	}
	before := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err := c.ListHosts(ctx, HostQuery{Status: "OK", Limit: 1, SeenBefore: before})
	if err != nil || l.Total != 3 {
		t.Fatalf("ListHosts seen before = %+v, %v", l, err)
	}
	if want := "limit=1&seen_before=2030-01-02T03%3A04%3A05Z&status=OK"; gotQuery != want {
		t.Errorf("query %q, want %q", gotQuery, want)
	}
}
