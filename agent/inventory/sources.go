package inventory

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// The collectors below read through a runner and an fs.FS only, so they
// carry no build tag and are tested on every OS; the per-OS files wire them.

// Package manager queries (Linux).
var (
	dpkgArgs = []string{"-W", `--showformat=${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\t${Maintainer}\n`}
	rpmArgs  = []string{"-qa", "--queryformat", `%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{INSTALLTIME}\n`}
)

// packageSoftware lists the dpkg and rpm packages. A tool that is missing or
// fails is ignored when the other one answered; when neither does the
// error says why for both.
func packageSoftware(ctx context.Context, run runner) ([]Software, error) {
	sources := []struct {
		name  string
		args  []string
		parse func([]byte) ([]Software, error)
	}{
		{"dpkg-query", dpkgArgs, parseDpkg},
		{"rpm", rpmArgs, parseRpm},
	}
	all := []Software{}
	var errs []error
	answered := false
	for _, src := range sources {
		out, err := run(ctx, src.name, src.args...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.name, err))
			continue
		}
		sw, err := src.parse(out)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.name, err))
			continue
		}
		answered = true
		all = append(all, sw...)
	}
	if !answered {
		return nil, fmt.Errorf("no package manager answered: %w", errors.Join(errs...))
	}
	if len(all) > maxSoftware {
		return nil, errTooMany
	}
	return sortSoftware(all), nil
}

// appBundles lists the application bundles /Applications/*.app and, one
// level down, /Applications/<folder>/*.app, from fsys (rooted at the
// filesystem root, which is root on disk). A binary Info.plist is converted
// with `plutil -convert xml1`; a bundle whose plist cannot be read is still
// listed, with a Note saying why.
func appBundles(ctx context.Context, fsys fs.FS, root string, run runner) ([]Software, error) {
	bundles, err := findBundles(fsys, "Applications")
	if err != nil {
		return nil, err
	}
	sw := make([]Software, 0, len(bundles))
	for _, b := range bundles {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sw = append(sw, readBundle(ctx, fsys, root, run, b))
	}
	return sw, nil
}

// findBundles returns the *.app directories in dir and its non-bundle
// subdirectories, at most maxSoftware.
func findBundles(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		if strings.HasSuffix(e.Name(), ".app") {
			out = append(out, p)
		} else if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			sub, err := fs.ReadDir(fsys, p)
			if err != nil {
				continue
			}
			for _, s := range sub {
				if strings.HasSuffix(s.Name(), ".app") {
					out = append(out, path.Join(p, s.Name()))
				}
			}
		}
		if len(out) > maxSoftware {
			return nil, errTooMany
		}
	}
	return out, nil
}

// readBundle reads one bundle's Contents/Info.plist.
func readBundle(ctx context.Context, fsys fs.FS, root string, run runner, bundle string) Software {
	name := path.Base(bundle)
	plist := path.Join(bundle, "Contents", "Info.plist")
	data, err := readLimited(fsys, plist, maxFileSize)
	var m map[string]string
	if err == nil {
		m, err = parsePlist(data)
		if errors.Is(err, errBinaryPlist) {
			data, err = run(ctx, "plutil", "-convert", "xml1", "-o", "-", filepath.Join(root, filepath.FromSlash(plist)))
			if err == nil {
				m, err = parsePlist(data)
			}
			if err != nil {
				err = fmt.Errorf("binary Info.plist not converted: %w", err)
			}
		}
	}
	s := appFromPlist(m, name)
	if err != nil {
		s.Note = clean("Info.plist unreadable: " + err.Error())
	}
	return s
}

// pkgutilSoftware lists the installer receipts: `pkgutil --pkgs`, then
// `pkgutil --pkg-info` for each, four at a time. A receipt whose details
// cannot be read is listed with a Note.
func pkgutilSoftware(ctx context.Context, run runner) ([]Software, error) {
	out, err := run(ctx, "pkgutil", "--pkgs")
	if err != nil {
		return nil, fmt.Errorf("pkgutil --pkgs: %w", err)
	}
	ids, err := parsePkgList(out)
	if err != nil {
		return nil, fmt.Errorf("pkgutil --pkgs: %w", err)
	}
	sw := make([]Software, len(ids))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			info, err := run(ctx, "pkgutil", "--pkg-info", id)
			s := parsePkgInfo(info)
			if err != nil || s.Name == "" {
				s = Software{Name: id, Key: id, Source: SourcePkgutil}
				if err != nil {
					s.Note = clean("pkgutil --pkg-info: " + err.Error())
				}
			}
			sw[i] = s
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return sw, nil
}

// macSoftware is the macOS software section: application bundles plus
// installer receipts; it fails only when both sources fail.
func macSoftware(ctx context.Context, fsys fs.FS, root string, run runner) ([]Software, error) {
	apps, aerr := appBundles(ctx, fsys, root, run)
	pkgs, perr := pkgutilSoftware(ctx, run)
	if aerr != nil && perr != nil {
		return nil, errors.Join(fmt.Errorf("applications: %w", aerr), perr)
	}
	all := append(apps, pkgs...)
	if len(all) > maxSoftware {
		return nil, errTooMany
	}
	if all == nil {
		all = []Software{}
	}
	return sortSoftware(all), nil
}

// ioregDMI is the macOS dmi section, from ioreg.
func ioregDMI(ctx context.Context, run runner) (dmiInfo, error) {
	out, err := run(ctx, "ioreg", "-rd1", "-c", "IOPlatformExpertDevice")
	if err != nil {
		return dmiInfo{}, fmt.Errorf("ioreg: %w", err)
	}
	m := parseIoreg(out)
	if len(m) == 0 {
		return dmiInfo{}, errors.New("ioreg: no IOPlatformExpertDevice properties")
	}
	return dmiFromIoreg(m), nil
}

// osReleaseName is the PRETTY_NAME of root/etc/os-release (or
// root/usr/lib/os-release), "" when unreadable.
func osReleaseName(fsys fs.FS) string {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b, err := readLimited(fsys, p, maxFileSize); err == nil {
			m := parseOSRelease(b)
			if n := m["PRETTY_NAME"]; n != "" {
				return n
			}
			return strings.TrimSpace(m["NAME"] + " " + m["VERSION"])
		}
	}
	return ""
}
