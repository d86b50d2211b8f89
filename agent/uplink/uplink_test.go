package uplink_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wapt-go/wapt/agent/uplink"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

const (
	hostUUID = "3f2a9c1e-host-01"
	waitFor  = 3 * time.Second // only reached when a test fails
)

// identity is a key and its certificate.
type identity struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// pki is a host CA and a host certificate it issued (CN = hostUUID).
type pki struct {
	ca, host identity
}

func newPKI(tb testing.TB) pki {
	tb.Helper()
	var p pki
	var err error
	p.ca.key, p.ca.cert, err = certs.Generate(certs.Request{CN: "Host CA", Role: certs.RoleCA, KeyType: "ecdsa"})
	if err != nil {
		tb.Fatal(err)
	}
	p.host.key, p.host.cert, err = certs.Generate(certs.Request{
		CN: hostUUID, Role: certs.RoleSimple, KeyType: "ecdsa", Issuer: p.ca.cert, IssuerKey: p.ca.key,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// peer is the server end of one uplink.
type peer struct {
	conn   *websocket.Conn
	nonce  string                    // X-Wapt-Nonce of the upgrade request
	frames chan wire.UplinkMessage   // frames received from the agent
	closed chan websocket.StatusCode // the close status, when the read fails
}

// testServer accepts uplinks whose upgrade request is signed by the host
// certificate of its PKI, and refuses others with 401.
type testServer struct {
	*httptest.Server
	conns   chan *peer
	refused atomic.Int32
}

func newTestServer(tb testing.TB, p pki, tlsServer bool) *testServer {
	tb.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.cert)
	verifier := &reqsign.Verifier{
		// The registered host certificate, which must chain to the host CA.
		Lookup: func(_ context.Context, fp string) (*x509.Certificate, error) {
			if fp != signing.Fingerprint(p.host.cert) {
				return nil, reqsign.ErrUnknownSigner
			}
			if _, err := p.host.cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				return nil, fmt.Errorf("%w: %v", reqsign.ErrUnknownSigner, err)
			}
			return p.host.cert, nil
		},
		Nonces: reqsign.NewMemoryNonces(1000),
	}
	ts := &testServer{conns: make(chan *peer, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/hosts/{uuid}/uplink", func(w http.ResponseWriter, r *http.Request) {
		cert, err := verifier.Verify(r.Context(), r, nil)
		if err == nil && cert.Subject.CommonName != r.PathValue("uuid") {
			err = errors.New("signed by another host")
		}
		if err != nil {
			ts.refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(wire.Error{Error: err.Error(), Code: "unauthenticated"})
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadLimit(wire.MaxUplinkMessage)
		pe := &peer{
			conn:   c,
			nonce:  r.Header.Get(reqsign.HeaderNonce),
			frames: make(chan wire.UplinkMessage, 1024),
			closed: make(chan websocket.StatusCode, 1),
		}
		ts.conns <- pe
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				pe.closed <- websocket.CloseStatus(err)
				return
			}
			var m wire.UplinkMessage
			if err := json.Unmarshal(data, &m); err != nil {
				tb.Errorf("server: bad frame %q: %v", data, err)
				continue
			}
			select {
			case pe.frames <- m:
			default:
				tb.Errorf("server: frame buffer full")
			}
		}
	})
	if tlsServer {
		ts.Server = httptest.NewTLSServer(mux)
	} else {
		ts.Server = httptest.NewServer(mux)
	}
	tb.Cleanup(ts.Close)
	return ts
}

// recv returns the next value of ch, failing the test after waitFor.
func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		tb.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// handler records what the uplink delivers.
type handler struct {
	actions chan json.RawMessage
	status  chan struct{}
}

func newHandler() *handler {
	return &handler{actions: make(chan json.RawMessage, 16), status: make(chan struct{}, 16)}
}

func (h *handler) HandleAction(_ context.Context, signed json.RawMessage) { h.actions <- signed }
func (h *handler) StatusRequested(context.Context)                        { h.status <- struct{}{} }

// logger collects log lines.
type logger struct {
	mu    sync.Mutex
	lines []string
}

func (l *logger) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logger) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// config returns a client configuration for ts with short backoffs.
func config(ts *testServer, p pki, h uplink.Handler, l *logger) uplink.Config {
	return uplink.Config{
		ServerURL:  ts.URL,
		UUID:       hostUUID,
		Key:        p.host.key,
		Cert:       p.host.cert,
		HTTPClient: ts.Client(),
		Handler:    h,
		Logf:       l.logf,
		MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond,
	}
}

