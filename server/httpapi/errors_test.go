package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wapt-go/wapt/server/repository"
	"github.com/wapt-go/wapt/shared/wire"
)

type teapot struct{}

func (teapot) Error() string   { return "short and stout" }
func (teapot) StatusCode() int { return http.StatusTeapot }

func TestWriteError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		fields map[string]string
	}{
		{"not found", fmt.Errorf("x: %w", repository.ErrNotFound), 404, wire.CodeNotFound, nil},
		{"bad path", repository.ErrBadPath, 400, wire.CodeInvalid, nil},
		{"unauthorized", errUnauthorized, 401, wire.CodeUnauthorized, nil},
		{"fields", fmt.Errorf("register: %w", &wire.FieldsError{Fields: map[string]string{"uuid": "too long"}}), 422, wire.CodeInvalid, map[string]string{"uuid": "too long"}},
		{"status error", teapot{}, 418, "I'm a teapot", nil},
		{"unknown is 500 without details", errors.New("db password is hunter2"), 500, wire.CodeInternal, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			var body wire.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Code != tt.code || len(body.Fields) != len(tt.fields) {
				t.Errorf("body = %+v", body)
			}
			for k, v := range tt.fields {
				if body.Fields[k] != v {
					t.Errorf("field %s = %q, want %q", k, body.Fields[k], v)
				}
			}
			if tt.status == 500 && body.Error != "internal error" {
				t.Errorf("500 leaks details: %q", body.Error)
			}
		})
	}
}
