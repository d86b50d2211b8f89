// Package relay is the server's real-time side: it keeps the uplink
// sessions of connected agents, accepts admin-signed actions (checking the
// admin's signature, chain and identity, never signing anything itself),
// stores them with a per-host state, relays them verbatim to the target
// hosts that are connected and to the others when they connect, until the
// action expires, and records the results the agents stream back. It is
// HTTP-free: the websocket is behind the small Conn interface and the
// persistence behind Store.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// Sentinel errors; every error of Submit, Action and Results wraps one.
var (
	ErrInvalid   = errors.New("invalid action")
	ErrForbidden = errors.New("forbidden")
	ErrConflict  = errors.New("action already submitted")
	ErrNotFound  = errors.New("action not found")
)

// StoredAction is an accepted action as the store keeps it.
type StoredAction struct {
	ID, Kind         string
	Packages         []string
	Signer, SignerFP string
	IssuedAt         time.Time
	ExpiresAt        time.Time
	Received         time.Time
	Body             []byte // the signed action, verbatim
	Hosts            []string
}

// Store persists actions and their per-host states. Host names are
// lower-case.
type Store interface {
	// PutAction stores a with every host pending, or fails with an error
	// wrapping ErrConflict when its ID exists.
	PutAction(ctx context.Context, a StoredAction) error
	// PendingActions returns the actions still pending for host and not
	// expired at now, oldest first, at most limit.
	PendingActions(ctx context.Context, host string, now time.Time, limit int) ([]StoredAction, error)
	// SetActionState sets the state of action id on host when its current
	// state is one of from; it reports whether it did. Unknown (id, host):
	// false, nil.
	SetActionState(ctx context.Context, id, host string, st wire.HostActionState, from []string) (bool, error)
	// ListActions returns the last limit actions, newest first; pending
	// states past expiry count as expired.
	ListActions(ctx context.Context, limit int, now time.Time) ([]wire.ActionSummary, error)
	// ActionDetail returns one action and its per-host states (ErrNotFound).
	ActionDetail(ctx context.Context, id string, now time.Time) (wire.ActionDetail, error)
}

// Conn is one agent's websocket, as the relay uses it.
type Conn interface {
	// Read returns the next text frame; it fails when ctx ends (closing the
	// connection) or the connection breaks.
	Read(ctx context.Context) ([]byte, error)
	// Write sends one text frame.
	Write(ctx context.Context, data []byte) error
	// Close closes the connection with a reason.
	Close(reason string) error
}

// Config holds the Hub's dependencies.
type Config struct {
	Store Store
	// Trust returns the admin anchors (the server's admin CAs).
	Trust func() *signing.Trust
	Now   func() time.Time
	Logf  func(format string, args ...any)
	// FanOut is how many frames are written at once when an action is
	// relayed (default 256).
	FanOut int
	// WriteTimeout bounds one frame write (default 10 s).
	WriteTimeout time.Duration
	// IdleTimeout closes a session silent that long (default
	// wire.UplinkIdleTimeout).
	IdleTimeout time.Duration
}

