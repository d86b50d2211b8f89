// Package fetch is the agent's HTTP access to repositories (engine.Fetcher):
// the conditional GET of a repository's signed Packages index, host
// packages, and resumable, size-bounded, hash-checked package downloads.
//
// Every request goes through resty with the configured *http.Client (its
// transport carries the TLS settings and client certificate). Config.Timeout
// is a stall timeout, not a deadline: a request fails when no response
// header or body byte arrives for that long, so large downloads over slow
// links are not cut while they progress. Error messages name the URL
// (without credentials) and hold at most a short excerpt of a response body.
package fetch

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/go-resty/resty/v2"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/repoindex"
)

// Defaults used by New for zero Config fields.
const (
	DefaultUserAgent = "wapt-agent"
	DefaultTimeout   = 60 * time.Second
)

// Download retry policy: at most maxStalls attempts in a row without a new
// byte written (with backoff between them), at most maxAttempts in all.
const (
	maxStalls     = 4
	maxAttempts   = 20
	baseRetryWait = 500 * time.Millisecond
	maxRetryWait  = 5 * time.Second
)

// Other bounds.
const (
	maxSigSize       = 1 << 20 // Packages.sig
	maxExcerpt       = 120     // characters of a response body quoted in an error
	progressInterval = 100 * time.Millisecond
)

// Config configures a Fetcher. Every field is optional.
type Config struct {
	// Client is the HTTP client (transport, TLS configuration, proxy).
	// It is copied, never modified; nil → a resty default transport. A
	// Timeout set on it bounds every request, downloads included, so leave
	// it zero and use Config.Timeout.
	Client *http.Client
	// UserAgent is sent with every request (default DefaultUserAgent).
	UserAgent string
	// Timeout is how long a request may wait for the response headers or
	// for the next body bytes before it fails (default DefaultTimeout).
	Timeout time.Duration
	// MaxIndexSize bounds the Packages file (default repoindex.DefaultMaxSize).
	MaxIndexSize int64
	// Logf receives retries and resty's warnings (nil: discarded).
	Logf func(format string, args ...any)
	// HostSigner and HostCert, when set (a registered host), sign the host
	// package request so the server serves it to this host only.
	HostSigner crypto.Signer
	HostCert   *x509.Certificate
}

// Fetcher implements engine.Fetcher over HTTP. It is safe for concurrent
// use, but two Downloads to the same dest at once are not.
type Fetcher struct {
	rc           *resty.Client
	timeout      time.Duration
	maxIndexSize int64
	logf         func(format string, args ...any)
	retryWait    time.Duration // first backoff of Download; tests shorten it
	hostSigner   crypto.Signer
	hostCert     *x509.Certificate
}

var _ engine.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher for cfg.
func New(cfg Config) *Fetcher {
	f := build(cfg)
	f.hostSigner, f.hostCert = cfg.HostSigner, cfg.HostCert
	return f
}

