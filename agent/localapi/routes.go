package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/shared/wire"
)

// routes is the whole API. Every answer is JSON; errors are wire.Error.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.identify)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { s.writeError(w, errNoRoute) })
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) { s.writeError(w, errMethod) })

	// GET /v1/status → wire.LocalStatus
	r.Get("/v1/status", s.status)
	// GET /v1/tasks → []wire.LocalTask, the recent tasks
	r.Get("/v1/tasks", s.tasks)
	// POST /v1/tasks, body wire.LocalTaskRequest (≤ 64 KiB, no unknown
	// fields) → 202 wire.LocalTask
	r.Post("/v1/tasks", s.startTask)
	// DELETE /v1/tasks/{id} → 204
	r.Delete("/v1/tasks/{id}", s.cancel)
	// GET /v1/events?after=SEQ&wait=DURATION → []wire.LocalEvent with
	// Seq > after; waits up to wait (a Go duration or seconds, capped at
	// 60 s, default 0) for one, then answers [].
	r.Get("/v1/events", s.events)
	// GET /v1/selfservice → []wire.SelfServicePackage
	r.Get("/v1/selfservice", s.selfService)
	return r
}

// callerKey is the context key of the request's wire.LocalCaller.
type callerKey struct{}

// identify puts the connection's caller in the request context; a request
// on a connection without one (which identConn does not let through) is
// refused.
func (s *Server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ic, ok := r.Context().Value(connKey{}).(*identConn)
		if !ok {
			s.writeError(w, fmt.Errorf("%w: caller identity unavailable", ErrForbidden))
			return
		}
		c, err := ic.Caller()
		if err != nil {
			s.writeError(w, fmt.Errorf("%w: caller identity unavailable", ErrForbidden))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

// caller is the request's caller, set by identify.
func caller(r *http.Request) wire.LocalCaller {
	c, _ := r.Context().Value(callerKey{}).(wire.LocalCaller)
	return c
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, fmt.Errorf("panic in %s %s: %v", r.Method, r.URL.Path, v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status(r.Context(), caller(r))
	s.answer(w, http.StatusOK, st, err)
}

func (s *Server) tasks(w http.ResponseWriter, r *http.Request) {
	ts, err := s.b.Tasks(r.Context(), caller(r))
	s.answer(w, http.StatusOK, nonNil(ts), err)
}

func (s *Server) startTask(w http.ResponseWriter, r *http.Request) {
	var req wire.LocalTaskRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, err)
		return
	}
	if err := req.Validate(); err != nil {
		s.writeError(w, err)
		return
	}
	t, err := s.b.StartTask(r.Context(), caller(r), req)
	s.answer(w, http.StatusAccepted, t, err)
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 0 {
		s.writeError(w, fmt.Errorf("%w: task id %.40q is not a number", ErrInvalid, chi.URLParam(r, "id")))
		return
	}
	if err := s.b.Cancel(r.Context(), caller(r), id); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseAfter(q.Get("after"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	wait, err := parseWait(q.Get("wait"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	if serving, ok := r.Context().Value(servingKey{}).(context.Context); ok {
		defer context.AfterFunc(serving, cancel)() // Serve stops: end the poll now
	}
	evs, err := s.b.Events(ctx, caller(r), after)
	if err != nil && ctx.Err() != nil && r.Context().Err() == nil &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		evs, err = nil, nil // the wait expired (or the server stops): nothing new
	}
	s.answer(w, http.StatusOK, nonNil(evs), err)
}

func (s *Server) selfService(w http.ResponseWriter, r *http.Request) {
	ps, err := s.b.SelfService(r.Context(), caller(r))
	s.answer(w, http.StatusOK, nonNil(ps), err)
}

// answer writes v with status, or err.
func (s *Server) answer(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, status, v)
}

// nonNil makes a nil list encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// parseAfter parses the after parameter of /v1/events (default 0).
func parseAfter(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: after %.40q is not a sequence number", ErrInvalid, s)
	}
	return n, nil
}

// parseWait parses the wait parameter of /v1/events: a Go duration ("30s")
// or a number of seconds, default 0, capped at MaxWait.
func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseUint(s, 10, 32)
		if nerr != nil {
			return 0, fmt.Errorf("%w: wait %.40q is not a duration", ErrInvalid, s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%w: wait %.40q is negative", ErrInvalid, s)
	}
	return min(d, MaxWait), nil
}

// decodeJSON decodes the body of r into v strictly: at most
// MaxRequestBody bytes, one JSON object, no unknown fields. Its errors
// wrap ErrInvalid with the reason.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxRequestBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON object")
			var mbe *http.MaxBytesError
			if errors.As(terr, &mbe) {
				err = terr
			}
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: request body larger than %d bytes", ErrInvalid, MaxRequestBody)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: empty request body", ErrInvalid)
	default:
		return fmt.Errorf("%w: bad JSON body: %v", ErrInvalid, err)
	}
}
