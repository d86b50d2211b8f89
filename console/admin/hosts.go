package admin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// Dashboard scan bounds.
const (
	// maxErrorScan is how many hosts in ERROR Dashboard reads the detail
	// of to find which packages fail: TopErrors counts over at most this
	// many hosts (the first ones by name).
	maxErrorScan = 1000
	// errorScanWorkers is how many host details are read at once.
	errorScanWorkers = 8
	// maxTopErrors is the length of Dashboard.TopErrors.
	maxTopErrors = 10
)

// Hosts returns one page of hosts matching q (see ParseFilter).
func (s *Session) Hosts(ctx context.Context, q client.HostQuery) (wire.HostList, error) {
	l, err := s.client.ListHosts(ctx, q)
	if err != nil {
		return l, fmt.Errorf("hosts: %w", mapErr(err))
	}
	return l, nil
}

// Host returns a host's detail: packages, inventory, groups.
func (s *Session) Host(ctx context.Context, uuid string) (wire.HostDetail, error) {
	d, err := s.client.Host(ctx, uuid)
	if err != nil {
		return d, fmt.Errorf("host %s: %w", uuid, mapErr(err))
	}
	return d, nil
}

// History returns the last limit events of a host, newest first (limit 0:
// the server's default).
func (s *Session) History(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error) {
	ev, err := s.client.HostHistory(ctx, uuid, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", uuid, mapErr(err))
	}
	return ev, nil
}

// Dashboard counts the hosts per status with one cheap query per status
// (the filtered total), the hosts not seen for UnreachableAfter, and the
// packages most often in ERROR over the hosts in ERROR (at most
// maxErrorScan of them are read).
func (s *Session) Dashboard(ctx context.Context) (Dashboard, error) {
	now := s.now()
	d := Dashboard{ByStatus: map[string]int{}, At: now}
	count := func(q client.HostQuery) (int, error) {
		q.Limit = 1
		l, err := s.client.ListHosts(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("dashboard: %w", mapErr(err))
		}
		return l.Total, nil
	}
	var err error
	if d.Total, err = count(client.HostQuery{}); err != nil {
		return d, err
	}
	reported := 0
	for _, st := range wire.States {
		if d.ByStatus[st], err = count(client.HostQuery{Status: st}); err != nil {
			return d, err
		}
		reported += d.ByStatus[st]
	}
	d.ByStatus[""] = max(0, d.Total-reported)
	l, err := s.client.ListHosts(ctx, client.HostQuery{Limit: 1, SeenBefore: now.Add(-UnreachableAfter)})
	if err != nil {
		return d, fmt.Errorf("dashboard: unreachable hosts: %w", mapErr(err))
	}
	d.ByStatus[StatusUnreachable] = l.Total
	if d.ByStatus[wire.StateError] > 0 {
		if d.TopErrors, err = s.topErrors(ctx); err != nil {
			return d, err
		}
	}
	return d, nil
}

// topErrors counts, over the first maxErrorScan hosts in ERROR, the hosts
// each package is in ERROR on.
func (s *Session) topErrors(ctx context.Context) ([]ErrorCount, error) {
	var uuids []string
	for len(uuids) < maxErrorScan {
		l, err := s.client.ListHosts(ctx, client.HostQuery{Status: wire.StateError, Offset: len(uuids), Limit: min(500, maxErrorScan-len(uuids))})
		if err != nil {
			return nil, fmt.Errorf("dashboard: hosts in error: %w", mapErr(err))
		}
		for _, h := range l.Hosts {
			uuids = append(uuids, h.UUID)
		}
		if len(l.Hosts) == 0 || len(uuids) >= l.Total {
			break
		}
	}
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		first  error
		wg     sync.WaitGroup
		next   = make(chan string)
	)
	for range min(errorScanWorkers, len(uuids)) {
		wg.Go(func() {
			for uuid := range next {
				d, err := s.client.Host(ctx, uuid)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("dashboard: host %s: %w", uuid, mapErr(err))
					}
				} else {
					seen := map[string]bool{}
					for _, p := range d.Packages {
						if (p.State == wire.StateError || p.Status == wire.StateError) && !seen[p.Package] {
							seen[p.Package] = true
							counts[p.Package]++
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, u := range uuids {
		if ctx.Err() != nil {
			break
		}
		next <- u
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]ErrorCount, 0, len(counts))
	for p, n := range counts {
		out = append(out, ErrorCount{Package: p, Hosts: n})
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Hosts, a.Hosts), strings.Compare(a.Package, b.Package))
	})
	return out[:min(len(out), maxTopErrors)], nil
}

