package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/server/repository"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/wire"
)

// hostsHandler: registration, status posts, and the admin host views.
type hostsHandler struct{ *api }

func (h *hostsHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/register", h.register)
	r.Post("/{uuid}/status", h.status)
	r.Get("/", h.list)
	r.Get("/export", h.export)
	r.Get("/{uuid}", h.show)
	r.Get("/{uuid}/history", h.history)
	r.Get("/{uuid}/uplink", h.uplink)
	r.Delete("/{uuid}", h.unregister)
	return r
}

// register: POST /api/v1/hosts/register {uuid, csr, token, sections...}.
// Authenticated by the enrollment token, by an admin signature, or (for a
// known host renewing) by the host's current key.
//
// An unsigned registration must carry the enrollment token in a header
// too: it is checked before the body is read, so anonymous clients cannot
// make the server read large bodies.
func (h *hostsHandler) register(w http.ResponseWriter, r *http.Request) {
	anonymous := unsignedAnonymous(r)
	if anonymous {
		tok := r.Header.Get(wire.HeaderEnrollmentToken)
		if h.cfg.PKI == nil || tok == "" || !h.cfg.PKI.CheckEnrollmentToken(tok) {
			writeError(w, fmt.Errorf("%w: a valid enrollment token (header %s), an admin signature or the host's own key is required",
				auth.ErrUnauthenticated, wire.HeaderEnrollmentToken))
			return
		}
	}
	var req wire.RegisterRequest
	body, err := readRequest(r, maxRegisterBody, &req)
	if err != nil {
		writeError(w, err)
		return
	}
	if h.cfg.Inventory == nil || h.cfg.PKI == nil {
		writeError(w, fmt.Errorf("%w: registration is not configured", auth.ErrUnauthenticated))
		return
	}
	ctx, now := r.Context(), h.now()
	var opt inventory.RegisterOptions
	by := ""
	if r.Header.Get(reqsign.HeaderSignature) != "" && h.cfg.Auth != nil {
		if a, err := h.cfg.Auth.Admin(ctx, r, body); err == nil {
			by = a.Name
		} else if _, cert, err := h.cfg.Auth.Host(ctx, r, body); err == nil {
			by, opt.SignedBy = inventory.ByHost, cert
		}
	}
	if by == "" {
		if req.Token == "" || !h.cfg.PKI.CheckEnrollmentToken(req.Token) ||
			(anonymous && req.Token != r.Header.Get(wire.HeaderEnrollmentToken)) {
			writeError(w, fmt.Errorf("%w: a valid enrollment token, an admin signature or the host's own key is required", auth.ErrUnauthenticated))
			return
		}
		by = inventory.ByToken
	}
	cert, err := h.cfg.PKI.SignHostCSR([]byte(req.CSR), req.UUID, now)
	if err != nil {
		writeError(w, &wire.FieldsError{Fields: map[string]string{"csr": err.Error()}})
		return
	}
	if err := h.cfg.Inventory.Register(ctx, req, cert, by, now, opt); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.RegisterResponse{
		Certificate: string(certs.EncodeCertsPEM(cert)),
		CA:          string(certs.EncodeCertsPEM(h.cfg.PKI.HostCA())),
	})
}

