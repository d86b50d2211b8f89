package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/shared/wire"
)

// maxAudit bounds one page of the audit log.
const maxAudit = 1000

// auditHandler: the audit log of every write, for admins.
type auditHandler struct{ *api }

func (h *auditHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", h.list)
	return r
}

// list: GET /api/v1/audit?limit=N — the last N entries, newest first.
func (h *auditHandler) list(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightAdmin); err != nil {
		writeError(w, err)
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAudit {
			writeError(w, &wire.FieldsError{Fields: map[string]string{"limit": fmt.Sprintf("an integer in 1..%d expected", maxAudit)}})
			return
		}
		limit = n
	}
	if h.cfg.Inventory == nil {
		writeError(w, errNotFound)
		return
	}
	es, err := h.cfg.Inventory.AuditLog(r.Context(), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	out := wire.AuditLog{Entries: make([]wire.AuditEntry, 0, len(es))}
	for _, e := range es {
		out.Entries = append(out.Entries, wire.AuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, out)
}
