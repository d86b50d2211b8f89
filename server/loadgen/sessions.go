package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/wire"
)

// Defaults of SessionConfig's zero fields.
const (
	DefaultFanOutTimeout = 60 * time.Second
	DefaultSettle        = 2 * time.Second
	// SessionsPerSourceIP is how many uplinks DefaultSourceIPs puts on one
	// local address: each has about 28,000 ephemeral ports on Linux.
	SessionsPerSourceIP = 20000
)

// SessionConfig describes a websocket session run: Sessions simulated
// agents register and open their uplinks (GET /api/v1/hosts/{uuid}/uplink,
// signed with their key), stay connected and ping; then, with FanOut, an
// admin signs an update action for FanOut of them and posts it, and the
// run times its delivery to every target session.
type SessionConfig struct {
	// Server, RootCAs and Token are as in Config.
	Server  string
	RootCAs *x509.CertPool
	Token   string
	// Sessions is the number of simulated agents.
	Sessions int
	// SourceIPs spreads the uplinks over the local addresses 127.0.0.1 to
	// 127.0.0.SourceIPs, each with its own ephemeral ports (the server must
	// be on loopback); 0 lets the system choose the address.
	SourceIPs int
	// Workers bounds the registrations and handshakes in flight
	// (DefaultWorkers when zero).
	Workers int
	// Prefix starts every host UUID (default: a random UUID-shaped prefix,
	// so that host names are 36 characters long like BIOS UUIDs: the
	// action frame carries every target's name).
	Prefix string
	// Timeout bounds each registration and handshake (DefaultTimeout when
	// zero).
	Timeout time.Duration
	// PingInterval is the period of each session's {"type":"ping"}, the
	// first one at a random time within it (wire.UplinkPingInterval when
	// zero).
	PingInterval time.Duration
	// FanOut is the number of connected hosts the action is sent to (0: no
	// action). Admin signs it and the POST; it must be registered on the
	// server with the trigger_action right.
	FanOut int
	Admin  Admin
	// FanOutTimeout bounds the wait for the action frames
	// (DefaultFanOutTimeout when zero).
	FanOutTimeout time.Duration
	// Settle is the pause between the last handshake and the memory
	// reading (DefaultSettle when zero, none when negative).
	Settle time.Duration
	// Hold keeps the sessions open that long after the fan-out, pinging.
	Hold time.Duration
	// ServerMem reads the server's memory (nil: not measured).
	ServerMem func() (Mem, error)
	// OnEstablished, when set, is called once the uplinks are open, after
	// the memory reading (to write a heap profile, for instance).
	OnEstablished func()
	// OnFanOut, when set, is called with true right before the action is
	// posted and with false once its frames have arrived (to profile the
	// fan-out, for instance).
	OnFanOut func(start bool)
	// Logf reports progress (nothing when nil).
	Logf func(format string, args ...any)
}

// SessionResult is the outcome of a session run.
type SessionResult struct {
	// Hosts registered, RegisterFailed did not, in RegisterTime.
	Hosts, RegisterFailed int
	RegisterTime          time.Duration
	// Sessions uplinks opened, DialFailed not, in DialTime, over SourceIPs
	// local addresses (0: the system's choice). Dropped is the number of
	// sessions that ended before the run did.
	Sessions, DialFailed, SourceIPs int
	DialTime                        time.Duration
	Dropped                         int
	// Server memory after the registrations (before any uplink), once the
	// uplinks are open, after the fan-out and after the hold; nil when not
	// measured.
	ServerBefore, ServerAtSessions, ServerAfterFanOut, ServerAfterHold *Mem
	// Self is the load generator's own memory at the end.
	Self *Mem
	// FanOut is the action's delivery, when one was sent.
	FanOut *FanOutResult
	// Pings sent by all sessions, PingsFailed failed; Other counts frames
	// other than the action.
	Pings, PingsFailed, Other int
	// Errors are samples of the distinct errors met.
	Errors []string
}

