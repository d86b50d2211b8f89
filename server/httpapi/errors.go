package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/server/relay"
	"github.com/wapt-go/wapt/server/repository"
	"github.com/wapt-go/wapt/shared/wire"
)

// Errors of the HTTP layer itself.
var (
	errNotFound     = errors.New("not found")
	errMethod       = errors.New("method not allowed")
	errInternal     = errors.New("internal error")
	errUnauthorized = errors.New("authentication required")
)

// statusError lets a core error choose its HTTP status.
type statusError interface{ StatusCode() int }

// writeError is the one place that turns an error into an HTTP answer.
func writeError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, wire.CodeInternal
	var se statusError
	var fe *wire.FieldsError
	var missing *inventory.MissingSectionsError
	switch {
	case errors.Is(err, errTooLarge), errors.Is(err, repository.ErrTooLarge):
		status, code = http.StatusRequestEntityTooLarge, wire.CodeInvalid
	case errors.As(err, &missing):
		f := map[string]string{}
		for _, n := range missing.Names {
			f["sections."+n] = "send this section"
		}
		writeJSON(w, http.StatusConflict, wire.Error{Error: err.Error(), Code: "conflict", Fields: f})
		return
	case errors.As(err, &fe):
		writeJSON(w, http.StatusUnprocessableEntity, wire.Error{Error: err.Error(), Code: wire.CodeInvalid, Fields: fe.Fields})
		return
	case errors.Is(err, errBadJSON):
		status, code = http.StatusBadRequest, wire.CodeInvalid
	case errors.Is(err, auth.ErrUnauthenticated):
		status, code = http.StatusUnauthorized, wire.CodeUnauthorized
	case errors.Is(err, auth.ErrForbidden), errors.Is(err, inventory.ErrForbidden), errors.Is(err, relay.ErrForbidden):
		status, code = http.StatusForbidden, wire.CodeForbidden
	case errors.Is(err, repository.ErrRefused), errors.Is(err, inventory.ErrInvalid), errors.Is(err, relay.ErrInvalid):
		status, code = http.StatusUnprocessableEntity, wire.CodeInvalid
	case errors.Is(err, repository.ErrReadOnly):
		status, code = http.StatusServiceUnavailable, wire.CodeInternal
	case errors.Is(err, inventory.ErrConflict), errors.Is(err, auth.ErrLastAdmin), errors.Is(err, relay.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, errNotFound), errors.Is(err, repository.ErrNotFound), errors.Is(err, inventory.ErrNotFound), errors.Is(err, relay.ErrNotFound):
		status, code = http.StatusNotFound, wire.CodeNotFound
	case errors.Is(err, repository.ErrBadPath):
		status, code = http.StatusBadRequest, wire.CodeInvalid
	case errors.Is(err, errMethod):
		status, code = http.StatusMethodNotAllowed, wire.CodeMethod
	case errors.Is(err, errUnauthorized):
		status, code = http.StatusUnauthorized, wire.CodeUnauthorized
	case errors.As(err, &se):
		status = se.StatusCode()
		code = http.StatusText(status)
	}
	msg := err.Error()
	if status == http.StatusServiceUnavailable {
		msg = "the repository is read-only on this server (no repository key)"
	}
	if status == http.StatusInternalServerError {
		msg = "internal error" // details go to the log, not to the client
	}
	writeJSON(w, status, wire.Error{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
