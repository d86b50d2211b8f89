package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// adminsHandler registers admin certificates and their rights.
type adminsHandler struct{ *api }

func (h *adminsHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", h.register)
	r.Get("/", h.list)
	r.Put("/{fingerprint}", h.setRights)
	r.Delete("/{fingerprint}", h.remove)
	return r
}

// setRights: PUT /api/v1/admins/{fingerprint} {rights}: replaces the
// rights of a registered admin certificate.
func (h *adminsHandler) setRights(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Admins == nil || unsignedAnonymous(r) {
		writeError(w, auth.ErrUnauthenticated)
		return
	}
	var req wire.AdminRightsRequest
	body, err := readRequest(r, maxJSONBody, &req)
	if err != nil {
		writeError(w, err)
		return
	}
	a, err := h.requireAdmin(r, body, wire.RightAdmin)
	if err != nil {
		writeError(w, err)
		return
	}
	fp := chi.URLParam(r, "fingerprint")
	if err := h.cfg.Admins.SetAdminRights(r.Context(), fp, req.Rights); err != nil {
		writeError(w, adminErr(err))
		return
	}
	h.audit(r, a.Name, "set_admin_rights", fp, strings.Join(req.Rights, ","))
	w.WriteHeader(http.StatusNoContent)
}

// remove: DELETE /api/v1/admins/{fingerprint}: the certificate is no
// longer an admin.
func (h *adminsHandler) remove(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Admins == nil {
		writeError(w, auth.ErrUnauthenticated)
		return
	}
	a, err := h.requireAdmin(r, nil, wire.RightAdmin)
	if err != nil {
		writeError(w, err)
		return
	}
	fp := chi.URLParam(r, "fingerprint")
	if err := h.cfg.Admins.DeleteAdmin(r.Context(), fp); err != nil {
		writeError(w, adminErr(err))
		return
	}
	h.audit(r, a.Name, "remove_admin", fp, "")
	w.WriteHeader(http.StatusNoContent)
}

// adminErr turns an unknown admin (auth.ErrNotFound, an authentication
// failure elsewhere) into a 404.
func adminErr(err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("%w: %w", errNotFound, err)
	}
	return err
}

// list: GET /api/v1/admins: the registered admin certificates and their
// rights (the ACL), for admins holding the admin right.
func (h *adminsHandler) list(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightAdmin); err != nil {
		writeError(w, err)
		return
	}
	as, err := h.cfg.Admins.ListAdmins(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := wire.AdminList{Admins: []wire.AdminInfo{}}
	for _, a := range as {
		out.Admins = append(out.Admins, wire.AdminInfo{Name: a.Name, Fingerprint: a.Fingerprint, Rights: a.Rights, NotAfter: a.Cert.NotAfter.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}

// register: POST /api/v1/admins {certificate, rights, bootstrap_password}.
// The bootstrap password registers the first admin only; afterwards an
// admin with the admin right is required. The certificate must chain to a
// trusted admin CA.
func (h *adminsHandler) register(w http.ResponseWriter, r *http.Request) {
	var req wire.AdminRegisterRequest
	body, err := readRequest(r, maxJSONBody, &req)
	if err != nil {
		writeError(w, err)
		return
	}
	if h.cfg.Admins == nil || h.cfg.Auth == nil || h.cfg.Auth.AdminTrust == nil {
		writeError(w, fmt.Errorf("%w: no admin CA configured on the server", auth.ErrUnauthenticated))
		return
	}
	ctx := r.Context()
	by := ""
	if n, err := h.cfg.Admins.CountAdmins(ctx); err != nil {
		writeError(w, err)
		return
	} else if n == 0 && req.BootstrapPassword != "" && h.checkBootstrap(req.BootstrapPassword) {
		by = "bootstrap"
	}
	if by == "" {
		a, err := h.requireAdmin(r, body, wire.RightAdmin)
		if err != nil {
			writeError(w, err)
			return
		}
		by = a.Name
	}
	cs, err := certs.ParseCertsPEM([]byte(req.Certificate))
	if err != nil {
		writeError(w, &wire.FieldsError{Fields: map[string]string{"certificate": err.Error()}})
		return
	}
	if err := h.cfg.Auth.AdminTrust.VerifyChain(cs, h.now(), false); err != nil {
		writeError(w, &wire.FieldsError{Fields: map[string]string{"certificate": err.Error()}})
		return
	}
	a := auth.Admin{Name: cs[0].Subject.CommonName, Fingerprint: signing.Fingerprint(cs[0]), Rights: req.Rights, Cert: cs[0]}
	if err := h.cfg.Admins.PutAdmin(ctx, a, h.now()); err != nil {
		writeError(w, err)
		return
	}
	h.audit(r, by, "register_admin", a.Name+" "+a.Fingerprint, strings.Join(a.Rights, ","))
	w.WriteHeader(http.StatusCreated)
}

func (h *adminsHandler) checkBootstrap(p string) bool {
	if len(h.cfg.BootstrapHash) == 0 {
		return false
	}
	sum := sha256.Sum256([]byte(p))
	return subtle.ConstantTimeCompare(sum[:], h.cfg.BootstrapHash) == 1
}