// run starts c.Run and stops it when the test ends, checking that Run
// returns ctx.Err(). The returned func stops it earlier.
func run(tb testing.TB, c *uplink.Client) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			began := time.Now()
			defer func() {
				if d := time.Since(began); d > time.Second {
					tb.Errorf("Run took %s to stop", d)
				}
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					tb.Errorf("Run = %v, want context.Canceled", err)
				}
			case <-time.After(waitFor):
				tb.Errorf("Run did not return after cancel")
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

func newClient(tb testing.TB, cfg uplink.Config) *uplink.Client {
	tb.Helper()
	c, err := uplink.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestNew(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	other := newPKI(t)
	base := uplink.Config{ServerURL: "https://wapt.example.lan:8443/prefix/", UUID: hostUUID, Key: p.host.key, Cert: p.host.cert, Handler: newHandler()}
	tests := []struct {
		name   string
		change func(*uplink.Config)
		ok     bool
	}{
		{"valid", func(*uplink.Config) {}, true},
		{"http allowed", func(c *uplink.Config) { c.ServerURL = "http://127.0.0.1:8080" }, true},
		{"bad scheme", func(c *uplink.Config) { c.ServerURL = "ftp://wapt" }, false},
		{"no host", func(c *uplink.Config) { c.ServerURL = "https:///x" }, false},
		{"unparsable", func(c *uplink.Config) { c.ServerURL = "https://wapt:port:x" }, false},
		{"query", func(c *uplink.Config) { c.ServerURL = "https://wapt/?a=b" }, false},
		{"empty uuid", func(c *uplink.Config) { c.UUID = "" }, false},
		{"uuid with slash", func(c *uplink.Config) { c.UUID = "a/b" }, false},
		{"uuid dot-dot", func(c *uplink.Config) { c.UUID = ".." }, false},
		{"no key", func(c *uplink.Config) { c.Key = nil }, false},
		{"no cert", func(c *uplink.Config) { c.Cert = nil }, false},
		{"key of another cert", func(c *uplink.Config) { c.Key = other.host.key }, false},
		{"no handler", func(c *uplink.Config) { c.Handler = nil }, false},
		{"max below min", func(c *uplink.Config) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Second }, false},
		{"negative ping", func(c *uplink.Config) { c.PingInterval = -time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := base
			tt.change(&cfg)
			c, err := uplink.New(cfg)
			if tt.ok && err != nil {
				t.Errorf("New: %v", err)
			}
			if !tt.ok && err == nil {
				t.Errorf("New accepted %+v", cfg)
			}
			if err == nil && c.Connected() {
				t.Errorf("Connected before Run")
			}
		})
	}
}

// TestServerRefusesUnsigned checks the test server itself: an upgrade
// without the host's signature gets 401.
func TestServerRefusesUnsigned(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, newPKI(t), false)
	_, resp, err := websocket.Dial(t.Context(), ts.URL+"/api/v1/hosts/"+hostUUID+"/uplink", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned dial: resp %v, err %v; want 401", resp, err)
	}
}

