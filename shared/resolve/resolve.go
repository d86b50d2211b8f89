// Package resolve computes the packages a host should have: the agent's
// pure dependency resolution (no I/O). From an index of candidates, a host
// description and the requested packages it picks one candidate per package
// name (newest that suits the host and satisfies every request on it),
// follows depends, and reports missing packages, cycles and conflicts.
package resolve

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/version"
)

// Host describes the machine packages are resolved for.
type Host struct {
	UUID, FQDN string
	OS         string   // linux, windows or darwin (WAPT aliases accepted)
	OSVersion  string   // "12", "10.0.19045"
	Arch       string   // x64, x86 or arm64
	Locales    []string // preference order, e.g. fr, en
	Maturities []string // accepted, preference order; default [PROD]
	Profiles   []string // AD/local group names → profile packages
	OUDN       string   // CN=host,OU=room1,OU=prod,DC=example,DC=lan
	// UseHostPackages adds the implicit roots: host, unit and profile
	// packages.
	UseHostPackages bool
}

// Candidate is one index entry: a package version offered by a repository.
type Candidate struct {
	Repo    string
	Control *control.Control
}

// Input is everything Resolve looks at.
type Input struct {
	Index []Candidate
	Host  Host
	// Requests are the explicit roots: packages installed explicitly or
	// asked for now.
	Requests []version.Request
	// HostPackages are the host packages fetched for this host (not in the
	// index); they are candidates like the index entries.
	HostPackages []Candidate
}

// Implicit root kinds (Resolved.Implicit).
const (
	ImplicitHost    = "host"
	ImplicitUnit    = "unit"
	ImplicitProfile = "profile"
)

// Resolved is a chosen candidate.
type Resolved struct {
	Candidate
	Version version.Version
	// RequiredBy lists the packages depending on this one, sorted.
	RequiredBy []string
	// Implicit is "host", "unit" or "profile" for an implicit root, else "".
	Implicit string
}

// Result is the outcome of Resolve.
type Result struct {
	// Order holds the chosen packages, dependencies before dependents
	// (within a cycle, in depth-first finishing order). It is deterministic.
	Order     []Resolved
	Missing   []Missing
	Cycles    [][]string
	Conflicts []Conflict
	// Rejected maps a lowercased package name to the reasons its candidates
	// were set aside ("1.2-3: maturity BETA not accepted (PROD)"), for the
	// names Resolve looked at.
	Rejected map[string][]string
}

// Missing is a request no candidate satisfies.
type Missing struct {
	// Request is the unsatisfied request; when several different requests
	// constrain the package it carries the name only and Reason lists them.
	Request version.Request
	// RequiredBy names the requiring packages, ", "-separated; empty for a
	// package requested explicitly only.
	RequiredBy string
	Reason     string
}

// Conflict reports that Package declares a conflict with ConflictsWith and
// both were chosen.
type Conflict struct {
	Package, ConflictsWith string
}

// maxChanges bounds how often one package's choice may change. Choices only
// change when requests appear or vanish; a pathological set of depends can
// make two packages flip each other forever, and the bound stops that (the
// unsatisfied request is then reported as Missing).
const maxChanges = 16

// constraint is one request on a package name.
type constraint struct {
	from *node  // the requiring package, nil for a root
	by   string // its name, or the root kind ("request", "host", …)
	req  version.Request
}

// node is one package name during resolution.
type node struct {
	key      string // lowercased name
	cands    []Candidate
	prepared bool
	entries  []*entry // usable candidates, best first
	rejected []string
	cons     []constraint
	sel      *entry
	changes  int
	queued   bool
	root     bool
	implicit string

	// depth-first search state
	visited, onStack bool
	index, low       int
}

type resolver struct {
	p      *hostPrefs
	byName map[string][]Candidate
	nodes  map[string]*node
	order  []*node // creation order, for deterministic reports
	queue  []*node
	roots  []*node

	// depth-first search state
	counter int
	stack   []*node
	post    []*node
	cycles  [][]string
}

func nameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Resolve chooses the packages for in.Host.
//
// Roots are in.Requests and, when Host.UseHostPackages, the implicit ones:
// the host package (named Host.UUID or Host.FQDN), a unit package for every
// level of Host.OUDN (UnitPackageNames, looked up as written, then as
// ValidPackageName) and a profile package for every Host.Profiles entry.
// An implicit root is used only when its best candidate exists, suits the
// host and has section host, unit or profile; otherwise it is skipped
// silently (filter reasons still go to Rejected).
//
// Depends are followed recursively and each name is resolved once: the
// chosen candidate is the preferred one (see Best) among those that suit
// the host (see Accept) and satisfy every request on that name. When none
// does, the name is reported in Missing with its requesters. Cycles are
// reported once each and never followed twice; conflicts between chosen
// packages are reported, not resolved.
func Resolve(in Input) Result {
	r := &resolver{
		p:      newHostPrefs(in.Host),
		byName: make(map[string][]Candidate, len(in.Index)/2+len(in.HostPackages)),
		nodes:  map[string]*node{},
	}
	for _, list := range [][]Candidate{in.Index, in.HostPackages} {
		for _, c := range list {
			if c.Control == nil {
				continue
			}
			k := nameKey(c.Control.Package())
			r.byName[k] = append(r.byName[k], c)
		}
	}

	for _, req := range in.Requests {
		if strings.TrimSpace(req.Name) == "" {
			continue
		}
		r.addRoot(r.node(req.Name), "request", req)
	}
	if h := in.Host; h.UseHostPackages {
		for _, name := range []string{h.UUID, h.FQDN} {
			r.implicitRoot(ImplicitHost, name)
		}
		for _, dn := range UnitPackageNames(h.OUDN) {
			r.implicitRoot(ImplicitUnit, dn, ValidPackageName(dn))
		}
		for _, p := range h.Profiles {
			r.implicitRoot(ImplicitProfile, p, ValidPackageName(p))
		}
	}

	for len(r.queue) > 0 {
		n := r.queue[0]
		r.queue = r.queue[1:]
		n.queued = false
		r.process(n)
	}
	return r.result()
}

// node returns the node of a package name, creating it.
func (r *resolver) node(name string) *node {
	k := nameKey(name)
	if n := r.nodes[k]; n != nil {
		return n
	}
	n := &node{key: k, cands: r.byName[k]}
	r.nodes[k] = n
	r.order = append(r.order, n)
	return n
}

// prepare parses and filters the candidates of n once.
func (r *resolver) prepare(n *node) {
	if n.prepared {
		return
	}
	n.prepared = true
	for i, c := range n.cands {
		e, err := r.p.newEntry(c, i)
		if err != nil {
			n.reject(c, err)
			continue
		}
		n.entries = append(n.entries, e)
	}
	slices.SortFunc(n.entries, prefer)
}

func (n *node) reject(c Candidate, err error) {
	v := "?"
	if c.Control != nil && strings.TrimSpace(c.Control.Get("version")) != "" {
		v = strings.TrimSpace(c.Control.Get("version"))
	}
	why := err.Error()
	if fe, ok := errors.AsType[*FilterError](err); ok {
		why = fe.Reason
	}
	n.addRejected(v + ": " + why)
}

func (n *node) addRejected(s string) {
	if !slices.Contains(n.rejected, s) {
		n.rejected = append(n.rejected, s)
	}
}

func (r *resolver) enqueue(n *node) {
	if !n.queued {
		n.queued = true
		r.queue = append(r.queue, n)
	}
}

func (r *resolver) addRoot(n *node, kind string, req version.Request) {
	n.cons = append(n.cons, constraint{by: kind, req: req})
	if !n.root {
		n.root = true
		r.roots = append(r.roots, n)
	}
	r.enqueue(n)
}

// implicitRoot adds the first of names present in the candidates as an
// implicit root of the given kind, if its best candidate qualifies.
func (r *resolver) implicitRoot(kind string, names ...string) {
	for _, name := range names {
		if strings.TrimSpace(name) == "" || len(r.byName[nameKey(name)]) == 0 {
			continue
		}
		n := r.node(name)
		r.prepare(n)
		if len(n.entries) == 0 {
			return // present, but nothing suits this host: see Rejected
		}
		best := n.entries[0]
		switch s := best.Control.Section(); s {
		case "host", "unit", "profile":
		default:
			n.addRejected(fmt.Sprintf("%s: section %s is not host, unit or profile: not used as a %s package", best.ver, s, kind))
			return
		}
		if n.implicit == "" {
			n.implicit = kind
		}
		r.addRoot(n, kind, version.Request{Name: best.name})
		return
	}
}

// process (re)chooses the candidate of n after its requests changed.
func (r *resolver) process(n *node) {
	var pick *entry
	if len(n.cons) > 0 {
		r.prepare(n)
		for _, e := range n.entries {
			if satisfies(e, n.cons) {
				pick = e
				break
			}
		}
	}
	if pick == n.sel || n.changes >= maxChanges {
		return
	}
	n.changes++
	if old := n.sel; old != nil {
		for _, d := range old.deps {
			if m := r.nodes[nameKey(d.Name)]; m != nil {
				m.cons = slices.DeleteFunc(m.cons, func(c constraint) bool { return c.from == n })
				r.enqueue(m)
			}
		}
	}
	n.sel = pick
	if pick != nil {
		for _, d := range pick.deps {
			m := r.node(d.Name)
			m.cons = append(m.cons, constraint{from: n, by: pick.name, req: d})
			r.enqueue(m)
		}
	}
}

func satisfies(e *entry, cons []constraint) bool {
	for _, c := range cons {
		if !c.req.Matches(e.name, e.ver) {
			return false
		}
	}
	return true
}

// succ returns the chosen dependencies of n, in depends order.
func (r *resolver) succ(n *node, fn func(m *node)) {
	for _, d := range n.sel.deps {
		if m := r.nodes[nameKey(d.Name)]; m != nil && m.sel != nil {
			fn(m)
		}
	}
}

