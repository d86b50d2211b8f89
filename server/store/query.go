package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// likeEscaper escapes the LIKE wildcards of a user's text; the pattern is
// then a bound parameter used with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// pkgForm is how where writes the package condition.
type pkgForm int

const (
	// pkgIn drives the query from the package index: the matching host ids
	// are collected first, then the hosts looked up (best when few match).
	pkgIn pkgForm = iota
	// pkgExists probes each host's packages while walking hosts in ORDER BY
	// index order, stopping after one page (best when many match).
	pkgExists
)

// where builds the WHERE clause of f: fixed SQL text with ? placeholders,
// user values only in args.
func where(f inventory.HostFilter, form pkgForm) (string, []any) {
	conds, args := hostConds(f)
	for _, s := range sets(f) {
		if form == pkgExists {
			conds = append(conds, "EXISTS ("+s.exists+")")
		} else {
			conds = append(conds, "h.id IN ("+s.in+")")
		}
		args = append(args, s.args...)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// idSet is a filter on a per-host table: the hosts having a matching row.
type idSet struct {
	in     string // "SELECT <host id> FROM …": the matching hosts (a host may come several times when multi)
	exists string // the same correlated with h.id, for EXISTS
	args   []any
	multi  bool
}

// sets returns f's filters on the per-host tables (packages, software).
func sets(f inventory.HostFilter) []idSet {
	var out []idSet
	if f.Package != "" {
		sub, args := packageCond(f)
		out = append(out, idSet{in: sub, exists: sub + " AND p.host_id = h.id", args: args})
	}
	if f.Software != nil {
		ids, args := softwareCond(*f.Software)
		out = append(out, idSet{
			in:     "SELECT hs.host_id FROM host_software hs WHERE hs.software_id IN (" + ids + ")",
			exists: "SELECT 1 FROM host_software hs WHERE hs.host_id = h.id AND hs.software_id IN (" + ids + ")",
			args:   args, multi: true,
		})
	}
	return out
}

// softwareCond returns "SELECT s.id FROM software s WHERE …" for c: on the
// (name_key, version_key) index.
func softwareCond(c inventory.SoftwareCond) (string, []any) {
	q := "SELECT s.id FROM software s WHERE "
	var args []any
	if c.Prefix {
		q += "s.name_key >= ?"
		args = append(args, c.Name)
		if hi, ok := prefixEnd(c.Name); ok {
			q += " AND s.name_key < ?"
			args = append(args, hi)
		}
	} else {
		q += "s.name_key = ?"
		args = append(args, c.Name)
	}
	if r := c.Versions; r != nil {
		rq, rargs := keyRange("s.version_key", *r)
		if c.Exclude {
			q += " AND s.version_key IS NOT NULL AND NOT (" + rq + ")"
		} else {
			q += " AND s.version_key IS NOT NULL AND " + rq
		}
		args = append(args, rargs...)
	}
	return q, args
}

// keyRange returns the condition of col in r ("1" when unbounded).
func keyRange(col string, r inventory.KeyRange) (string, []any) {
	var conds []string
	var args []any
	if r.Lo != nil {
		op := " > ?"
		if r.LoIncl {
			op = " >= ?"
		}
		conds = append(conds, col+op)
		args = append(args, r.Lo)
	}
	if r.Hi != nil {
		op := " < ?"
		if r.HiIncl {
			op = " <= ?"
		}
		conds = append(conds, col+op)
		args = append(args, r.Hi)
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// prefixEnd returns the smallest string above every string starting with
// p (compared byte-wise, as SQLite's BINARY collation and PostgreSQL's "C"
// do); ok is false when there is none (p is all 0xFF bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// hostConds returns the conditions of f on the hosts table alone.
func hostConds(f inventory.HostFilter) ([]string, []any) {
	var conds []string
	var args []any
	if !f.Revoked {
		conds = append(conds, "h.revoked = 0")
	}
	if f.Status != "" {
		conds = append(conds, "h.status = ?")
		args = append(args, f.Status)
	}
	if f.Text != "" {
		// SQLite's LIKE is case-insensitive for ASCII; PostgreSQL: ILIKE.
		p := "%" + likeEscaper.Replace(f.Text) + "%"
		conds = append(conds, `(h.uuid LIKE ? ESCAPE '\' OR h.fqdn LIKE ? ESCAPE '\' OR h.hostname LIKE ? ESCAPE '\')`)
		args = append(args, p, p, p)
	}
	if f.OS != "" {
		conds = append(conds, "h.os = ?")
		args = append(args, f.OS)
	}
	if !f.SeenBefore.IsZero() {
		conds = append(conds, "h.last_seen < ?")
		args = append(args, formatTime(f.SeenBefore))
	}
	if !f.SeenAfter.IsZero() {
		conds = append(conds, "h.last_seen > ?")
		args = append(args, formatTime(f.SeenAfter))
	}
	if f.Group != "" {
		conds = append(conds, "h.uuid IN (SELECT g.uuid FROM host_groups g WHERE g.grp = ?)")
		args = append(args, f.Group)
	}
	if f.Unit != "" {
		// The unit itself, or any DN ending with ",<unit>" (a host or an OU
		// below it). lower() keeps it portable (PostgreSQL: same SQL).
		conds = append(conds, `(lower(h.unit) = lower(?) OR lower(h.unit) LIKE lower(?) ESCAPE '\')`)
		args = append(args, f.Unit, "%,"+likeEscaper.Replace(f.Unit))
	}
	if f.Manufacturer != "" {
		conds = append(conds, `h.manufacturer LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(f.Manufacturer)+"%")
	}
	if f.Model != "" {
		conds = append(conds, `h.model LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(f.Model)+"%")
	}
	if f.RAMMin > 0 {
		conds = append(conds, "h.ram_bytes >= ?")
		args = append(args, f.RAMMin)
	}
	if f.RAMMax > 0 {
		conds = append(conds, "h.ram_bytes <= ?")
		args = append(args, f.RAMMax)
	}
	if f.DiskFreeMin > 0 {
		conds = append(conds, "h.disk_free_bytes >= ?")
		args = append(args, f.DiskFreeMin)
	}
	if f.Duplicates {
		conds = append(conds, "h.duplicate_uuid = 1")
	}
	return conds, args
}

// onlyRevoked reports whether f has no condition on the hosts table but
// the implicit revoked = 0.
func onlyRevoked(f inventory.HostFilter) bool {
	conds, _ := hostConds(f)
	return len(conds) == 0 || len(conds) == 1 && !f.Revoked
}

// packageCond returns "SELECT p.host_id FROM host_packages p WHERE …" for
// f's package filter.
func packageCond(f inventory.HostFilter) (string, []any) {
	sub := "SELECT p.host_id FROM host_packages p WHERE p.package = ?"
	args := []any{f.Package}
	if r := f.Versions; r != nil {
		rq, rargs := keyRange("p.version_key", *r)
		sub += " AND " + rq
		args = append(args, rargs...)
	}
	return sub, args
}

// orderBy returns the ORDER BY clause of f, from fixed texts only; uuid
// breaks ties so that paging is stable.
func orderBy(f inventory.HostFilter) string {
	dir := " ASC"
	if f.Desc {
		dir = " DESC"
	}
	switch f.Sort {
	case inventory.SortLastSeen:
		// NULLs (never seen) sort first ascending in SQLite, last in
		// PostgreSQL: add NULLS FIRST there.
		return " ORDER BY h.last_seen" + dir + ", h.uuid" + dir
	case inventory.SortStatus:
		return ` ORDER BY CASE h.status WHEN 'OK' THEN 1 WHEN 'NEED-UPGRADE' THEN 2 WHEN 'NEED-INSTALL' THEN 3
			WHEN 'NEED-REMOVE' THEN 4 WHEN 'ERROR' THEN 5 ELSE 0 END` + dir + ", h.hostname" + dir + ", h.uuid" + dir
	default:
		return " ORDER BY h.hostname" + dir + ", h.uuid" + dir
	}
}

const summaryCols = `h.uuid, h.fqdn, h.hostname, h.os, h.os_version, h.status, h.pending, h.errors,
	h.last_seen, h.registered_at, h.cert_fingerprint, h.unit,
	h.manufacturer, h.model, h.serial, h.system_uuid, h.cpu_model, h.ram_bytes, h.disk_total_bytes, h.disk_free_bytes,
	h.os_name, h.kernel, h.duplicate_uuid`

func scanSummary(sc interface{ Scan(...any) error }) (wire.HostSummary, error) {
	var s wire.HostSummary
	var seen, reg sql.NullString
	var manufacturer, model, serial, sysUUID, cpu, osName, kernel sql.NullString
	var ram, diskTotal, diskFree sql.NullInt64
	var dup int64
	if err := sc.Scan(&s.UUID, &s.FQDN, &s.Hostname, &s.OS, &s.OSVersion, &s.Status, &s.Pending, &s.Errors,
		&seen, &reg, &s.CertFingerprint, &s.Unit,
		&manufacturer, &model, &serial, &sysUUID, &cpu, &ram, &diskTotal, &diskFree, &osName, &kernel, &dup); err != nil {
		return s, err
	}
	hw := wire.HostHardware{Manufacturer: manufacturer.String, Model: model.String, Serial: serial.String,
		SystemUUID: sysUUID.String, CPU: cpu.String, RAMBytes: ram.Int64, DiskTotalBytes: diskTotal.Int64,
		OSName: osName.String, Kernel: kernel.String}
	if diskFree.Valid {
		hw.DiskFreeBytes = &diskFree.Int64
	}
	if hw != (wire.HostHardware{}) {
		s.Hardware = &hw
	}
	s.DuplicateSystemUUID = dup != 0
	var err error
	if s.LastSeen, err = parseTime(seen); err != nil {
		return s, err
	}
	s.Registered, err = parseTime(reg)
	return s, err
}

// ListHosts implements inventory.Store.
//
// With a package or software filter the total is counted on that table's
// index (see count), and the page is read by whichever plan is cheaper for
// the number of matches: probing hosts in ORDER BY order until the page is
// full (many matches) or looking the matches up and sorting them (few).
func (d *DB) ListHosts(ctx context.Context, f inventory.HostFilter) ([]wire.HostSummary, int, error) {
	var out []wire.HostSummary
	var total int
	err := d.read(ctx, func(tx *sql.Tx) error {
		var lookups int
		var err error
		if total, lookups, err = count(ctx, tx, f); err != nil || total <= f.Offset {
			return err
		}
		form := pkgIn
		if len(sets(f)) > 0 && f.Sort != inventory.SortStatus {
			var maxID int64 // ≥ the number of hosts
			if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM hosts").Scan(&maxID); err != nil {
				return err
			}
			// Lookups of every match of the first set (then a sort of
			// those that pass), against probes to fill the page by walking
			// hosts.
			if float64(f.Offset+f.Limit)*float64(maxID)/float64(total) < float64(lookups)/2 {
				form = pkgExists
			}
		}
		out, err = page(ctx, tx, f, form)
		return err
	})
	return out, total, err
}

// page reads one page of the hosts matching f.
func page(ctx context.Context, tx *sql.Tx, f inventory.HostFilter, form pkgForm) ([]wire.HostSummary, error) {
	w, args := where(f, form)
	rows, err := tx.QueryContext(ctx, "SELECT "+summaryCols+" FROM hosts h"+w+orderBy(f)+" LIMIT ? OFFSET ?",
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []wire.HostSummary
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// count returns the number of hosts matching f, and of those matching its
// first package or software filter alone (lookups; total when f has none).
//
// A package filter alone is counted in SQL on its index (one row per host
// and package). Otherwise, with package or software filters, the hosts of
// each are collected into a bitmap (collectHosts), intersected, and
// intersected with the hosts passing the other conditions: distinct hosts
// without SQLite's slow COUNT(DISTINCT).
func count(ctx context.Context, tx *sql.Tx, f inventory.HostFilter) (total, lookups int, err error) {
	ss := sets(f)
	if len(ss) == 1 && !ss[0].multi && onlyRevoked(f) {
		total, err = countSet(ctx, tx, f, ss[0])
		return total, total, err
	}
	if len(ss) > 0 {
		set, first, ok, err := matchSet(ctx, tx, f, ss)
		if err != nil || ok {
			return set.count(), first, err
		}
	}
	w, args := where(f, pkgIn)
	err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM hosts h"+w, args...).Scan(&total)
	return total, total, err
}

// matchSet returns the hosts matching f, whose package and software
// filters are ss, and the number of hosts of ss[0] alone; ok is false when
// a set is too large to collect (then count in SQL).
func matchSet(ctx context.Context, tx *sql.Tx, f inventory.HostFilter, ss []idSet) (set hostSet, first int, ok bool, err error) {
	for i, s := range ss {
		b, ok, err := collectHosts(ctx, tx, s.in, s.args)
		if err != nil || !ok {
			return nil, 0, false, err
		}
		if i == 0 {
			set, first = b, b.count()
		} else {
			set = set.and(b)
		}
	}
	conds, args := hostConds(f)
	switch {
	case len(conds) == 0:
	case onlyRevoked(f):
		rev, _, err := collectHosts(ctx, tx, "SELECT id AS host_id FROM hosts WHERE revoked = 1", nil)
		if err != nil {
			return nil, 0, false, err
		}
		set = set.andNot(rev)
	default:
		hs, ok, err := collectHosts(ctx, tx, "SELECT h.id AS host_id FROM hosts h WHERE "+strings.Join(conds, " AND "), args)
		if err != nil || !ok {
			return nil, 0, false, err
		}
		set = set.and(hs)
	}
	return set, first, true, nil
}

// Host implements inventory.Store.
func (d *DB) Host(ctx context.Context, uuid string) (wire.HostDetail, error) {
	var h wire.HostDetail
	err := d.read(ctx, func(tx *sql.Tx) error {
		var problems, lastUpdate, lastUpgrade string
		var report sql.NullString
		var id int64
		row := tx.QueryRowContext(ctx, "SELECT "+summaryCols+", h.problems, h.last_update, h.last_upgrade, h.last_report, h.id FROM hosts h WHERE h.uuid = ?", uuid)
		var err error
		h.Summary, err = scanSummary(scanFunc(func(dest ...any) error {
			return row.Scan(append(dest, &problems, &lastUpdate, &lastUpgrade, &report, &id)...)
		}))
		if errors.Is(err, sql.ErrNoRows) {
			return inventory.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(problems), &h.Problems); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(lastUpdate), &h.LastUpdate); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(lastUpgrade), &h.LastUpgrade); err != nil {
			return err
		}
		if h.LastReport, err = parseTime(report); err != nil {
			return err
		}
		if h.Packages, err = packages(ctx, tx, id); err != nil {
			return err
		}
		if h.Sections, err = sections(ctx, tx, id); err != nil {
			return err
		}
		if h.Groups, err = hostGroups(ctx, tx, uuid); err != nil {
			return err
		}
		if hw := h.Summary.Hardware; hw != nil && hw.SystemUUID != "" {
			h.SameSystemUUID, err = sameSystemUUID(ctx, tx, id, hw.SystemUUID)
		}
		return err
	})
	return h, err
}

// maxSameUUID bounds the hosts listed as sharing a system UUID.
const maxSameUUID = 100

// sameSystemUUID returns the other unrevoked hosts reporting sysUUID.
func sameSystemUUID(ctx context.Context, tx *sql.Tx, id int64, sysUUID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT uuid FROM hosts WHERE system_uuid = ? AND id <> ? AND revoked = 0 ORDER BY uuid LIMIT ?",
		sysUUID, id, maxSameUUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func hostGroups(ctx context.Context, tx *sql.Tx, uuid string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT grp FROM host_groups WHERE uuid = ? ORDER BY grp", uuid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func packages(ctx context.Context, tx *sql.Tx, id int64) ([]wire.PackageState, error) {
	rows, err := tx.QueryContext(ctx, `SELECT package, version, status, state, last_error, audit_status, install_date, explicit
		FROM host_packages WHERE host_id = ? ORDER BY package`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []wire.PackageState{}
	for rows.Next() {
		var p wire.PackageState
		var inst sql.NullString
		var explicit int64
		if err := rows.Scan(&p.Package, &p.Version, &p.Status, &p.State, &p.LastError, &p.AuditStatus, &inst, &explicit); err != nil {
			return nil, err
		}
		if p.InstallDate, err = parseTime(inst); err != nil {
			return nil, err
		}
		p.Explicit = explicit != 0
		out = append(out, p)
	}
	return out, rows.Err()
}

func sections(ctx context.Context, tx execer, id int64) (map[string]json.RawMessage, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name, data FROM host_sections WHERE host_id = ?", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]json.RawMessage{}
	for rows.Next() {
		var n string
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			return nil, err
		}
		out[n] = data
	}
	return out, rows.Err()
}

// countSet counts the hosts of set s alone (and revoked = 0 unless
// f.Revoked) on its table's index: the few revoked hosts are subtracted
// through their partial index.
func countSet(ctx context.Context, tx *sql.Tx, f inventory.HostFilter, s idSet) (int, error) {
	agg := "COUNT(*)"
	if s.multi {
		agg = "COUNT(DISTINCT c.host_id)"
	}
	q := "SELECT " + agg + " FROM (" + s.in + ") c"
	if !f.Revoked {
		q += " WHERE c.host_id NOT IN (SELECT id FROM hosts WHERE revoked = 1)"
	}
	var n int
	err := tx.QueryRowContext(ctx, q, s.args...).Scan(&n)
	return n, err
}