// Hub holds the connected sessions. It is safe for concurrent use.
type Hub struct {
	cfg Config

	mu       sync.RWMutex
	sessions map[string]*session // by lower-case host uuid
	closed   bool

	// ctx bounds the sessions started with Start (cancelled by Close).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Close ends every session and refuses new ones (server shutdown: hijacked
// websocket connections outlive http.Server.Shutdown otherwise).
func (h *Hub) Close() {
	h.cancel()
	h.mu.Lock()
	h.closed = true
	ss := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	for _, s := range ss {
		s.conn.Close("server shutting down")
	}
	h.wg.Wait()
}

// Start runs the session of host on conn in its own goroutine, bounded by
// the hub's life rather than by an HTTP request: the handler that
// upgraded the connection returns at once, so the request and its
// buffers are not kept for the life of the session.
//
// The session is registered before Start returns: the host counts as
// connected as soon as its upgrade is answered.
func (h *Hub) Start(host string, conn Conn) {
	h.wg.Add(1)
	s := h.register(host, conn)
	if s == nil {
		h.wg.Done()
		return
	}
	go func() {
		defer h.wg.Done()
		h.run(h.ctx, s)
	}()
}

type session struct {
	host string
	conn Conn
	wmu  sync.Mutex // one writer at a time
	done chan struct{}
}

// New returns a Hub.
func New(cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.FanOut <= 0 {
		cfg.FanOut = 256
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = wire.UplinkIdleTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{cfg: cfg, sessions: map[string]*session{}, ctx: ctx, cancel: cancel}
}

// Count returns the number of connected sessions.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.sessions)
}

// Connected reports whether host has a session.
func (h *Hub) Connected(host string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.sessions[strings.ToLower(host)] != nil
}

// noNonces lets the server run the agents' checks minus the replay cache
// (the store's primary key refuses a second submission instead).
type noNonces struct{}

func (noNonces) Seen(context.Context, string, time.Time) (bool, error) { return false, nil }

// maxPendingPerConnect bounds the actions sent to a host when it connects.
const maxPendingPerConnect = 100

// Submit accepts raw, an action signed by the admin whose certificate has
// fingerprint adminFP (the caller authenticated the request and checked
// the trigger_action right): the signature, the signer's chain to the
// admin CAs, its role and the time window are checked as an agent would,
// and the signer must be that admin. The action is stored, then written to
// the target hosts that are connected; the others get it when they
// connect, until it expires.
func (h *Hub) Submit(ctx context.Context, raw []byte, adminFP string) (wire.ActionAccepted, error) {
	s, err := action.Parse(raw)
	if err != nil {
		return wire.ActionAccepted{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := h.cfg.Now()
	var trust *signing.Trust
	if h.cfg.Trust != nil {
		trust = h.cfg.Trust()
	}
	if trust == nil {
		return wire.ActionAccepted{}, fmt.Errorf("%w: no admin CA configured on the server", ErrForbidden)
	}
	v := action.Verifier{Trust: trust, Host: s.Action.Hosts[0], Nonces: noNonces{}, Now: func() time.Time { return now }}
	signer, err := v.Verify(ctx, s)
	if err != nil {
		return wire.ActionAccepted{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if fp := signing.Fingerprint(signer); fp != adminFP {
		return wire.ActionAccepted{}, fmt.Errorf("%w: the action is signed by %q, not by the admin who sends it", ErrForbidden, signer.Subject.CommonName)
	}
	a := StoredAction{
		ID: s.Action.Nonce, Kind: s.Action.Action, Packages: s.Action.Args.Packages,
		Signer: signer.Subject.CommonName, SignerFP: adminFP,
		IssuedAt: s.Action.IssuedAt.UTC(), ExpiresAt: s.Action.ExpiresAt.UTC(), Received: now.UTC(),
		Body: raw,
	}
	for _, host := range s.Action.Hosts {
		a.Hosts = append(a.Hosts, strings.ToLower(host))
	}
	if err := h.cfg.Store.PutAction(ctx, a); err != nil {
		return wire.ActionAccepted{}, fmt.Errorf("store action: %w", err)
	}
	frame, err := json.Marshal(wire.UplinkMessage{Type: wire.UplinkAction, Action: raw})
	if err != nil {
		return wire.ActionAccepted{}, err
	}
	connected := h.fanOut(a.Hosts, frame)
	return wire.ActionAccepted{ID: a.ID, Connected: connected, Hosts: len(a.Hosts)}, nil
}

// fanOut writes frame to the connected sessions of hosts, FanOut at a
// time, and returns how many were written.
func (h *Hub) fanOut(hosts []string, frame []byte) int {
	h.mu.RLock()
	targets := make([]*session, 0, min(len(hosts), len(h.sessions)))
	for _, host := range hosts {
		if s := h.sessions[host]; s != nil {
			targets = append(targets, s)
		}
	}
	h.mu.RUnlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
		sem  = make(chan struct{}, h.cfg.FanOut)
	)
	for _, s := range targets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := h.write(s, frame); err != nil {
				h.cfg.Logf("relay: %s: %v", s.host, err)
				return
			}
			mu.Lock()
			sent++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return sent
}

// write sends one frame to s; a failed write closes the session.
func (h *Hub) write(s *session, frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, frame); err != nil {
		s.conn.Close("write failed")
		return err
	}
	return nil
}

// Serve runs the session of host (authenticated by the caller) on conn
// until it ends: a later connection of the same host replaces it, the
// connection breaks or stays silent IdleTimeout, or ctx ends. The actions
// pending for the host are sent first.
func (h *Hub) Serve(ctx context.Context, host string, conn Conn) {
	if s := h.register(host, conn); s != nil {
		h.run(ctx, s)
	}
}

// register makes conn the session of host (closing an older one); nil
// when the hub is closed.
func (h *Hub) register(host string, conn Conn) *session {
	s := &session{host: strings.ToLower(host), conn: conn, done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.Close("server shutting down")
		return nil
	}
	old := h.sessions[s.host]
	h.sessions[s.host] = s
	h.mu.Unlock()
	if old != nil {
		old.conn.Close("replaced by a new connection")
	}
	return s
}

// run serves the registered session s until it ends.
func (h *Hub) run(ctx context.Context, s *session) {
	conn := s.conn
	defer func() {
		h.mu.Lock()
		if h.sessions[s.host] == s {
			delete(h.sessions, s.host)
		}
		h.mu.Unlock()
		conn.Close("session ended")
	}()
	if err := h.sendPending(ctx, s); err != nil {
		h.cfg.Logf("relay: %s: pending actions: %v", s.host, err)
		return
	}
	// One idle timer per session, pushed back by every frame: a session
	// silent for IdleTimeout is closed, which ends the Read below.
	idle := time.AfterFunc(h.cfg.IdleTimeout, func() { conn.Close("idle") })
	defer idle.Stop()
	for {
		data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		idle.Reset(h.cfg.IdleTimeout)
		h.handle(ctx, s, data)
	}
}

// sendPending writes the actions still pending for s's host.
func (h *Hub) sendPending(ctx context.Context, s *session) error {
	pending, err := h.cfg.Store.PendingActions(ctx, s.host, h.cfg.Now(), maxPendingPerConnect)
	if err != nil {
		return err
	}
	for _, a := range pending {
		frame, err := json.Marshal(wire.UplinkMessage{Type: wire.UplinkAction, Action: a.Body})
		if err != nil {
			return err
		}
		if err := h.write(s, frame); err != nil {
			return err
		}
	}
	return nil
}

// maxResultMessage bounds the message of a result kept by the server.
const maxResultMessage = 64 << 10

// handle processes one frame from the agent; bad frames are logged and
// dropped, never fatal to the server.
func (h *Hub) handle(ctx context.Context, s *session, data []byte) {
	var m wire.UplinkMessage
	if err := json.Unmarshal(data, &m); err != nil {
		h.cfg.Logf("relay: %s: malformed frame: %v", s.host, err)
		return
	}
	switch m.Type {
	case wire.UplinkPing:
	case wire.UplinkResult:
		if m.Result == nil {
			return
		}
		if err := h.record(ctx, s.host, *m.Result); err != nil {
			h.cfg.Logf("relay: %s: result: %v", s.host, err)
		}
	default:
		h.cfg.Logf("relay: %s: unexpected frame type %.40q", s.host, m.Type)
	}
}

// record applies an agent's result: states only move forward, a final
// state is never changed, and a duplicate only confirms the delivery.
func (h *Hub) record(ctx context.Context, host string, r wire.ActionResult) error {
	st := wire.HostActionState{Host: host, State: r.State, Progress: min(max(r.Progress, 0), 100), Message: r.Message, Updated: h.cfg.Now().UTC()}
	if len(st.Message) > maxResultMessage {
		st.Message = strings.ToValidUTF8(st.Message[:maxResultMessage], "")
	}
	var from []string
	switch r.State {
	case wire.ActionReceived:
		from = []string{wire.ActionPending}
	case wire.ActionDuplicate:
		st.State, st.Message = wire.ActionReceived, ""
		from = []string{wire.ActionPending}
	case wire.ActionRunning:
		from = []string{wire.ActionPending, wire.ActionReceived, wire.ActionRunning}
	case wire.ActionRefused, wire.ActionDone, wire.ActionError, wire.ActionCancelled:
		from = []string{wire.ActionPending, wire.ActionReceived, wire.ActionRunning}
	default:
		return fmt.Errorf("unknown state %.40q", r.State)
	}
	_, err := h.cfg.Store.SetActionState(ctx, r.ID, host, st, from)
	return err
}

// Actions returns the last limit actions, newest first.
func (h *Hub) Actions(ctx context.Context, limit int) ([]wire.ActionSummary, error) {
	return h.cfg.Store.ListActions(ctx, limit, h.cfg.Now())
}

// Action returns one action and where it stands on each host.
func (h *Hub) Action(ctx context.Context, id string) (wire.ActionDetail, error) {
	d, err := h.cfg.Store.ActionDetail(ctx, id, h.cfg.Now())
	if err != nil {
		return d, fmt.Errorf("action %.80q: %w", id, err)
	}
	return d, nil
}

// RequestStatus asks host, when connected, to send a status report now.
func (h *Hub) RequestStatus(host string) bool {
	h.mu.RLock()
	s := h.sessions[strings.ToLower(host)]
	h.mu.RUnlock()
	if s == nil {
		return false
	}
	frame, _ := json.Marshal(wire.UplinkMessage{Type: wire.UplinkStatus})
	return h.write(s, frame) == nil
}
