// Package client is the Go client of the waptserver API (/api/v1/...), used
// by agents (registration, status posts) and by admin tools (wapt-get admin
// verbs, the console). Every request is signed with reqsign when the client
// has a Signer, GET included; a non-2xx answer is an *APIError that unwraps
// to the sentinel of its status (ErrNotFound, ErrForbidden, ...).
package client

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/wire"
)

// MaxResponseSize bounds the body of any answer the client reads.
const MaxResponseSize = 64 << 20

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "wapt-client/1"

// Config holds what a Client needs.
type Config struct {
	// BaseURL is the server root, such as "https://wapt.example.org:8443"
	// (a path prefix is kept).
	BaseURL string
	// HTTPClient carries the TLS roots and any client certificate; a copy
	// of it is used (nil: a plain http.Client). Redirects are not followed
	// unless it has its own CheckRedirect, since a signed request is bound
	// to its URL.
	HTTPClient *http.Client
	// Signer and Cert are the identity that signs every request (admin or
	// host). With no Signer requests go unsigned (token enrollment,
	// bootstrap admin registration).
	Signer crypto.Signer
	Cert   *x509.Certificate
	// Timeout bounds each request, response included; zero keeps
	// HTTPClient's (none for a plain one): use ctx deadlines then.
	Timeout time.Duration
	// UserAgent is sent with every request (DefaultUserAgent when empty).
	UserAgent string
	// Now is the signing clock (time.Now when nil).
	Now func() time.Time
}

