package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/version"
)

// State is the status of a package (or of the host: the worst of its packages).
type State string

// Package states, from best to worst.
const (
	StateOK          State = "OK"
	StateNeedUpgrade State = "NEED-UPGRADE"
	StateNeedInstall State = "NEED-INSTALL"
	StateNeedRemove  State = "NEED-REMOVE"
	StateError       State = "ERROR"
)

func (s State) rank() int {
	switch s {
	case StateOK:
		return 0
	case StateNeedUpgrade:
		return 1
	case StateNeedInstall:
		return 2
	case StateNeedRemove:
		return 3
	case StateError:
		return 4
	}
	return 5
}

// PackageStatus is one package's state.
type PackageStatus struct {
	Package   string `json:"package"`
	State     State  `json:"state"`
	Installed string `json:"installed,omitempty"` // installed version
	Available string `json:"available,omitempty"` // version the resolution chose
	Repo      string `json:"repo,omitempty"`
	Explicit  bool   `json:"explicit,omitempty"`
	Reason    string `json:"reason,omitempty"` // required by / why removed / last error

	cand *resolve.Resolved
}

// Control returns the control of the candidate the resolution chose (nil
// for a package that is only to be removed): waptexit reads its priority
// and impacted_process.
func (p PackageStatus) Control() *control.Control {
	if p.cand == nil {
		return nil
	}
	return p.cand.Control
}

// HostStatus is the state of the host.
type HostStatus struct {
	State     State           `json:"state"`
	HostUUID  string          `json:"host_uuid"`
	Packages  []PackageStatus `json:"packages"`
	Problems  []string        `json:"problems,omitempty"` // missing dependencies, conflicts, cycles
	Unsigned  []string        `json:"unsigned_repositories,omitempty"`
	removeSeq []string
}

// Pending returns the packages that are not OK.
func (h HostStatus) Pending() []PackageStatus {
	var out []PackageStatus
	for _, p := range h.Packages {
		if p.State != StateOK {
			out = append(out, p)
		}
	}
	return out
}

func parseIndex(raw []byte) (*repoindex.Index, error) {
	if len(raw) == 0 {
		return &repoindex.Index{}, nil
	}
	return repoindex.Parse(raw, 0)
}

