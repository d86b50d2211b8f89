// Package loadgen is a load generator for waptserver, like Fleet's
// osquery-perf: it registers simulated hosts (each with its own ECDSA key
// and certificate) and posts their signed status reports at a fixed rate,
// then reports throughput and latency percentiles. In session mode
// (RunSessions) the hosts open their websocket uplinks instead and stay
// connected, an admin-signed action is fanned out to some of them and its
// delivery timed, and the server's memory is read (a server spawned as its
// own process, SpawnServer, is measured alone).
//
// Pacing is open-loop: post i is scheduled at start + i/rate whatever the
// server's speed, and its latency is measured from that scheduled time, so
// a slow server shows up as latency instead of a lower offered rate
// (coordinated omission is not hidden).
package loadgen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// Defaults of Config's zero fields.
const (
	DefaultPackages = 50
	DefaultChanges  = 2
	DefaultWorkers  = 64
	DefaultTimeout  = 30 * time.Second
)

// maxErrors is how many distinct error messages a Result keeps.
const maxErrors = 5

// Config describes one load run.
type Config struct {
	// Server is the server's base URL (http or https).
	Server string
	// RootCAs verifies the server's TLS certificate (nil: system roots).
	RootCAs *x509.CertPool
	// Token is the enrollment token the hosts register with.
	Token string
	// Hosts is the number of simulated hosts to register.
	Hosts int
	// Rate is the total number of status posts per second, all hosts
	// together, and Duration how long they are sent for. Zero Rate or
	// Duration only registers the hosts.
	Rate     float64
	Duration time.Duration
	// Packages is the number of packages in each report (DefaultPackages
	// when zero); Changes how many of them change state between two
	// reports of a host (DefaultChanges when zero).
	Packages int
	Changes  int
	// Workers bounds the requests in flight, for registration and posts
	// (DefaultWorkers when zero). Posts that find every worker busy wait
	// in a queue, and that wait counts in their latency.
	Workers int
	// Prefix starts every host UUID ("loadgen-" and a random suffix when
	// empty, so that runs against one server do not collide).
	Prefix string
	// Seed makes the package state changes reproducible.
	Seed uint64
	// Timeout bounds each request (DefaultTimeout when zero).
	Timeout time.Duration
	// Warmup sends each host's first report, whose packages are all new
	// to the server (an insert per package), before the timed run, so that
	// the run measures the steady state: a few changes per report.
	Warmup bool
	// OnPostStart, when set, is called as the post phase starts, after
	// registration (to start a profile, for instance).
	OnPostStart func()
	// Logf reports progress (nothing when nil).
	Logf func(format string, args ...any)
}

// Latency holds latency percentiles.
type Latency struct {
	P50, P90, P95, P99, Max time.Duration
}

// Result is the outcome of a run.
type Result struct {
	// Hosts is the number of hosts registered, RegisterFailed the number
	// that failed, in RegisterTime (key generation included).
	Hosts, RegisterFailed int
	RegisterTime          time.Duration
	// WarmupTime is how long the first reports took with Config.Warmup,
	// WarmupFailed how many failed.
	WarmupTime   time.Duration
	WarmupFailed int
	// Rate is the offered rate (posts per second). Scheduled posts were
	// due in the run; Sent were sent, OK accepted and Failed refused or
	// lost. Elapsed runs from the first scheduled post to the last answer.
	Rate                        float64
	Scheduled, Sent, OK, Failed int
	Elapsed                     time.Duration
	// Latency is measured from each post's scheduled time to its answer.
	Latency Latency
	// Errors are samples of the distinct errors met, registration
	// included.
	Errors []string
}

// RegisterRate is the registration throughput in hosts per second.
func (r Result) RegisterRate() float64 { return perSecond(r.Hosts, r.RegisterTime) }

// Throughput is the achieved rate of accepted posts per second.
func (r Result) Throughput() float64 { return perSecond(r.OK, r.Elapsed) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (c Config) withDefaults() (Config, error) {
	if c.Packages == 0 {
		c.Packages = DefaultPackages
	}
	if c.Changes == 0 {
		c.Changes = DefaultChanges
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if c.Prefix == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		c.Prefix = fmt.Sprintf("loadgen-%x-", b)
	}
	var errs []error
	switch {
	case c.Server == "":
		errs = append(errs, errors.New("no server URL"))
	case c.Token == "":
		errs = append(errs, errors.New("no enrollment token"))
	}
	if c.Hosts < 1 {
		errs = append(errs, fmt.Errorf("hosts = %d, want at least 1", c.Hosts))
	}
	if c.Rate < 0 || c.Duration < 0 || c.Packages < 0 || c.Changes < 0 || c.Workers < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("negative rate, duration, packages, changes, workers or timeout"))
	}
	if !wire.ValidUUID(c.Prefix + "000000") {
		errs = append(errs, fmt.Errorf("prefix %q: host UUIDs allow [A-Za-z0-9._-], %d characters at most", c.Prefix, wire.MaxUUIDLen))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("loadgen: %w", err)
	}
	return c, nil
}

