package wire

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is the sentinel wrapped by every validation failure of a
// request body. The server answers it with 422 and CodeInvalid.
var ErrInvalid = errors.New("invalid request")

// FieldsError reports invalid input with a reason per field. Keys are JSON
// paths such as "uuid", "packages[3].version" or "sections.host". It wraps
// ErrInvalid; the server copies Fields into Error.Fields.
type FieldsError struct {
	Fields map[string]string
}

func (e *FieldsError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return fmt.Sprintf("%v: %s", ErrInvalid, strings.Join(parts, "; "))
}

// Unwrap returns ErrInvalid.
func (e *FieldsError) Unwrap() error { return ErrInvalid }

// fields collects the reasons of one Validate call; the first reason given
// for a field wins.
type fields map[string]string

func (f fields) add(key, format string, args ...any) {
	if _, ok := f[key]; !ok {
		f[key] = fmt.Sprintf(format, args...)
	}
}

// err returns nil when no field was reported, a *FieldsError otherwise.
func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return &FieldsError{Fields: f}
}