// candidates returns every entry of the stored indexes.
func (e *Engine) candidates(ctx context.Context) ([]resolve.Candidate, []string, error) {
	var out []resolve.Candidate
	var unsigned []string
	for _, r := range e.cfg.Repos {
		st, err := e.cfg.Store.RepoState(ctx, r.Name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if st.Signed && !st.IndexExpires.IsZero() && !e.cfg.Now().Before(st.IndexExpires) {
			e.cfg.Logf("the index of %s expired at %s: its packages are not used until an update succeeds", r.Name, st.IndexExpires.Format(time.RFC3339))
			continue
		}
		ix, err := parseIndex(st.Index)
		if err != nil {
			return nil, nil, fmt.Errorf("stored index of %s: %w", r.Name, err)
		}
		if !st.Signed {
			unsigned = append(unsigned, r.Name)
		}
		for _, c := range ix.Entries {
			out = append(out, resolve.Candidate{Repo: r.Name, Control: c})
		}
	}
	return out, unsigned, nil
}

// hostPackages returns the verified host package kept by Update, if any.
func (e *Engine) hostPackages(ctx context.Context) ([]resolve.Candidate, error) {
	if !e.cfg.Host.UseHostPackages {
		return nil, nil
	}
	uuid, err := e.HostUUID(ctx)
	if err != nil {
		return nil, err
	}
	path := e.hostPackagePath(uuid)
	if _, err := os.Stat(path); err != nil {
		return nil, nil
	}
	for _, r := range e.cfg.Repos {
		if r.HostURL == "" {
			continue
		}
		c, err := e.verifyFile(ctx, path, r)
		if err != nil {
			return nil, fmt.Errorf("host package %s: %w", path, err)
		}
		return []resolve.Candidate{{Repo: r.Name, Control: c}}, nil
	}
	return nil, nil
}

// verifyFile opens and fully verifies a package file against repo's trust.
func (e *Engine) verifyFile(ctx context.Context, path string, r Repo) (*control.Control, error) {
	p, err := pkgfile.Open(path, e.cfg.Limits)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if _, err := p.Verify(ctx, r.Trust, e.cfg.Now()); err != nil {
		return nil, err
	}
	return p.Control(), nil
}

// Status resolves what this host must have against the stored indexes and
// compares it with what is installed.
func (e *Engine) Status(ctx context.Context) (HostStatus, error) {
	return e.status(ctx, nil)
}

// status computes the host status; extra are requests added for this run
// (wapt-get install NAME).
func (e *Engine) status(ctx context.Context, extra []version.Request) (HostStatus, error) {
	uuid, err := e.HostUUID(ctx)
	if err != nil {
		return HostStatus{}, err
	}
	hs := HostStatus{HostUUID: uuid}
	cands, unsigned, err := e.candidates(ctx)
	if err != nil {
		return hs, err
	}
	hs.Unsigned = unsigned
	hostPkgs, err := e.hostPackages(ctx)
	if err != nil {
		return hs, err
	}
	installed, err := e.cfg.Store.ListInstalled(ctx)
	if err != nil {
		return hs, err
	}
	reqs := append([]version.Request(nil), extra...)
	inIndex := map[string]bool{}
	for _, c := range cands {
		inIndex[strings.ToLower(c.Control.Package())] = true
	}
	for _, in := range installed {
		// A package installed from a file or from sources, absent from every
		// index, stays as it is (OK) instead of being a missing dependency.
		if in.Explicit && inIndex[strings.ToLower(in.Package)] {
			reqs = append(reqs, explicitRequest(in))
		}
	}
	host := e.cfg.Host
	host.UUID = uuid
	res := resolve.Resolve(resolve.Input{Index: cands, Host: host, Requests: reqs, HostPackages: hostPkgs})
	for _, m := range res.Missing {
		msg := fmt.Sprintf("missing dependency %s", m.Request.String())
		if m.RequiredBy != "" {
			msg += " (required by " + m.RequiredBy + ")"
		}
		if m.Reason != "" {
			msg += ": " + m.Reason
		}
		hs.Problems = append(hs.Problems, msg)
	}
	for _, c := range res.Cycles {
		hs.Problems = append(hs.Problems, "dependency cycle: "+strings.Join(c, " -> "))
	}
	conflicting := map[string]string{}
	for _, c := range res.Conflicts {
		hs.Problems = append(hs.Problems, fmt.Sprintf("%s conflicts with %s", c.Package, c.ConflictsWith))
		conflicting[c.ConflictsWith] = c.Package
	}

	byName := map[string]Installed{}
	for _, in := range installed {
		byName[strings.ToLower(in.Package)] = in
	}
	wanted := map[string]bool{}
	for i := range res.Order {
		r := &res.Order[i]
		name := strings.ToLower(r.Control.Package())
		wanted[name] = true
		ps := PackageStatus{Package: r.Control.Package(), Available: r.Control.Get("version"), Repo: r.Repo, cand: r}
		if len(r.RequiredBy) > 0 {
			ps.Reason = "required by " + strings.Join(r.RequiredBy, ", ")
		}
		in, ok := byName[name]
		switch {
		case !ok:
			ps.State = StateNeedInstall
		case in.Status != StatusOK:
			ps.State, ps.Installed, ps.Explicit = StateError, in.Version, in.Explicit
			if in.LastError != "" {
				ps.Reason = in.LastError
			}
		default:
			ps.Installed, ps.Explicit = in.Version, in.Explicit
			iv, err1 := version.Parse(in.Version)
			if err1 != nil || version.Compare(iv, r.Version) < 0 {
				ps.State = StateNeedUpgrade
			} else {
				ps.State = StateOK
			}
		}
		hs.Packages = append(hs.Packages, ps)
	}
	// Installed packages no longer wanted: dependencies nobody needs any
	// more, and packages a wanted one conflicts with.
	for _, in := range installed {
		name := strings.ToLower(in.Package)
		if wanted[name] && conflicting[in.Package] == "" {
			continue
		}
		ps := PackageStatus{Package: in.Package, Installed: in.Version, Explicit: in.Explicit, Repo: in.Repo}
		switch {
		case conflicting[in.Package] != "":
			ps.State, ps.Reason = StateNeedRemove, "conflicts with "+conflicting[in.Package]
		case in.Status != StatusOK:
			ps.State, ps.Reason = StateError, in.LastError
		case in.Explicit:
			ps.State = StateOK // installed by name; stays until removed by name
		default:
			ps.State, ps.Reason = StateNeedRemove, "no longer required"
		}
		hs.Packages = append(hs.Packages, ps)
		if ps.State == StateNeedRemove {
			hs.removeSeq = append(hs.removeSeq, in.Package)
		}
	}
	hs.removeSeq = removalOrder(hs.removeSeq, byName)
	hs.State = StateOK
	for _, p := range hs.Packages {
		if p.State.rank() > hs.State.rank() {
			hs.State = p.State
		}
	}
	if len(hs.Problems) > 0 && hs.State == StateOK {
		hs.State = StateError
	}
	return hs, nil
}

// explicitRequest is the request kept for a package installed by name: its
// pin when it was installed as name(=version), else the name alone.
func explicitRequest(in Installed) version.Request {
	if pin := in.Params["_request"]; pin != "" {
		if r, err := version.ParseRequest(pin); err == nil {
			return r
		}
	}
	return version.Request{Name: in.Package}
}

// removalOrder sorts names so that a package is removed before the
// installed packages it depends on.
func removalOrder(names []string, installed map[string]Installed) []string {
	sort.Strings(names)
	set := map[string]bool{}
	for _, n := range names {
		set[strings.ToLower(n)] = true
	}
	var out []string
	done := map[string]bool{}
	var visit func(n string, depth int)
	visit = func(n string, depth int) {
		key := strings.ToLower(n)
		if done[key] || depth > len(names) {
			return
		}
		done[key] = true
		// Dependents first: anything in the set that depends on n.
		for _, m := range names {
			in := installed[strings.ToLower(m)]
			c, err := control.Parse(m, []byte(in.Control))
			if err != nil {
				continue
			}
			deps, _ := c.Depends()
			for _, d := range deps {
				if strings.EqualFold(d.Name, n) {
					visit(m, depth+1)
				}
			}
		}
		out = append(out, n)
	}
	for _, n := range names {
		visit(n, 0)
	}
	return out
}