func TestFrames(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, tlsServer := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsServer), func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, p, tlsServer)
			h, l := newHandler(), &logger{}
			cfg := config(ts, p, h, l)
			if tlsServer {
				cfg.ServerURL += "/" // a trailing slash is not doubled
			}
			c := newClient(t, cfg)
			stop := run(t, c)
			pe := recv(t, ts.conns, "the uplink")
			if !recv(t, c.Changes(), "connection state") || !c.Connected() {
				t.Fatal("not connected")
			}
			ctx := t.Context()
			send := func(typ websocket.MessageType, frame string) {
				t.Helper()
				if err := pe.conn.Write(ctx, typ, []byte(frame)); err != nil {
					t.Fatal(err)
				}
			}

			// The action bytes reach the handler verbatim.
			action := `{"action":"install", "args" : {"packages":["tis-7zip"]},"nonce":"n1"}`
			send(websocket.MessageText, `{"type":"action","action":`+action+`}`)
			if got := recv(t, h.actions, "the action"); string(got) != action {
				t.Errorf("HandleAction got %s, want %s", got, action)
			}

			// Bad frames are ignored, the session stays up.
			garbage := []string{
				`not json`,
				`{"type":"bogus"}`,
				`{"type":"action"}`,
				`{"type":"action","action":"x"}`,
				`{"type":"status"} trailing`,
				`[1,2]`,
				`{"type":"ping"}`, // agent → server only
			}
			for _, g := range garbage {
				send(websocket.MessageText, g)
			}
			send(websocket.MessageBinary, `{"type":"status"}`)
			send(websocket.MessageText, `{"type":"status"}`)
			recv(t, h.status, "StatusRequested")
			send(websocket.MessageText, `{"type":"action","action":{"nonce":"n2"}}`)
			if got := recv(t, h.actions, "the second action"); string(got) != `{"nonce":"n2"}` {
				t.Errorf("HandleAction got %s", got)
			}
			if n := l.count("ignored"); n != len(garbage)+1 {
				t.Errorf("%d frames logged as ignored, want %d", n, len(garbage)+1)
			}
			select {
			case <-h.actions:
				t.Error("a bad frame reached HandleAction")
			case <-h.status:
				t.Error("a bad frame reached StatusRequested")
			case pe2 := <-ts.conns:
				t.Errorf("the client reconnected (nonce %s)", pe2.nonce)
			default:
			}

			// Stopping closes the uplink with StatusGoingAway.
			stop()
			if got := recv(t, pe.closed, "the close"); got != websocket.StatusGoingAway {
				t.Errorf("close status %v, want StatusGoingAway", got)
			}
			if c.Connected() {
				t.Error("Connected after Run returned")
			}
			if recv(t, c.Changes(), "connection state") {
				t.Error("Changes: latest state is connected after Run returned")
			}
		})
	}
}

func TestRefusedHostKeepsRetrying(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ts := newTestServer(t, p, false)
	stranger := newPKI(t) // same uuid, another CA: the server does not know it
	h, l := newHandler(), &logger{}
	cfg := config(ts, stranger, h, l)
	c := newClient(t, cfg)
	stop := run(t, c)
	deadline := time.Now().Add(waitFor)
	for l.count("401 Unauthorized") < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if n := l.count("401 Unauthorized"); n < 3 {
		t.Errorf("%d refusals logged, want ≥ 3", n)
	}
	if n := ts.refused.Load(); n < 3 {
		t.Errorf("%d refused attempts, want ≥ 3", n)
	}
	if c.Connected() {
		t.Error("Connected with a refused certificate")
	}
}

// resultsUntil reads result frames from pe until one for id arrives and
// returns them all (pings skipped).
func resultsUntil(tb testing.TB, pe *peer, id string) []wire.ActionResult {
	tb.Helper()
	var out []wire.ActionResult
	for {
		m := recv(tb, pe.frames, "result "+id)
		if m.Type != wire.UplinkResult {
			continue
		}
		if m.Result == nil {
			tb.Fatal("result frame without a result")
		}
		out = append(out, *m.Result)
		if m.Result.ID == id {
			return out
		}
	}
}

func summary(rs []wire.ActionResult) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%s:%s:%d", r.ID, r.State, r.Progress))
	}
	return strings.Join(s, " ")
}