// FanOutResult is the delivery of one action to its target sessions.
type FanOutResult struct {
	// Targets is the number of target hosts, all connected when the action
	// was posted; Connected how many the server found connected.
	Targets, Connected int
	// ActionBytes is the size of the signed action, FrameBytes of the
	// frame each target receives.
	ActionBytes, FrameBytes int
	// Post is how long the POST took to be answered (the server answers
	// once it has written every frame).
	Post time.Duration
	// Received counts targets whose frame arrived intact, Corrupt those
	// whose frame did not hold the posted action, Missing those with no
	// frame within the timeout, Extra the frames that reached a session not
	// targeted.
	Received, Corrupt, Missing, Extra int
	// Latency runs from the start of the POST to each frame's arrival
	// (fully read); First is the time until the first one, Total until the
	// last one.
	Latency      Latency
	First, Total time.Duration
}

// BytesPerSession is the server's RSS growth per uplink, from before the
// first handshake to once all were open (0 when not measured).
func (r SessionResult) BytesPerSession() float64 {
	if r.ServerBefore == nil || r.ServerAtSessions == nil || r.Sessions == 0 {
		return 0
	}
	return (float64(r.ServerAtSessions.RSS) - float64(r.ServerBefore.RSS)) / float64(r.Sessions)
}

// DefaultSourceIPs is the number of loopback addresses for n sessions:
// ceil(n / SessionsPerSourceIP).
func DefaultSourceIPs(n int) int { return max(1, (n+SessionsPerSourceIP-1)/SessionsPerSourceIP) }

func (c SessionConfig) withDefaults() (SessionConfig, Config, error) {
	if c.PingInterval == 0 {
		c.PingInterval = wire.UplinkPingInterval
	}
	if c.FanOutTimeout == 0 {
		c.FanOutTimeout = DefaultFanOutTimeout
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Prefix == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		h := hex.EncodeToString(b[:])
		c.Prefix = h[:8] + "-" + h[8:12] + "-4" + h[12:15] + "-8" + h[15:18] + "-" + h[18:24] // and 6 digits

	}
	base := Config{
		Server: c.Server, RootCAs: c.RootCAs, Token: c.Token, Hosts: c.Sessions,
		Workers: c.Workers, Prefix: c.Prefix, Timeout: c.Timeout, Logf: c.Logf,
	}
	base, err := base.withDefaults()
	c.Workers, c.Timeout, c.Logf = base.Workers, base.Timeout, base.Logf
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if c.SourceIPs < 0 || c.SourceIPs > 254 {
		errs = append(errs, fmt.Errorf("loadgen: %d source addresses, want 0 to 254", c.SourceIPs))
	}
	if c.FanOut < 0 || c.FanOut > c.Sessions {
		errs = append(errs, fmt.Errorf("loadgen: fan-out to %d hosts, want 0 to the %d sessions", c.FanOut, c.Sessions))
	}
	if c.FanOut > 0 && (c.Admin.Key == nil || len(c.Admin.Chain) == 0) {
		errs = append(errs, errors.New("loadgen: a fan-out needs an admin key and certificate"))
	}
	if c.PingInterval < 0 || c.FanOutTimeout < 0 || c.Hold < 0 {
		errs = append(errs, errors.New("loadgen: negative ping interval, fan-out timeout or hold"))
	}
	return c, base, errors.Join(errs...)
}

