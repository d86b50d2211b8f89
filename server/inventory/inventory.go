// Package inventory is the server's host registry: registrations and host
// certificates, signed status reports and inventory sections, host queries
// and the audit log of every registration change. It is HTTP-free and keeps
// its data behind the small Store interface it declares (package
// server/store implements it on SQLite).
package inventory

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// Sentinel errors. Errors returned by Service wrap one of them (or are a
// *MissingSectionsError, which wraps ErrConflict).
var (
	ErrNotFound  = errors.New("host not found")
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid is wrapped together with a *wire.FieldsError giving the
	// reason per field.
	ErrInvalid  = errors.New("invalid input")
	ErrConflict = errors.New("conflict")
)

// Actors of Register that are not admins. Any other non-empty `by` is an
// admin name, recorded as such in the audit log.
const (
	// ByToken is a registration authenticated by the enrollment token.
	ByToken = "token"
	// ByHost is a re-registration authenticated by the host's own key.
	ByHost = "host"
)

// Audit actions.
const (
	ActionRegister   = "register"
	ActionReregister = "reregister"
	ActionUnregister = "unregister"
)

// Limits on reports and registrations.
const (
	MaxSectionSize = 1 << 20 // one inventory section's JSON (but software)
	// MaxSoftwareSectionSize bounds the software section: a machine with
	// 6,000 packages sends about 1 MiB.
	MaxSoftwareSectionSize = 8 << 20
	MaxSectionTotal        = 16 << 20 // all sections of one report or registration
	MaxSections            = 256
	MaxPackages            = 10000
	MaxProblems            = 1000
	MaxTextLen             = 64 << 10 // LastError, problem lines, run errors
	MaxNameLen             = 255      // uuid, fqdn, hostname, package, section names
	MaxLimit               = 1000     // Query.Limit
	DefaultLimit           = 100
)

// MissingSectionsError is returned by IngestStatus when the report lists a
// section hash that matches neither a section it sends nor the stored one:
// the agent must send the report again with every section (Names are the
// sections the server lacks). Nothing was written. It wraps ErrConflict.
type MissingSectionsError struct {
	Names []string
}

func (e *MissingSectionsError) Error() string {
	return fmt.Sprintf("%v: inventory sections out of date on the server, send them: %s", ErrConflict, strings.Join(e.Names, ", "))
}

// Unwrap returns ErrConflict.
func (e *MissingSectionsError) Unwrap() error { return ErrConflict }

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// HostAuth is what authenticates a host: its current certificate.
type HostAuth struct {
	UUID        string
	Fingerprint string // hex SHA-256 of CertDER
	CertDER     []byte
	Revoked     bool
}

// SectionData is one stored inventory section.
type SectionData struct {
	Name string
	Hash string
	Data []byte
	// Facts are what DeriveFacts made of Data: nil when nothing (the store
	// then clears the facts the section had given).
	Facts *Facts
}

// Registration is a host registration (new or again) for Store.Register.
type Registration struct {
	UUID, FQDN, Hostname, OS, OSVersion string
	Fingerprint                         string
	CertDER                             []byte
	CertNotAfter                        time.Time
	At                                  time.Time
	By                                  string
	// Sections replace all the host's sections.
	Sections []SectionData
	// Prev is the host's authentication read before deciding (nil: the
	// host did not exist). The store refuses with ErrConflict when the
	// stored row no longer matches it.
	Prev *HostAuth
}

// PackageRow is one package of a status update, with its version key.
type PackageRow struct {
	wire.PackageState
	// VersionKey sorts like the version (nil when Version is empty).
	VersionKey []byte
}

// StatusUpdate is an accepted status report for Store.SaveStatus.
type StatusUpdate struct {
	UUID string
	// Fingerprint must be the host's current, unrevoked certificate, or
	// the store refuses with ErrForbidden.
	Fingerprint       string
	At                time.Time // server time: last seen
	ReportTime        time.Time // agent time
	Status            string
	Pending, Errors   int
	Problems          []string
	LastUpdate        *wire.RunSummary
	LastUpgrade       *wire.RunSummary
	OS, OSVersion     string // empty: unchanged
	Packages          []PackageRow
	ReplacePackages   bool // false: package rows untouched
	SetSections       []SectionData
	KeepSections      map[string]string // name → hash that must be stored
	ReconcileSections bool              // false: sections untouched
	// Unit is the organizational unit DN the agent reported ("" if none).
	Unit string
}

// HostFilter is a validated Query as the store runs it.
type HostFilter struct {
	Status     string
	Text       string // substring of uuid, fqdn or hostname
	OS         string
	Package    string    // lowercase name; "" for none
	Versions   *KeyRange // nil: any version of Package
	SeenBefore time.Time
	SeenAfter  time.Time
	Group      string // lowercase group package name; "" for none
	Unit       string // organizational unit DN: the host's unit or one below it
	Revoked    bool   // include revoked hosts
	Sort       string
	Desc       bool
	Offset     int
	Limit      int

	// The inventory filters.
	Software *SoftwareCond // nil for none
	// Manufacturer and Model match a substring, case-insensitively.
	Manufacturer, Model string
	// RAMMin, RAMMax and DiskFreeMin bound the derived columns, in bytes;
	// 0 is no bound. Hosts whose value is unknown never match a bound.
	RAMMin, RAMMax, DiskFreeMin int64
	// Duplicates keeps the hosts sharing their system UUID with another.
	Duplicates bool
}

