package resolve

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/wapt-go/wapt/shared/version"
)

// entry is a candidate prepared for one host: parsed once, ranked.
type entry struct {
	Candidate
	name      string // package name as written
	ver       version.Version
	deps      []version.Request
	conflicts []version.Request
	archRank  int
	locRank   int
	matRank   int
	sigDate   string
	seq       int // position in the input, the last tie-break
}

// newEntry parses c and checks it against the host. The error is the reason
// it is unusable, for Result.Rejected.
func (p *hostPrefs) newEntry(c Candidate, seq int) (*entry, error) {
	if c.Control == nil {
		return nil, fmt.Errorf("no control data")
	}
	v, err := c.Control.Version()
	if err != nil {
		return nil, err
	}
	if err := p.accept(c.Control); err != nil {
		return nil, err
	}
	deps, err := c.Control.Depends()
	if err != nil {
		return nil, err
	}
	conflicts, err := c.Control.Conflicts()
	if err != nil {
		return nil, err
	}
	return &entry{
		Candidate: c,
		name:      strings.TrimSpace(c.Control.Package()),
		ver:       v,
		deps:      deps,
		conflicts: conflicts,
		archRank:  p.archRank(c.Control.Get("architecture")),
		locRank:   p.localeRank(c.Control.Get("locale")),
		matRank:   p.maturityRank(c.Control),
		sigDate:   strings.TrimSpace(c.Control.Get("signature_date")),
		seq:       seq,
	}, nil
}

// prefer orders entries best first: newest version, then native
// architecture before "all" before x86-on-x64, then the host's locale
// preference, then its maturity preference, then the later signature_date,
// then input order.
func prefer(a, b *entry) int {
	if c := version.Compare(b.ver, a.ver); c != 0 {
		return c
	}
	if c := cmp.Compare(a.archRank, b.archRank); c != 0 {
		return c
	}
	if c := cmp.Compare(a.locRank, b.locRank); c != 0 {
		return c
	}
	if c := cmp.Compare(a.matRank, b.matRank); c != 0 {
		return c
	}
	if c := strings.Compare(b.sigDate, a.sigDate); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// Best returns the preferred candidate among cands that is named like req,
// matches its version condition and suits host h (see Accept), ranked by
// version, then architecture, locale, maturity and signature_date
// preference. A pin "name(=1.2)" thus selects 1.2 even when newer versions
// exist. ok is false when no candidate qualifies.
func Best(cands []Candidate, req version.Request, h Host) (Candidate, bool) {
	p := newHostPrefs(h)
	var best *entry
	for i, c := range cands {
		if c.Control == nil || !strings.EqualFold(strings.TrimSpace(c.Control.Package()), req.Name) {
			continue
		}
		e, err := p.newEntry(c, i)
		if err != nil || !req.Matches(e.name, e.ver) {
			continue
		}
		if best == nil || prefer(e, best) < 0 {
			best = e
		}
	}
	if best == nil {
		return Candidate{}, false
	}
	return best.Candidate, true
}
