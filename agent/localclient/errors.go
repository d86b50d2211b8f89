package localclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/wire"
)

// Sentinels the errors of a Client unwrap to.
var (
	// ErrNotRunning means that no agent service answers on the socket.
	ErrNotRunning = errors.New("the wapt agent service is not running")
	// ErrForbidden is a 403: the caller's OS identity may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound is a 404 (an unknown task, for instance).
	ErrNotFound = errors.New("not found")
	// ErrBusy is a 409: the agent is running a conflicting task.
	ErrBusy = errors.New("agent busy")
	// ErrInvalid is a 400, 413 or 422: the request was refused as
	// malformed. It is wire.ErrInvalid, the sentinel the agent wraps.
	ErrInvalid = wire.ErrInvalid
)

// maxExcerpt bounds how much of an error message an *Error keeps.
const maxExcerpt = 800

// Error is a non-2xx answer of the local API.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is wire.Error.Code ("forbidden", "busy", ...); empty when the
	// body was not a wire.Error.
	Code string
	// Message is the agent's message, or an excerpt of a body that was
	// not a wire.Error.
	Message string
	// Fields are the per-field reasons of an invalid request.
	Fields map[string]string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "waptagent: %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the sentinel of e.Status, or nil.
func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrBusy
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return ErrInvalid
	}
	return nil
}

// apiError builds the error of a non-2xx answer with this body.
func apiError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var we wire.Error
	if json.Unmarshal(body, &we) == nil && (we.Error != "" || we.Code != "") {
		e.Code, e.Message, e.Fields = we.Code, excerpt(we.Error), we.Fields
		return e
	}
	e.Message = excerpt(string(body))
	return e
}

// excerpt returns at most maxExcerpt bytes of s as one printable line.
func excerpt(s string) string {
	cut := len(s) > maxExcerpt
	if cut {
		s = s[:maxExcerpt]
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return '?'
		case unicode.IsSpace(r):
			return ' '
		case !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if cut {
		s += "…"
	}
	return s
}
