package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

var _ auth.Admins = (*DB)(nil)

// AdminByFingerprint returns the admin registered with this certificate
// fingerprint, or an error wrapping auth.ErrNotFound.
func (d *DB) AdminByFingerprint(ctx context.Context, fp string) (auth.Admin, error) {
	var (
		a      auth.Admin
		rights string
		pemTxt string
	)
	err := d.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT fingerprint, name, rights, cert_pem FROM admins WHERE fingerprint = ?`, fp).
			Scan(&a.Fingerprint, &a.Name, &rights, &pemTxt)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Admin{}, fmt.Errorf("admin %s: %w", fp, auth.ErrNotFound)
	}
	if err != nil {
		return auth.Admin{}, fmt.Errorf("admin %s: %w", fp, err)
	}
	if err := json.Unmarshal([]byte(rights), &a.Rights); err != nil {
		return auth.Admin{}, fmt.Errorf("admin %s: rights: %w", fp, err)
	}
	cs, err := certs.ParseCertsPEM([]byte(pemTxt))
	if err != nil {
		return auth.Admin{}, fmt.Errorf("admin %s: certificate: %w", fp, err)
	}
	a.Cert = cs[0]
	return a, nil
}

// PutAdmin registers (or updates the rights of) an admin certificate.
func (d *DB) PutAdmin(ctx context.Context, a auth.Admin, now time.Time) error {
	if a.Cert == nil || a.Fingerprint == "" || a.Name == "" {
		return errors.New("put admin: certificate, fingerprint and name required")
	}
	rights, err := json.Marshal(a.Rights)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admins (fingerprint, name, rights, cert_pem, created) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (fingerprint) DO UPDATE SET name = excluded.name, rights = excluded.rights`,
			a.Fingerprint, a.Name, string(rights), string(certs.EncodeCertsPEM(a.Cert)), formatTime(now))
		return err
	})
}

// CountAdmins returns the number of registered admins (the bootstrap
// password works only while it is 0).
func (d *DB) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := d.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n)
	})
	return n, err
}

// ListAdmins returns every registered admin, by name.
func (d *DB) ListAdmins(ctx context.Context) ([]auth.Admin, error) {
	var out []auth.Admin
	err := d.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT fingerprint, name, rights, cert_pem FROM admins ORDER BY name, fingerprint`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a auth.Admin
			var rights, pemTxt string
			if err := rows.Scan(&a.Fingerprint, &a.Name, &rights, &pemTxt); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(rights), &a.Rights); err != nil {
				return fmt.Errorf("admin %s: rights: %w", a.Fingerprint, err)
			}
			cs, err := certs.ParseCertsPEM([]byte(pemTxt))
			if err != nil {
				return fmt.Errorf("admin %s: certificate: %w", a.Fingerprint, err)
			}
			a.Cert = cs[0]
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}

// SetAdminRights replaces the rights of the admin whose certificate has
// fingerprint fp (auth.ErrNotFound when none). It refuses with
// auth.ErrLastAdmin to take the admin right from the last admin holding it.
func (d *DB) SetAdminRights(ctx context.Context, fp string, rights []string) error {
	js, err := json.Marshal(rights)
	if err != nil {
		return err
	}
	return d.changeAdmin(ctx, fp, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE admins SET rights = ? WHERE fingerprint = ?`, string(js), fp)
		return err
	})
}

// DeleteAdmin removes the admin whose certificate has fingerprint fp
// (auth.ErrNotFound when none); its certificate is no longer accepted. It
// refuses with auth.ErrLastAdmin to remove the last admin holding the
// admin right.
func (d *DB) DeleteAdmin(ctx context.Context, fp string) error {
	return d.changeAdmin(ctx, fp, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE fingerprint = ?`, fp)
		return err
	})
}

// changeAdmin runs change on admin fp in one transaction and checks that an
// admin holding the admin right remains.
func (d *DB) changeAdmin(ctx context.Context, fp string, change func(tx *sql.Tx) error) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM admins WHERE fingerprint = ?`, fp).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("admin %s: %w", fp, auth.ErrNotFound)
		}
		if err != nil {
			return err
		}
		before, err := countAdminRight(ctx, tx)
		if err != nil {
			return err
		}
		if err := change(tx); err != nil {
			return err
		}
		after, err := countAdminRight(ctx, tx)
		if err != nil {
			return err
		}
		if before > 0 && after == 0 {
			return fmt.Errorf("admin %s: %w", fp, auth.ErrLastAdmin)
		}
		return nil
	})
}

// countAdminRight counts the admins holding the admin right.
func countAdminRight(ctx context.Context, tx *sql.Tx) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT rights FROM admins`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var js string
		var rights []string
		if err := rows.Scan(&js); err != nil {
			return 0, err
		}
		if err := json.Unmarshal([]byte(js), &rights); err != nil {
			return 0, err
		}
		if (auth.Admin{Rights: rights}).Can(wire.RightAdmin) {
			n++
		}
	}
	return n, rows.Err()
}