// Store is the persistence the Service needs. Each method is one
// transaction.
type Store interface {
	// HostAuth returns uuid's current certificate (ErrNotFound).
	HostAuth(ctx context.Context, uuid string) (HostAuth, error)
	// HostByFingerprint returns the unrevoked host whose current
	// certificate has fingerprint fp (ErrNotFound).
	HostByFingerprint(ctx context.Context, fp string) (HostAuth, error)
	// Register records r and a, or fails with ErrConflict when the host row
	// does not match r.Prev any more.
	Register(ctx context.Context, r Registration, a AuditEntry) error
	// SaveStatus records u; ErrNotFound, ErrForbidden (certificate not
	// current or revoked) or *MissingSectionsError write nothing.
	SaveStatus(ctx context.Context, u StatusUpdate) error
	// Revoke marks uuid revoked (ErrNotFound when absent or already
	// revoked) and records a.
	Revoke(ctx context.Context, uuid string, at time.Time, a AuditEntry) error
	ListHosts(ctx context.Context, f HostFilter) (hosts []wire.HostSummary, total int, err error)
	// ExportHosts calls fn for every host matching f (Offset, Limit and
	// Sort ignored: by hostname), with its software when withSoftware,
	// reading the hosts in chunks (never all at once) and calling fn
	// outside any transaction. An error of fn stops it and is returned.
	ExportHosts(ctx context.Context, f HostFilter, withSoftware bool, fn func(HostExport) error) error
	Host(ctx context.Context, uuid string) (wire.HostDetail, error)
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
	// AddAudit records one audit entry.
	AddAudit(ctx context.Context, a AuditEntry) error
	// SetHostGroups replaces the group packages host package uuid depends
	// on (none: the host package is gone). The host need not be registered.
	SetHostGroups(ctx context.Context, uuid string, groups []string) error
	// HostHistory returns the last limit events of uuid, newest first:
	// what its status posts changed and the audit log entries about it
	// (ErrNotFound for an unknown host).
	HostHistory(ctx context.Context, uuid string, limit int) ([]wire.HostEvent, error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store Store
}

// Service is the inventory core. It is safe for concurrent use.
type Service struct {
	st Store

	// certs caches host certificates by fingerprint (a status post looks
	// its signer up): parsed once, kept certCacheTTL, and dropped whole by
	// every registration or unregistration on this node. Another node's
	// revocation is seen within certCacheTTL.
	mu      sync.Mutex
	certs   map[string]cachedCert
	inserts int
}

type cachedCert struct {
	uuid  string
	cert  *x509.Certificate
	until time.Time
}

const (
	certCacheTTL   = 10 * time.Second
	certCacheMax   = 200000
	certCacheSweep = 1024
)

func (s *Service) cachedHost(fp string, now time.Time) (cachedCert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[fp]
	return c, ok && now.Before(c.until)
}

func (s *Service) cacheHost(fp string, c cachedCert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certs == nil || len(s.certs) >= certCacheMax {
		s.certs = map[string]cachedCert{}
	}
	s.certs[fp] = c
	// Expired entries go every certCacheSweep insertions, so that the
	// cache holds about the hosts seen in the last certCacheTTL, not every
	// host ever seen (a parsed certificate is ~3 KiB).
	s.inserts++
	if s.inserts%certCacheSweep == 0 {
		for k, v := range s.certs {
			if !c.until.Before(v.until.Add(certCacheTTL)) {
				delete(s.certs, k)
			}
		}
	}
}

// dropCerts forgets every cached certificate (a host was registered,
// re-registered or unregistered).
func (s *Service) dropCerts() {
	s.mu.Lock()
	s.certs = nil
	s.mu.Unlock()
}

// New returns a Service over c.Store.
func New(c Config) *Service {
	return &Service{st: c.Store}
}

// Record adds an audit entry for a write done elsewhere (a package upload
// or delete, an admin registration): who, what, on what, when.
func (s *Service) Record(ctx context.Context, actor, action, target, detail string, at time.Time) error {
	if actor == "" || action == "" {
		return fmt.Errorf("%w: audit entry without actor or action", ErrInvalid)
	}
	return s.st.AddAudit(ctx, AuditEntry{At: at, Actor: actor, Action: action, Target: target, Detail: detail})
}

// AuditLog returns the last limit entries (≤ 0: 100), newest first.
func (s *Service) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	return s.st.AuditLog(ctx, limit)
}

// invalid builds an error wrapping both ErrInvalid and a *wire.FieldsError.
func invalid(f map[string]string) error {
	if len(f) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, &wire.FieldsError{Fields: f})
}

// worse reports whether state a is worse than b (wire's order: ERROR,
// NEED-REMOVE, NEED-INSTALL, NEED-UPGRADE, OK).
func worse(a, b string) bool { return stateRank(a) > stateRank(b) }

func stateRank(s string) int {
	switch s {
	case wire.StateOK:
		return 1
	case wire.StateNeedUpgrade:
		return 2
	case wire.StateNeedInstall:
		return 3
	case wire.StateNeedRemove:
		return 4
	case wire.StateError:
		return 5
	}
	return 0
}

func validState(s string) bool { return stateRank(s) > 0 }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
