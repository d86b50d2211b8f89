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

// hostRepoHandler will serve each host its own package once hosts
// authenticate (registration); until then wapt-host/ is served only when the
// server was started with --public-host-packages.
type hostRepoHandler struct {
	repo   *repository.Repo
	public bool
}

func (h *hostRepoHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.HandleFunc("/*", func(w http.ResponseWriter, req *http.Request) {
		if !h.public {
			writeError(w, errUnauthorized)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			writeError(w, errMethod)
			return
		}
		if err := h.repo.ServeHost(w, req, chi.URLParam(req, "*")); err != nil {
			writeError(w, err)
		}
	})
	return r
}
