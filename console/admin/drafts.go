package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// Names of the draft files.
const (
	setupFile  = "setup.py"
	waptDir    = "WAPT"
	maxSetupPy = 4 << 20 // bytes of setup.py LoadDraft reads
)

// setupTemplate is the setup.py of a new draft.
const setupTemplate = `# -*- coding: utf-8 -*-
from setuphelpers import *


def install():
    print('installing %s' % control.package)


def uninstall():
    print('removing %s' % control.package)
`

var (
	// packageNameRe is a base (or group, config, ...) package name: what
	// WAPT keeps as is in file names.
	packageNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*$`)
	// profileNameRe is a profile package name: an AD or local group.
	profileNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._~$-]*$`)
	// maturityRe is a maturity (PROD, PREPROD, BETA, DEV, ...).
	maturityRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// NewDraft creates the package source dir/name (dir is created when
// missing; dir/name must not exist or be empty) with a minimal control
// (package name, version 0-1, architecture all, section base, priority
// optional) and a setup.py template, and returns it.
func NewDraft(dir, name string) (*Draft, error) {
	if why := checkPackageName("base", name); why != "" {
		return nil, fmt.Errorf("new package: %w", FieldErrors{"package": why})
	}
	d := &Draft{Dir: filepath.Join(dir, name), SetupPy: setupTemplate}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("new package: %w", err)
	}
	if err := os.Mkdir(d.Dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("new package: %w", err)
	}
	if ents, err := os.ReadDir(d.Dir); err != nil {
		return nil, fmt.Errorf("new package: %w", err)
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("new package: %s: %w: not empty", d.Dir, fs.ErrExist)
	}
	c := control.New()
	c.Set("package", name)
	c.Set("version", "0-1")
	c.Set("architecture", "all")
	c.Set("section", "base")
	c.Set("priority", "optional")
	c.Set("name", name)
	c.Set("description", name)
	d.Control = c
	if err := d.Save(); err != nil {
		return nil, err
	}
	return d, nil
}

// LoadDraft reads the package source dir: WAPT/control (required) and
// setup.py (optional).
func LoadDraft(dir string) (*Draft, error) {
	cpath := filepath.Join(dir, waptDir, "control")
	data, err := readFileMax(cpath, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("open package source: %w", err)
	}
	c, err := control.Parse(cpath, data)
	if err != nil {
		return nil, fmt.Errorf("open package source: %w", err)
	}
	d := &Draft{Dir: dir, Control: c}
	setup, err := readFileMax(filepath.Join(dir, setupFile), maxSetupPy)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open package source: %w", err)
	default:
		d.SetupPy = string(setup)
	}
	return d, nil
}

// readFileMax reads a file of at most max bytes.
func readFileMax(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	return data, nil
}

// Validate checks the draft as the repository will: the control
// (required fields, version, architecture, section, depends and
// conflicts), the package name for its section, the maturity, and the
// syntax of setup.py (loaded by the agent's script engine in dry-run mode:
// its top level runs, nothing is done). The error is *FieldErrors keyed by
// control field, or "setup.py".
func (d *Draft) Validate() error {
	if d.Control == nil {
		return FieldErrors{"control": "missing"}
	}
	bad := FieldErrors{}
	var ve *control.ValidationError
	if err := d.Control.Validate(); errors.As(err, &ve) {
		for k, v := range ve.Fields {
			bad[k] = v
		}
	} else if err != nil {
		bad["control"] = err.Error()
	}
	name := strings.TrimSpace(d.Control.Package())
	if _, ok := bad["package"]; !ok {
		if why := checkPackageName(d.Control.Section(), name); why != "" {
			bad["package"] = why
		}
	}
	if m := strings.TrimSpace(d.Control.Get("maturity")); m != "" && !maturityRe.MatchString(m) {
		bad["maturity"] = fmt.Sprintf("%q: letters, digits, _ and - only (PROD, PREPROD, BETA, DEV, ...)", m)
	}
	for _, k := range []string{"depends", "conflicts"} {
		if _, ok := bad[k]; ok {
			continue
		}
		reqs, _ := version.ParseRequests(d.Control.Get(k))
		for _, r := range reqs {
			if strings.EqualFold(r.Name, name) {
				bad[k] = fmt.Sprintf("%s names the package itself", k)
			}
		}
	}
	if d.SetupPy != "" {
		if err := checkScript(context.Background(), d); err != nil {
			bad[setupFile] = err.Error()
		}
	}
	return bad.orNil()
}

// checkPackageName returns why name cannot be the name of a package of
// section, or "".
func checkPackageName(section, name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) > wire.MaxPackageNameLen:
		return fmt.Sprintf("longer than %d bytes", wire.MaxPackageNameLen)
	}
	switch section {
	case "host":
		if !wire.ValidUUID(name) {
			return fmt.Sprintf("%q: a host package is named after the host uuid ([A-Za-z0-9._-], at most %d characters)", name, wire.MaxUUIDLen)
		}
	case "unit":
		if !strings.Contains(name, "=") || strings.ContainsFunc(name, unicode.IsControl) {
			return fmt.Sprintf("%q: a unit package is named after its OU (OU=room1,OU=prod,DC=example,DC=lan)", name)
		}
	case "profile":
		if !profileNameRe.MatchString(name) {
			return fmt.Sprintf("%q: a profile package is named after a group: letters, digits, spaces, . _ ~ $ -", name)
		}
	default:
		if !packageNameRe.MatchString(name) {
			return fmt.Sprintf("%q: letters, digits, . _ ~ - only, starting with a letter or digit", name)
		}
	}
	return ""
}

