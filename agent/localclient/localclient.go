// Package localclient is the Go client of the agent's local API (package
// agent/localapi): the tray, waptexit, self-service and wapt-get reach the
// agent service only through it. It talks HTTP/1.1 over the agent's unix
// socket, or its named pipe on Windows; the agent identifies the caller by
// its OS identity, so the client sends no credentials.
package localclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// Limits of the client.
const (
	// MaxResponse bounds the body of an answer.
	MaxResponse = 8 << 20
	// runningTimeout bounds the dial of Running.
	runningTimeout = time.Second
	// eventsSlack is added to the wait of Events to bound the whole
	// request when ctx has no deadline.
	eventsSlack = 30 * time.Second
)

// baseURL is the URL prefix of every request; the host is ignored, the
// transport always dials the socket.
const baseURL = "http://waptagent"

// Client talks to the agent service. Its methods are safe for concurrent
// use; connections are kept alive between calls.
type Client struct {
	path string
	hc   *http.Client
}

// New returns a client of the agent listening at path: a unix socket, or a
// named pipe on Windows. An empty path means DefaultPath().
func New(path string) *Client {
	if path == "" {
		path = DefaultPath()
	}
	c := &Client{path: path}
	c.hc = &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return c.dial(ctx)
			},
			MaxIdleConns:       4,
			IdleConnTimeout:    30 * time.Second,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// Path is the socket or pipe the client dials.
func (c *Client) Path() string { return c.path }

// dial connects to the agent; a failure that is not ctx's wraps
// ErrNotRunning.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	conn, err := dial(ctx, c.path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: dial %s: %w", ErrNotRunning, c.path, err)
	}
	return conn, nil
}

// Running reports whether an agent service listens on the socket. It only
// dials, for at most one second.
func (c *Client) Running(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, runningTimeout)
	defer cancel()
	conn, err := dial(ctx, c.path)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// Status returns the host's state, its pending packages and the running task.
func (c *Client) Status(ctx context.Context) (wire.LocalStatus, error) {
	var st wire.LocalStatus
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// StartTask asks the agent to run a task; it answers once the task is
// queued, with its id to follow on Events.
func (c *Client) StartTask(ctx context.Context, r wire.LocalTaskRequest) (wire.LocalTask, error) {
	var t wire.LocalTask
	err := c.do(ctx, http.MethodPost, "/v1/tasks", r, &t)
	return t, err
}

// Tasks returns the recent tasks.
func (c *Client) Tasks(ctx context.Context) ([]wire.LocalTask, error) {
	var ts []wire.LocalTask
	err := c.do(ctx, http.MethodGet, "/v1/tasks", nil, &ts)
	return ts, err
}

// Cancel cancels a queued or running task.
func (c *Client) Cancel(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/v1/tasks/"+strconv.FormatInt(id, 10), nil, nil)
}

// Events returns the task events with Seq > after. When there is none yet
// the agent waits for one up to wait (it caps the wait at 60 s), then
// answers an empty list. When ctx has no deadline the request is bounded
// to wait plus 30 s.
func (c *Client) Events(ctx context.Context, after int64, wait time.Duration) ([]wire.LocalEvent, error) {
	if wait < 0 {
		wait = 0
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait+eventsSlack)
		defer cancel()
	}
	q := url.Values{}
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("wait", wait.String())
	var evs []wire.LocalEvent
	err := c.do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, &evs)
	return evs, err
}

// SelfService returns the packages of the self-service catalogue, marked
// with whether the caller may install them.
func (c *Client) SelfService(ctx context.Context) ([]wire.SelfServicePackage, error) {
	var ps []wire.SelfServicePackage
	err := c.do(ctx, http.MethodGet, "/v1/selfservice", nil, &ps)
	return ps, err
}

// do sends one request with in as its JSON body (when non-nil) and decodes
// the answer into out (when non-nil). Non-2xx answers are *Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is always the same fake one
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(b) > MaxResponse {
		return fmt.Errorf("%s %s: answer larger than %d bytes", method, path, MaxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: %w", method, path, apiError(resp.StatusCode, b))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
