package httpapi

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/repository"
	"github.com/wapt-go/wapt/shared/wire"
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

// hostRepoHandler serves each host its own package: the request must be
// signed by that host's current key (or by an admin with the view right),
// unless the server was started with --public-host-packages.
type hostRepoHandler struct {
	repo   *repository.Repo
	public bool
	auth   *auth.Authenticator
}

func (h *hostRepoHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.HandleFunc("/*", func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			writeError(w, errMethod)
			return
		}
		if !h.public {
			if err := h.authorize(req, chi.URLParam(req, "*")); err != nil {
				writeError(w, err)
				return
			}
		}
		if err := h.repo.ServeHost(w, req, chi.URLParam(req, "*")); err != nil {
			writeError(w, err)
		}
	})
	return r
}

// authorize lets the host named by file (<uuid>.wapt) or a viewing admin in.
func (h *hostRepoHandler) authorize(req *http.Request, file string) error {
	if h.auth == nil {
		return errUnauthorized
	}
	uuid, _, err := h.auth.Host(req.Context(), req, nil)
	if err == nil {
		if uuid+".wapt" != file {
			return fmt.Errorf("%w: host %q may not read %s", auth.ErrForbidden, uuid, file)
		}
		return nil
	}
	a, aerr := h.auth.Admin(req.Context(), req, nil)
	if aerr != nil {
		return err
	}
	return auth.Require(a, wire.RightView)
}
