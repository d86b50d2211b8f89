package inventory

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// Sort orders of Query.
const (
	SortName     = "name" // hostname, then uuid
	SortLastSeen = "last_seen"
	SortStatus   = "status" // OK first, ERROR last (Desc: worst first)
)

// Query selects and pages hosts. Zero fields do not filter.
type Query struct {
	// Status is one of wire.States.
	Status string
	// Text matches a substring of the uuid, fqdn or hostname
	// (case-insensitive for ASCII).
	Text string
	// HasPackage is a package request, "name" or "name(<op>version)" as in
	// depends ("firefox(<115)"), compared with shared/version semantics: a
	// version without packaging part compares upstream versions only.
	HasPackage string
	// OS is the exact OS name.
	OS string
	// Group is a group package name: hosts whose host package depends on it.
	Group string
	// Unit is an organizational unit DN ("OU=prod,DC=example,DC=lan"):
	// hosts in that unit or any unit below it (case-insensitive).
	Unit string
	// Software is a software filter on the inventory: "openssl",
	// "openssl<3.0.20", "firefox(>=128)", "python3*" (ParseSoftwareFilter).
	Software string
	// Manufacturer and Model match a substring of the DMI system
	// manufacturer and model (case-insensitive for ASCII).
	Manufacturer, Model string
	// RAMMin and RAMMax bound the RAM, DiskFreeMin the free space of the
	// local disks, in bytes; 0 is no bound. Hosts whose inventory does not
	// tell never match a bound.
	RAMMin, RAMMax, DiskFreeMin int64
	// Duplicates keeps the hosts whose system UUID another registered
	// host reports too (cloned machines).
	Duplicates bool
	// SeenBefore / SeenAfter bound the last accepted status report
	// (hosts never seen do not match either bound).
	SeenBefore, SeenAfter time.Time
	// IncludeRevoked lists unregistered hosts too.
	IncludeRevoked bool
	// Sort is SortName (default), SortLastSeen or SortStatus.
	Sort string
	Desc bool
	// Offset and Limit page the result; Limit 0 means DefaultLimit, at most
	// MaxLimit.
	Offset, Limit int
}

// ListHosts returns one page of the hosts matching q and their total.
func (s *Service) ListHosts(ctx context.Context, q Query) (wire.HostList, error) {
	hf, err := q.filter()
	if err != nil {
		return wire.HostList{}, fmt.Errorf("list hosts: %w", err)
	}
	hosts, total, err := s.st.ListHosts(ctx, hf)
	if err != nil {
		return wire.HostList{}, fmt.Errorf("list hosts: %w", err)
	}
	if hosts == nil {
		hosts = []wire.HostSummary{}
	}
	return wire.HostList{Hosts: hosts, Total: total, Offset: hf.Offset, Limit: hf.Limit}, nil
}

// filter validates q.
func (q Query) filter() (HostFilter, error) {
	f := map[string]string{}
	hf := HostFilter{
		Status: q.Status, Text: q.Text, OS: q.OS,
		SeenBefore: q.SeenBefore, SeenAfter: q.SeenAfter, Revoked: q.IncludeRevoked,
		Group: strings.ToLower(q.Group), Unit: q.Unit,
		Manufacturer: q.Manufacturer, Model: q.Model,
		RAMMin: q.RAMMin, RAMMax: q.RAMMax, DiskFreeMin: q.DiskFreeMin, Duplicates: q.Duplicates,
		Sort: q.Sort, Desc: q.Desc, Offset: q.Offset, Limit: q.Limit,
	}
	if q.Status != "" && !validState(q.Status) {
		f["status"] = fmt.Sprintf("unknown state %q", q.Status)
	}
	checkFilter(f, "text", q.Text)
	checkFilter(f, "os", q.OS)
	checkFilter(f, "group", q.Group)
	checkUnit(f, "unit", q.Unit)
	checkFilter(f, "manufacturer", q.Manufacturer)
	checkFilter(f, "model", q.Model)
	if q.Software != "" {
		c, err := ParseSoftwareFilter(q.Software)
		if err != nil {
			f["software"] = strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
		} else {
			hf.Software = &c
		}
	}
	for key, v := range map[string]int64{"ram_min": q.RAMMin, "ram_max": q.RAMMax, "disk_free_min": q.DiskFreeMin} {
		if v < 0 {
			f[key] = "negative"
		}
	}
	if q.RAMMax > 0 && q.RAMMin > q.RAMMax {
		f["ram_min"] = "greater than ram_max"
	}
	if q.HasPackage != "" {
		r, err := version.ParseRequest(q.HasPackage)
		if err != nil {
			f["has_package"] = err.Error()
		} else {
			hf.Package = strings.ToLower(r.Name)
			if kr, ok := rangeFor(r); ok {
				hf.Versions = &kr
			}
		}
	}
	switch q.Sort {
	case "":
		hf.Sort = SortName
	case SortName, SortLastSeen, SortStatus:
	default:
		f["sort"] = fmt.Sprintf("unknown sort %q (name, last_seen, status)", q.Sort)
	}
	if q.Offset < 0 {
		f["offset"] = "negative"
	}
	switch {
	case q.Limit < 0 || q.Limit > MaxLimit:
		f["limit"] = fmt.Sprintf("not in 0..%d", MaxLimit)
	case q.Limit == 0:
		hf.Limit = DefaultLimit
	}
	if err := invalid(f); err != nil {
		return HostFilter{}, err
	}
	return hf, nil
}

// Host returns everything stored about uuid (revoked hosts included).
func (s *Service) Host(ctx context.Context, uuid string) (wire.HostDetail, error) {
	d, err := s.st.Host(ctx, uuid)
	if err != nil {
		return wire.HostDetail{}, fmt.Errorf("host %q: %w", uuid, err)
	}
	return d, nil
}

// checkFilter validates a free-text filter: bounded, valid UTF-8, and no
// control characters (SQLite would cut a pattern at a NUL byte).
func checkFilter(f map[string]string, key, v string) {
	switch {
	case len(v) > MaxNameLen:
		f[key] = fmt.Sprintf("longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(v):
		f[key] = "not valid UTF-8"
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		f[key] = "control character"
	}
}

// MaxHistory bounds HostHistory's limit.
const MaxHistory = 1000

// HostHistory returns the last limit events of uuid (≤ 0: 100), newest
// first.
func (s *Service) HostHistory(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxHistory)
	ev, err := s.st.HostHistory(ctx, uuid, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", uuid, err)
	}
	if ev == nil {
		ev = []wire.HostEvent{}
	}
	return ev, nil
}

// MaxGroups bounds the group packages recorded for one host.
const MaxGroups = 1000

// SetHostGroups records the group packages that host package uuid depends
// on (deps as in its control: "group-a,group-b(>=2)"); empty deps drops
// them. Names are lower-cased and deduplicated.
func (s *Service) SetHostGroups(ctx context.Context, uuid string, deps []version.Request) error {
	seen := map[string]bool{}
	groups := make([]string, 0, len(deps))
	for _, d := range deps {
		n := strings.ToLower(d.Name)
		if n == "" || seen[n] || len(n) > MaxNameLen {
			continue
		}
		seen[n] = true
		groups = append(groups, n)
	}
	if len(groups) > MaxGroups {
		return fmt.Errorf("groups of %q: %w: more than %d depends", uuid, ErrInvalid, MaxGroups)
	}
	if err := s.st.SetHostGroups(ctx, uuid, groups); err != nil {
		return fmt.Errorf("groups of %q: %w", uuid, err)
	}
	return nil
}
