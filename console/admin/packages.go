package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// maxHostPackage bounds the download of a host package (a control file,
// in practice).
const maxHostPackage = 64 << 20

// Packages lists the repository (host packages are not in it).
func (s *Session) Packages(ctx context.Context) ([]wire.PackageInfo, error) {
	l, err := s.client.ListPackages(ctx)
	if err != nil {
		return nil, fmt.Errorf("packages: %w", mapErr(err))
	}
	return l.Packages, nil
}

// DeletePackage removes wapt/<filename> from the repository.
func (s *Session) DeletePackage(ctx context.Context, filename string) error {
	if err := s.client.DeletePackage(ctx, filename); err != nil {
		return fmt.Errorf("delete %s: %w", filename, mapErr(err))
	}
	return nil
}

// hostPackage returns the control of uuid's current host package, nil
// when it has none. The control is read, not verified: the server
// verified the package when it was uploaded, and it is only shown (and
// its version bumped).
func (s *Session) hostPackage(ctx context.Context, uuid string) (*control.Control, error) {
	var buf bytes.Buffer
	_, err := s.client.HostPackage(ctx, uuid, &buf, maxHostPackage)
	if errors.Is(err, client.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host package of %s: %w", uuid, mapErr(err))
	}
	p, err := pkgfile.OpenReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), uuid+".wapt", pkgfile.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("host package of %s: %w", uuid, err)
	}
	defer p.Close()
	return p.Control().Clone(), nil
}

// HostDepends returns the depends and conflicts of uuid's host package
// (none: empty lists).
func (s *Session) HostDepends(ctx context.Context, uuid string) (depends, conflicts []string, err error) {
	if !wire.ValidUUID(uuid) {
		return nil, nil, FieldErrors{"uuid": fmt.Sprintf("%q is not a host uuid", uuid)}
	}
	c, err := s.hostPackage(ctx, uuid)
	if err != nil || c == nil {
		return []string{}, []string{}, err
	}
	return splitList(c.Get("depends")), splitList(c.Get("conflicts")), nil
}

// SetHostDepends builds the host package of uuid with these depends and
// conflicts, signs it with the admin's signer and uploads it. Its version
// is the UTC time as YYYYMMDDhhmmss, or the current version + 1 when that
// is higher (as wapt-get edit-host).
func (s *Session) SetHostDepends(ctx context.Context, uuid string, depends, conflicts []string) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	bad := FieldErrors{}
	if !wire.ValidUUID(uuid) {
		bad["package"] = fmt.Sprintf("%q is not a host uuid", uuid)
	}
	deps, why := cleanRequests(depends)
	if why != "" {
		bad["depends"] = why
	}
	confs, why := cleanRequests(conflicts)
	if why != "" {
		bad["conflicts"] = why
	}
	if err := bad.orNil(); err != nil {
		return info, fmt.Errorf("host package of %s: %w", uuid, err)
	}
	current := ""
	old, err := s.hostPackage(ctx, uuid)
	if err != nil {
		return info, err
	}
	if old != nil {
		current = old.Get("version")
	}
	c := control.New()
	c.Set("package", uuid)
	c.Set("version", strconv.FormatInt(hostVersion(s.now(), current), 10))
	c.Set("architecture", "all")
	c.Set("section", "host")
	c.Set("priority", "optional")
	c.Set("maintainer", s.AdminName())
	c.Set("description", "Host package of "+uuid)
	c.Set("depends", strings.Join(deps, ","))
	c.Set("conflicts", strings.Join(confs, ","))
	return s.buildControl(ctx, c, "host package of "+uuid)
}

// hostVersion returns the version of a new host package: the UTC time as
// YYYYMMDDhhmmss, or the current integer version + 1 when that is higher
// (two edits in the same second, or a clock behind).
func hostVersion(now time.Time, current string) int64 {
	v, _ := strconv.ParseInt(now.UTC().Format("20060102150405"), 10, 64)
	if n, err := strconv.ParseInt(strings.TrimSpace(current), 10, 64); err == nil && n >= v {
		v = n + 1
	}
	return v
}