// RunSessions registers cfg.Sessions hosts, opens their uplinks, sends the
// fan-out action and holds the sessions as cfg says, then closes them.
// Failures are counted in the SessionResult; RunSessions fails on a bad
// config, when no session opened, or when ctx ends.
func RunSessions(ctx context.Context, cfg SessionConfig) (SessionResult, error) {
	cfg, base, err := cfg.withDefaults()
	if err != nil {
		return SessionResult{}, err
	}
	errs := &errorSamples{}
	var res SessionResult
	defer func() { res.Errors = errs.list() }()

	tr := newTransport(base)
	hc := &http.Client{Transport: tr}
	ids, regTime := enrollAll(ctx, base, hc, errs)
	// The keep-alive connections would hold server sockets all run long.
	tr.CloseIdleConnections()
	res.Hosts, res.RegisterFailed, res.RegisterTime = len(ids), cfg.Sessions-len(ids), regTime
	cfg.Logf("registered %d hosts (%d failed) in %s", len(ids), res.RegisterFailed, regTime.Round(time.Millisecond))
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if len(ids) == 0 {
		return res, fmt.Errorf("loadgen: no host registered: %s", errs.first())
	}
	res.ServerBefore = readMem(cfg.ServerMem, errs)

	run, err := newSessionRun(cfg, errs)
	if err != nil {
		return res, err
	}
	res.SourceIPs = len(run.dialer.ips)
	defer run.close()
	start := time.Now()
	sessions := run.openAll(ctx, ids) // the keys are garbage from here on
	res.DialTime = time.Since(start)
	res.Sessions, res.DialFailed = len(sessions), res.Hosts-len(sessions)
	cfg.Logf("opened %d uplinks (%d failed) in %s", res.Sessions, res.DialFailed, res.DialTime.Round(time.Millisecond))
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if len(sessions) == 0 {
		return res, fmt.Errorf("loadgen: no uplink opened: %s", errs.first())
	}
	if cfg.Settle > 0 {
		sleep(ctx, cfg.Settle)
	}
	res.ServerAtSessions = readMem(cfg.ServerMem, errs)
	if cfg.OnEstablished != nil {
		cfg.OnEstablished()
	}

	if cfg.FanOut > 0 {
		fo, err := run.fanOut(ctx, sessions, hc)
		if err != nil {
			errs.add(err, "")
		}
		res.FanOut = fo
		res.ServerAfterFanOut = readMem(cfg.ServerMem, errs)
	}
	if cfg.Hold > 0 {
		cfg.Logf("holding %d sessions for %s", len(sessions), cfg.Hold)
		sleep(ctx, cfg.Hold)
		res.ServerAfterHold = readMem(cfg.ServerMem, errs)
	}
	res.Dropped = int(run.dropped.Load())
	res.Pings, res.PingsFailed, res.Other = int(run.pings.Load()), int(run.pingsFailed.Load()), int(run.other.Load())
	if m, err := ProcMem(0); err == nil {
		res.Self = &m
	}
	return res, ctx.Err()
}

// enrollAll registers n hosts, cfg.Workers at a time, and returns their
// identities.
func enrollAll(ctx context.Context, cfg Config, hc *http.Client, errs *errorSamples) ([]identity, time.Duration) {
	anon, err := client.New(client.Config{BaseURL: cfg.Server, HTTPClient: hc, Timeout: cfg.Timeout})
	if err != nil {
		errs.add(err, "")
		return nil, 0
	}
	start := time.Now()
	ids := make([]identity, cfg.Hosts)
	p := newProgress(cfg.Logf, "registered", cfg.Hosts)
	parallel(ctx, cfg.Workers, cfg.Hosts, func(n int) {
		id, err := enroll(ctx, cfg, anon, n)
		if err != nil {
			errs.add(err, hostUUID(cfg, n))
			return
		}
		ids[n] = id
		p.add()
	})
	return slices.DeleteFunc(ids, func(id identity) bool { return id.key == nil }), time.Since(start)
}

func readMem(f func() (Mem, error), errs *errorSamples) *Mem {
	if f == nil {
		return nil
	}
	m, err := f()
	if err != nil {
		if !errors.Is(err, ErrNoProcMem) {
			errs.add(fmt.Errorf("server memory: %w", err), "")
		}
		return nil
	}
	return &m
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// progress logs every tenth of a long phase.
type progress struct {
	logf      func(string, ...any)
	what      string
	n, step   int64
	done      atomic.Int64
	startTime time.Time
}

func newProgress(logf func(string, ...any), what string, n int) *progress {
	return &progress{logf: logf, what: what, n: int64(n), step: max(1, int64(n)/10), startTime: time.Now()}
}

func (p *progress) add() {
	if d := p.done.Add(1); d%p.step == 0 && d < p.n && p.n >= 1000 {
		p.logf("%s %d of %d (%s)", p.what, d, p.n, time.Since(p.startTime).Round(time.Millisecond))
	}
}

// sourceDialer dials TCP from the local addresses ips in turn (any
// address when ips is empty), so that many connections to one server
// address do not exhaust one address's ephemeral ports.
type sourceDialer struct {
	ips  []net.IP
	next atomic.Uint64
}

func (s *sourceDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if len(s.ips) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: s.ips[(s.next.Add(1)-1)%uint64(len(s.ips))]}
	}
	return d.DialContext(ctx, network, addr)
}