// filterKeys are the keys ParseFilter knows.
var filterKeys = []string{"status", "package", "software", "os", "group", "unit", "q"}

// ParseFilter reads the host grid's filter box: KEY:VALUE or KEY=VALUE
// tokens with KEY one of status, package, software, os, group, unit and q,
// and free text (the rest, joined with spaces, becomes the text search q).
// Double or single quotes group words: q:"two words", "q:two words", or
// "free text" (a token quoted from its start whose key is unknown is free
// text). A version condition may be written without parentheses:
// software:firefox<115 is firefox(<115). status is case-insensitive.
// Errors are *FieldErrors keyed by the filter key (an unknown key, a bad
// status or package request, an empty value, a key given twice, an
// unclosed quote under "q").
//
// software filters on the inventory's installed software (name, an
// operator and a version, or a prefix*), package on WAPT packages.
func ParseFilter(text string) (client.HostQuery, error) {
	var q client.HostQuery
	bad := FieldErrors{}
	toks, ok := splitFilter(text)
	if !ok {
		bad["q"] = "unclosed quote"
	}
	var free []string
	seen := map[string]bool{}
	for _, t := range toks {
		key, val, isKey := cutFilterKey(t.text)
		if !isKey {
			free = append(free, t.text)
			continue
		}
		if !slices.Contains(filterKeys, key) {
			if t.quoted {
				free = append(free, t.text)
				continue
			}
			bad[key] = fmt.Sprintf("unknown filter (use %s)", strings.Join(filterKeys, ", "))
			continue
		}
		val = strings.TrimSpace(val)
		if key == "q" {
			if val != "" {
				free = append(free, val)
			}
			continue
		}
		if val == "" {
			bad[key] = "empty value"
			continue
		}
		if seen[key] {
			bad[key] = "given twice"
			continue
		}
		seen[key] = true
		switch key {
		case "status":
			if strings.EqualFold(val, StatusUnreachable) {
				q.SeenBefore = time.Now().Add(-UnreachableAfter)
				continue
			}
			st := strings.ToUpper(val)
			if !slices.Contains(wire.States, st) {
				bad[key] = fmt.Sprintf("unknown status %q (use %s)", val, strings.Join(wire.States, ", "))
				continue
			}
			q.Status = st
		case "package":
			req := packageRequest(val)
			if _, err := version.ParseRequest(req); err != nil {
				bad[key] = err.Error()
				continue
			}
			q.Package = req
		case "software":
			// The inventory's installed software (the server parses it:
			// name, name<op>version, name(<op>version), prefix*).
			if strings.ContainsAny(val, "\x00\n\r") || len(val) > 512 {
				bad[key] = "not a software filter"
				continue
			}
			q.Software = val
		case "os":
			q.OS = val
		case "group":
			q.Group = val
		case "unit":
			q.Unit = val
		}
	}
	if err := bad.orNil(); err != nil {
		return client.HostQuery{}, err
	}
	q.Text = strings.Join(free, " ")
	return q, nil
}

// filterToken is one token of the filter box, quotes removed; quoted
// tells whether it started with a quote.
type filterToken struct {
	text   string
	quoted bool
}

// splitFilter splits text on spaces outside quotes; ok is false when a
// quote is not closed (the tokens read are still returned).
func splitFilter(text string) (toks []filterToken, ok bool) {
	var (
		b       strings.Builder
		quote   rune
		in      bool
		started bool
	)
	flush := func() {
		if in {
			toks = append(toks, filterToken{text: b.String(), quoted: started})
		}
		b.Reset()
		in, started = false, false
	}
	for _, r := range text {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '"' || r == '\'':
			if !in {
				started = true
			}
			in, quote = true, r
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			in = true
			b.WriteRune(r)
		}
	}
	flush()
	return toks, quote == 0
}

// cutFilterKey splits "key:value" or "key=value" whose key is a word of
// letters and underscores; the key is lowercased.
func cutFilterKey(s string) (key, val string, ok bool) {
	i := strings.IndexAny(s, ":=")
	if i <= 0 {
		return "", "", false
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_') {
			return "", "", false
		}
	}
	return strings.ToLower(s[:i]), s[i+1:], true
}

// packageRequest writes "firefox<115" as the request "firefox(<115)".
func packageRequest(v string) string {
	if strings.Contains(v, "(") {
		return v
	}
	if i := strings.IndexAny(v, "<>="); i > 0 {
		return strings.TrimSpace(v[:i]) + "(" + v[i:] + ")"
	}
	return v
}
