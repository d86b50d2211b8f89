package pkgfile

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Extract writes the members of a verified package into dir, which is
// created (its parent must exist) or must be an empty directory. Verify
// must have succeeded on p first (ErrNotVerified). Payload is hashed again
// while written and compared with the manifest (the file could have changed
// since Verify); the metadata members are written as Open read them and
// Verify checked them. On any error everything Extract wrote is removed. Files
// get mode 0644 (0755 when the ZIP marks them executable), directories
// 0755. All writes go through an os.Root on dir, so no link is followed
// out of it. The legacy WAPT/manifest.sha1 and WAPT/signature members,
// which nothing authenticates, are not written.
func (p *Package) Extract(ctx context.Context, dir string) (err error) {
	if !p.verified {
		return fmt.Errorf("%s: %w", p.name, ErrNotVerified)
	}
	created, err := prepareDir(dir)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	var written []string // relative paths, in creation order
	defer func() {
		root.Close()
		if err == nil {
			return
		}
		if created {
			_ = os.RemoveAll(dir)
			return
		}
		r, rerr := os.OpenRoot(dir)
		if rerr != nil {
			return
		}
		defer r.Close()
		for i := len(written) - 1; i >= 0; i-- {
			_ = r.Remove(written[i])
		}
	}()
	dirs := map[string]bool{}
	mkdir := func(name string) error {
		if dirs[name] {
			return nil
		}
		osName := filepath.FromSlash(name)
		if err := root.Mkdir(osName, 0o755); err != nil {
			return fmt.Errorf("%s: extract %q: %w", p.name, name, err)
		}
		written = append(written, osName)
		dirs[name] = true
		return root.Chmod(osName, 0o755)
	}
	buf := make([]byte, chunkSize)
	for _, e := range p.entries {
		if e.name == legacyManifest || e.name == legacySignature {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := hostUnsafe(e.name); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		name := strings.TrimSuffix(e.name, "/")
		for i := 0; i < len(name); i++ {
			if name[i] == '/' {
				if err := mkdir(name[:i]); err != nil {
					return err
				}
			}
		}
		if e.dir {
			if err := mkdir(name); err != nil {
				return err
			}
			continue
		}
		if err := p.extractFile(root, e, buf, &written); err != nil {
			return err
		}
	}
	return nil
}

// prepareDir creates dir or checks that it is an empty directory; created
// tells which.
func prepareDir(dir string) (created bool, err error) {
	err = os.Mkdir(dir, 0o755)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("extract to %s: not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return false, fmt.Errorf("extract to %s: directory not empty", dir)
	}
	return false, nil
}

// extractFile writes one file member, checking its hash; metadata members
// are written from the bytes Verify checked.
func (p *Package) extractFile(root *os.Root, e *entry, buf []byte, written *[]string) error {
	perm := fs.FileMode(0o644)
	if e.exec {
		perm = 0o755
	}
	osName := filepath.FromSlash(e.name)
	f, err := root.OpenFile(osName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("%s: extract %q: %w", p.name, e.name, err)
	}
	*written = append(*written, osName)
	err = p.writeMember(f, e, buf)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: extract %q: %w", p.name, e.name, cerr)
	}
	if err == nil {
		err = root.Chmod(osName, perm)
	}
	return err
}

func (p *Package) writeMember(f *os.File, e *entry, buf []byte) error {
	if data, ok := p.meta[e.name]; ok {
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("%s: extract %q: %w", p.name, e.name, err)
		}
		return nil
	}
	want := p.hashes[e.name]
	if want == nil {
		return fmt.Errorf("%s: %w: member %q is not listed in %s", p.name, ErrManifest, e.name, ManifestName)
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), p.open(e), buf); err != nil {
		return fmt.Errorf("%s: extract %q: %w", p.name, e.name, err)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return fmt.Errorf("%s: %w: member %q changed since Verify", p.name, ErrManifest, e.name)
	}
	return nil
}

// reservedBase reports whether a path segment is a Windows device name
// (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without extension).
func reservedBase(seg string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(seg), ".")
	base = strings.TrimRight(base, " ")
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	return len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '1' && base[3] <= '9'
}

// reservedName reports the first segment of name that is a Windows device
// name.
func reservedName(name string) (string, bool) {
	for seg := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		if reservedBase(seg) {
			return seg, true
		}
	}
	return "", false
}
