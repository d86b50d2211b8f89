package client

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

// Sentinels an *APIError unwraps to, by HTTP status.
var (
	// ErrUnauthenticated is a 401: no credentials, or ones the server does
	// not know (unknown signer, bad signature, stale date).
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrForbidden is a 403: the credentials lack the right.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound is a 404.
	ErrNotFound = errors.New("not found")
	// ErrConflict is a 409 (a host or package that already exists, a
	// version that is not newer, ...).
	ErrConflict = errors.New("conflict")
	// ErrInvalid is a 400 or 422: the request was refused as malformed or
	// invalid; it is wire.ErrInvalid, so that the same errors.Is test
	// works on both sides.
	ErrInvalid = wire.ErrInvalid
	// ErrTooLarge is a 413.
	ErrTooLarge = errors.New("request too large")
)

// maxExcerpt bounds how much of a non-JSON error body an APIError quotes.
const maxExcerpt = 200

// APIError is a non-2xx answer of the server.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is wire.Error.Code ("not_found", "invalid", ...); empty when
	// the body was not a wire.Error.
	Code string
	// Message is wire.Error.Error, or a short excerpt of a body that was
	// not a wire.Error.
	Message string
	// Fields are the per-field reasons of a 422.
	Fields map[string]string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server: %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the sentinel of e.Status, or nil.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized:
		return ErrUnauthenticated
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return ErrInvalid
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	}
	return nil
}

// apiError builds the error of a non-2xx answer with this body.
func apiError(status int, body []byte, location string) *APIError {
	e := &APIError{Status: status}
	var we wire.Error
	if json.Unmarshal(body, &we) == nil && (we.Error != "" || we.Code != "") {
		e.Code, e.Message, e.Fields = we.Code, excerpt([]byte(we.Error), 4*maxExcerpt), we.Fields
		return e
	}
	e.Message = excerpt(body, maxExcerpt)
	if location != "" && status >= 300 && status < 400 {
		e.Message = "redirected to " + excerpt([]byte(location), maxExcerpt)
	}
	return e
}

// excerpt returns at most max bytes of b as one printable line.
func excerpt(b []byte, max int) string {
	cut := len(b) > max
	if cut {
		b = b[:max]
	}
	s := strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return '?'
		case unicode.IsSpace(r):
			return ' '
		case !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, string(b))
	s = strings.Join(strings.Fields(s), " ")
	if cut {
		s += "…"
	}
	return s
}
