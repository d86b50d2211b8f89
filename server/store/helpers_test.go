package store

import (
	"crypto/x509"
	"database/sql"

	"github.com/wapt-go/wapt/shared/signing"
)

func fingerprint(c *x509.Certificate) string { return signing.Fingerprint(c) }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
