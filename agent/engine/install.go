package engine

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/version"
)

// maxOutput bounds the output kept per run.
const maxOutput = 256 << 10

// Outcome is what happened to one package during an operation.
type Outcome struct {
	Package string `json:"package"`
	Version string `json:"version,omitempty"`
	Action  string `json:"action"` // install, upgrade, remove, download, skip
	Err     error  `json:"-"`
	Error   string `json:"error,omitempty"`
}

func (o *Outcome) fail(err error) {
	o.Err = err
	o.Error = err.Error()
}

// RunReport is the outcome of DownloadUpgrade, Upgrade, Install or Remove.
type RunReport struct {
	Outcomes []Outcome `json:"outcomes"`
	Status   HostStatus
}

// Failed returns the failed outcomes.
func (r RunReport) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Err != nil {
			out = append(out, o)
		}
	}
	return out
}

// Err joins the failures.
func (r RunReport) Err() error {
	var errs []error
	for _, o := range r.Failed() {
		errs = append(errs, fmt.Errorf("%s: %w", o.Package, o.Err))
	}
	return errors.Join(errs...)
}

// DownloadUpgrade downloads (resuming, verifying) every package the host
// needs, without installing anything.
func (e *Engine) DownloadUpgrade(ctx context.Context) (RunReport, error) {
	hs, err := e.Status(ctx)
	if err != nil {
		return RunReport{}, err
	}
	rep := RunReport{Status: hs}
	for _, p := range hs.Packages {
		if p.cand == nil || (p.State != StateNeedInstall && p.State != StateNeedUpgrade && p.State != StateError) {
			continue
		}
		if p.cand.Implicit == "host" {
			continue // the host package is not in the index: Update fetched it
		}
		o := Outcome{Package: p.Package, Version: p.Available, Action: "download"}
		if _, err := e.download(ctx, p.cand); err != nil {
			o.fail(err)
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	return rep, rep.Err()
}

// Upgrade brings the host to its resolved state: removes what is no longer
// wanted (dependents first), then installs and upgrades in dependency order,
// retrying packages in ERROR. A failure does not stop the others, but the
// packages that depend on a failed one are skipped.
func (e *Engine) Upgrade(ctx context.Context) (RunReport, error) {
	hs, err := e.Status(ctx)
	if err != nil {
		return RunReport{}, err
	}
	return e.apply(ctx, hs, nil)
}

// UpgradeOnly is Upgrade restricted to the named packages (waptexit sends
// the pending packages of the priorities it honours): it installs,
// upgrades or retries those of them that are pending, with the pending
// dependencies they need, and removes those of them that are NEED-REMOVE.
// Names that are not pending are ignored; nothing is marked explicit, so it
// never installs what the host is not meant to have.
func (e *Engine) UpgradeOnly(ctx context.Context, names ...string) (RunReport, error) {
	hs, err := e.Status(ctx)
	if err != nil {
		return RunReport{}, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(strings.TrimSpace(n))] = true
	}
	need := map[string]bool{}
	for _, p := range hs.Packages {
		if n := strings.ToLower(p.Package); want[n] && p.State != StateOK {
			need[n] = true
			for _, d := range p.depsClosure(hs) {
				need[d] = true
			}
		}
	}
	var only []PackageStatus
	for _, p := range hs.Packages {
		if need[strings.ToLower(p.Package)] {
			only = append(only, p)
		}
	}
	var rm []string
	for _, n := range hs.removeSeq {
		if want[strings.ToLower(n)] {
			rm = append(rm, n)
		}
	}
	hs.Packages, hs.removeSeq = only, rm
	return e.apply(ctx, hs, nil)
}

// Install installs packages by request ("firefox", "firefox(>=128)") or
// from files (FILE.wapt), with their dependencies, and marks them explicit.
func (e *Engine) Install(ctx context.Context, args ...string) (RunReport, error) {
	var reqs []version.Request
	var rep RunReport
	for _, a := range args {
		if st, err := os.Stat(filepath.Join(a, "WAPT", "control")); err == nil && st.Mode().IsRegular() {
			o := Outcome{Package: filepath.Base(a), Action: "install"}
			if err := e.InstallDir(ctx, a); err != nil {
				o.fail(err)
			}
			rep.Outcomes = append(rep.Outcomes, o)
			continue
		}
		if strings.HasSuffix(strings.ToLower(a), ".wapt") {
			if _, err := os.Stat(a); err == nil {
				o := e.installFile(ctx, a)
				rep.Outcomes = append(rep.Outcomes, o)
				continue
			}
		}
		r, err := version.ParseRequest(a)
		if err != nil {
			return rep, err
		}
		reqs = append(reqs, r)
	}
	return e.installRequests(ctx, reqs, rep)
}

// InstallPackages is Install for package requests only ("firefox",
// "firefox(>=128)"): no argument is ever read as a file or a directory, so
// it is what the service runs for a caller who is not an administrator.
func (e *Engine) InstallPackages(ctx context.Context, reqs ...string) (RunReport, error) {
	var rs []version.Request
	for _, a := range reqs {
		r, err := version.ParseRequest(a)
		if err != nil {
			return RunReport{}, err
		}
		rs = append(rs, r)
	}
	return e.installRequests(ctx, rs, RunReport{})
}

// installRequests installs the packages reqs name, with their
// dependencies, adding to rep.
func (e *Engine) installRequests(ctx context.Context, reqs []version.Request, rep RunReport) (RunReport, error) {
	if len(reqs) == 0 {
		return rep, rep.Err()
	}
	hs, err := e.status(ctx, reqs)
	if err != nil {
		return rep, err
	}
	explicit := map[string]string{}
	for _, r := range reqs {
		found := false
		for _, p := range hs.Packages {
			if strings.EqualFold(p.Package, r.Name) && p.cand != nil {
				found = true
			}
		}
		if !found {
			rep.Outcomes = append(rep.Outcomes, Outcome{Package: r.Name, Action: "install", Err: fmt.Errorf("%w: no package matches %s", ErrNotFound, r.String()), Error: "no package matches " + r.String()})
			continue
		}
		pin := ""
		if r.Op != version.OpAny {
			pin = r.String()
		}
		explicit[strings.ToLower(r.Name)] = pin
	}
	// Only what the request needs: the named packages and their dependencies.
	need := map[string]bool{}
	for _, p := range hs.Packages {
		if _, ok := explicit[strings.ToLower(p.Package)]; ok {
			need[strings.ToLower(p.Package)] = true
			for _, d := range p.depsClosure(hs) {
				need[d] = true
			}
		}
	}
	var only []PackageStatus
	for _, p := range hs.Packages {
		if need[strings.ToLower(p.Package)] {
			only = append(only, p)
		}
	}
	hs.Packages, hs.removeSeq = only, nil
	r2, err := e.apply(ctx, hs, explicit)
	rep.Outcomes = append(rep.Outcomes, r2.Outcomes...)
	rep.Status = r2.Status
	if err != nil {
		return rep, err
	}
	return rep, rep.Err()
}

// depsClosure returns the names p depends on, transitively, among hs.
func (p PackageStatus) depsClosure(hs HostStatus) []string {
	byName := map[string]PackageStatus{}
	for _, q := range hs.Packages {
		byName[strings.ToLower(q.Package)] = q
	}
	var out []string
	seen := map[string]bool{}
	var walk func(q PackageStatus)
	walk = func(q PackageStatus) {
		if q.cand == nil {
			return
		}
		deps, _ := q.cand.Control.Depends()
		for _, d := range deps {
			n := strings.ToLower(d.Name)
			if seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, n)
			if dq, ok := byName[n]; ok {
				walk(dq)
			}
		}
	}
	walk(p)
	return out
}