// visit is Tarjan's strongly connected components search; the finishing
// order r.post puts dependencies first.
func (r *resolver) visit(n *node) {
	n.visited, n.onStack = true, true
	n.index, n.low = r.counter, r.counter
	r.counter++
	r.stack = append(r.stack, n)
	selfLoop := false
	r.succ(n, func(m *node) {
		switch {
		case m == n:
			selfLoop = true
		case !m.visited:
			r.visit(m)
			n.low = min(n.low, m.low)
		case m.onStack:
			n.low = min(n.low, m.index)
		}
	})
	r.post = append(r.post, n)
	if n.low != n.index {
		return
	}
	i := len(r.stack) - 1
	for r.stack[i] != n {
		i--
	}
	scc := slices.Clone(r.stack[i:])
	r.stack = r.stack[:i]
	for _, m := range scc {
		m.onStack = false
	}
	if len(scc) > 1 || selfLoop {
		r.cycles = append(r.cycles, r.cycleNames(scc))
	}
}

// cycleNames lists a strongly connected component as a path: from its
// smallest name, following depends inside the component; members the path
// misses follow, sorted.
func (r *resolver) cycleNames(scc []*node) []string {
	slices.SortFunc(scc, func(a, b *node) int { return strings.Compare(a.key, b.key) })
	in := make(map[*node]bool, len(scc))
	for _, m := range scc {
		in[m] = true
	}
	var names []string
	for cur := scc[0]; cur != nil; {
		names = append(names, cur.sel.name)
		delete(in, cur)
		next := cur
		cur = nil
		r.succ(next, func(m *node) {
			if cur == nil && in[m] {
				cur = m
			}
		})
	}
	for _, m := range scc {
		if in[m] {
			names = append(names, m.sel.name)
		}
	}
	return names
}

func (r *resolver) result() Result {
	var res Result
	for _, n := range r.roots {
		if n.sel != nil && !n.visited {
			r.visit(n)
		}
	}
	res.Cycles = r.cycles
	for _, n := range r.post {
		var by []string
		for _, c := range n.cons {
			if c.from != nil && c.from.visited && !slices.Contains(by, c.by) {
				by = append(by, c.by)
			}
		}
		slices.Sort(by)
		res.Order = append(res.Order, Resolved{Candidate: n.sel.Candidate, Version: n.sel.ver, RequiredBy: by, Implicit: n.implicit})
	}
	for _, n := range r.post {
		for _, c := range n.sel.conflicts {
			m := r.nodes[nameKey(c.Name)]
			if m == nil || m == n || m.sel == nil || !m.visited || !c.Matches(m.sel.name, m.sel.ver) {
				continue
			}
			cf := Conflict{Package: n.sel.name, ConflictsWith: m.sel.name}
			if !slices.Contains(res.Conflicts, cf) {
				res.Conflicts = append(res.Conflicts, cf)
			}
		}
	}
	for _, n := range r.order {
		if len(n.cons) > 0 && (n.sel == nil || !satisfies(n.sel, n.cons)) {
			res.Missing = append(res.Missing, n.missing())
		}
		if len(n.rejected) > 0 {
			if res.Rejected == nil {
				res.Rejected = map[string][]string{}
			}
			res.Rejected[n.key] = n.rejected
		}
	}
	return res
}

// missing describes why no candidate of n satisfies its requests.
func (n *node) missing() Missing {
	var reqs, by, from []string
	for _, c := range n.cons {
		if s := c.req.String(); !slices.Contains(reqs, s) {
			reqs = append(reqs, s)
		}
		if c.from != nil && !slices.Contains(by, c.by) {
			by = append(by, c.by)
		}
		from = append(from, fmt.Sprintf("%s (from %s)", c.req, c.by))
	}
	slices.Sort(by)
	m := Missing{Request: n.cons[0].req, RequiredBy: strings.Join(by, ", ")}
	if len(reqs) > 1 {
		m.Request = version.Request{Name: n.cons[0].req.Name}
	}
	var avail []string
	for _, e := range n.entries {
		if v := e.ver.String(); !slices.Contains(avail, v) {
			avail = append(avail, v)
		}
	}
	filtered := ""
	if len(n.rejected) > 0 {
		filtered = "; set aside: " + strings.Join(n.rejected, "; ")
	}
	switch {
	case n.sel != nil:
		m.Reason = fmt.Sprintf("requests could not be reconciled: %s (kept %s)", strings.Join(from, ", "), n.sel.ver)
	case len(n.cands) == 0:
		m.Reason = "not in any repository"
	case len(n.entries) == 0:
		m.Reason = "no candidate suits this host" + filtered
	case len(reqs) == 1:
		m.Reason = fmt.Sprintf("no version matches %s (available: %s)%s", reqs[0], strings.Join(avail, ", "), filtered)
	default:
		m.Reason = fmt.Sprintf("no version satisfies all of %s (available: %s)%s", strings.Join(from, ", "), strings.Join(avail, ", "), filtered)
	}
	return m
}
