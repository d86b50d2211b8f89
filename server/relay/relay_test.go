package relay_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/relay"
	"github.com/wapt-go/wapt/server/store"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// pipeConn is an in-memory relay.Conn: the test plays the agent.
type pipeConn struct {
	toAgent   chan []byte
	fromAgent chan []byte
	closeOnce sync.Once
	closed    chan struct{}
}

func newPipe() *pipeConn {
	return &pipeConn{toAgent: make(chan []byte, 100), fromAgent: make(chan []byte, 100), closed: make(chan struct{})}
}

func (p *pipeConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.fromAgent:
		return b, nil
	case <-p.closed:
		return nil, errors.New("closed")
	case <-ctx.Done():
		p.Close("read timeout")
		return nil, ctx.Err()
	}
}

func (p *pipeConn) Write(ctx context.Context, b []byte) error {
	select {
	case <-p.closed:
		return errors.New("closed")
	default:
	}
	select {
	case p.toAgent <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipeConn) Close(string) error {
	p.closeOnce.Do(func() { close(p.closed) })
	return nil
}

// next returns the next frame the relay sent to the agent.
func (p *pipeConn) next(t *testing.T) wire.UplinkMessage {
	t.Helper()
	select {
	case b := <-p.toAgent:
		var m wire.UplinkMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
	}
	return wire.UplinkMessage{}
}

func (p *pipeConn) none(t *testing.T) {
	t.Helper()
	select {
	case b := <-p.toAgent:
		t.Fatalf("unexpected frame %s", b)
	case <-time.After(50 * time.Millisecond):
	}
}

func (p *pipeConn) send(t *testing.T, r wire.ActionResult) {
	t.Helper()
	b, err := json.Marshal(wire.UplinkMessage{Type: wire.UplinkResult, Result: &r})
	if err != nil {
		t.Fatal(err)
	}
	p.fromAgent <- b
}

type ident struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func gen(t *testing.T, cn string, role certs.Role, issuer *ident) ident {
	t.Helper()
	r := certs.Request{CN: cn, Role: role, KeyType: "ecdsa", Now: time.Now().Add(-time.Hour)}
	if issuer != nil {
		r.Issuer, r.IssuerKey = issuer.cert, issuer.key
	}
	k, c, err := certs.Generate(r)
	if err != nil {
		t.Fatal(err)
	}
	return ident{k, c}
}

type fixture struct {
	hub          *relay.Hub
	db           *store.DB
	ca, admin    ident
	other, stray ident
	now          time.Time
	mu           sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{now: time.Now()}
	f.ca = gen(t, "admin CA", certs.RoleCA, nil)
	f.admin = gen(t, "alice", certs.RoleSimple, &f.ca)
	f.other = gen(t, "bob", certs.RoleSimple, &f.ca)
	strayCA := gen(t, "stray CA", certs.RoleCA, nil)
	f.stray = gen(t, "mallory", certs.RoleSimple, &strayCA)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	trust := signing.NewTrust(f.ca.cert)
	f.hub = relay.New(relay.Config{Store: db, Trust: func() *signing.Trust { return trust }, Now: f.clock, Logf: t.Logf})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) signed(t *testing.T, id ident, kind string, hosts []string, args action.Args) (action.Signed, []byte) {
	t.Helper()
	a, err := action.New(kind, hosts, args, f.clock(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s, err := action.Sign(a, id.key, []*x509.Certificate{id.cert})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return s, raw
}

func (f *fixture) connect(t *testing.T, host string) (*pipeConn, chan struct{}) {
	t.Helper()
	p := newPipe()
	done := make(chan struct{})
	go func() {
		f.hub.Serve(context.Background(), host, p)
		close(done)
	}()
	t.Cleanup(func() { p.Close("test end"); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for !f.hub.Connected(host) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return p, done
}

func (f *fixture) state(t *testing.T, id, host string) string {
	t.Helper()
	d, err := f.hub.Action(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Results {
		if r.Host == host {
			return r.State
		}
	}
	t.Fatalf("no result for %s in %+v", host, d.Results)
	return ""
}

// waitState polls until the host's state is want (results are applied by
// the session's goroutine).
func (f *fixture) waitState(t *testing.T, id, host, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := f.state(t, id, host)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state of %s on %s = %s, want %s", id, host, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestRelay: an action reaches the connected host at once and the other
// when it connects, verbatim; results move states forward only.
func TestRelay(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h1, _ := f.connect(t, "HOST-1")
	s, raw := f.signed(t, f.admin, action.KindInstall, []string{"HOST-1", "host-2"}, action.Args{Packages: []string{"firefox"}})
	acc, err := f.hub.Submit(ctx, raw, signing.Fingerprint(f.admin.cert))
	if err != nil {
		t.Fatal(err)
	}
	if acc.ID != s.Action.Nonce || acc.Connected != 1 || acc.Hosts != 2 {
		t.Errorf("accepted %+v", acc)
	}
	m := h1.next(t)
	if m.Type != wire.UplinkAction || string(m.Action) != string(raw) {
		t.Fatalf("relayed %s %s, want the admin's bytes", m.Type, m.Action)
	}
	if got := f.state(t, acc.ID, "host-2"); got != wire.ActionPending {
		t.Errorf("host-2 = %s", got)
	}
	h2, _ := f.connect(t, "Host-2")
	if m := h2.next(t); string(m.Action) != string(raw) {
		t.Fatalf("on connect: %s", m.Action)
	}

	steps := []struct {
		host, send, want string
	}{
		{"host-1", wire.ActionReceived, wire.ActionReceived},
		{"host-1", wire.ActionRunning, wire.ActionRunning},
		{"host-1", wire.ActionReceived, wire.ActionRunning}, // no going back
		{"host-1", wire.ActionDone, wire.ActionDone},
		{"host-1", wire.ActionError, wire.ActionDone}, // final stays
		{"host-1", wire.ActionDuplicate, wire.ActionDone},
		{"host-2", wire.ActionDuplicate, wire.ActionReceived}, // the ack was lost: delivered
		{"host-2", wire.ActionRefused, wire.ActionRefused},
	}
	for _, st := range steps {
		conn := h1
		if st.host == "host-2" {
			conn = h2
		}
		conn.send(t, wire.ActionResult{ID: acc.ID, State: st.send, Message: "m", Time: f.clock()})
		f.waitState(t, acc.ID, st.host, st.want)
	}
	// Garbage and unknown frames are ignored; the session stays.
	h1.fromAgent <- []byte("{not json")
	h1.fromAgent <- []byte(`{"type":"bogus"}`)
	h1.send(t, wire.ActionResult{ID: acc.ID, State: "weird"})
	h1.send(t, wire.ActionResult{ID: "unknown", State: wire.ActionDone})
	if !f.hub.Connected("host-1") {
		t.Error("session dropped after bad frames")
	}
	d, err := f.hub.Action(ctx, acc.ID)
	if err != nil || d.Hosts[wire.ActionDone] != 1 || d.Hosts[wire.ActionRefused] != 1 || d.Signer != "alice" {
		t.Errorf("detail %+v %v", d, err)
	}
	l, err := f.hub.Actions(ctx, 10)
	if err != nil || len(l) != 1 || l[0].ID != acc.ID || len(l[0].Packages) != 1 {
		t.Errorf("list %+v %v", l, err)
	}
}

// TestPendingAndExpiry: a host that connects gets only what is still
// pending and not expired; a delivered (received) action is not resent.
func TestPendingAndExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fp := signing.Fingerprint(f.admin.cert)
	_, raw1 := f.signed(t, f.admin, action.KindUpdate, []string{"h"}, action.Args{})
	a1, err := f.hub.Submit(ctx, raw1, fp)
	if err != nil {
		t.Fatal(err)
	}
	f.advance(time.Millisecond) // pending actions come oldest first
	_, raw2 := f.signed(t, f.admin, action.KindAudit, []string{"h"}, action.Args{})
	a2, err := f.hub.Submit(ctx, raw2, fp)
	if err != nil {
		t.Fatal(err)
	}
	c, done := f.connect(t, "h")
	if m := c.next(t); string(m.Action) != string(raw1) {
		t.Fatal("first pending not first")
	}
	if m := c.next(t); string(m.Action) != string(raw2) {
		t.Fatal("second pending missing")
	}
	c.send(t, wire.ActionResult{ID: a1.ID, State: wire.ActionReceived})
	f.waitState(t, a1.ID, "h", wire.ActionReceived)
	c.Close("drop")
	<-done
	c2, _ := f.connect(t, "h")
	if m := c2.next(t); string(m.Action) != string(raw2) {
		t.Fatalf("reconnect: got %s, want only the undelivered one", m.Action)
	}
	c2.none(t)

	// Past its expiry a pending action is no longer sent, and reads as expired.
	f.advance(6 * time.Minute)
	c3, _ := f.connect(t, "h")
	c3.none(t)
	if got := f.state(t, a2.ID, "h"); got != wire.ActionExpired {
		t.Errorf("expired action reads %s", got)
	}
}

// TestSubmitRefused: the server relays only what the calling admin signed,
// untampered, chained to the admin CAs, valid now, once.
func TestSubmitRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fp := signing.Fingerprint(f.admin.cert)
	good, raw := f.signed(t, f.admin, action.KindUpgrade, []string{"h"}, action.Args{})
	if _, err := f.hub.Submit(ctx, raw, fp); err != nil {
		t.Fatal(err)
	}
	tampered := good
	tampered.Action.Hosts = []string{"h", "victim"}
	tamperedRaw, _ := tampered.Marshal()
	_, byBob := f.signed(t, f.other, action.KindUpgrade, []string{"h"}, action.Args{})
	_, byStray := f.signed(t, f.stray, action.KindUpgrade, []string{"h"}, action.Args{})
	_, old := f.signed(t, f.admin, action.KindUpgrade, []string{"h"}, action.Args{})
	for _, tt := range []struct {
		name string
		raw  []byte
		fp   string
		want error
	}{
		{"same action twice", raw, fp, relay.ErrConflict},
		{"tampered", tamperedRaw, fp, relay.ErrInvalid},
		{"signed by another admin than the sender", byBob, fp, relay.ErrForbidden},
		{"untrusted signer", byStray, signing.Fingerprint(f.stray.cert), relay.ErrInvalid},
		{"garbage", []byte("{}"), fp, relay.ErrInvalid},
		{"expired", old, fp, relay.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "expired" {
				f.advance(6 * time.Minute)
				defer f.advance(-6 * time.Minute)
			}
			if _, err := f.hub.Submit(ctx, tt.raw, tt.fp); !errors.Is(err, tt.want) {
				t.Errorf("Submit = %v, want %v", err, tt.want)
			}
		})
	}
	if l, _ := f.hub.Actions(ctx, 10); len(l) != 1 {
		t.Errorf("%d actions stored, want 1", len(l))
	}
}

// TestReplaceAndClose: a second connection of a host replaces the first;
// Close ends every session and refuses new ones.
func TestReplaceAndClose(t *testing.T) {
	f := newFixture(t)
	_, done1 := f.connect(t, "h")
	c2 := newPipe()
	done2 := make(chan struct{})
	go func() { f.hub.Serve(context.Background(), "h", c2); close(done2) }()
	select {
	case <-done1:
	case <-time.After(5 * time.Second):
		t.Fatal("first session not replaced")
	}
	if f.hub.Count() != 1 {
		t.Errorf("count %d", f.hub.Count())
	}
	f.hub.Close()
	select {
	case <-done2:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the session")
	}
	c3 := newPipe()
	f.hub.Serve(context.Background(), "h", c3) // returns at once
	if f.hub.Count() != 0 {
		t.Errorf("count after close %d", f.hub.Count())
	}
}
