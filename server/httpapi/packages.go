package httpapi

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/wire"
)

// packagesHandler: the repository's packages for admins.
type packagesHandler struct{ *api }

func (h *packagesHandler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Get("/", h.list)
	r.Post("/", h.upload)
	r.Get("/{filename}", h.show)
	r.Delete("/{filename}", h.delete)
	return r
}

// rightFor is the right needed to publish or delete a package of section.
func rightFor(section string) string {
	switch section {
	case "host":
		return wire.RightEditHostPackage
	case "group", "unit", "profile":
		return wire.RightEditGroupPackage
	}
	return wire.RightEditBasePackage
}

func packageInfo(c *control.Control) wire.PackageInfo {
	size, _ := strconv.ParseInt(c.Get("size"), 10, 64)
	return wire.PackageInfo{
		Filename: c.Get("filename"), Package: c.Package(), Version: c.Get("version"),
		Architecture: c.Get("architecture"), Section: c.Section(), Maturity: c.Get("maturity"),
		Locale: c.Get("locale"), Description: c.Get("description"), Depends: c.Get("depends"),
		Conflicts: c.Get("conflicts"), Size: size, SHA256: c.Get("sha256"),
	}
}

// list: GET /api/v1/packages
func (h *packagesHandler) list(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	var out wire.PackageList
	for _, c := range h.cfg.Repo.Packages() {
		out.Packages = append(out.Packages, packageInfo(c))
	}
	out.Total = len(out.Packages)
	writeJSON(w, http.StatusOK, out)
}

// upload: POST /api/v1/packages, body = the .wapt. The body is streamed to
// a temporary file while hashed; the admin's signature covers that hash.
// Nothing of the package is used before the signature and the admin's
// right for its section are checked; the repository then verifies the
// package itself (signer chain, EKU rule, every member).
func (h *packagesHandler) upload(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Auth == nil || unsignedAnonymous(r) {
		writeError(w, fmt.Errorf("%w: uploads must be signed by an admin", auth.ErrUnauthenticated))
		return
	}
	limit := pkgfile.DefaultLimits().MaxFileSize
	tmp, err := os.CreateTemp("", "wapt-upload-*.wapt")
	if err != nil {
		writeError(w, err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, sum), io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeError(w, fmt.Errorf("%w: %v", errBadJSON, err))
		return
	}
	if n > limit {
		writeError(w, fmt.Errorf("%w: limit %d bytes", errTooLarge, limit))
		return
	}
	a, err := h.cfg.Auth.AdminDigest(r.Context(), r, digest(sum))
	if err != nil {
		writeError(w, err)
		return
	}
	c, _, err := pkgfile.ReadControl(tmp.Name(), pkgfile.DefaultLimits())
	if err != nil {
		writeError(w, &wire.FieldsError{Fields: map[string]string{"package": err.Error()}})
		return
	}
	if err := auth.Require(a, rightFor(c.Section())); err != nil {
		writeError(w, err)
		return
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		writeError(w, err)
		return
	}
	pc, err := h.cfg.Repo.Upload(r.Context(), tmp, n)
	if err != nil {
		writeError(w, err)
		return
	}
	h.audit(r, a.Name, "upload_package", pc.Get("filename"), pc.Package()+" "+pc.Get("version"))
	if pc.Section() == "host" && h.cfg.Inventory != nil {
		h.recordGroups(r, pc)
	}
	writeJSON(w, http.StatusCreated, packageInfo(pc))
}

func digest(h hash.Hash) (d [sha256.Size]byte) {
	copy(d[:], h.Sum(nil))
	return d
}

// recordGroups records the depends of host package pc as its host's
// groups (the package was verified and published: its depends parse).
func (h *packagesHandler) recordGroups(r *http.Request, pc *control.Control) {
	deps, err := pc.Depends()
	if err == nil {
		err = h.cfg.Inventory.SetHostGroups(r.Context(), pc.Package(), deps)
	}
	if err != nil {
		h.cfg.Logf("host package %s: groups: %v", pc.Package(), err)
	}
}

// show: GET /api/v1/packages/{filename}
func (h *packagesHandler) show(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	name := chi.URLParam(r, "filename")
	for _, c := range h.cfg.Repo.Packages() {
		if c.Get("filename") == name {
			writeJSON(w, http.StatusOK, packageInfo(c))
			return
		}
	}
	writeError(w, fmt.Errorf("%w: package %q", errNotFound, name))
}

// delete: DELETE /api/v1/packages/{filename}
func (h *packagesHandler) delete(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "filename")
	section := "base"
	for _, c := range h.cfg.Repo.Packages() {
		if c.Get("filename") == name {
			section = c.Section()
		}
	}
	a, err := h.requireAdmin(r, nil, rightFor(section))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := h.cfg.Repo.Delete(r.Context(), name); err != nil {
		writeError(w, err)
		return
	}
	h.audit(r, a.Name, "delete_package", name, "")
	w.WriteHeader(http.StatusNoContent)
}