// Client calls the waptserver API. It is safe for concurrent use.
type Client struct {
	rc     *resty.Client
	signer crypto.Signer
	cert   *x509.Certificate
	now    func() time.Time
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[:port][/prefix]", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base URL %q: no query or fragment allowed", cfg.BaseURL)
	}
	if (cfg.Signer == nil) != (cfg.Cert == nil) {
		return nil, errors.New("client: Signer and Cert go together")
	}
	if cfg.Cert != nil {
		pub, ok := cfg.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(cfg.Signer.Public()) {
			return nil, fmt.Errorf("client: certificate %q does not match the signing key", cfg.Cert.Subject.CommonName)
		}
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	if cfg.Timeout > 0 {
		hc.Timeout = cfg.Timeout
	}
	c := &Client{signer: cfg.Signer, cert: cfg.Cert, now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	c.rc = resty.NewWithClient(hc).
		SetBaseURL(strings.TrimRight(u.String(), "/")).
		SetLogger(quietLogger{}).
		SetHeader("User-Agent", ua).
		SetHeader("Accept", "application/json").
		SetResponseBodyLimit(MaxResponseSize).
		SetPreRequestHook(c.prepare)
	return c, nil
}

// ctxKey keys the body description a request carries to prepare.
type ctxKey int

const bodyKey ctxKey = 0

// body describes a request body for prepare: its SHA-256 (what is
// signed) and, for a streamed body, how to open it.
type body struct {
	sum  [sha256.Size]byte
	size int64
	open func() (io.ReadCloser, error) // nil: resty already set the body
}

// prepare runs on the final *http.Request, right before it is sent: it
// attaches a streamed body and signs the request.
func (c *Client) prepare(_ *resty.Client, req *http.Request) error {
	b, ok := req.Context().Value(bodyKey).(*body)
	if !ok {
		return errors.New("client: request without a body description")
	}
	if b.open != nil {
		rc, err := b.open()
		if err != nil {
			return err
		}
		req.Body, req.GetBody, req.ContentLength = rc, b.open, b.size
	}
	if c.signer == nil {
		return nil
	}
	return reqsign.SignDigest(req, b.sum, c.signer, c.cert, c.now(), nil)
}

// do sends one request with a JSON body (nil: none) and decodes a JSON
// answer into out (nil: ignored).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var data []byte
	if in != nil {
		var err error
		if data, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	r := c.rc.R().SetContext(context.WithValue(ctx, bodyKey, &body{sum: sha256.Sum256(data)}))
	if in != nil {
		r.SetHeader("Content-Type", "application/json").SetBody(data)
	}
	if len(query) > 0 {
		r.SetQueryParamsFromValues(query)
	}
	return c.send(r, method, path, out)
}

func (c *Client) send(r *resty.Request, method, path string, out any) error {
	resp, err := r.Execute(method, path)
	if err != nil {
		if errors.Is(err, resty.ErrResponseBodyTooLarge) {
			return fmt.Errorf("%s %s: answer larger than %d bytes", method, path, MaxResponseSize)
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if s := resp.StatusCode(); s < 200 || s > 299 {
		return fmt.Errorf("%s %s: %w", method, path, apiError(s, resp.Body(), resp.Header().Get("Location")))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body(), out); err != nil {
		return fmt.Errorf("%s %s: bad answer (%v): %s", method, path, err, excerpt(resp.Body(), maxExcerpt))
	}
	return nil
}

// Register asks for a host certificate (POST /api/v1/hosts/register). It
// is signed when the client has a Signer (an admin, or the host
// re-registering with its current key), unsigned otherwise (req.Token).
// The enrollment token also goes in a header, which the server checks
// before it reads the body of an unsigned registration.
func (c *Client) Register(ctx context.Context, req wire.RegisterRequest) (wire.RegisterResponse, error) {
	var resp wire.RegisterResponse
	data, err := json.Marshal(req)
	if err != nil {
		return resp, fmt.Errorf("register: %w", err)
	}
	r := c.rc.R().SetContext(context.WithValue(ctx, bodyKey, &body{sum: sha256.Sum256(data)})).
		SetHeader("Content-Type", "application/json").SetBody(data)
	if req.Token != "" {
		r.SetHeader(wire.HeaderEnrollmentToken, req.Token)
	}
	err = c.send(r, http.MethodPost, "/api/v1/hosts/register", &resp)
	return resp, err
}

// PostStatus sends a host's status report (POST /api/v1/hosts/{uuid}/status).
func (c *Client) PostStatus(ctx context.Context, uuid string, report wire.StatusReport) error {
	p, err := hostPath(uuid)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, p+"/status", nil, report, nil)
}

// HostQuery filters, sorts and pages ListHosts. Zero fields are left out.
type HostQuery struct {
	// Status is a host state (wire.States).
	Status string
	// Text matches name, uuid and other text fields.
	Text string
	// Package is a package request such as "firefox" or "firefox(<115)".
	Package string
	// OS matches the operating system.
	OS string
	// Group is a group package: hosts whose host package depends on it.
	Group string
	// Unit is an organizational unit DN: hosts in it or below it.
	Unit string
	// Software is a software filter on the inventory: "openssl",
	// "openssl<3.0.20", "firefox(>=128)", "python3*" (operators == = !=
	// < <= > >=; names case-insensitive; a final * matches a prefix).
	Software string
	// Manufacturer and Model match a substring of the DMI system
	// manufacturer and model.
	Manufacturer, Model string
	// RAMMin, RAMMax and DiskFreeMin bound the RAM and the free space of
	// the local disks, in bytes (0: no bound).
	RAMMin, RAMMax, DiskFreeMin int64
	// Duplicates keeps the hosts sharing their system UUID with another.
	Duplicates bool
	// SeenAfter and SeenBefore bound the last accepted status report (zero:
	// no bound; hosts that never reported match neither bound).
	SeenAfter, SeenBefore time.Time
	// Sort is the order: "name" (the server's default), "last_seen" or
	// "status"; Desc reverses it.
	Sort string
	Desc bool
	// Offset and Limit select a page.
	Offset, Limit int
}

// Values returns q as query parameters.
func (q HostQuery) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("status", q.Status)
	set("q", q.Text)
	set("package", q.Package)
	set("os", q.OS)
	set("group", q.Group)
	set("unit", q.Unit)
	set("software", q.Software)
	set("manufacturer", q.Manufacturer)
	set("model", q.Model)
	for k, n := range map[string]int64{"ram_min": q.RAMMin, "ram_max": q.RAMMax, "disk_free_min": q.DiskFreeMin} {
		if n > 0 {
			v.Set(k, strconv.FormatInt(n, 10))
		}
	}
	if q.Duplicates {
		v.Set("duplicates", "1")
	}
	set("sort", q.Sort)
	if q.Desc {
		v.Set("desc", "true")
	}
	if !q.SeenAfter.IsZero() {
		v.Set("seen_after", q.SeenAfter.UTC().Format(time.RFC3339))
	}
	if !q.SeenBefore.IsZero() {
		v.Set("seen_before", q.SeenBefore.UTC().Format(time.RFC3339))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// ListHosts returns one page of hosts (GET /api/v1/hosts).
func (c *Client) ListHosts(ctx context.Context, q HostQuery) (wire.HostList, error) {
	var l wire.HostList
	err := c.do(ctx, http.MethodGet, "/api/v1/hosts", q.Values(), nil, &l)
	return l, err
}

// ExportHosts writes every host matching q (its paging and order are
// ignored) with its inventory to w, as the server streams it (GET
// /api/v1/hosts/export): format is wire.ExportCSV, wire.ExportCSVRows or
// wire.ExportJSON. The size of the answer is not bounded; a transfer cut
// short is an error.
func (c *Client) ExportHosts(ctx context.Context, q HostQuery, format string, w io.Writer) error {
	const path = "/api/v1/hosts/export"
	v := q.Values()
	v.Del("offset")
	v.Del("limit")
	v.Del("sort")
	v.Del("desc")
	v.Set("format", format)
	r := c.rc.R().SetContext(context.WithValue(ctx, bodyKey, &body{sum: sha256.Sum256(nil)})).
		SetQueryParamsFromValues(v).SetDoNotParseResponse(true)
	if format == "csv" || format == "csv-rows" {
		r.SetHeader("Accept", "text/csv")
	}
	resp, err := r.Execute(http.MethodGet, path)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	raw := resp.RawBody()
	defer raw.Close()
	if s := resp.StatusCode(); s < 200 || s > 299 {
		b, _ := io.ReadAll(io.LimitReader(raw, 1<<20))
		return fmt.Errorf("GET %s: %w", path, apiError(s, b, resp.Header().Get("Location")))
	}
	if _, err := io.Copy(w, raw); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// Host returns a host's detail (GET /api/v1/hosts/{uuid}).
func (c *Client) Host(ctx context.Context, uuid string) (wire.HostDetail, error) {
	var d wire.HostDetail
	p, err := hostPath(uuid)
	if err != nil {
		return d, err
	}
	err = c.do(ctx, http.MethodGet, p, nil, nil, &d)
	return d, err
}

// HostHistory returns the last limit events of a host, newest first
// (GET /api/v1/hosts/{uuid}/history; limit 0: the server's default).
func (c *Client) HostHistory(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error) {
	var h wire.HostHistory
	p, err := hostPath(uuid)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if limit > 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	err = c.do(ctx, http.MethodGet, p+"/history", q, nil, &h)
	return h.Events, err
}

// Unregister removes a host and revokes its certificate (DELETE
// /api/v1/hosts/{uuid}).
func (c *Client) Unregister(ctx context.Context, uuid string) error {
	p, err := hostPath(uuid)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, p, nil, nil, nil)
}

// ListPackages lists the repository (GET /api/v1/packages).
func (c *Client) ListPackages(ctx context.Context) (wire.PackageList, error) {
	var l wire.PackageList
	err := c.do(ctx, http.MethodGet, "/api/v1/packages", nil, nil, &l)
	return l, err
}

// ListAdmins lists the registered admin certificates and their rights
// (GET /api/v1/admins; needs the admin right).
func (c *Client) ListAdmins(ctx context.Context) (wire.AdminList, error) {
	var l wire.AdminList
	err := c.do(ctx, http.MethodGet, "/api/v1/admins", nil, nil, &l)
	return l, err
}

// Package returns one package of the repository (GET
// /api/v1/packages/{filename}).
func (c *Client) Package(ctx context.Context, filename string) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	p, err := packagePath(filename)
	if err != nil {
		return info, err
	}
	err = c.do(ctx, http.MethodGet, p, nil, nil, &info)
	return info, err
}

// SetAdminRights replaces the rights of a registered admin certificate
// (PUT /api/v1/admins/{fingerprint}; needs the admin right).
func (c *Client) SetAdminRights(ctx context.Context, fingerprint string, rights []string) error {
	p, err := adminPath(fingerprint)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, p, nil, wire.AdminRightsRequest{Rights: rights}, nil)
}

// RemoveAdmin unregisters an admin certificate (DELETE
// /api/v1/admins/{fingerprint}; needs the admin right).
func (c *Client) RemoveAdmin(ctx context.Context, fingerprint string) error {
	p, err := adminPath(fingerprint)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, p, nil, nil, nil)
}