func TestResultsAcrossReconnections(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ts := newTestServer(t, p, false)
	c := newClient(t, config(ts, p, newHandler(), &logger{}))

	// Queued before the first connection: the latest state per ID wins.
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c.SendResult(wire.ActionResult{ID: "a1", State: wire.ActionRunning, Progress: 10, Time: at})
	c.SendResult(wire.ActionResult{ID: "a2", State: wire.ActionReceived, Time: at})
	c.SendResult(wire.ActionResult{ID: "a1", State: wire.ActionRunning, Progress: 50, Time: at})
	c.SendResult(wire.ActionResult{ID: "a2", State: wire.ActionDone, Progress: 100, Message: "ok", Time: at})
	c.SendResult(wire.ActionResult{ID: "a3", State: wire.ActionReceived})
	c.SendResult(wire.ActionResult{}) // no ID: dropped
	run(t, c)

	pe := recv(t, ts.conns, "the uplink")
	got := resultsUntil(t, pe, "a3")
	if s := summary(got); s != "a1:running:50 a2:done:100 a3:received:0" {
		t.Fatalf("first connection got %q", s)
	}
	if got[1].Message != "ok" || !got[1].Time.Equal(at) {
		t.Errorf("result a2 = %+v", got[1])
	}
	if got[2].Time.IsZero() {
		t.Error("zero Time not set")
	}
	// While connected, a result goes out at once.
	c.SendResult(wire.ActionResult{ID: "a3", State: wire.ActionRunning, Progress: 20})
	if s := summary(resultsUntil(t, pe, "a3")); s != "a3:running:20" {
		t.Errorf("live result: got %q", s)
	}

	// The server drops the uplink: the non-final results are sent again,
	// the final one is not.
	pe.conn.CloseNow()
	pe2 := recv(t, ts.conns, "the second uplink")
	c.SendResult(wire.ActionResult{ID: "marker", State: wire.ActionReceived})
	if s := summary(resultsUntil(t, pe2, "marker")); s != "a1:running:50 a3:running:20 marker:received:0" {
		t.Errorf("after reconnection got %q", s)
	}

	// Now a1 ends: sent once, then never again.
	c.SendResult(wire.ActionResult{ID: "a1", State: wire.ActionError, Message: "exit 1"})
	if s := summary(resultsUntil(t, pe2, "a1")); s != "a1:error:0" {
		t.Errorf("final result: got %q", s)
	}
	pe2.conn.CloseNow()
	pe3 := recv(t, ts.conns, "the third uplink")
	c.SendResult(wire.ActionResult{ID: "marker2", State: wire.ActionReceived})
	if s := summary(resultsUntil(t, pe3, "marker2")); s != "a3:running:20 marker:received:0 marker2:received:0" {
		t.Errorf("after the second reconnection got %q", s)
	}
}

func TestReconnectSignsAfresh(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ts := newTestServer(t, p, false)
	c := newClient(t, config(ts, p, newHandler(), &logger{}))
	run(t, c)
	seen := map[string]bool{}
	for i := range 3 {
		pe := recv(t, ts.conns, fmt.Sprintf("uplink %d", i+1))
		if pe.nonce == "" || seen[pe.nonce] {
			t.Fatalf("uplink %d: nonce %q not fresh", i+1, pe.nonce)
		}
		seen[pe.nonce] = true
		pe.conn.CloseNow()
	}
	if n := ts.refused.Load(); n != 0 {
		t.Errorf("%d upgrades refused", n)
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("connection refused")
		},
	}}
	h, l := newHandler(), &logger{}
	c := newClient(t, uplink.Config{
		ServerURL: "https://wapt.invalid", UUID: hostUUID, Key: p.host.key, Cert: p.host.cert,
		HTTPClient: hc, Handler: h, Logf: l.logf,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	})
	start := time.Now()
	stop := run(t, c)
	deadline := start.Add(waitFor)
	for l.count("connection refused") < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop() // checks Run returns context.Canceled
	if n := dials.Load(); n < 5 {
		t.Fatalf("%d connection attempts, want ≥ 5", n)
	}
	if n := l.count("connection refused"); n < 5 {
		t.Errorf("%d failures logged, want ≥ 5", n)
	}
	if c.Connected() {
		t.Error("Connected to an unreachable server")
	}
}

func TestStopWhileWaiting(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("connection refused")
		},
	}}
	c := newClient(t, uplink.Config{
		ServerURL: "https://wapt.invalid", UUID: hostUUID, Key: p.host.key, Cert: p.host.cert,
		HTTPClient: hc, Handler: newHandler(),
		MinBackoff: time.Hour, MaxBackoff: time.Hour, // waits up to an hour
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %s to return", d)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ts := newTestServer(t, p, false)
	const interval = 50 * time.Millisecond
	cfg := config(ts, p, newHandler(), &logger{})
	cfg.PingInterval = interval
	c := newClient(t, cfg)
	run(t, c)
	pe := recv(t, ts.conns, "the uplink")
	connected := time.Now()
	var at []time.Time
	for len(at) < 4 {
		if m := recv(t, pe.frames, "a ping"); m.Type == wire.UplinkPing {
			at = append(at, time.Now())
		} else {
			t.Errorf("unexpected frame %+v", m)
		}
	}
	// A ticker never fires early, but arrivals may bunch up after a
	// scheduling delay: only the time from connecting to the n-th ping is
	// bounded below.
	const slack = 25 * time.Millisecond
	for i, a := range at {
		if d := a.Sub(connected); d < time.Duration(i+1)*interval-slack {
			t.Errorf("ping %d arrived %s after connecting, before %d intervals of %s", i+1, d, i+1, interval)
		}
	}
}
