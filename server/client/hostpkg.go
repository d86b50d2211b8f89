package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/wire"
)

// ErrTooLong is returned by the downloads when the file is larger than the
// bound the caller gave.
var ErrTooLong = errors.New("download larger than allowed")

// HostPackage downloads the host package of uuid (GET
// /wapt-host/<uuid>.wapt, which the server serves to that host or to an
// admin with the view right) into w, reading at most max bytes; it returns
// the number of bytes written. No host package gives ErrNotFound.
func (c *Client) HostPackage(ctx context.Context, uuid string, w io.Writer, max int64) (int64, error) {
	if !wire.ValidUUID(uuid) {
		return 0, fmt.Errorf("%w: host uuid %.80q", ErrInvalid, uuid)
	}
	ctl := control.New()
	ctl.Set("package", uuid)
	ctl.Set("section", "host")
	return c.download(ctx, "/wapt-host/"+url.PathEscape(ctl.Filename()), w, max)
}

// DownloadPackage downloads the repository file wapt/<filename> (GET
// /wapt/<filename>) into w, reading at most max bytes; it returns the
// number of bytes written. The caller verifies what it got.
func (c *Client) DownloadPackage(ctx context.Context, filename string, w io.Writer, max int64) (int64, error) {
	if _, err := packagePath(filename); err != nil {
		return 0, err
	}
	return c.download(ctx, "/wapt/"+url.PathEscape(filename), w, max)
}

// download GETs path (signed like any request) and copies the body into w.
func (c *Client) download(ctx context.Context, path string, w io.Writer, max int64) (int64, error) {
	r := c.rc.R().SetContext(context.WithValue(ctx, bodyKey, &body{sum: sha256.Sum256(nil)})).
		SetDoNotParseResponse(true).
		SetHeader("Accept", "*/*")
	resp, err := r.Execute(http.MethodGet, path)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	raw := resp.RawBody()
	if raw == nil {
		return 0, fmt.Errorf("GET %s: no answer body", path)
	}
	defer raw.Close()
	if s := resp.StatusCode(); s < 200 || s > 299 {
		b, _ := io.ReadAll(io.LimitReader(raw, 64<<10))
		return 0, fmt.Errorf("GET %s: %w", path, apiError(s, b, resp.Header().Get("Location")))
	}
	if max <= 0 {
		max = MaxResponseSize
	}
	n, err := io.Copy(w, io.LimitReader(raw, max+1))
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", path, err)
	}
	if n > max {
		return n, fmt.Errorf("GET %s: %w: more than %d bytes", path, ErrTooLong, max)
	}
	return n, nil
}
