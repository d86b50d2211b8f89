// Package wire holds the JSON types exchanged between the server, agents and
// consoles: the one error body every endpoint returns, the registration,
// status and admin request bodies with their Validate methods (errors are
// a *FieldsError wrapping ErrInvalid), and the admin API answers.
package wire

// Error is the body of every 4xx/5xx answer of the server API.
type Error struct {
	// Error is a human-readable message.
	Error string `json:"error"`
	// Code is a stable machine-readable code ("not_found", "invalid", ...).
	Code string `json:"code"`
	// Fields gives a reason per invalid input field, for 422 answers.
	Fields map[string]string `json:"fields,omitempty"`
}

// Error codes.
const (
	CodeNotFound     = "not_found"
	CodeInvalid      = "invalid"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeInternal     = "internal"
	CodeMethod       = "method_not_allowed"
)
