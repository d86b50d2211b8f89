package localapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/wapt-go/wapt/shared/wire"
)

// Errors of the HTTP layer itself.
var (
	errNoRoute = errors.New("no such endpoint")
	errMethod  = errors.New("method not allowed")
)

// writeError is the one place that turns an error into an HTTP answer. The
// message of a 4xx is the error's text; a 500 says only "internal error"
// and the details go to the log.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, wire.CodeInternal
	var fe *wire.FieldsError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, wire.Error{Error: err.Error(), Code: wire.CodeInvalid, Fields: fe.Fields})
		return
	case errors.Is(err, ErrInvalid):
		status, code = http.StatusBadRequest, wire.CodeInvalid
	case errors.Is(err, ErrForbidden):
		status, code = http.StatusForbidden, wire.CodeForbidden
	case errors.Is(err, ErrNotFound), errors.Is(err, errNoRoute):
		status, code = http.StatusNotFound, wire.CodeNotFound
	case errors.Is(err, ErrBusy):
		status, code = http.StatusConflict, wire.CodeBusy
	case errors.Is(err, errMethod):
		status, code = http.StatusMethodNotAllowed, wire.CodeMethod
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.logf("localapi: %v", err)
		msg = "internal error"
	}
	writeJSON(w, status, wire.Error{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
