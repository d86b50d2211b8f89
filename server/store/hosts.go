package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// HostAuth implements inventory.Store.
func (d *DB) HostAuth(ctx context.Context, uuid string) (inventory.HostAuth, error) {
	var h inventory.HostAuth
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		h, err = hostAuth(ctx, tx, uuid)
		return err
	})
	return h, err
}

func hostAuth(ctx context.Context, tx *sql.Tx, uuid string) (inventory.HostAuth, error) {
	_, h, err := hostRow(ctx, tx, uuid)
	return h, err
}

// hostRow returns uuid's row id and authentication.
func hostRow(ctx context.Context, tx *sql.Tx, uuid string) (int64, inventory.HostAuth, error) {
	h := inventory.HostAuth{UUID: uuid}
	var id, revoked int64
	err := tx.QueryRowContext(ctx, `SELECT h.id, h.cert_fingerprint, c.cert, h.revoked
		FROM hosts h JOIN host_certs c ON c.fingerprint = h.cert_fingerprint WHERE h.uuid = ?`, uuid).
		Scan(&id, &h.Fingerprint, &h.CertDER, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, h, inventory.ErrNotFound
	}
	h.Revoked = revoked != 0
	return id, h, err
}

// HostByFingerprint implements inventory.Store.
func (d *DB) HostByFingerprint(ctx context.Context, fp string) (inventory.HostAuth, error) {
	h := inventory.HostAuth{Fingerprint: fp}
	err := d.db.QueryRowContext(ctx, `SELECT h.uuid, c.cert FROM hosts h JOIN host_certs c ON c.fingerprint = h.cert_fingerprint
		WHERE h.cert_fingerprint = ? AND h.revoked = 0`, fp).
		Scan(&h.UUID, &h.CertDER)
	if errors.Is(err, sql.ErrNoRows) {
		return h, inventory.ErrNotFound
	}
	return h, err
}