// Run registers cfg.Hosts hosts, then posts their status reports at
// cfg.Rate for cfg.Duration. Failed requests are counted in the Result,
// not returned as errors; Run fails on a bad Config, when no host could
// register, or when ctx ends (with the partial Result).
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	tr := newTransport(cfg)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	errs := &errorSamples{}

	res := Result{Rate: cfg.Rate}
	hosts, regTime, failed := register(ctx, cfg, hc, errs)
	res.Hosts, res.RegisterFailed, res.RegisterTime = len(hosts), failed, regTime
	cfg.Logf("registered %d hosts (%d failed) in %s", len(hosts), failed, regTime.Round(time.Millisecond))
	if err := ctx.Err(); err != nil {
		res.Errors = errs.list()
		return res, err
	}
	if len(hosts) == 0 {
		res.Errors = errs.list()
		return res, fmt.Errorf("loadgen: no host registered: %s", errs.first())
	}
	if cfg.Warmup {
		start := time.Now()
		res.WarmupFailed = warmup(ctx, cfg, hosts, errs)
		res.WarmupTime = time.Since(start)
		cfg.Logf("first reports of %d hosts (%d failed) in %s", len(hosts), res.WarmupFailed, res.WarmupTime.Round(time.Millisecond))
		if err := ctx.Err(); err != nil {
			res.Errors = errs.list()
			return res, err
		}
	}
	if cfg.Rate > 0 && cfg.Duration > 0 {
		if cfg.OnPostStart != nil {
			cfg.OnPostStart()
		}
		post(ctx, cfg, hosts, &res, errs)
	}
	res.Errors = errs.list()
	return res, ctx.Err()
}

// newTransport returns the transport of the registrations and posts.
func newTransport(cfg Config) *http.Transport {
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs},
		MaxIdleConns:        2 * cfg.Workers,
		MaxIdleConnsPerHost: 2 * cfg.Workers,
		IdleConnTimeout:     90 * time.Second,
		// HTTP/1.1 (no ForceAttemptHTTP2): a connection per busy worker,
		// as separate agents have, rather than one multiplexed stream.
	}
}

// parallel calls fn(i) for every i in [0, n), workers at a time, and
// returns when all calls have returned; it starts no new call once ctx ends.
func parallel(ctx context.Context, workers, n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// register generates a key and a CSR for each host and registers it with
// the enrollment token, cfg.Workers at a time.
func register(ctx context.Context, cfg Config, hc *http.Client, errs *errorSamples) ([]*host, time.Duration, int) {
	anon, err := client.New(client.Config{BaseURL: cfg.Server, HTTPClient: hc, Timeout: cfg.Timeout})
	if err != nil {
		errs.add(err, "")
		return nil, 0, cfg.Hosts
	}
	start := time.Now()
	hosts := make([]*host, cfg.Hosts)
	parallel(ctx, cfg.Workers, cfg.Hosts, func(n int) {
		h, err := registerHost(ctx, cfg, anon, hc, n)
		if err != nil {
			errs.add(err, hostUUID(cfg, n))
			return
		}
		hosts[n] = h
	})
	elapsed := time.Since(start)
	hosts = slices.DeleteFunc(hosts, func(h *host) bool { return h == nil })
	return hosts, elapsed, cfg.Hosts - len(hosts)
}

// hostUUID is the UUID of simulated host n.
func hostUUID(cfg Config, n int) string { return fmt.Sprintf("%s%06d", cfg.Prefix, n) }

// identity is a registered host's key and certificate.
type identity struct {
	uuid string
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// enroll makes the identity of host n and registers it.
func enroll(ctx context.Context, cfg Config, anon *client.Client, n int) (identity, error) {
	uuid := hostUUID(cfg, n)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return identity{}, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: uuid}}, key)
	if err != nil {
		return identity{}, fmt.Errorf("CSR of %s: %w", uuid, err)
	}
	resp, err := anon.Register(ctx, wire.RegisterRequest{
		UUID: uuid, FQDN: fmt.Sprintf("pc-%06d.loadgen.lan", n), Token: cfg.Token,
		CSR:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
		Sections: map[string]json.RawMessage{"host": hostSection(n)},
	})
	if err != nil {
		return identity{}, err
	}
	chain, err := certs.ParseCertsPEM([]byte(resp.Certificate))
	if err != nil {
		return identity{}, fmt.Errorf("certificate of %s: %w", uuid, err)
	}
	return identity{uuid: uuid, key: key, cert: chain[0]}, nil
}