// loopbackIPs returns 127.0.0.1 to 127.0.0.n.
func loopbackIPs(n int) []net.IP {
	ips := make([]net.IP, n)
	for i := range ips {
		ips[i] = net.IPv4(127, 0, 0, byte(i+1))
	}
	return ips
}

// expectation is the action frame the targets should receive.
type expectation struct {
	frame  []byte // the frame the server sends: {"type":"action","action":<posted>}
	posted []byte // the signed action as posted
}

// sessionRun is the state the sessions share.
type sessionRun struct {
	cfg    SessionConfig
	base   *url.URL
	hc     *http.Client
	dialer *sourceDialer
	errs   *errorSamples

	expect  atomic.Pointer[expectation]
	pending atomic.Int64  // target frames still awaited
	allIn   chan struct{} // closed when pending reaches 0

	mu       sync.Mutex // guards sessions
	sessions []*session // open ones, for close
	readers  sync.WaitGroup
	stopping atomic.Bool

	dropped, pings, pingsFailed, other, extra, corrupt atomic.Int64
}

// session is one simulated agent's uplink: a goroutine reads its frames,
// a timer sends its pings.
type session struct {
	uuid   string
	conn   *websocket.Conn
	run    *sessionRun
	timer  *time.Timer
	target atomic.Bool
	got    atomic.Int64 // unix nanoseconds of the action frame's arrival
}

func newSessionRun(cfg SessionConfig, errs *errorSamples) (*sessionRun, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("loadgen: server URL: %w", err)
	}
	d := &sourceDialer{ips: loopbackIPs(cfg.SourceIPs)}
	tr := &http.Transport{
		DialContext:     d.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: cfg.RootCAs},
		// Every handshake gets its own connection, which the session keeps.
		DisableKeepAlives: true,
	}
	return &sessionRun{cfg: cfg, base: u, hc: &http.Client{Transport: tr}, dialer: d, errs: errs, allIn: make(chan struct{})}, nil
}

// openAll opens the uplinks of ids, cfg.Workers at a time, and returns
// the sessions that opened.
func (r *sessionRun) openAll(ctx context.Context, ids []identity) []*session {
	out := make([]*session, len(ids))
	p := newProgress(r.cfg.Logf, "opened", len(ids))
	parallel(ctx, r.cfg.Workers, len(ids), func(i int) {
		s, err := r.open(ctx, ids[i])
		if err != nil {
			r.errs.add(err, ids[i].uuid)
			return
		}
		out[i] = s
		p.add()
	})
	return slices.DeleteFunc(out, func(s *session) bool { return s == nil })
}

// open signs the upgrade request of id's uplink (over an empty body, as an
// agent does), opens the websocket and starts the session.
func (r *sessionRun) open(ctx context.Context, id identity) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	u := r.base.JoinPath("/api/v1/hosts", id.uuid, "uplink").String()
	// A throwaway request carries the signature headers: websocket.Dial
	// sends the same method and request URI.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if err := reqsign.Sign(req, nil, id.key, id.cert, time.Now(), nil); err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: r.hc, HTTPHeader: req.Header, CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, fmt.Errorf("uplink of %s: %w", id.uuid, err)
	}
	// The limit allocates nothing (frames are streamed, see frame), and an
	// action frame carries every target's name: the agent's limit.
	conn.SetReadLimit(wire.MaxUplinkMessage)
	s := &session{uuid: id.uuid, conn: conn, run: r}
	r.mu.Lock()
	if r.stopping.Load() {
		r.mu.Unlock()
		conn.CloseNow()
		return nil, errors.New("run stopped")
	}
	r.sessions = append(r.sessions, s)
	r.mu.Unlock()
	s.timer = time.AfterFunc(math.MaxInt64, s.ping) // armed below, once s.timer is set
	s.timer.Reset(mrand.N(r.cfg.PingInterval) + 1)
	r.readers.Add(1)
	go s.read()
	return s, nil
}