// Register implements inventory.Store.
func (d *DB) Register(ctx context.Context, r inventory.Registration, a inventory.AuditEntry) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		cur, err := hostAuth(ctx, tx, r.UUID)
		switch {
		case errors.Is(err, inventory.ErrNotFound):
			if r.Prev != nil {
				return fmt.Errorf("%w: host removed meanwhile", inventory.ErrConflict)
			}
		case err != nil:
			return err
		case r.Prev == nil || cur.Fingerprint != r.Prev.Fingerprint || cur.Revoked != r.Prev.Revoked:
			return fmt.Errorf("%w: host registration changed meanwhile", inventory.ErrConflict)
		}
		at := formatTime(r.At)
		if r.Prev != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE host_certs SET revoked_at = ? WHERE uuid = ? AND revoked_at IS NULL AND fingerprint <> ?",
				at, r.UUID, r.Fingerprint); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO host_certs (fingerprint, uuid, cert, not_after, issued_at, issued_by, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, NULL)
			ON CONFLICT (fingerprint) DO UPDATE SET revoked_at = NULL`,
			r.Fingerprint, r.UUID, r.CertDER, formatTime(r.CertNotAfter), at, r.By); err != nil {
			return err
		}
		// ON CONFLICT … DO UPDATE is shared by SQLite ≥ 3.24 and PostgreSQL.
		// RETURNING is shared by SQLite ≥ 3.35 and PostgreSQL.
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO hosts (uuid, fqdn, hostname, os, os_version, status, pending, errors,
				registered_at, registered_by, last_seen, last_report, cert_fingerprint, revoked, revoked_at,
				problems, last_update, last_upgrade)
			VALUES (?, ?, ?, ?, ?, '', 0, 0, ?, ?, NULL, NULL, ?, 0, NULL, '[]', 'null', 'null')
			ON CONFLICT (uuid) DO UPDATE SET fqdn = excluded.fqdn, hostname = excluded.hostname,
				os = excluded.os, os_version = excluded.os_version,
				registered_at = excluded.registered_at, registered_by = excluded.registered_by,
				cert_fingerprint = excluded.cert_fingerprint, revoked = 0, revoked_at = NULL
			RETURNING id`,
			r.UUID, r.FQDN, r.Hostname, r.OS, r.OSVersion, at, r.By, r.Fingerprint).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM host_sections WHERE host_id = ?", id); err != nil {
			return err
		}
		for _, s := range r.Sections {
			if err := putSection(ctx, tx, id, s, at); err != nil {
				return err
			}
		}
		// The facts follow the sections: those sent set theirs, the others
		// are cleared.
		for _, name := range inventory.FactSections {
			var f *inventory.Facts
			for _, s := range r.Sections {
				if s.Name == name {
					f = s.Facts
				}
			}
			if err := applyFacts(ctx, tx, id, name, f); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE hosts SET facts_version = ? WHERE id = ?", factsVersion, id); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

func putSection(ctx context.Context, tx execer, id int64, s inventory.SectionData, at any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO host_sections (host_id, name, hash, data, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (host_id, name) DO UPDATE SET hash = excluded.hash, data = excluded.data, updated_at = excluded.updated_at`,
		id, s.Name, s.Hash, s.Data, at)
	return err
}

// AddAudit implements inventory.Store.
func (d *DB) AddAudit(ctx context.Context, a inventory.AuditEntry) error {
	return d.write(ctx, func(tx *sql.Tx) error { return audit(ctx, tx, a) })
}

func audit(ctx context.Context, tx *sql.Tx, a inventory.AuditEntry) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
		formatTime(a.At), a.Actor, a.Action, a.Target, a.Detail)
	return err
}

// Revoke implements inventory.Store.
func (d *DB) Revoke(ctx context.Context, uuid string, at time.Time, a inventory.AuditEntry) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE hosts SET revoked = 1, revoked_at = ? WHERE uuid = ? AND revoked = 0", formatTime(at), uuid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return inventory.ErrNotFound
		}
		var id int64
		if err := tx.QueryRowContext(ctx, "SELECT id FROM hosts WHERE uuid = ?", uuid).Scan(&id); err != nil {
			return err
		}
		if err := refreshDuplicates(ctx, tx, id, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE host_certs SET revoked_at = ? WHERE uuid = ? AND revoked_at IS NULL", formatTime(at), uuid); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// storedPackage is a host_packages row as compared for a status update.
type storedPackage struct {
	version, status, state, lastError, auditStatus string
	installDate                                    sql.NullString
	versionKey                                     []byte
	explicit                                       bool
}

// SaveStatus implements inventory.Store. Package rows and sections are
// diffed against the stored ones and only the changes written, which keeps
// the WAL small when a report repeats the previous one.
//
// Concurrent calls are committed together (group commit): the status
// writer takes the waiting updates, applies each inside its own savepoint
// (a refused update rolls back alone) and commits them in one transaction.
// SaveStatus returns once its update is committed, or refused.
func (d *DB) SaveStatus(ctx context.Context, u inventory.StatusUpdate) error {
	problems, err := json.Marshal(nonNil(u.Problems))
	if err != nil {
		return err
	}
	lastUpdate, err := json.Marshal(u.LastUpdate)
	if err != nil {
		return err
	}
	lastUpgrade, err := json.Marshal(u.LastUpgrade)
	if err != nil {
		return err
	}
	req := &statusReq{ctx: ctx, u: u, problems: string(problems), lastUpdate: string(lastUpdate),
		lastUpgrade: string(lastUpgrade), done: make(chan error, 1)}
	select {
	case d.statusQ <- req:
	case <-d.writerDone:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-d.writerDone:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// statusReq is one SaveStatus call waiting for the status writer.
type statusReq struct {
	ctx                               context.Context
	u                                 inventory.StatusUpdate
	problems, lastUpdate, lastUpgrade string
	done                              chan error // buffered: the writer never blocks
}

// maxStatusBatch bounds the updates committed together.
const maxStatusBatch = 128

// statusWriter commits the queued status updates in batches until stop is
// closed; then it refuses what is still queued.
func (d *DB) statusWriter() {
	defer close(d.writerDone)
	batch := make([]*statusReq, 0, maxStatusBatch)
	for {
		select {
		case r := <-d.statusQ:
			batch = append(batch[:0], r)
		case <-d.stop:
			for {
				select {
				case r := <-d.statusQ:
					r.done <- ErrClosed
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxStatusBatch {
			select {
			case r := <-d.statusQ:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		d.saveBatch(batch)
	}
}

// saveBatch commits batch in one transaction, each update in a savepoint.
func (d *DB) saveBatch(batch []*statusReq) {
	errs := make([]error, len(batch))
	ctx := context.Background() // one caller's cancellation must not undo the others
	err := d.write(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			if _, err := tx.ExecContext(ctx, "SAVEPOINT status"); err != nil {
				return err
			}
			errs[i] = saveStatus(ctx, stmtTx{tx, &d.stmts}, r)
			if errs[i] != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO status"); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE status"); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			errs[i] = err // nothing was committed
		}
		r.done <- errs[i]
	}
}

// saveStatus writes one status update inside the batch transaction.
func saveStatus(ctx context.Context, tx execer, r *statusReq) error {
	u := r.u
	at := formatTime(u.At)
	var id, revoked, fv int64
	var fp, oldStatus string
	err := tx.QueryRowContext(ctx, "SELECT id, cert_fingerprint, revoked, status, facts_version FROM hosts WHERE uuid = ?", u.UUID).
		Scan(&id, &fp, &revoked, &oldStatus, &fv)
	if errors.Is(err, sql.ErrNoRows) {
		return inventory.ErrNotFound
	}
	if err != nil {
		return err
	}
	if revoked != 0 || fp != u.Fingerprint {
		return fmt.Errorf("%w: not the host's current certificate", inventory.ErrForbidden)
	}
	if u.ReconcileSections {
		if err := reconcileSections(ctx, tx, id, u, at); err != nil {
			return err
		}
	}
	if fv < factsVersion {
		if err := rederiveFacts(ctx, tx, id); err != nil {
			return err
		}
	}
	var events []wire.HostEvent
	if u.ReplacePackages {
		if events, err = replacePackages(ctx, tx, id, u.Packages); err != nil {
			return err
		}
	}
	if oldStatus != u.Status {
		d := u.Status
		if oldStatus != "" {
			d = oldStatus + " → " + u.Status
		}
		events = append(events, wire.HostEvent{Kind: wire.EventStatus, Detail: d})
	}
	if err := addEvents(ctx, tx, id, at, events); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE hosts SET status = ?, pending = ?, errors = ?, last_seen = ?, last_report = ?,
			problems = ?, last_update = ?, last_upgrade = ?, unit = ?,
			os = CASE WHEN ? = '' THEN os ELSE ? END, os_version = CASE WHEN ? = '' THEN os_version ELSE ? END
		WHERE id = ?`,
		u.Status, u.Pending, u.Errors, at, formatTime(u.ReportTime), r.problems, r.lastUpdate, r.lastUpgrade,
		u.Unit, u.OS, u.OS, u.OSVersion, u.OSVersion, id)
	return err
}

// maxEvents is how many events a host keeps; older ones are pruned.
const maxEvents = 500

// maxEventDetail bounds the detail of one event (a package's last error).
const maxEventDetail = 1024

// addEvents records events of host id at time at and prunes the oldest.
func addEvents(ctx context.Context, tx execer, id int64, at any, events []wire.HostEvent) error {
	if len(events) == 0 {
		return nil
	}
	for _, e := range events {
		if len(e.Detail) > maxEventDetail {
			e.Detail = strings.ToValidUTF8(e.Detail[:maxEventDetail], "") + "…"
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO host_events (host_id, at, kind, target, detail) VALUES (?, ?, ?, ?, ?)",
			id, at, e.Kind, e.Target, e.Detail); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM host_events WHERE host_id = ? AND id <=
		(SELECT id FROM host_events WHERE host_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, id, id, maxEvents)
	return err
}

// packageEvents returns what changed for package name between the stored
// row s (ok false: none) and the reported p.
func packageEvents(name string, s storedPackage, ok bool, p wire.PackageState) []wire.HostEvent {
	wasInstalled := ok && s.status == "OK"
	switch {
	case p.Status == "ERROR" && (!ok || s.status != "ERROR" || s.version != p.Version):
		return []wire.HostEvent{{Kind: wire.EventError, Target: name, Detail: strings.TrimSpace(p.Version + " " + p.LastError)}}
	case p.Status == "OK" && !wasInstalled:
		return []wire.HostEvent{{Kind: wire.EventInstall, Target: name, Detail: p.Version}}
	case p.Status == "OK" && s.version != p.Version:
		return []wire.HostEvent{{Kind: wire.EventUpgrade, Target: name, Detail: s.version + " → " + p.Version}}
	}
	return nil
}

func reconcileSections(ctx context.Context, tx execer, id int64, u inventory.StatusUpdate, at any) error {
	stored := map[string]string{}
	rows, err := tx.QueryContext(ctx, "SELECT name, hash FROM host_sections WHERE host_id = ?", id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var n, h string
		if err := rows.Scan(&n, &h); err != nil {
			rows.Close()
			return err
		}
		stored[n] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for n, h := range u.KeepSections {
		if stored[n] != h {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return &inventory.MissingSectionsError{Names: missing}
	}
	for n := range stored {
		if _, keep := u.KeepSections[n]; keep {
			continue
		}
		if !sent(u.SetSections, n) {
			if _, err := tx.ExecContext(ctx, "DELETE FROM host_sections WHERE host_id = ? AND name = ?", id, n); err != nil {
				return err
			}
			if err := applyFacts(ctx, tx, id, n, nil); err != nil {
				return err
			}
		}
	}
	for _, s := range u.SetSections {
		if h, ok := stored[s.Name]; ok && h == s.Hash {
			continue // unchanged content (same hash)
		}
		if err := putSection(ctx, tx, id, s, at); err != nil {
			return err
		}
		if err := applyFacts(ctx, tx, id, s.Name, s.Facts); err != nil {
			return err
		}
	}
	return nil
}

func sent(secs []inventory.SectionData, name string) bool {
	for _, s := range secs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// replacePackages writes the changed rows of pkgs and returns the events
// the changes make (installs, upgrades, removals, failures).
func replacePackages(ctx context.Context, tx execer, id int64, pkgs []inventory.PackageRow) ([]wire.HostEvent, error) {
	stored := map[string]storedPackage{}
	rows, err := tx.QueryContext(ctx, `SELECT package, version, version_key, status, state, last_error, audit_status, install_date, explicit
		FROM host_packages WHERE host_id = ?`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		var p storedPackage
		var explicit int64
		if err := rows.Scan(&name, &p.version, &p.versionKey, &p.status, &p.state, &p.lastError, &p.auditStatus, &p.installDate, &explicit); err != nil {
			rows.Close()
			return nil, err
		}
		p.explicit = explicit != 0
		stored[name] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var upsert *sql.Stmt
	var events []wire.HostEvent
	for _, p := range pkgs {
		inst := formatTime(p.InstallDate)
		s, ok := stored[p.Package]
		delete(stored, p.Package)
		events = append(events, packageEvents(p.Package, s, ok, p.PackageState)...)
		if ok && s.version == p.Version && bytes.Equal(s.versionKey, p.VersionKey) && s.status == p.Status && s.state == p.State &&
			s.lastError == p.LastError && s.auditStatus == p.AuditStatus && s.explicit == p.Explicit &&
			s.installDate.Valid == (inst != nil) && (inst == nil || s.installDate.String == inst.(string)) {
			continue
		}
		if upsert == nil {
			upsert, err = tx.PrepareContext(ctx, `INSERT INTO host_packages
				(host_id, package, version, version_key, status, state, last_error, audit_status, install_date, explicit)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (host_id, package) DO UPDATE SET version = excluded.version, version_key = excluded.version_key,
					status = excluded.status, state = excluded.state, last_error = excluded.last_error,
					audit_status = excluded.audit_status, install_date = excluded.install_date, explicit = excluded.explicit`)
			if err != nil {
				return nil, err
			}
			defer upsert.Close()
		}
		if _, err := upsert.ExecContext(ctx, id, p.Package, p.Version, p.VersionKey, p.Status, p.State, p.LastError,
			p.AuditStatus, inst, boolInt(p.Explicit)); err != nil {
			return nil, err
		}
	}
	for _, name := range sortedNames(stored) {
		if _, err := tx.ExecContext(ctx, "DELETE FROM host_packages WHERE host_id = ? AND package = ?", id, name); err != nil {
			return nil, err
		}
		if stored[name].status == "OK" {
			events = append(events, wire.HostEvent{Kind: wire.EventRemove, Target: name, Detail: stored[name].version})
		}
	}
	return events, nil
}

func sortedNames(m map[string]storedPackage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AuditLog implements inventory.Store: the last limit entries, newest first.
func (d *DB) AuditLog(ctx context.Context, limit int) ([]inventory.AuditEntry, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inventory.AuditEntry
	for rows.Next() {
		var a inventory.AuditEntry
		var at sql.NullString
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Action, &a.Target, &a.Detail); err != nil {
			return nil, err
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetHostGroups implements inventory.Store.
func (d *DB) SetHostGroups(ctx context.Context, uuid string, groups []string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM host_groups WHERE uuid = ?", uuid); err != nil {
			return err
		}
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, "INSERT INTO host_groups (uuid, grp) VALUES (?, ?) ON CONFLICT DO NOTHING", uuid, g); err != nil {
				return err
			}
		}
		return nil
	})
}

// HostHistory implements inventory.Store: the host's events and the audit
// log entries targeting it, merged newest first.
func (d *DB) HostHistory(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error) {
	var out []wire.HostEvent
	err := d.read(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM hosts WHERE uuid = ?", uuid).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return inventory.ErrNotFound
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT at, kind, target, detail, '' FROM host_events WHERE host_id = ? ORDER BY id DESC LIMIT ?`, id, limit)
		if err != nil {
			return err
		}
		if out, err = scanEvents(rows, out); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT at, action, '', detail, actor FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?`, uuid, limit)
		if err != nil {
			return err
		}
		out, err = scanEvents(rows, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func scanEvents(rows *sql.Rows, out []wire.HostEvent) ([]wire.HostEvent, error) {
	defer rows.Close()
	for rows.Next() {
		var e wire.HostEvent
		var at sql.NullString
		if err := rows.Scan(&at, &e.Kind, &e.Target, &e.Detail, &e.Actor); err != nil {
			return nil, err
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, err
		}
		e.At = t
		out = append(out, e)
	}
	return out, rows.Err()
}
