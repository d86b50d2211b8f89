// Package httpapi is the waptserver HTTP edge: the chi router, its middleware,
// the one error→HTTP mapper, and one file per resource.
package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/server/relay"
	"github.com/wapt-go/wapt/server/repository"
)

// Logf is the logger the server is built with.
type Logf func(format string, args ...any)

// Config holds what the router needs.
type Config struct {
	Repo *repository.Repo
	Logf Logf
	// PublicHostPackages serves wapt-host/ to anyone (labs and demos only).
	PublicHostPackages bool

	// The API (/api/v1); each part nil answers 401.
	Inventory *inventory.Service
	Relay     *relay.Hub
	Auth      *auth.Authenticator
	Admins    AdminStore
	PKI       HostIssuer
	// BootstrapHash is the SHA-256 of the bootstrap admin password, which
	// registers the first admin certificate only.
	BootstrapHash []byte
	Now           func() time.Time
}

// New returns the server's HTTP handler.
func New(cfg Config) http.Handler {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(accessLog(cfg.Logf))
	r.Use(recoverer(cfg.Logf))

	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { writeError(w, errNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) { writeError(w, errMethod) })

	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Mount("/wapt", (&repoHandler{repo: cfg.Repo}).Routes())
	r.Mount("/wapt-host", (&hostRepoHandler{repo: cfg.Repo, public: cfg.PublicHostPackages, auth: cfg.Auth}).Routes())
	a := &api{cfg: cfg}
	r.Route("/api/v1", func(r chi.Router) {
		r.Mount("/hosts", (&hostsHandler{a}).Routes())
		r.Mount("/packages", (&packagesHandler{a}).Routes())
		r.Mount("/admins", (&adminsHandler{a}).Routes())
		r.Mount("/audit", (&auditHandler{a}).Routes())
		r.Mount("/actions", (&actionsHandler{a}).Routes())
	})
	return r
}

func accessLog(logf Logf) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, req.ProtoMajor)
			start := time.Now()
			next.ServeHTTP(ww, req)
			logf("%s %s %d %dB %s", req.Method, req.URL.Path, ww.Status(), ww.BytesWritten(), time.Since(start).Round(time.Microsecond))
		})
	}
}

func recoverer(logf Logf) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					logf("panic serving %s %s: %v", req.Method, req.URL.Path, v)
					writeError(w, errInternal)
				}
			}()
			next.ServeHTTP(w, req)
		})
	}
}