// close ends every session and waits for their readers.
func (r *sessionRun) close() {
	r.mu.Lock()
	r.stopping.Store(true)
	ss := r.sessions
	r.sessions = nil
	r.mu.Unlock()
	for _, s := range ss {
		s.timer.Stop()
		s.conn.CloseNow()
	}
	r.readers.Wait()
}

var pingFrame = []byte(`{"type":"` + wire.UplinkPing + `"}`)

// ping sends a heartbeat and arms the next one.
func (s *session) ping() {
	r := s.run
	if r.stopping.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := s.conn.Write(ctx, websocket.MessageText, pingFrame)
	cancel()
	if err != nil {
		if !r.stopping.Load() {
			r.pingsFailed.Add(1)
			r.errs.add(fmt.Errorf("ping of %s: %w", s.uuid, err), s.uuid)
		}
		return
	}
	r.pings.Add(1)
	s.timer.Reset(r.cfg.PingInterval)
}

// read reads the session's frames until the connection ends.
func (s *session) read() {
	r := s.run
	defer r.readers.Done()
	for {
		_, rd, err := s.conn.Reader(context.Background())
		if err != nil {
			s.timer.Stop()
			if !r.stopping.Load() {
				r.dropped.Add(1)
				r.errs.add(fmt.Errorf("uplink of %s closed: %w", s.uuid, err), s.uuid)
			}
			return
		}
		r.frame(s, rd)
	}
}

// frameBufs are the read buffers of frames being compared.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// frame reads one frame from rd and, when it is the expected action,
// records its arrival: it is compared with the expected frame as it is
// read, so that no copy of it is kept.
func (r *sessionRun) frame(s *session, rd io.Reader) {
	exp := r.expect.Load()
	bp := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(bp)
	if exp == nil {
		if _, err := io.CopyBuffer(io.Discard, rd, *bp); err == nil {
			r.other.Add(1)
		}
		return
	}
	same, full, err := readEqual(rd, exp.frame, *bp)
	now := time.Now()
	if err != nil {
		return // the connection broke: read reports it
	}
	intact := same
	if !same {
		// Another framing of the same action is fine: what must arrive
		// unchanged is the signed action.
		var m wire.UplinkMessage
		if json.Unmarshal(full, &m) != nil || m.Type != wire.UplinkAction {
			r.other.Add(1)
			return
		}
		intact = bytes.Equal(m.Action, exp.posted)
	}
	if !s.target.Load() {
		r.extra.Add(1)
		return
	}
	if !s.got.CompareAndSwap(0, now.UnixNano()) {
		r.extra.Add(1) // a second copy
		return
	}
	if !intact {
		r.corrupt.Add(1)
		r.errs.add(fmt.Errorf("action frame of %s differs from the posted action", s.uuid), s.uuid)
	}
	if r.pending.Add(-1) == 0 {
		close(r.allIn)
	}
}

// readEqual reads rd to its end with buf and reports whether it held
// exactly want. When it did not, full is what it held.
func readEqual(rd io.Reader, want, buf []byte) (same bool, full []byte, err error) {
	off := 0
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			switch {
			case full != nil:
				full = append(full, buf[:n]...)
			case off+n <= len(want) && bytes.Equal(buf[:n], want[off:off+n]):
				off += n
			default:
				full = append(append(make([]byte, 0, off+n), want[:off]...), buf[:n]...)
			}
		}
		if err == io.EOF {
			if full == nil && off == len(want) {
				return true, nil, nil
			}
			if full == nil {
				full = slices.Clone(want[:off])
			}
			return false, full, nil
		}
		if err != nil {
			return false, nil, err
		}
	}
}

