// Package uplink keeps the agent's one websocket to the server (DESIGN §5):
// GET {server}/api/v1/hosts/{uuid}/uplink, the upgrade request signed with
// the host key (shared/reqsign). It hands the admin-signed actions the
// server relays to a Handler, which must verify them (the uplink trusts
// nothing it receives), sends a ping every PingInterval, streams action
// results back, and reconnects with jittered exponential backoff.
package uplink

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/wire"
)

// Defaults and timeouts.
const (
	defaultMinBackoff = time.Second
	defaultMaxBackoff = 5 * time.Minute

	// stableAfter is how long a connection must stay up for the backoff to
	// start over.
	stableAfter = time.Minute
	// dialTimeout bounds one connection attempt, handshake included.
	dialTimeout = 30 * time.Second
	// writeTimeout bounds the write of one frame.
	writeTimeout = 10 * time.Second
	// closeGrace is how long Run waits for the server to answer the close
	// frame when ctx ends, before dropping the connection.
	closeGrace = 2 * time.Second
)

// Handler receives what the server sends. Calls come from the uplink's read
// loop: return quickly (start work in a goroutine). ctx is Run's context.
type Handler interface {
	// HandleAction gets the Action bytes of a wire.UplinkAction frame,
	// verbatim: an admin-signed action not verified yet.
	HandleAction(ctx context.Context, signed json.RawMessage)
	// StatusRequested is called for a wire.UplinkStatus frame.
	StatusRequested(ctx context.Context)
}

// Config holds what a Client needs.
type Config struct {
	// ServerURL is the server root, https://server[:port][/prefix]
	// (http:// for tests and servers run with --tls=false).
	ServerURL string
	// UUID is this host's uuid, the CN of Cert.
	UUID string
	// Key and Cert are the host identity that signs the upgrade request.
	Key  crypto.Signer
	Cert *x509.Certificate
	// HTTPClient trusts the server CA; nil: http.DefaultClient. A copy is
	// used, which does not follow redirects unless it has its own
	// CheckRedirect (a signed request is bound to its URL).
	HTTPClient *http.Client
	// Handler receives actions and status requests (required).
	Handler Handler
	// Logf logs connection events and dropped frames; nil: discard.
	Logf func(format string, args ...any)
	// PingInterval is the heartbeat period; zero: wire.UplinkPingInterval.
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the pause between connection
	// attempts; zero: 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock (signing date, connection uptime); nil: time.Now.
	Now func() time.Time
}

// Client keeps the uplink. Its methods are safe for concurrent use; Run
// runs once at a time.
type Client struct {
	url     string // the uplink endpoint, http(s)://
	key     crypto.Signer
	cert    *x509.Certificate
	hc      *http.Client
	handler Handler
	logf    func(format string, args ...any)
	ping    time.Duration
	minB    time.Duration
	maxB    time.Duration
	now     func() time.Time
	randN   func(n int64) int64

	results *results
	kick    chan struct{} // cap 1: results to send

	running   atomic.Bool
	connected atomic.Bool
	changesMu sync.Mutex
	changes   chan bool // cap 1: latest connection state
}

// New checks cfg and returns a client; nothing is dialled before Run.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.ServerURL)
	if err != nil {
		return nil, fmt.Errorf("uplink: server URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("uplink: server URL %q: want http(s)://host[:port][/prefix]", cfg.ServerURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("uplink: server URL %q: no user, query or fragment allowed", cfg.ServerURL)
	}
	if !wire.ValidUUID(cfg.UUID) {
		return nil, fmt.Errorf("uplink: invalid host uuid %.80q", cfg.UUID)
	}
	if cfg.Key == nil || cfg.Cert == nil {
		return nil, errors.New("uplink: host key and certificate are required")
	}
	if !certs.KeyMatchesCert(cfg.Key, cfg.Cert) {
		return nil, fmt.Errorf("uplink: certificate %q does not match the host key", cfg.Cert.Subject.CommonName)
	}
	if cfg.Handler == nil {
		return nil, errors.New("uplink: no Handler")
	}
	if cfg.PingInterval < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return nil, errors.New("uplink: negative ping interval or backoff")
	}
	c := &Client{
		key:     cfg.Key,
		cert:    cfg.Cert,
		handler: cfg.Handler,
		logf:    cfg.Logf,
		ping:    cmp.Or(cfg.PingInterval, wire.UplinkPingInterval),
		minB:    cmp.Or(cfg.MinBackoff, defaultMinBackoff),
		maxB:    cmp.Or(cfg.MaxBackoff, defaultMaxBackoff),
		now:     cfg.Now,
		randN:   rand.Int64N,
		results: newResults(maxResults),
		kick:    make(chan struct{}, 1),
		changes: make(chan bool, 1),
	}
	if c.maxB < c.minB {
		return nil, fmt.Errorf("uplink: MaxBackoff %s below MinBackoff %s", c.maxB, c.minB)
	}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.now == nil {
		c.now = time.Now
	}
	hc := http.Client{}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	c.hc = &hc
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/hosts/" + cfg.UUID + "/uplink"
	u.RawPath = ""
	c.url = u.String()
	return c, nil
}