// Save writes WAPT/control and setup.py, each atomically; an empty SetupPy
// removes setup.py (a config-only package). It does not validate.
func (d *Draft) Save() error {
	if d.Control == nil {
		return errors.New("save package source: no control")
	}
	if err := os.MkdirAll(filepath.Join(d.Dir, waptDir), 0o755); err != nil {
		return fmt.Errorf("save package source: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(d.Dir, waptDir, "control"), d.Control.Format(), 0o644); err != nil {
		return fmt.Errorf("save package source: %w", err)
	}
	setup := filepath.Join(d.Dir, setupFile)
	if d.SetupPy == "" {
		if err := os.Remove(setup); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("save package source: %w", err)
		}
		return nil
	}
	if err := atomicfile.WriteFile(setup, []byte(d.SetupPy), 0o644); err != nil {
		return fmt.Errorf("save package source: %w", err)
	}
	return nil
}

// Files returns the payload files of the draft: regular files under Dir,
// relative with forward slashes, sorted; WAPT/, setup.py (edited as
// SetupPy) and what a build leaves out (pkgfile.DefaultExcludes: .git,
// *.pyc, ...) are not listed.
func (d *Draft) Files() ([]string, error) {
	excludes := pkgfile.DefaultExcludes()
	var out []string
	err := filepath.WalkDir(d.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == d.Dir {
			return nil
		}
		rel, err := filepath.Rel(d.Dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == waptDir || strings.EqualFold(rel, setupFile) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		for _, pat := range excludes {
			subject := e.Name()
			if strings.Contains(pat, "/") {
				subject = rel
			}
			if ok, _ := path.Match(pat, subject); ok {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if e.Type().IsRegular() {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", d.Dir, err)
	}
	sort.Strings(out)
	return out, nil
}

// AddFile copies the file or directory src into Dir under its base name,
// replacing a file of that name. Links and special files are refused, and
// so are the names WAPT and setup.py (edit setup.py as SetupPy).
func (d *Draft) AddFile(src string) error {
	base := filepath.Base(src)
	if strings.EqualFold(base, waptDir) || strings.EqualFold(base, setupFile) || base == "." || base == ".." || base == string(filepath.Separator) {
		return fmt.Errorf("add %s: %w", src, FieldErrors{"files": fmt.Sprintf("%q cannot be added as a payload file", base)})
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("add file: %w", err)
	}
	dst := filepath.Join(d.Dir, base)
	if fi.IsDir() {
		if err := copyTree(src, dst); err != nil {
			return fmt.Errorf("add %s: %w", src, err)
		}
		return nil
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("add %s: %w", src, FieldErrors{"files": "not a regular file or directory"})
	}
	if err := copyFile(src, dst, fi.Mode()); err != nil {
		return fmt.Errorf("add %s: %w", src, err)
	}
	return nil
}

// copyTree copies the directory src to dst (merged into an existing one).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch t := e.Type(); {
		case t.IsDir():
			return os.MkdirAll(target, 0o755)
		case t.IsRegular():
			fi, err := e.Info()
			if err != nil {
				return err
			}
			return copyFile(p, target, fi.Mode())
		}
		return fmt.Errorf("%s: %w", p, FieldErrors{"files": "links and special files cannot be packaged"})
	})
}

// copyFile copies src to dst atomically, keeping the executable bits.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o644|mode.Perm()&0o111, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// RemoveFile removes the payload file or directory rel (relative to Dir,
// forward or OS slashes). Paths leaving Dir, absolute paths, WAPT/ and
// setup.py are refused; nothing outside Dir is touched even through links.
func (d *Draft) RemoveFile(rel string) error {
	clean := filepath.Clean(filepath.FromSlash(rel))
	first, _, _ := strings.Cut(filepath.ToSlash(clean), "/")
	switch {
	case rel == "" || !filepath.IsLocal(clean) || clean == ".":
		return fmt.Errorf("remove %q: %w", rel, FieldErrors{"files": "not a path inside the package"})
	case strings.EqualFold(first, waptDir):
		return fmt.Errorf("remove %q: %w", rel, FieldErrors{"files": "WAPT/ holds the package metadata"})
	case strings.EqualFold(clean, setupFile):
		return fmt.Errorf("remove %q: %w", rel, FieldErrors{"files": "clear SetupPy to remove setup.py"})
	}
	root, err := os.OpenRoot(d.Dir)
	if err != nil {
		return fmt.Errorf("remove %q: %w", rel, err)
	}
	defer root.Close()
	if _, err := root.Lstat(clean); err != nil {
		return fmt.Errorf("remove %q: %w", rel, err)
	}
	if err := root.RemoveAll(clean); err != nil {
		return fmt.Errorf("remove %q: %w", rel, err)
	}
	return nil
}

// validHook reports whether hook is a setup.py hook the agent runs.
func validHook(hook string) bool {
	return slices.Contains([]string{"install", "uninstall", "session_setup", "audit", "update_package"}, hook)
}