// fanOut signs an update action for cfg.FanOut of the sessions, spread
// evenly over them, posts it as the admin and waits for every target's
// frame.
func (r *sessionRun) fanOut(ctx context.Context, sessions []*session, hc *http.Client) (*FanOutResult, error) {
	m := min(r.cfg.FanOut, len(sessions))
	fo := &FanOutResult{Targets: m}
	targets := make([]*session, m)
	hosts := make([]string, m)
	for i := range targets {
		targets[i] = sessions[i*len(sessions)/m]
		hosts[i] = targets[i].uuid
	}
	a, err := action.New(action.KindUpdate, hosts, action.Args{}, time.Now(), 0)
	if err != nil {
		return fo, err
	}
	signed, err := action.Sign(a, r.cfg.Admin.Key, r.cfg.Admin.Chain)
	if err != nil {
		return fo, err
	}
	raw, err := signed.Marshal()
	if err != nil {
		return fo, err
	}
	// What the client posts (compacted JSON: raw already is).
	posted, err := json.Marshal(json.RawMessage(raw))
	if err != nil {
		return fo, err
	}
	frame := slices.Concat([]byte(`{"type":"`+wire.UplinkAction+`","action":`), posted, []byte(`}`))
	fo.ActionBytes, fo.FrameBytes = len(posted), len(frame)
	admin, err := client.New(client.Config{
		BaseURL: r.cfg.Server, HTTPClient: hc, Timeout: r.cfg.FanOutTimeout,
		Signer: r.cfg.Admin.Key, Cert: r.cfg.Admin.Chain[0],
	})
	if err != nil {
		return fo, err
	}
	for _, s := range targets {
		s.target.Store(true)
	}
	r.pending.Store(int64(m))
	r.expect.Store(&expectation{frame: frame, posted: posted})

	r.cfg.Logf("posting an update action for %d hosts (%d bytes)", m, len(posted))
	type answer struct {
		acc wire.ActionAccepted
		err error
		at  time.Time
	}
	answered := make(chan answer, 1)
	if r.cfg.OnFanOut != nil {
		r.cfg.OnFanOut(true)
		defer r.cfg.OnFanOut(false)
	}
	start := time.Now()
	go func() {
		acc, err := admin.SubmitAction(ctx, posted)
		answered <- answer{acc, err, time.Now()}
	}()
	timeout := time.NewTimer(r.cfg.FanOutTimeout)
	defer timeout.Stop()
	var postErr error
	waitAll, waitPost := true, true
	for waitAll || waitPost {
		select {
		case <-r.allIn:
			waitAll = false
		case a := <-answered:
			waitPost = false
			fo.Post, fo.Connected, postErr = a.at.Sub(start), a.acc.Connected, a.err
			if a.err != nil {
				waitAll = false // nothing more will come
			}
		case <-timeout.C:
			waitAll, waitPost = false, false
		case <-ctx.Done():
			return fo, ctx.Err()
		}
	}
	r.expect.Store(nil)

	var lat []time.Duration
	for _, s := range targets {
		if t := s.got.Load(); t != 0 {
			lat = append(lat, time.Unix(0, t).Sub(start))
		}
	}
	fo.Corrupt = int(r.corrupt.Load())
	fo.Received = len(lat) - fo.Corrupt
	fo.Missing = m - len(lat)
	fo.Extra = int(r.extra.Load())
	fo.Latency = percentiles(lat)
	if len(lat) > 0 {
		fo.First, fo.Total = lat[0], fo.Latency.Max // sorted by percentiles
	}
	if postErr != nil {
		return fo, fmt.Errorf("post the action: %w", postErr)
	}
	if fo.Missing > 0 {
		return fo, fmt.Errorf("%d of %d action frames missing after %s", fo.Missing, m, r.cfg.FanOutTimeout)
	}
	return fo, nil
}
