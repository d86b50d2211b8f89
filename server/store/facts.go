package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wapt-go/wapt/server/inventory"
)

// factsVersion is the derivation of the facts columns and software rows
// (inventory.DeriveFacts); bump it when that changes, so that each host's
// facts are derived again from its stored sections at its next report.
const factsVersion = 1

// factColumns are the hosts columns each section sets.
var factColumns = map[string]struct {
	set  string
	vals func(f *inventory.Facts) []any
}{
	inventory.SectionDMI: {"manufacturer = ?, model = ?, serial = ?, system_uuid = ?", func(f *inventory.Facts) []any {
		return []any{text(f.Manufacturer), text(f.Model), text(f.Serial), text(f.SystemUUID)}
	}},
	inventory.SectionCPU: {"cpu_model = ?", func(f *inventory.Facts) []any { return []any{text(f.CPUModel)} }},
	inventory.SectionMemory: {"ram_bytes = ?", func(f *inventory.Facts) []any {
		if f.RAMBytes <= 0 {
			return []any{nil}
		}
		return []any{f.RAMBytes}
	}},
	inventory.SectionDisks: {"disk_total_bytes = ?, disk_free_bytes = ?", func(f *inventory.Facts) []any {
		return []any{f.DiskTotalBytes, f.DiskFreeBytes}
	}},
	inventory.SectionHost: {"os_name = ?, kernel = ?", func(f *inventory.Facts) []any { return []any{text(f.OSName), text(f.Kernel)} }},
}

// text is s, or NULL when empty.
func text(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// applyFacts writes the facts of section name of host id: f's values, or
// NULLs (no software) when f is nil. Sections without facts are ignored.
func applyFacts(ctx context.Context, tx execer, id int64, name string, f *inventory.Facts) error {
	if name == inventory.SectionSoftware {
		var rows []inventory.SoftwareRow
		if f != nil {
			rows = f.Software
		}
		return replaceSoftware(ctx, tx, id, rows)
	}
	c, ok := factColumns[name]
	if !ok {
		return nil
	}
	var vals []any
	if f != nil {
		vals = c.vals(f)
	} else {
		vals = c.vals(&inventory.Facts{})
		for i := range vals {
			vals[i] = nil
		}
	}
	var old sql.NullString
	if name == inventory.SectionDMI {
		if err := tx.QueryRowContext(ctx, "SELECT system_uuid FROM hosts WHERE id = ?", id).Scan(&old); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE hosts SET "+c.set+" WHERE id = ?", append(vals, id)...); err != nil {
		return err
	}
	if name == inventory.SectionDMI {
		return refreshDuplicates(ctx, tx, id, old.String)
	}
	return nil
}

// refreshDuplicates recomputes the duplicate_uuid flag of host id and of
// the hosts sharing its system UUID or the UUID it had before (old): run
// after either or its revoked flag changed.
func refreshDuplicates(ctx context.Context, tx execer, id int64, old string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE hosts SET duplicate_uuid = 0 WHERE id = ? AND system_uuid IS NULL`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE hosts SET duplicate_uuid =
			EXISTS (SELECT 1 FROM hosts d WHERE d.system_uuid = hosts.system_uuid AND d.revoked = 0 AND d.id <> hosts.id)
		WHERE system_uuid IS NOT NULL AND (system_uuid = ? OR system_uuid = (SELECT x.system_uuid FROM hosts x WHERE x.id = ?))`, old, id)
	return err
}

// rederiveFacts derives every fact of host id again from its stored
// sections, and records factsVersion.
func rederiveFacts(ctx context.Context, tx execer, id int64) error {
	secs, err := sections(ctx, tx, id)
	if err != nil {
		return err
	}
	for _, name := range inventory.FactSections {
		var f *inventory.Facts
		if data, ok := secs[name]; ok {
			// A section stored before the software limit existed may be
			// over it: then it yields nothing, as a malformed one.
			f, _ = inventory.DeriveFacts(name, data)
		}
		if err := applyFacts(ctx, tx, id, name, f); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, "UPDATE hosts SET facts_version = ? WHERE id = ?", factsVersion, id)
	return err
}

// softwareKey identifies a software row.
type softwareKey struct{ name, version, publisher, arch, source string }

// replaceSoftware makes rows the software of host id, writing only the
// changes: rows already there are left alone, software no host has any
// more is deleted.
func replaceSoftware(ctx context.Context, tx execer, id int64, rows []inventory.SoftwareRow) error {
	stored := map[softwareKey]int64{}
	rs, err := tx.QueryContext(ctx, `SELECT s.id, s.name, s.version, s.publisher, s.arch, s.source
		FROM host_software hs JOIN software s ON s.id = hs.software_id WHERE hs.host_id = ?`, id)
	if err != nil {
		return err
	}
	for rs.Next() {
		var sid int64
		var k softwareKey
		if err := rs.Scan(&sid, &k.name, &k.version, &k.publisher, &k.arch, &k.source); err != nil {
			rs.Close()
			return err
		}
		stored[k] = sid
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	var find, insert, link *sql.Stmt
	defer func() {
		for _, st := range []*sql.Stmt{find, insert, link} {
			if st != nil {
				st.Close()
			}
		}
	}()
	for _, r := range rows {
		k := softwareKey{r.Name, r.Version, r.Publisher, r.Arch, r.Source}
		if _, ok := stored[k]; ok {
			delete(stored, k)
			continue
		}
		if find == nil {
			if find, err = tx.PrepareContext(ctx, `SELECT id FROM software
				WHERE name = ? AND version = ? AND publisher = ? AND arch = ? AND source = ?`); err != nil {
				return err
			}
			if insert, err = tx.PrepareContext(ctx, `INSERT INTO software (name, name_key, version, version_key, publisher, arch, source)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`); err != nil {
				return err
			}
			if link, err = tx.PrepareContext(ctx, `INSERT INTO host_software (host_id, software_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`); err != nil {
				return err
			}
		}
		var sid int64
		err := find.QueryRowContext(ctx, k.name, k.version, k.publisher, k.arch, k.source).Scan(&sid)
		if errors.Is(err, sql.ErrNoRows) {
			err = insert.QueryRowContext(ctx, k.name, r.NameKey, k.version, r.VersionKey, k.publisher, k.arch, k.source).Scan(&sid)
		}
		if err != nil {
			return err
		}
		if _, err := link.ExecContext(ctx, id, sid); err != nil {
			return err
		}
	}
	for _, sid := range stored {
		if _, err := tx.ExecContext(ctx, "DELETE FROM host_software WHERE host_id = ? AND software_id = ?", id, sid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM software WHERE id = ?
			AND NOT EXISTS (SELECT 1 FROM host_software WHERE software_id = ?)`, sid, sid); err != nil {
			return err
		}
	}
	return nil
}