// registerHost registers host n and returns it, ready to post.
func registerHost(ctx context.Context, cfg Config, anon *client.Client, hc *http.Client, n int) (*host, error) {
	id, err := enroll(ctx, cfg, anon, n)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{BaseURL: cfg.Server, HTTPClient: hc, Timeout: cfg.Timeout, Signer: id.key, Cert: id.cert})
	if err != nil {
		return nil, err
	}
	h := newHost(id.uuid, n, cfg.Packages, cfg.Seed, time.Now().Add(-30*24*time.Hour).Truncate(time.Second))
	h.client = c
	return h, nil
}

// warmup posts one report per host, cfg.Workers at a time, as fast as
// the server takes them, and returns the number that failed.
func warmup(ctx context.Context, cfg Config, hosts []*host, errs *errorSamples) int {
	var failed atomic.Int64
	parallel(ctx, cfg.Workers, len(hosts), func(i int) {
		h := hosts[i]
		h.mu.Lock()
		err := h.client.PostStatus(ctx, h.uuid, h.report(time.Now(), 0))
		h.mu.Unlock()
		if err != nil {
			failed.Add(1)
			errs.add(err, h.uuid)
		}
	})
	return int(failed.Load())
}

// job is one scheduled status post.
type job struct {
	host *host
	at   time.Time // when it was due
}

// post sends the status reports, open-loop: a scheduler enqueues post i at
// start + i/rate, round-robin over the hosts, and cfg.Workers workers send
// them. Latency runs from the scheduled time.
func post(ctx context.Context, cfg Config, hosts []*host, res *Result, errs *errorSamples) {
	total := int(cfg.Rate * cfg.Duration.Seconds())
	res.Scheduled = total
	jobs := make(chan job, min(total, 1<<16))
	lat := make([][]time.Duration, cfg.Workers)
	var sent, ok atomic.Int64
	var last atomic.Int64 // unix nanoseconds of the last answer
	start := time.Now()

	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue // drain without sending
				}
				j.host.mu.Lock()
				rep := j.host.report(time.Now(), cfg.Changes)
				err := j.host.client.PostStatus(ctx, j.host.uuid, rep)
				j.host.mu.Unlock()
				done := time.Now()
				lat[w] = append(lat[w], done.Sub(j.at))
				sent.Add(1)
				if err != nil {
					errs.add(err, j.host.uuid)
				} else {
					ok.Add(1)
				}
				for t := last.Load(); done.UnixNano() > t && !last.CompareAndSwap(t, done.UnixNano()); t = last.Load() {
				}
			}
		})
	}

	schedule(ctx, cfg.Rate, total, start, func(i int, at time.Time) bool {
		select {
		case jobs <- job{host: hosts[i%len(hosts)], at: at}:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(jobs)
	wg.Wait()

	res.Sent, res.OK = int(sent.Load()), int(ok.Load())
	res.Failed = res.Sent - res.OK
	if l := last.Load(); l > 0 {
		res.Elapsed = time.Unix(0, l).Sub(start)
	}
	res.Latency = percentiles(slices.Concat(lat...))
	cfg.Logf("sent %d of %d posts: %d ok, %d failed", res.Sent, total, res.OK, res.Failed)
}

// schedule calls emit(i, due time) for i in [0, total), each once it is
// due at start + i/rate, catching up in a burst when it wakes up late. It
// stops early when emit returns false or ctx ends.
func schedule(ctx context.Context, rate float64, total int, start time.Time, emit func(int, time.Time) bool) {
	due := func(i int) time.Time { return start.Add(time.Duration(float64(i) / rate * float64(time.Second))) }
	tick := time.NewTicker(max(time.Millisecond, time.Duration(float64(time.Second)/rate)))
	defer tick.Stop()
	for i := 0; i < total; {
		now := time.Now()
		for ; i < total && !due(i).After(now); i++ {
			if !emit(i, due(i)) {
				return
			}
		}
		if i == total {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// percentiles returns the nearest-rank percentiles of d (sorted in place).
func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return Latency{P50: at(0.50), P90: at(0.90), P95: at(0.95), P99: at(0.99), Max: d[len(d)-1]}
}

// errorSamples counts errors by message, the host's UUID replaced by
// "HOST" so that one failure met by every host is one line.
type errorSamples struct {
	mu     sync.Mutex
	byText map[string]int
	order  []string
}

func (e *errorSamples) add(err error, uuid string) {
	s := err.Error()
	if uuid != "" {
		s = strings.ReplaceAll(s, uuid, "HOST")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byText == nil {
		e.byText = map[string]int{}
	}
	if _, seen := e.byText[s]; !seen {
		if len(e.order) >= maxErrors {
			s = "other errors"
		}
		if _, seen := e.byText[s]; !seen {
			e.order = append(e.order, s)
		}
	}
	e.byText[s]++
}

func (e *errorSamples) first() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.order) == 0 {
		return "no error recorded"
	}
	return e.order[0]
}

// list returns each message with its count.
func (e *errorSamples) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.order))
	for i, s := range e.order {
		out[i] = fmt.Sprintf("%d× %s", e.byText[s], s)
	}
	return out
}