// SaveGroup builds the group package name (section group) that depends on
// depends, signs it and uploads it. Its version is the published one with
// the packaging number + 1 ("0-1" for a new group).
func (s *Session) SaveGroup(ctx context.Context, name, description string, depends []string) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	bad := FieldErrors{}
	if why := checkPackageName("group", name); why != "" {
		bad["package"] = why
	}
	deps, why := cleanRequests(depends)
	if why != "" {
		bad["depends"] = why
	}
	for _, d := range deps {
		if r, err := version.ParseRequest(d); err == nil && strings.EqualFold(r.Name, name) {
			bad["depends"] = "a group cannot depend on itself"
		}
	}
	if strings.ContainsAny(description, "\r\n") {
		bad["description"] = "must be a single line"
	}
	if err := bad.orNil(); err != nil {
		return info, fmt.Errorf("group %s: %w", name, err)
	}
	pkgs, err := s.Packages(ctx)
	if err != nil {
		return info, err
	}
	var latest version.Version
	for _, p := range pkgs {
		if !strings.EqualFold(p.Package, name) {
			continue
		}
		if p.Section != "group" {
			return info, fmt.Errorf("group %s: %w", name, FieldErrors{"package": fmt.Sprintf("%s is a %s package", p.Package, p.Section)})
		}
		if v, err := version.Parse(p.Version); err == nil && (latest.IsZero() || version.Compare(v, latest) > 0) {
			latest = v
		}
	}
	if description == "" {
		description = "Group " + name
	}
	c := control.New()
	c.Set("package", name)
	c.Set("version", nextVersion(latest))
	c.Set("architecture", "all")
	c.Set("section", "group")
	c.Set("priority", "optional")
	c.Set("maintainer", s.AdminName())
	c.Set("description", description)
	c.Set("depends", strings.Join(deps, ","))
	return s.buildControl(ctx, c, "group "+name)
}

// nextVersion returns v with its packaging number + 1; "0-1" for none.
func nextVersion(v version.Version) string {
	if v.IsZero() {
		return "0-1"
	}
	return v.Upstream() + "-" + strconv.Itoa(v.Packaging()+1)
}

// cleanRequests trims the requests, drops empty ones and checks them.
func cleanRequests(list []string) ([]string, string) {
	out := []string{}
	for _, r := range list {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if strings.Contains(r, ",") {
			return nil, fmt.Sprintf("%q: one package request per item", r)
		}
		if _, err := version.ParseRequest(r); err != nil {
			return nil, err.Error()
		}
		out = append(out, r)
	}
	return out, ""
}

// splitList splits a comma-separated attribute.
func splitList(s string) []string {
	out := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// buildControl builds, signs and uploads a package made of the control c
// only.
func (s *Session) buildControl(ctx context.Context, c *control.Control, what string) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	if err := c.Validate(); err != nil {
		return info, fmt.Errorf("%s: %w", what, controlFields(err))
	}
	tmp, err := os.MkdirTemp("", "waptconsole-")
	if err != nil {
		return info, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if err := (&Draft{Dir: src, Control: c}).Save(); err != nil {
		return info, err
	}
	return s.buildAndUpload(ctx, src, filepath.Join(tmp, "out"), what, nil)
}

// buildAndUpload builds the source src into outDir, signed, then uploads it.
func (s *Session) buildAndUpload(ctx context.Context, src, outDir, what string, progress func(string, int64, int64)) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	step := func(name string, done, total int64) {
		if progress != nil {
			progress(name, done, total)
		}
	}
	step("build", 0, 1)
	path, _, err := pkgfile.Build(ctx, src, pkgfile.BuildOptions{OutDir: outDir, Signer: s.signer, Chain: s.chain, Now: s.now()})
	if err != nil {
		return info, fmt.Errorf("build %s: %w", what, err)
	}
	step("build", 1, 1)
	return s.upload(ctx, path, what, step)
}

// upload sends the package file path.
func (s *Session) upload(ctx context.Context, path, what string, step func(string, int64, int64)) (wire.PackageInfo, error) {
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	if step != nil {
		step("upload", 0, size)
	}
	info, err := s.client.UploadPackage(ctx, path)
	if err != nil {
		return info, fmt.Errorf("upload %s: %w", what, mapErr(err))
	}
	if step != nil {
		step("upload", size, size)
	}
	return info, nil
}

// controlFields turns a *control.ValidationError into FieldErrors.
func controlFields(err error) error {
	var ve *control.ValidationError
	if errors.As(err, &ve) {
		return FieldErrors(ve.Fields)
	}
	return err
}

// BuildUpload validates the draft, saves it in d.Dir, builds it signed by
// the admin (pkgfile) and uploads it. progress, when set, is called with
// the steps "validate", "build" and "upload" (done/total: bytes for the
// upload).
func (s *Session) BuildUpload(ctx context.Context, d *Draft, progress func(step string, done, total int64)) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	if d == nil {
		return info, fmt.Errorf("build: %w: no draft", ErrInvalid)
	}
	if progress != nil {
		progress("validate", 0, 1)
	}
	if err := d.Validate(); err != nil {
		return info, fmt.Errorf("package %s: %w", d.Control.Package(), err)
	}
	if err := d.Save(); err != nil {
		return info, err
	}
	if progress != nil {
		progress("validate", 1, 1)
	}
	out, err := os.MkdirTemp("", "waptconsole-build-")
	if err != nil {
		return info, err
	}
	defer os.RemoveAll(out)
	return s.buildAndUpload(ctx, d.Dir, out, d.Control.Package(), progress)
}