// status: POST /api/v1/hosts/{uuid}/status, signed by that host's key.
func (h *hostsHandler) status(w http.ResponseWriter, r *http.Request) {
	if unsignedAnonymous(r) {
		writeError(w, fmt.Errorf("%w: status reports must be signed by the host", auth.ErrUnauthenticated))
		return
	}
	body, err := readBody(r, maxStatusBody)
	if err != nil {
		writeError(w, err)
		return
	}
	if h.cfg.Auth == nil || h.cfg.Inventory == nil {
		writeError(w, auth.ErrUnauthenticated)
		return
	}
	uuid, cert, err := h.cfg.Auth.Host(r.Context(), r, body)
	if err != nil {
		writeError(w, err)
		return
	}
	if want := chi.URLParam(r, "uuid"); uuid != want {
		writeError(w, fmt.Errorf("%w: host %q may not post the status of %q", auth.ErrForbidden, uuid, want))
		return
	}
	var rep wire.StatusReport
	if err := decodeJSON(body, &rep); err != nil {
		writeError(w, err)
		return
	}
	if err := h.cfg.Inventory.IngestStatus(r.Context(), uuid, cert, rep, h.now()); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// list: GET /api/v1/hosts?status=&q=&package=&os=&group=&unit=&software=&manufacturer=&model=
// &ram_min=&ram_max=&disk_free_min=&duplicates=&seen_after=&seen_before=&sort=&desc=&offset=&limit=
func (h *hostsHandler) list(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	q, err := hostQuery(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	list, err := h.cfg.Inventory.ListHosts(r.Context(), q)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// hostQuery reads the host filters of the list and export endpoints; bad
// values give a *wire.FieldsError naming each.
func hostQuery(v url.Values) (inventory.Query, error) {
	q := inventory.Query{
		Status: v.Get("status"), Text: v.Get("q"), HasPackage: v.Get("package"), OS: v.Get("os"),
		Group: v.Get("group"), Unit: v.Get("unit"),
		Software: v.Get("software"), Manufacturer: v.Get("manufacturer"), Model: v.Get("model"),
		Sort: v.Get("sort"), Desc: v.Get("desc") == "true" || v.Get("desc") == "1",
	}
	fields := map[string]string{}
	for name, dst := range map[string]*int{"offset": &q.Offset, "limit": &q.Limit} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				fields[name] = "a non-negative integer expected"
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*int64{"ram_min": &q.RAMMin, "ram_max": &q.RAMMax, "disk_free_min": &q.DiskFreeMin} {
		if s := v.Get(name); s != "" {
			n, err := wire.ParseSize(s)
			if err != nil {
				fields[name] = "bytes expected, or a number with K, M, G or T (binary units)"
			}
			*dst = n
		}
	}
	switch v.Get("duplicates") {
	case "", "0", "false":
	case "1", "true":
		q.Duplicates = true
	default:
		fields["duplicates"] = "1, true, 0 or false expected"
	}
	for name, dst := range map[string]*time.Time{"seen_after": &q.SeenAfter, "seen_before": &q.SeenBefore} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				fields[name] = "an RFC 3339 time expected"
			}
			*dst = t
		}
	}
	if len(fields) > 0 {
		return q, &wire.FieldsError{Fields: fields}
	}
	return q, nil
}

// show: GET /api/v1/hosts/{uuid}
func (h *hostsHandler) show(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	d, err := h.cfg.Inventory.Host(r.Context(), chi.URLParam(r, "uuid"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// history: GET /api/v1/hosts/{uuid}/history?limit=N
func (h *hostsHandler) history(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > inventory.MaxHistory {
			writeError(w, &wire.FieldsError{Fields: map[string]string{"limit": fmt.Sprintf("an integer in 0..%d expected", inventory.MaxHistory)}})
			return
		}
		limit = n
	}
	ev, err := h.cfg.Inventory.HostHistory(r.Context(), chi.URLParam(r, "uuid"), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.HostHistory{Events: ev})
}

// unregister: DELETE /api/v1/hosts/{uuid}: revokes the host's certificate
// and removes its host package.
func (h *hostsHandler) unregister(w http.ResponseWriter, r *http.Request) {
	a, err := h.requireAdmin(r, nil, wire.RightUnregisterHost)
	if err != nil {
		writeError(w, err)
		return
	}
	uuid := chi.URLParam(r, "uuid")
	if err := h.cfg.Inventory.Unregister(r.Context(), uuid, a.Name, h.now()); err != nil {
		writeError(w, err)
		return
	}
	if h.cfg.Repo != nil {
		if err := h.cfg.Repo.DeleteHost(r.Context(), uuid); err != nil && !errors.Is(err, repository.ErrNotFound) {
			h.cfg.Logf("unregister %s: host package: %v", uuid, err)
		} else if err := h.cfg.Inventory.SetHostGroups(r.Context(), uuid, nil); err != nil {
			h.cfg.Logf("unregister %s: groups: %v", uuid, err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
