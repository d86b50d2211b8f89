package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/relay"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/wire"
)

// actionsHandler: admin-signed actions relayed to hosts.
type actionsHandler struct{ *api }

func (h *actionsHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", h.submit)
	r.Get("/", h.list)
	r.Get("/{id}", h.show)
	return r
}

// maxActions bounds one page of GET /api/v1/actions.
const maxActions = 1000

// submit: POST /api/v1/actions, body = the action signed by the admin who
// signs the request, holding the trigger_action right.
func (h *actionsHandler) submit(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Relay == nil || unsignedAnonymous(r) {
		writeError(w, fmt.Errorf("%w: actions must be sent by an admin", auth.ErrUnauthenticated))
		return
	}
	body, err := readBody(r, action.MaxSize)
	if err != nil {
		writeError(w, err)
		return
	}
	a, err := h.requireAdmin(r, body, wire.RightTriggerAction)
	if err != nil {
		writeError(w, err)
		return
	}
	acc, err := h.cfg.Relay.Submit(r.Context(), body, a.Fingerprint)
	if err != nil {
		writeError(w, err)
		return
	}
	h.audit(r, a.Name, "action", acc.ID, fmt.Sprintf("%d hosts, %d connected", acc.Hosts, acc.Connected))
	writeJSON(w, http.StatusAccepted, acc)
}

// list: GET /api/v1/actions?limit=N
func (h *actionsHandler) list(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxActions {
			writeError(w, &wire.FieldsError{Fields: map[string]string{"limit": fmt.Sprintf("an integer in 1..%d expected", maxActions)}})
			return
		}
		limit = n
	}
	if h.cfg.Relay == nil {
		writeJSON(w, http.StatusOK, wire.ActionList{Actions: []wire.ActionSummary{}})
		return
	}
	as, err := h.cfg.Relay.Actions(r.Context(), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	if as == nil {
		as = []wire.ActionSummary{}
	}
	writeJSON(w, http.StatusOK, wire.ActionList{Actions: as})
}

// show: GET /api/v1/actions/{id}: the action and its per-host results.
func (h *actionsHandler) show(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	if h.cfg.Relay == nil {
		writeError(w, relay.ErrNotFound)
		return
	}
	d, err := h.cfg.Relay.Action(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, err)
		return
	}
	if d.Results == nil {
		d.Results = []wire.HostActionState{}
	}
	writeJSON(w, http.StatusOK, d)
}

// uplink: GET /api/v1/hosts/{uuid}/uplink, the agent's websocket. The
// upgrade request is signed by the host's key, like a status post.
func (h *hostsHandler) uplink(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Relay == nil || h.cfg.Auth == nil || unsignedAnonymous(r) {
		writeError(w, fmt.Errorf("%w: the uplink must be signed by the host", auth.ErrUnauthenticated))
		return
	}
	uuid, _, err := h.cfg.Auth.Host(r.Context(), r, nil)
	if err != nil {
		writeError(w, err)
		return
	}
	if want := chi.URLParam(r, "uuid"); uuid != want {
		writeError(w, fmt.Errorf("%w: host %q may not open the uplink of %q", auth.ErrForbidden, uuid, want))
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has answered
	}
	c.SetReadLimit(wire.MaxUplinkMessage)
	// The session outlives this handler (the request and its buffers are
	// released now); the hub bounds it and ends it at shutdown.
	h.cfg.Relay.Start(uuid, wsConn{c})
}

// wsConn adapts a websocket to relay.Conn.
type wsConn struct{ c *websocket.Conn }

func (w wsConn) Read(ctx context.Context) ([]byte, error) {
	for {
		t, data, err := w.c.Read(ctx)
		if err != nil {
			return nil, err
		}
		if t == websocket.MessageText {
			return data, nil
		}
	}
}

func (w wsConn) Write(ctx context.Context, data []byte) error {
	return w.c.Write(ctx, websocket.MessageText, data)
}

func (w wsConn) Close(reason string) error {
	return w.c.Close(websocket.StatusGoingAway, reason)
}