// Import verifies the package file path (built for another repository)
// against the certificates of trustDir, signs it again with the admin's
// signer and uploads it. The file itself is not changed: a copy is
// verified, re-signed and sent.
func (s *Session) Import(ctx context.Context, path string, trustDir string) (wire.PackageInfo, error) {
	var info wire.PackageInfo
	trust, err := signing.LoadTrustDir(trustDir)
	if err != nil {
		return info, fmt.Errorf("import %s: %w", path, err)
	}
	tmp, err := os.MkdirTemp("", "waptconsole-import-")
	if err != nil {
		return info, err
	}
	defer os.RemoveAll(tmp)
	cp := filepath.Join(tmp, "import.wapt")
	if err := copyFile(path, cp, 0o644); err != nil {
		return info, fmt.Errorf("import %s: %w", path, err)
	}
	p, err := pkgfile.Open(cp, pkgfile.DefaultLimits())
	if err != nil {
		return info, fmt.Errorf("import %s: %w", path, err)
	}
	_, err = p.Verify(ctx, trust, s.now())
	name := p.Control().Package()
	p.Close()
	if err != nil {
		return info, fmt.Errorf("import %s: %w", path, err)
	}
	if _, err := pkgfile.Sign(ctx, cp, s.signer, s.chain, s.now(), nil); err != nil {
		return info, fmt.Errorf("import %s: re-sign: %w", path, err)
	}
	return s.upload(ctx, cp, name, nil)
}

// Duplicate downloads wapt/<filename> from the repository, verifies it
// (its SHA-256 against the server's index, its signature against the
// admin's own certificate chain) and extracts it into outDir/newName as a
// draft named newName: the signature and the package_uuid are dropped,
// the rest of the control, setup.py and the payload are kept.
func (s *Session) Duplicate(ctx context.Context, filename, newName, outDir string) (*Draft, error) {
	if why := checkPackageName("base", newName); why != "" {
		return nil, fmt.Errorf("duplicate %s: %w", filename, FieldErrors{"package": why})
	}
	dest := filepath.Join(outDir, newName)
	if _, err := os.Lstat(dest); err == nil {
		return nil, fmt.Errorf("duplicate %s: %s: %w", filename, dest, os.ErrExist)
	}
	info, err := s.client.Package(ctx, filename)
	if err != nil {
		return nil, fmt.Errorf("duplicate %s: %w", filename, mapErr(err))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(outDir, ".waptconsole-dup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "package.wapt")
	if err := s.download(ctx, filename, file, info); err != nil {
		return nil, err
	}
	p, err := pkgfile.Open(file, pkgfile.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("duplicate %s: %w", filename, err)
	}
	defer p.Close()
	if _, err := p.Verify(ctx, signing.NewTrust(s.chain...), s.now()); err != nil {
		return nil, fmt.Errorf("duplicate %s: %w", filename, err)
	}
	src := filepath.Join(tmp, "src")
	if err := p.Extract(ctx, src); err != nil {
		return nil, fmt.Errorf("duplicate %s: %w", filename, err)
	}
	for _, m := range []string{pkgfile.CertificateName, pkgfile.ManifestName, pkgfile.SignatureName} {
		if err := os.Remove(filepath.Join(src, filepath.FromSlash(m))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	d, err := LoadDraft(src)
	if err != nil {
		return nil, err
	}
	// installed_size is computed again by the build.
	for _, k := range append(append([]string{"package_uuid", "installed_size"}, control.SignatureAttributes...), control.IndexAttributes...) {
		d.Control.Del(k)
	}
	d.Control.Set("package", newName)
	if err := d.Save(); err != nil {
		return nil, err
	}
	if err := os.Rename(src, dest); err != nil {
		return nil, fmt.Errorf("duplicate %s: %w", filename, err)
	}
	d.Dir = dest
	return d, nil
}

// download saves wapt/<filename> to path and checks its size and SHA-256
// against info (the server's index entry).
func (s *Session) download(ctx context.Context, filename, path string, info wire.PackageInfo) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	max := info.Size
	if max <= 0 {
		max = pkgfile.DefaultLimits().MaxFileSize
	}
	h := sha256.New()
	n, err := s.client.DownloadPackage(ctx, filename, io.MultiWriter(f, h), max)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", filename, mapErr(err))
	}
	if info.Size > 0 && n != info.Size {
		return fmt.Errorf("download %s: %d bytes, the index says %d", filename, n, info.Size)
	}
	if info.SHA256 != "" && !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), info.SHA256) {
		return fmt.Errorf("download %s: SHA-256 differs from the index", filename)
	}
	return nil
}