// AuditLog returns the last limit entries of the server's audit log, newest
// first (GET /api/v1/audit; needs the admin right; limit 0: 100).
func (c *Client) AuditLog(ctx context.Context, limit int) ([]wire.AuditEntry, error) {
	var l wire.AuditLog
	var q url.Values
	if limit > 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/audit", q, nil, &l)
	return l.Entries, err
}

// SubmitAction sends an action the admin signed (shared/action.Signed,
// marshalled) for the server to relay (POST /api/v1/actions; needs the
// trigger_action right and the request signed by the same admin).
func (c *Client) SubmitAction(ctx context.Context, signed []byte) (wire.ActionAccepted, error) {
	var acc wire.ActionAccepted
	if !json.Valid(signed) {
		return acc, fmt.Errorf("%w: the signed action is not JSON", ErrInvalid)
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/actions", nil, json.RawMessage(signed), &acc)
	return acc, err
}

// ListActions returns the last limit actions, newest first (GET
// /api/v1/actions; limit 0: the server's default).
func (c *Client) ListActions(ctx context.Context, limit int) ([]wire.ActionSummary, error) {
	var l wire.ActionList
	var q url.Values
	if limit > 0 {
		q = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/actions", q, nil, &l)
	return l.Actions, err
}

// Action returns an action and where it stands on each host (GET
// /api/v1/actions/{id}).
func (c *Client) Action(ctx context.Context, id string) (wire.ActionDetail, error) {
	var d wire.ActionDetail
	if id == "" || len(id) > 128 || strings.Trim(id, "0123456789abcdef") != "" {
		return d, fmt.Errorf("%w: action id %.80q", ErrInvalid, id)
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/actions/"+id, nil, nil, &d)
	return d, err
}

// UploadPackage sends the .wapt at path (POST /api/v1/packages). The file
// is hashed first, for the signature, then streamed as the body.
func (c *Client) UploadPackage(ctx context.Context, path string) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	f, err := os.Open(path)
	if err != nil {
		return info, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, err
	}
	if !st.Mode().IsRegular() {
		return info, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		return info, fmt.Errorf("read %s: %w", path, err)
	}
	b := &body{size: size, open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(f, 0, size)), nil
	}}
	h.Sum(b.sum[:0])
	r := c.rc.R().SetContext(context.WithValue(ctx, bodyKey, b)).SetHeader("Content-Type", "application/zip")
	err = c.send(r, http.MethodPost, "/api/v1/packages", &info)
	return info, err
}

