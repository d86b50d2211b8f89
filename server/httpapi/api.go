package httpapi

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/shared/reqsign"
)

// HostIssuer issues host certificates (server/pki).
type HostIssuer interface {
	SignHostCSR(csrPEM []byte, uuid string, now time.Time) (*x509.Certificate, error)
	HostCA() *x509.Certificate
	CheckEnrollmentToken(token string) bool
}

// AdminStore registers admin certificates (server/store).
type AdminStore interface {
	PutAdmin(ctx context.Context, a auth.Admin, now time.Time) error
	CountAdmins(ctx context.Context) (int, error)
	ListAdmins(ctx context.Context) ([]auth.Admin, error)
	SetAdminRights(ctx context.Context, fingerprint string, rights []string) error
	DeleteAdmin(ctx context.Context, fingerprint string) error
}

// Body limits.
const (
	maxJSONBody = 1 << 20 // admins, actions
	// maxStatusBody bounds status reports and registrations, which carry
	// inventory sections (inventory.MaxSectionTotal, 16 MiB) besides
	// packages and hashes.
	maxStatusBody   = 20 << 20
	maxRegisterBody = maxStatusBody
)

var (
	errTooLarge = errors.New("request body too large")
	errBadJSON  = errors.New("malformed JSON")
)

// readBody reads at most limit bytes of the request body.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadJSON, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: limit %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// decodeJSON decodes body strictly into v.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadJSON, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON value", errBadJSON)
	}
	return nil
}

// validator is a request body that checks its own fields.
type validator interface{ Validate() error }

// readRequest reads a JSON request body of at most limit bytes into v and
// validates it; it returns the raw body, which signatures cover.
func readRequest(r *http.Request, limit int64, v validator) ([]byte, error) {
	body, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(body, v); err != nil {
		return nil, err
	}
	return body, v.Validate()
}

// unsignedAnonymous reports a request with neither a signature nor a TLS
// client certificate: refused before its body is read, so anonymous
// clients cannot make the server read large bodies.
func unsignedAnonymous(r *http.Request) bool {
	return r.Header.Get(reqsign.HeaderSignature) == "" && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0)
}

// requireAdmin authenticates an admin over body and checks right.
func (h *api) requireAdmin(r *http.Request, body []byte, right string) (auth.Admin, error) {
	if h.cfg.Auth == nil {
		return auth.Admin{}, fmt.Errorf("%w: the admin API is not configured", auth.ErrUnauthenticated)
	}
	a, err := h.cfg.Auth.Admin(r.Context(), r, body)
	if err != nil {
		return a, err
	}
	return a, auth.Require(a, right)
}

// audit records a write in the audit log (and the server log). A failure
// to record is logged: the write itself already happened.
func (h *api) audit(r *http.Request, actor, action, target, detail string) {
	h.cfg.Logf("audit: %s %s %s %s", actor, action, target, detail)
	if h.cfg.Inventory == nil {
		return
	}
	if err := h.cfg.Inventory.Record(r.Context(), actor, action, target, detail, h.now()); err != nil {
		h.cfg.Logf("audit log: %v", err)
	}
}

// api holds the /api/v1 handlers.
type api struct{ cfg Config }

func (h *api) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}