// apply removes, then installs, what hs says. explicit maps lower-cased
// names asked by the user to their pin ("" for none).
func (e *Engine) apply(ctx context.Context, hs HostStatus, explicit map[string]string) (RunReport, error) {
	var rep RunReport
	for _, name := range hs.removeSeq {
		o := Outcome{Package: name, Action: "remove"}
		if err := e.removeOne(ctx, name); err != nil {
			o.fail(err)
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	failed := map[string]bool{}
	for _, p := range hs.Packages {
		if p.cand == nil {
			continue
		}
		name := strings.ToLower(p.Package)
		pin, isExplicit := explicit[name]
		if p.State == StateOK && !isExplicit {
			continue
		}
		if p.State != StateOK && p.State != StateNeedInstall && p.State != StateNeedUpgrade && p.State != StateError {
			continue
		}
		action := "install"
		if p.Installed != "" {
			action = "upgrade"
		}
		o := Outcome{Package: p.Package, Version: p.Available, Action: action}
		if err := ctx.Err(); err != nil {
			o.fail(err)
			rep.Outcomes = append(rep.Outcomes, o)
			break
		}
		deps, _ := p.cand.Control.Depends()
		var blocked string
		for _, d := range deps {
			if failed[strings.ToLower(d.Name)] {
				blocked = d.Name
			}
		}
		switch {
		case blocked != "":
			o.Action = "skip"
			o.fail(fmt.Errorf("dependency %s failed", blocked))
			failed[name] = true
		case p.State == StateOK:
			// Already installed: only record that the user asked for it.
			if err := e.markExplicit(ctx, p.Package, pin); err != nil {
				o.fail(err)
			}
			o.Action = "keep"
		default:
			if err := e.installOne(ctx, p.cand, isExplicit, pin); err != nil {
				o.fail(err)
				failed[name] = true
			}
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	st, err := e.Status(ctx)
	rep.Status = st
	return rep, errors.Join(rep.Err(), err)
}

func (e *Engine) markExplicit(ctx context.Context, name, pin string) error {
	in, err := e.cfg.Store.GetInstalled(ctx, name)
	if err != nil {
		return err
	}
	in.Explicit = true
	if pin != "" {
		if in.Params == nil {
			in.Params = map[string]string{}
		}
		in.Params["_request"] = pin
	}
	return e.cfg.Store.PutInstalled(ctx, in)
}

// download fetches a resolved package into the cache and returns its path.
func (e *Engine) download(ctx context.Context, r *resolve.Resolved) (string, error) {
	repo, ok := e.repo(r.Repo)
	if !ok {
		return "", fmt.Errorf("unknown repository %q", r.Repo)
	}
	c := r.Control
	fn := c.Get("filename")
	if fn == "" || fn != filepath.Base(fn) || strings.ContainsAny(fn, `/\:`) || strings.HasPrefix(fn, ".") {
		return "", fmt.Errorf("%s: bad file name %q in the index", c.Package(), fn)
	}
	size, err := strconv.ParseInt(c.Get("size"), 10, 64)
	if err != nil || size <= 0 {
		return "", fmt.Errorf("%s: the index gives no valid size", c.Package())
	}
	if size > e.cfg.Limits.MaxFileSize {
		return "", fmt.Errorf("%s: %d bytes: %w", c.Package(), size, pkgfile.ErrTooLarge)
	}
	sum := c.Get("sha256")
	if len(sum) != 64 {
		return "", fmt.Errorf("%s: the index gives no sha256 (WAPT-compat index without our hashes is not downloadable safely)", c.Package())
	}
	dest := filepath.Join(e.cfg.CacheDir, fn)
	var progress func(done, total int64)
	if e.cfg.Progress != nil {
		name := c.Package()
		progress = func(done, total int64) { e.cfg.Progress(name, done, total) }
	}
	if err := e.cfg.Fetcher.Download(ctx, repo.URL+"/"+fn, dest, size, sum, progress); err != nil {
		return "", err
	}
	return dest, nil
}

// installOne downloads, verifies, extracts and runs install() for r,
// recording INSTALLING first and the result after.
func (e *Engine) installOne(ctx context.Context, r *resolve.Resolved, explicit bool, pin string) error {
	repo, _ := e.repo(r.Repo)
	if r.Implicit == "host" {
		// The host package is not in the index: Update fetched and verified it.
		uuid, err := e.HostUUID(ctx)
		if err != nil {
			return err
		}
		return e.installVerified(ctx, e.hostPackagePath(uuid), repo.Trust == nil, repo, r.Control, false, "")
	}
	path, err := e.download(ctx, r)
	if err != nil {
		return err
	}
	return e.installVerified(ctx, path, repo.Trust == nil, repo, r.Control, explicit, pin)
}

// installFile installs a local .wapt verified with LocalTrust.
func (e *Engine) installFile(ctx context.Context, path string) Outcome {
	o := Outcome{Package: filepath.Base(path), Action: "install"}
	if e.cfg.LocalTrust == nil {
		o.fail(errors.New("no trusted certificates configured for local packages"))
		return o
	}
	err := e.installVerified(ctx, path, false, Repo{Name: "", Trust: e.cfg.LocalTrust}, nil, true, "")
	if err != nil {
		o.fail(err)
	}
	return o
}

func (e *Engine) installVerified(ctx context.Context, path string, noTrust bool, repo Repo, want *control.Control, explicit bool, pin string) error {
	if noTrust {
		return fmt.Errorf("repository %s has no trusted certificates", repo.Name)
	}
	p, err := pkgfile.Open(path, e.cfg.Limits)
	if err != nil {
		return err
	}
	defer p.Close()
	signer, err := p.Verify(ctx, repo.Trust, e.cfg.Now())
	if err != nil {
		return err
	}
	c := p.Control()
	if want != nil && (!strings.EqualFold(c.Package(), want.Package()) || c.Get("version") != want.Get("version")) {
		return fmt.Errorf("%w: %s holds %s %s, the index says %s %s", ErrBadRepository, filepath.Base(path), c.Package(), c.Get("version"), want.Package(), want.Get("version"))
	}
	name := c.Package()
	work, err := os.MkdirTemp(e.cfg.WorkDir, sanitize(name)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dir := filepath.Join(work, "pkg")
	if err := p.Extract(ctx, dir); err != nil {
		return err
	}
	var setup []byte
	if p.HasSetupPy() {
		if setup, err = readSetupPy(dir); err != nil {
			return err
		}
	}
	return e.runInstall(ctx, c, dir, setup, signer, repo.Name, explicit, pin)
}

// InstallDir installs a package from its unpacked sources (DIR/WAPT/control
// and DIR/setup.py), without any signature: development mode for the admin
// working on the package on this machine. It is recorded like any install,
// with the repository "local-sources".
func (e *Engine) InstallDir(ctx context.Context, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "WAPT", "control"))
	if err != nil {
		return fmt.Errorf("%s is not a package directory: %w", dir, err)
	}
	c, err := control.Parse(filepath.Join(dir, "WAPT", "control"), data)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	var setup []byte
	if _, err := os.Stat(filepath.Join(dir, "setup.py")); err == nil {
		if setup, err = readSetupPy(dir); err != nil {
			return err
		}
	}
	e.cfg.Logf("WARNING: installing %s from unsigned sources in %s (development mode)", c.Package(), dir)
	return e.runInstall(ctx, c, dir, setup, nil, "local-sources", true, "")
}

// runInstall records INSTALLING, runs install() from dir, then records the
// result.
func (e *Engine) runInstall(ctx context.Context, c *control.Control, dir string, setup []byte, signer *x509.Certificate, repoName string, explicit bool, pin string) error {
	name := c.Package()
	prev, err := e.cfg.Store.GetInstalled(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	now := e.cfg.Now()
	rec := Installed{
		Package: name, Version: c.Get("version"), Architecture: c.Get("architecture"),
		Maturity: c.Get("maturity"), Locale: c.Get("locale"), Section: c.Section(), Repo: repoName,
		Status: StatusInstalling, Explicit: prev.Explicit || explicit, InstallDate: prev.InstallDate,
		UpdateDate: now, Control: string(c.Format()), SetupPy: setup, Params: prev.Params,
		PersistentDir: filepath.Join(e.cfg.PersistentDir, sanitize(name)), Retries: prev.Retries,
		UninstallKeys: prev.UninstallKeys,
	}
	if rec.InstallDate.IsZero() {
		rec.InstallDate = now
	}
	if pin != "" {
		if rec.Params == nil {
			rec.Params = map[string]string{}
		}
		rec.Params["_request"] = pin
	}
	if err := e.cfg.Store.PutInstalled(ctx, rec); err != nil {
		return err
	}

	var out bytes.Buffer
	var runErr error
	if setup != nil {
		if err := os.MkdirAll(rec.PersistentDir, 0o755); err != nil {
			return err
		}
		res, err := e.cfg.Scripts.Run(ctx, ScriptRequest{
			Source: setup, Filename: name + "/setup.py", Hook: "install", Control: c,
			Params: rec.Params, PersistentDir: rec.PersistentDir, WorkDir: dir,
			Output: io.MultiWriter(&out, e.cfg.Output), Signer: signer,
		})
		switch {
		case errors.Is(err, ErrNoSuchHook):
		case err != nil:
			runErr = err
		default:
			rec.UninstallKeys = res.UninstallKeys
		}
		if out.Len() == 0 {
			out.WriteString(res.Output)
		}
	}
	rec.Output = tail(out.String(), maxOutput)
	if runErr != nil {
		rec.Status, rec.LastError, rec.Retries = StatusError, runErr.Error(), rec.Retries+1
		if err := e.cfg.Store.PutInstalled(context.WithoutCancel(ctx), rec); err != nil {
			return errors.Join(runErr, err)
		}
		return runErr
	}
	// The self-service rules are kept before the record says OK: a crash in
	// between leaves the record INSTALLING (then ERROR, retried), and rules
	// count only for a package recorded OK.
	if err := e.selfServiceInstalled(context.WithoutCancel(ctx), c, prev, dir, signer); err != nil {
		rec.Status, rec.LastError, rec.Retries = StatusError, err.Error(), rec.Retries+1
		if perr := e.cfg.Store.PutInstalled(context.WithoutCancel(ctx), rec); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}
	rec.Status, rec.LastError, rec.Retries = StatusOK, "", 0
	return e.cfg.Store.PutInstalled(context.WithoutCancel(ctx), rec)
}

// selfServiceInstalled keeps the rules of a self-service package installed
// from a verified file (signer set), and drops the rules of a package that
// no longer provides them verified (its section changed, or it was
// installed from sources).
func (e *Engine) selfServiceInstalled(ctx context.Context, c *control.Control, prev Installed, dir string, signer *x509.Certificate) error {
	switch {
	case c.Section() == selfServiceSection && signer != nil:
		return e.keepSelfServiceRules(ctx, c.Package(), c.Get("version"), dir)
	case c.Section() == selfServiceSection:
		e.cfg.Logf("%s: self-service rules from an unsigned package are ignored", c.Package())
		e.dropSelfServiceRules(ctx, c.Package())
	case prev.Section == selfServiceSection:
		e.dropSelfServiceRules(ctx, c.Package())
	}
	return nil
}

func readSetupPy(dir string) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, de := range entries {
		if strings.EqualFold(de.Name(), "setup.py") && de.Type().IsRegular() {
			f, err := os.Open(filepath.Join(dir, de.Name()))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, 8<<20+1))
			if err != nil {
				return nil, err
			}
			if len(b) > 8<<20 {
				return nil, errors.New("setup.py larger than 8 MiB")
			}
			return b, nil
		}
	}
	return nil, errors.New("setup.py listed but not extracted")
}

// Remove runs uninstall() (or removes the recorded uninstall keys) and
// forgets the packages.
func (e *Engine) Remove(ctx context.Context, names ...string) (RunReport, error) {
	var rep RunReport
	for _, n := range names {
		o := Outcome{Package: n, Action: "remove"}
		if err := e.removeOne(ctx, n); err != nil {
			o.fail(err)
		}
		rep.Outcomes = append(rep.Outcomes, o)
	}
	st, err := e.Status(ctx)
	rep.Status = st
	if err != nil {
		return rep, err
	}
	return rep, rep.Err()
}

func (e *Engine) removeOne(ctx context.Context, name string) error {
	rec, err := e.cfg.Store.GetInstalled(ctx, name)
	if err != nil {
		return err
	}
	rec.Status = StatusRemoving
	if err := e.cfg.Store.PutInstalled(ctx, rec); err != nil {
		return err
	}
	var out bytes.Buffer
	runErr := e.uninstall(ctx, rec, io.MultiWriter(&out, e.cfg.Output))
	if runErr != nil {
		rec.Status, rec.LastError = StatusError, "remove: "+runErr.Error()
		rec.Output = tail(out.String(), maxOutput)
		if err := e.cfg.Store.PutInstalled(context.WithoutCancel(ctx), rec); err != nil {
			return errors.Join(runErr, err)
		}
		return runErr
	}
	if rec.PersistentDir != "" && strings.HasPrefix(rec.PersistentDir, e.cfg.PersistentDir+string(os.PathSeparator)) {
		_ = os.RemoveAll(rec.PersistentDir)
	}
	if err := e.cfg.Store.DeleteInstalled(context.WithoutCancel(ctx), rec.Package); err != nil {
		return err
	}
	if rec.Section == selfServiceSection {
		e.dropSelfServiceRules(context.WithoutCancel(ctx), rec.Package)
	}
	return nil
}

func (e *Engine) uninstall(ctx context.Context, rec Installed, out io.Writer) error {
	if len(rec.SetupPy) > 0 {
		c, err := control.Parse(rec.Package+"/WAPT/control", []byte(rec.Control))
		if err != nil {
			return err
		}
		work, err := os.MkdirTemp(e.cfg.WorkDir, sanitize(rec.Package)+"-rm-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		_, err = e.cfg.Scripts.Run(ctx, ScriptRequest{
			Source: rec.SetupPy, Filename: rec.Package + "/setup.py", Hook: "uninstall", Control: c,
			Params: rec.Params, PersistentDir: rec.PersistentDir, WorkDir: work, Output: out,
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNoSuchHook) {
			return err
		}
	}
	if len(rec.UninstallKeys) > 0 && e.cfg.Uninstaller != nil {
		return e.cfg.Uninstaller.Uninstall(ctx, rec.UninstallKeys, out)
	}
	return nil
}

// Forget drops the records of packages without running anything.
func (e *Engine) Forget(ctx context.Context, names ...string) error {
	for _, n := range names {
		rec, err := e.cfg.Store.GetInstalled(ctx, n)
		if err != nil {
			return fmt.Errorf("forget %s: %w", n, err)
		}
		if err := e.cfg.Store.DeleteInstalled(ctx, n); err != nil {
			return err
		}
		if rec.Section == selfServiceSection {
			e.dropSelfServiceRules(ctx, rec.Package)
		}
	}
	return nil
}

// Installed lists the local records.
func (e *Engine) Installed(ctx context.Context) ([]Installed, error) {
	return e.cfg.Store.ListInstalled(ctx)
}

// Available lists the entries of the stored indexes, newest first per name,
// filtered by keywords (any of them, in name or description).
func (e *Engine) Available(ctx context.Context, keywords ...string) ([]resolve.Candidate, error) {
	cands, _, err := e.candidates(ctx)
	if err != nil {
		return nil, err
	}
	var out []resolve.Candidate
	for _, c := range cands {
		if matchKeywords(c.Control, keywords) {
			out = append(out, c)
		}
	}
	return out, nil
}

func matchKeywords(c *control.Control, kws []string) bool {
	if len(kws) == 0 {
		return true
	}
	hay := strings.ToLower(c.Package() + " " + c.Get("name") + " " + c.Get("description") + " " + c.Get("keywords"))
	for _, k := range kws {
		if strings.Contains(hay, strings.ToLower(k)) {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// sanitize makes a package name usable as a directory name.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		s = "_"
	}
	return s
}
