package store

import (
	"context"
	"database/sql"

	"github.com/wapt-go/wapt/server/inventory"
)

// exportChunk is how many hosts ExportHosts reads per transaction.
const exportChunk = 256

// ExportHosts implements inventory.Store. Hosts are read by hostname in
// chunks, each in its own short read transaction (keyset paging on the
// hosts_hostname index, so no chunk rescans the previous ones), and each
// host's software in another, so that neither a slow reader nor a large
// fleet holds a snapshot open (which would keep the WAL from being
// checkpointed) and at most one chunk of hosts and one host's software are
// in memory. fn runs outside any transaction.
func (d *DB) ExportHosts(ctx context.Context, f inventory.HostFilter, withSoftware bool, fn func(inventory.HostExport) error) error {
	var afterName, afterUUID string
	first := true
	for {
		chunk, err := d.exportChunk(ctx, f, first, afterName, afterUUID)
		if err != nil {
			return err
		}
		for _, c := range chunk {
			if withSoftware {
				err := d.read(ctx, func(tx *sql.Tx) error {
					var err error
					c.e.Software, err = hostSoftware(ctx, tx, c.id)
					return err
				})
				if err != nil {
					return err
				}
			}
			if err := fn(c.e); err != nil {
				return err
			}
		}
		if len(chunk) < exportChunk {
			return nil
		}
		last := chunk[len(chunk)-1].e.Summary
		afterName, afterUUID, first = last.Hostname, last.UUID, false
	}
}

type exportRow struct {
	id int64
	e  inventory.HostExport
}

// exportChunk reads the next hosts of f after (afterName, afterUUID).
func (d *DB) exportChunk(ctx context.Context, f inventory.HostFilter, first bool, afterName, afterUUID string) ([]exportRow, error) {
	var out []exportRow
	err := d.read(ctx, func(tx *sql.Tx) error {
		// EXISTS probes walking the hostname index: each chunk stops after
		// exportChunk matches instead of collecting every match again.
		w, args := where(f, pkgExists)
		if !first {
			if w == "" {
				w = " WHERE "
			} else {
				w += " AND "
			}
			w += "(h.hostname, h.uuid) > (?, ?)"
			args = append(args, afterName, afterUUID)
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+summaryCols+`,
				(SELECT MAX(x.updated_at) FROM host_sections x WHERE x.host_id = h.id), h.id
			FROM hosts h`+w+" ORDER BY h.hostname, h.uuid LIMIT ?", append(args, exportChunk)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r exportRow
			var updated sql.NullString
			r.e.Summary, err = scanSummary(scanFunc(func(dest ...any) error {
				return rows.Scan(append(dest, &updated, &r.id)...)
			}))
			if err != nil {
				return err
			}
			if r.e.InventoryUpdated, err = parseTime(updated); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// hostSoftware returns the software of host id, by name.
func hostSoftware(ctx context.Context, tx *sql.Tx, id int64) ([]inventory.SoftwareRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT s.name, s.name_key, s.version, s.version_key, s.publisher, s.arch, s.source
		FROM host_software hs JOIN software s ON s.id = hs.software_id WHERE hs.host_id = ?
		ORDER BY s.name_key, s.name, s.version, s.publisher, s.arch, s.source`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []inventory.SoftwareRow{}
	for rows.Next() {
		var r inventory.SoftwareRow
		if err := rows.Scan(&r.Name, &r.NameKey, &r.Version, &r.VersionKey, &r.Publisher, &r.Arch, &r.Source); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