// Connected reports whether the uplink is up.
func (c *Client) Connected() bool { return c.connected.Load() }

// Changes returns a channel that receives the connection state when it
// changes; it holds only the latest state, so a slow reader sees the
// current one, not every transition.
func (c *Client) Changes() <-chan bool { return c.changes }

func (c *Client) setConnected(up bool) {
	c.changesMu.Lock()
	defer c.changesMu.Unlock()
	c.connected.Store(up)
	select {
	case <-c.changes:
	default:
	}
	c.changes <- up // cannot block: emptied above, under changesMu
}

// SendResult queues r for the server and never blocks. Only the latest
// result per action ID is kept; it is written now when connected, else
// after the next connection. A non-final result is written again after
// each reconnection; a final one (wire.ActionFinal) is dropped once
// written. At most 10,000 actions are kept: beyond, the least recently
// updated non-final result is dropped first. A zero r.Time is set to now.
func (c *Client) SendResult(r wire.ActionResult) {
	if r.ID == "" {
		c.logf("uplink: result without an action ID dropped")
		return
	}
	if r.Time.IsZero() {
		r.Time = c.now().UTC()
	}
	if dropped := c.results.put(r); dropped != "" {
		c.logf("uplink: too many results queued: dropped the one of action %.80q", dropped)
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run connects, serves the uplink and reconnects after any failure, a
// refused (401/403) handshake included, until ctx ends; it returns
// ctx.Err(). Pauses between attempts are drawn from [0, min(MaxBackoff,
// MinBackoff·2ⁿ)] for the n-th failure in a row; n starts over after a
// connection that stayed up a minute.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("uplink: Run is already running")
	}
	defer c.running.Store(false)
	b := backoff{min: c.minB, max: c.maxB, randN: c.randN}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		conn, err := c.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.logf("uplink: connect: %v", err)
		} else {
			start := c.now()
			c.logf("uplink: connected to %s", c.url)
			c.setConnected(true)
			err := c.serve(ctx, conn)
			c.setConnected(false)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.logf("uplink: disconnected after %s: %v", c.now().Sub(start).Round(time.Second), err)
			if c.now().Sub(start) >= stableAfter {
				b.reset()
			}
		}
		t := time.NewTimer(b.next())
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// refusedError is a handshake the server answered with 401 or 403.
type refusedError struct {
	status int
	msg    string
}

func (e *refusedError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("server refused the host: %d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("server refused the host: %d %s: %s", e.status, http.StatusText(e.status), e.msg)
}

// dial signs a fresh upgrade request and opens the websocket.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	// A throwaway request for the same URL carries the signature headers:
	// websocket.Dial sends the same method and request URI.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	if err := reqsign.Sign(req, nil, c.key, c.cert, c.now(), nil); err != nil {
		return nil, err
	}
	conn, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: req.Header})
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return nil, &refusedError{status: resp.StatusCode, msg: errorMessage(resp)}
		}
		return nil, err
	}
	conn.SetReadLimit(wire.MaxUplinkMessage)
	return conn, nil
}

// errorMessage returns the message of a wire.Error answer, if any
// (websocket.Dial keeps at most 1 KiB of a failed handshake's body).
func errorMessage(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	var e wire.Error
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	return fmt.Sprintf("%.200s", e.Error)
}

// session is one connection.
type session struct {
	c      *Client
	conn   *websocket.Conn
	ctx    context.Context // ends with the session
	cancel context.CancelCauseFunc
	wmu    sync.Mutex // serialises writes
}