func build(cfg Config) *Fetcher {
	hc := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		hc = &c
	}
	f := &Fetcher{
		timeout:      cfg.Timeout,
		maxIndexSize: cfg.MaxIndexSize,
		logf:         cfg.Logf,
		retryWait:    baseRetryWait,
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxIndexSize <= 0 {
		f.maxIndexSize = repoindex.DefaultMaxSize
	}
	if f.logf == nil {
		f.logf = func(string, ...any) {}
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	f.rc = resty.NewWithClient(hc).
		SetLogger(restyLogger{f.logf}).
		SetHeader("User-Agent", ua).
		SetDoNotParseResponse(true).
		SetRetryCount(0)
	return f
}

// restyLogger sends resty's errors and warnings to Logf.
type restyLogger struct{ logf func(string, ...any) }

func (l restyLogger) Errorf(format string, v ...any) { l.logf("fetch: "+format, v...) }
func (l restyLogger) Warnf(format string, v ...any)  { l.logf("fetch: "+format, v...) }
func (l restyLogger) Debugf(string, ...any)          {}

// errStalled is the cancel cause of a request that made no progress for
// the stall timeout.
var errStalled = errors.New("no data received")

// response is an open HTTP response; Close it.
type response struct {
	status        int
	header        http.Header
	contentLength int64 // -1 when unknown
	body          io.Reader
	close         func()
}

// Close releases the response and its stall timer.
func (r *response) Close() { r.close() }

// get sends one GET of u with the extra headers and returns the response,
// whatever its status. The request is cancelled when ctx is, or when no
// header or body byte arrives for f.timeout.
func (f *Fetcher) get(ctx context.Context, u string, hdr map[string]string) (*response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(f.timeout, func() { cancel(errStalled) })
	// fail ends the request after err, naming a stall as such.
	fail := func(err error) error {
		timer.Stop()
		if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
			err = fmt.Errorf("%w for %s", errStalled, f.timeout)
		}
		cancel(nil)
		return err
	}
	resp, err := f.rc.R().SetContext(ctx).SetHeaders(hdr).Get(u)
	if err != nil {
		if resp != nil && resp.RawResponse != nil {
			resp.RawResponse.Body.Close()
		}
		return nil, fmt.Errorf("GET %s: %w", redact(u), fail(err))
	}
	raw := resp.RawResponse
	timer.Reset(f.timeout)
	body := &stallReader{r: raw.Body, reset: func() { timer.Reset(f.timeout) }, fail: fail}
	return &response{
		status:        raw.StatusCode,
		header:        raw.Header,
		contentLength: raw.ContentLength,
		body:          body,
		close: func() {
			timer.Stop()
			raw.Body.Close()
			cancel(nil)
		},
	}, nil
}

// stallReader re-arms the stall timer on every read that returns data and
// turns a stall cancellation into a clear error.
type stallReader struct {
	r     io.Reader
	reset func()
	fail  func(error) error
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.reset()
	}
	if err != nil && err != io.EOF {
		err = s.fail(err)
	}
	return n, err
}

// StatusError is an unexpected HTTP status. It unwraps to engine.ErrNotFound
// for 404 and 410.
type StatusError struct {
	URL     string // without credentials
	Code    int
	Excerpt string // start of the response body, sanitised; may be empty
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.Code, http.StatusText(e.Code))
	switch e.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (access denied: check this host's certificate and the server's authorisation)"
	}
	if e.Excerpt != "" {
		msg += fmt.Sprintf(": %q", e.Excerpt)
	}
	return msg
}

// StatusCode returns the HTTP status.
func (e *StatusError) StatusCode() int { return e.Code }

// Unwrap maps 404 and 410 to engine.ErrNotFound.
func (e *StatusError) Unwrap() error {
	if e.Code == http.StatusNotFound || e.Code == http.StatusGone {
		return engine.ErrNotFound
	}
	return nil
}

// transient reports whether the status is worth a retry.
func (e *StatusError) transient() bool {
	return e.Code >= 500 || e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests
}

// statusError builds the error for an unexpected response, quoting at most
// maxExcerpt printable characters of its body.
func statusError(u string, r *response) *StatusError {
	e := &StatusError{URL: redact(u), Code: r.status}
	if r.status == http.StatusNotFound || r.status == http.StatusGone {
		return e
	}
	buf := make([]byte, 4*maxExcerpt)
	n, _ := io.ReadFull(r.body, buf)
	e.Excerpt = excerpt(buf[:n])
	return e
}

// excerpt keeps the printable start of b, with runs of spaces folded.
func excerpt(b []byte) string {
	var sb strings.Builder
	space := false
	for _, c := range strings.ToValidUTF8(string(b), "") {
		if sb.Len() >= maxExcerpt {
			sb.WriteString("…")
			break
		}
		switch {
		case unicode.IsSpace(c):
			space = sb.Len() > 0
			continue
		case !unicode.IsPrint(c):
			c = '.'
		}
		if space {
			sb.WriteByte(' ')
			space = false
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

// readBounded reads all of r, refusing more than limit bytes.
func readBounded(r io.Reader, limit int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > limit {
		return nil, false, nil
	}
	return b, true, nil
}

// redact returns u without its password and query (which may hold a token).
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<invalid URL>"
	}
	p.RawQuery, p.ForceQuery = "", false
	return p.Redacted()
}

// joinURL appends the escaped name to base.
func joinURL(base, name string) string {
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(name)
}
