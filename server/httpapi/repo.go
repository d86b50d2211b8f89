package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/server/repository"
)

// repoHandler serves the public repository: packages, Packages, Packages.sig, icons.
type repoHandler struct{ repo *repository.Repo }

func (h *repoHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/*", h.serve)
	r.Head("/*", h.serve)
	return r
}

func (h *repoHandler) serve(w http.ResponseWriter, req *http.Request) {
	if err := h.repo.ServePublic(w, req, chi.URLParam(req, "*")); err != nil {
		writeError(w, err)
	}
}

// hostRepoHandler will serve each host its own package once hosts authenticate
// (registration); until then nothing under wapt-host/ is ever served.
type hostRepoHandler struct{}

func (h *hostRepoHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.HandleFunc("/*", func(w http.ResponseWriter, _ *http.Request) { writeError(w, errUnauthorized) })
	return r
}
