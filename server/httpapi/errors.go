package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

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
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusUnprocessableEntity, wire.Error{Error: err.Error(), Code: wire.CodeInvalid, Fields: fe.Fields})
		return
	case errors.Is(err, errNotFound), errors.Is(err, repository.ErrNotFound):
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