var pingFrame = []byte(`{"type":"` + wire.UplinkPing + `"}`)

// serve runs one connection until it fails or ctx ends, and returns why it
// ended.
func (c *Client) serve(ctx context.Context, conn *websocket.Conn) error {
	// The session's context is not ctx's child: when ctx ends, the
	// connection is closed with a close frame (StatusGoingAway) rather than
	// dropped by the cancelled read.
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	s := &session{c: c, conn: conn, ctx: sctx, cancel: cancel}
	defer cancel(nil)

	c.results.reconnected()
	var wg sync.WaitGroup
	wg.Go(func() { s.closeOnDone(ctx) })
	wg.Go(func() { cancel(s.pingLoop()) })
	wg.Go(func() { cancel(s.sendLoop()) })
	cancel(s.readLoop(ctx))
	conn.CloseNow()
	wg.Wait()
	return context.Cause(sctx)
}

// closeOnDone closes the connection with StatusGoingAway when ctx ends.
func (s *session) closeOnDone(ctx context.Context) {
	select {
	case <-s.ctx.Done():
		return
	case <-ctx.Done():
	}
	if s.ctx.Err() != nil {
		return
	}
	// The read loop reads the server's answer to the close frame; if none
	// comes in time, ending the session drops the connection.
	t := time.AfterFunc(closeGrace, func() { s.cancel(ctx.Err()) })
	defer t.Stop()
	s.conn.Close(websocket.StatusGoingAway, "agent stopping")
	s.cancel(ctx.Err())
}

// readLoop reads and dispatches frames until a read fails.
func (s *session) readLoop(ctx context.Context) error {
	for {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if ctx.Err() != nil {
			continue // stopping: read on until the close handshake ends
		}
		if typ != websocket.MessageText {
			s.c.logf("uplink: ignored a binary frame (%d bytes)", len(data))
			continue
		}
		s.c.dispatch(ctx, data)
	}
}

// dispatch decodes one frame and hands it to the Handler; a bad frame is
// logged and ignored.
func (c *Client) dispatch(ctx context.Context, data []byte) {
	m, err := decodeFrame(data)
	if err != nil {
		c.logf("uplink: ignored a frame (%d bytes): %v", len(data), err)
		return
	}
	switch m.Type {
	case wire.UplinkAction:
		c.handler.HandleAction(ctx, m.Action)
	case wire.UplinkStatus:
		c.handler.StatusRequested(ctx)
	default:
		c.logf("uplink: ignored a frame of unexpected type %.40q", m.Type)
	}
}

// decodeFrame parses one frame: a single JSON object with a type; an
// action frame must carry an action object. Unknown fields are allowed,
// so that a newer server can add some without cutting older agents off.
func decodeFrame(data []byte) (wire.UplinkMessage, error) {
	var m wire.UplinkMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("malformed frame: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return m, errors.New("malformed frame: data after the JSON object")
	}
	if m.Type == "" {
		return m, errors.New("frame without a type")
	}
	if m.Type == wire.UplinkAction && (len(m.Action) == 0 || m.Action[0] != '{') {
		return m, errors.New("action frame without an action object")
	}
	return m, nil
}

// write sends one text frame.
func (s *session) write(frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageText, frame)
}

// pingLoop sends a ping every PingInterval.
func (s *session) pingLoop() error {
	t := time.NewTicker(s.c.ping)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return nil
		case <-t.C:
			if err := s.write(pingFrame); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}

// sendLoop writes the queued results, then those SendResult adds.
func (s *session) sendLoop() error {
	for {
		for _, p := range s.c.results.pending() {
			frame, err := json.Marshal(wire.UplinkMessage{Type: wire.UplinkResult, Result: &p.r})
			if err != nil { // a Time beyond year 9999
				s.c.logf("uplink: result of action %.80q dropped: %v", p.r.ID, err)
				s.c.results.drop(p.r.ID, p.seq)
				continue
			}
			if err := s.write(frame); err != nil {
				return fmt.Errorf("send result: %w", err)
			}
			s.c.results.written(p.r.ID, p.seq)
		}
		select {
		case <-s.ctx.Done():
			return nil
		case <-s.c.kick:
		}
	}
}
