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
	if f.Package != "" {
		sub, subArgs := packageCond(f)
		if form == pkgExists {
			conds = append(conds, "EXISTS ("+sub+" AND p.host_id = h.id)")
		} else {
			conds = append(conds, "h.id IN ("+sub+")")
		}
		args = append(args, subArgs...)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
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
	return conds, args
}

// packageCond returns "SELECT p.host_id FROM host_packages p WHERE …" for
// f's package filter.
func packageCond(f inventory.HostFilter) (string, []any) {
	sub := "SELECT p.host_id FROM host_packages p WHERE p.package = ?"
	args := []any{f.Package}
	if r := f.Versions; r != nil {
		if r.Lo != nil {
			if r.LoIncl {
				sub += " AND p.version_key >= ?"
			} else {
				sub += " AND p.version_key > ?"
			}
			args = append(args, r.Lo)
		}
		if r.Hi != nil {
			if r.HiIncl {
				sub += " AND p.version_key <= ?"
			} else {
				sub += " AND p.version_key < ?"
			}
			args = append(args, r.Hi)
		}
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
	h.last_seen, h.registered_at, h.cert_fingerprint, h.unit`

func scanSummary(sc interface{ Scan(...any) error }) (wire.HostSummary, error) {
	var s wire.HostSummary
	var seen, reg sql.NullString
	if err := sc.Scan(&s.UUID, &s.FQDN, &s.Hostname, &s.OS, &s.OSVersion, &s.Status, &s.Pending, &s.Errors,
		&seen, &reg, &s.CertFingerprint, &s.Unit); err != nil {
		return s, err
	}
	var err error
	if s.LastSeen, err = parseTime(seen); err != nil {
		return s, err
	}
	s.Registered, err = parseTime(reg)
	return s, err
}

// ListHosts implements inventory.Store.
//
// With a package filter, the total is counted on the package index alone
// when no other host condition applies (revoked hosts, few, are
// subtracted), and the page is read by whichever plan is cheaper for the
// number of matches: probing hosts in ORDER BY order until the page is full
// (many matches) or looking the matches up and sorting them (few).
func (d *DB) ListHosts(ctx context.Context, f inventory.HostFilter) ([]wire.HostSummary, int, error) {
	var out []wire.HostSummary
	var total int
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		if total, err = count(ctx, tx, f); err != nil || total <= f.Offset {
			return err
		}
		form := pkgIn
		if f.Package != "" && f.Sort != inventory.SortStatus {
			var maxID int64 // ≥ the number of hosts
			if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM hosts").Scan(&maxID); err != nil {
				return err
			}
			// Lookups of every package match (then a sort of those that
			// pass), against probes to fill the page by walking hosts.
			lookups := total
			if conds, _ := hostConds(f); len(conds) > 1 {
				if lookups, err = countPackage(ctx, tx, f); err != nil {
					return err
				}
			}
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

// count returns the number of hosts matching f.
func count(ctx context.Context, tx *sql.Tx, f inventory.HostFilter) (int, error) {
	if conds, _ := hostConds(f); f.Package != "" && len(conds) <= 1 {
		return countPackage(ctx, tx, f)
	}
	var n int
	w, args := where(f, pkgIn)
	err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM hosts h"+w, args...).Scan(&n)
	return n, err
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
		h.Groups, err = hostGroups(ctx, tx, uuid)
		return err
	})
	return h, err
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

func sections(ctx context.Context, tx *sql.Tx, id int64) (map[string]json.RawMessage, error) {
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

// countPackage counts the hosts matching f's package filter alone (and
// revoked = 0 unless f.Revoked) on the package index: one row per host, and
// the few revoked hosts subtracted through their partial index.
func countPackage(ctx context.Context, tx *sql.Tx, f inventory.HostFilter) (int, error) {
	sub, args := packageCond(f)
	q := "SELECT COUNT(*) FROM (" + sub
	if !f.Revoked {
		q += " AND p.host_id NOT IN (SELECT id FROM hosts WHERE revoked = 1)"
	}
	var n int
	err := tx.QueryRowContext(ctx, q+") c", args...).Scan(&n)
	return n, err
}
