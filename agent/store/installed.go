package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
)

const installedColumns = `package, version, architecture, maturity, locale, section, repo,
	status, explicit, install_date, update_date, output, last_error, retries, control,
	setup_py, uninstall_keys, params, persistent_dir, audit_status, audit_output,
	last_audit, next_audit`

// ListInstalled returns every installed record, sorted by package name.
// Empty lists and maps come back nil; times come back in UTC.
func (d *DB) ListInstalled(ctx context.Context) ([]engine.Installed, error) {
	var out []engine.Installed
	err := d.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+installedColumns+" FROM installed ORDER BY package")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			in, err := scanInstalled(rows)
			if err != nil {
				return err
			}
			out = append(out, in)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list installed: %w", err)
	}
	return out, nil
}

// GetInstalled returns the record of one package; engine.ErrNotFound when
// there is none.
func (d *DB) GetInstalled(ctx context.Context, name string) (engine.Installed, error) {
	var in engine.Installed
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		in, err = scanInstalled(tx.QueryRowContext(ctx, "SELECT "+installedColumns+" FROM installed WHERE package = ?", name))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return engine.Installed{}, fmt.Errorf("installed package %q: %w", name, engine.ErrNotFound)
	}
	if err != nil {
		return engine.Installed{}, fmt.Errorf("get installed %q: %w", name, err)
	}
	return in, nil
}

// PutInstalled inserts or replaces the record of in.Package. Output and
// AuditOutput are cut to their last MaxOutput bytes.
func (d *DB) PutInstalled(ctx context.Context, in engine.Installed) error {
	if in.Package == "" {
		return errors.New("put installed: empty package name")
	}
	if in.Status == "" {
		return fmt.Errorf("put installed %q: empty status", in.Package)
	}
	if in.Retries < 0 {
		return fmt.Errorf("put installed %q: negative retries %d", in.Package, in.Retries)
	}
	keys, err := json.Marshal(nonNilKeys(in.UninstallKeys))
	if err != nil {
		return fmt.Errorf("put installed %q: %w", in.Package, err)
	}
	params, err := json.Marshal(nonNilParams(in.Params))
	if err != nil {
		return fmt.Errorf("put installed %q: %w", in.Package, err)
	}
	err = d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO installed (`+installedColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (package) DO UPDATE SET
				version = excluded.version, architecture = excluded.architecture,
				maturity = excluded.maturity, locale = excluded.locale,
				section = excluded.section, repo = excluded.repo, status = excluded.status,
				explicit = excluded.explicit, install_date = excluded.install_date,
				update_date = excluded.update_date, output = excluded.output,
				last_error = excluded.last_error, retries = excluded.retries,
				control = excluded.control, setup_py = excluded.setup_py,
				uninstall_keys = excluded.uninstall_keys, params = excluded.params,
				persistent_dir = excluded.persistent_dir, audit_status = excluded.audit_status,
				audit_output = excluded.audit_output, last_audit = excluded.last_audit,
				next_audit = excluded.next_audit`,
			in.Package, in.Version, in.Architecture, in.Maturity, in.Locale, in.Section, in.Repo,
			string(in.Status), boolInt(in.Explicit), formatTime(in.InstallDate), formatTime(in.UpdateDate),
			bound(in.Output), in.LastError, int64(in.Retries), in.Control,
			notNil(in.SetupPy), string(keys), string(params), in.PersistentDir, in.AuditStatus,
			bound(in.AuditOutput), formatTime(in.LastAudit), formatTime(in.NextAudit))
		return err
	})
	if err != nil {
		return fmt.Errorf("put installed %q: %w", in.Package, err)
	}
	return nil
}

// DeleteInstalled removes the record of name; absent is not an error.
func (d *DB) DeleteInstalled(ctx context.Context, name string) error {
	err := d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM installed WHERE package = ?", name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete installed %q: %w", name, err)
	}
	return nil
}

// RepairInterrupted turns INSTALLING and REMOVING records, left by an agent
// that died during a script, into ERROR: LastError says what was interrupted
// and when, Retries grows by one. It returns their names, sorted.
func (d *DB) RepairInterrupted(ctx context.Context, now time.Time) ([]string, error) {
	var names []string
	err := d.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT package, status FROM installed WHERE status IN (?, ?) ORDER BY package",
			string(engine.StatusInstalling), string(engine.StatusRemoving))
		if err != nil {
			return err
		}
		type hit struct{ name, status string }
		var hits []hit
		for rows.Next() {
			var h hit
			if err := rows.Scan(&h.name, &h.status); err != nil {
				rows.Close()
				return err
			}
			hits = append(hits, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		at := now.UTC().Format(time.RFC3339)
		for _, h := range hits {
			what := "install"
			if h.status == string(engine.StatusRemoving) {
				what = "remove"
			}
			if _, err := tx.ExecContext(ctx, "UPDATE installed SET status = ?, last_error = ?, retries = retries + 1 WHERE package = ?",
				string(engine.StatusError), fmt.Sprintf("interrupted during %s at %s", what, at), h.name); err != nil {
				return err
			}
			names = append(names, h.name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repair interrupted: %w", err)
	}
	return names, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanInstalled(s scanner) (engine.Installed, error) {
	var (
		in                                       engine.Installed
		status, keys, params                     string
		explicit, retries                        int64
		installDate, updateDate, lastAu, nextAud sql.NullString
	)
	err := s.Scan(&in.Package, &in.Version, &in.Architecture, &in.Maturity, &in.Locale, &in.Section, &in.Repo,
		&status, &explicit, &installDate, &updateDate, &in.Output, &in.LastError, &retries, &in.Control,
		&in.SetupPy, &keys, &params, &in.PersistentDir, &in.AuditStatus, &in.AuditOutput, &lastAu, &nextAud)
	if err != nil {
		return engine.Installed{}, err
	}
	in.Status = engine.Status(status)
	in.Explicit = explicit != 0
	in.Retries = int(retries)
	in.SetupPy = nilIfEmpty(in.SetupPy)
	if err := json.Unmarshal([]byte(keys), &in.UninstallKeys); err != nil {
		return engine.Installed{}, fmt.Errorf("package %q: uninstall_keys: %w", in.Package, err)
	}
	if len(in.UninstallKeys) == 0 {
		in.UninstallKeys = nil
	}
	if err := json.Unmarshal([]byte(params), &in.Params); err != nil {
		return engine.Installed{}, fmt.Errorf("package %q: params: %w", in.Package, err)
	}
	if len(in.Params) == 0 {
		in.Params = nil
	}
	for _, t := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&in.InstallDate, installDate}, {&in.UpdateDate, updateDate}, {&in.LastAudit, lastAu}, {&in.NextAudit, nextAud}} {
		if *t.dst, err = parseTime(t.src); err != nil {
			return engine.Installed{}, fmt.Errorf("package %q: %w", in.Package, err)
		}
	}
	return in, nil
}

func nonNilKeys(k []string) []string {
	if k == nil {
		return []string{}
	}
	return k
}

func nonNilParams(p map[string]string) map[string]string {
	if p == nil {
		return map[string]string{}
	}
	return p
}