// DeletePackage removes a package file from the repository (DELETE
// /api/v1/packages/{filename}).
func (c *Client) DeletePackage(ctx context.Context, filename string) error {
	p, err := packagePath(filename)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, p, nil, nil, nil)
}

func packagePath(filename string) (string, error) {
	if filename == "" || filename == "." || filename == ".." || strings.ContainsAny(filename, `/\`) {
		return "", fmt.Errorf("%w: package file name %q", ErrInvalid, filename)
	}
	return "/api/v1/packages/" + url.PathEscape(filename), nil
}

// adminPath checks an admin fingerprint: lowercase hex SHA-256.
func adminPath(fp string) (string, error) {
	if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: admin fingerprint %.80q (64 lowercase hex digits expected)", ErrInvalid, fp)
	}
	return "/api/v1/admins/" + fp, nil
}

// RegisterAdmin registers an admin certificate with its rights (POST
// /api/v1/admins): the first one with req.BootstrapPassword (the client
// may have no Signer), later ones signed by an admin with the admin right.
func (c *Client) RegisterAdmin(ctx context.Context, req wire.AdminRegisterRequest) error {
	return c.do(ctx, http.MethodPost, "/api/v1/admins", nil, req, nil)
}

func hostPath(uuid string) (string, error) {
	if !wire.ValidUUID(uuid) {
		return "", fmt.Errorf("%w: host uuid %.80q", ErrInvalid, uuid)
	}
	return "/api/v1/hosts/" + url.PathEscape(uuid), nil
}

// quietLogger drops resty's own log lines: errors are returned instead.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
