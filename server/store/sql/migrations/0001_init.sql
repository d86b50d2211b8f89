-- 0001: the server's inventory (inventory.Store). Times are fixed-width
-- RFC 3339 text in UTC with microseconds ("2006-01-02T15:04:05.000000Z"), so
-- they sort and compare as text; NULL is the zero time. Lists are JSON text.
-- Tables are STRICT (SQLite-only keyword: drop it for PostgreSQL, where
-- types are strict anyway); BLOB is bytea, INTEGER 0/1 flags could become
-- boolean, and the INTEGER PRIMARY KEYs become BIGINT GENERATED
-- ALWAYS AS IDENTITY.

-- One row per host ever registered; revoked hosts are kept. id is the
-- SQLite rowid (PostgreSQL: BIGINT GENERATED ALWAYS AS IDENTITY): the other
-- host tables reference it, so joins are integer lookups.
CREATE TABLE hosts (
    id               INTEGER PRIMARY KEY,
    uuid             TEXT    NOT NULL UNIQUE,
    fqdn             TEXT    NOT NULL,
    hostname         TEXT    NOT NULL,
    os               TEXT    NOT NULL,
    os_version       TEXT    NOT NULL,
    status           TEXT    NOT NULL, -- derived state; '' before the first report
    pending          INTEGER NOT NULL CHECK (pending >= 0),
    errors           INTEGER NOT NULL CHECK (errors >= 0),
    registered_at    TEXT    NOT NULL,
    registered_by    TEXT    NOT NULL,
    last_seen        TEXT,
    last_report      TEXT,   -- agent clock of the last report
    cert_fingerprint TEXT    NOT NULL, -- current certificate (hex SHA-256 of DER), in host_certs
    revoked          INTEGER NOT NULL CHECK (revoked IN (0, 1)),
    revoked_at       TEXT,
    problems         TEXT    NOT NULL, -- JSON array of strings
    last_update      TEXT    NOT NULL, -- JSON wire.RunSummary or 'null'
    last_upgrade     TEXT    NOT NULL  -- JSON wire.RunSummary or 'null'
) STRICT;

CREATE INDEX hosts_cert_fingerprint ON hosts (cert_fingerprint);
CREATE INDEX hosts_hostname ON hosts (hostname, uuid);
CREATE INDEX hosts_last_seen ON hosts (last_seen, uuid);
-- Partial index (SQLite and PostgreSQL): the few revoked hosts.
CREATE INDEX hosts_revoked ON hosts (id) WHERE revoked = 1;

-- Every certificate issued to a host, current or superseded.
CREATE TABLE host_certs (
    fingerprint TEXT NOT NULL PRIMARY KEY,
    uuid        TEXT NOT NULL,
    cert        BLOB NOT NULL,
    not_after   TEXT,
    issued_at   TEXT NOT NULL,
    issued_by   TEXT NOT NULL,
    revoked_at  TEXT -- superseded by a re-registration, or unregistered
) STRICT;

CREATE INDEX host_certs_uuid ON host_certs (uuid);

-- The packages of each host's last status report. version_key sorts like
-- the version (inventory.VersionKey), so version filters run in SQL.
CREATE TABLE host_packages (
    host_id      INTEGER NOT NULL REFERENCES hosts (id),
    package      TEXT    NOT NULL, -- lower case
    version      TEXT    NOT NULL,
    version_key  BLOB,
    status       TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    last_error   TEXT    NOT NULL,
    audit_status TEXT    NOT NULL,
    install_date TEXT,
    explicit     INTEGER NOT NULL CHECK (explicit IN (0, 1)),
    PRIMARY KEY (host_id, package)
) STRICT;

CREATE INDEX host_packages_package ON host_packages (package, version_key, host_id);

-- Inventory sections, by host and name, with the agent's hash.
CREATE TABLE host_sections (
    host_id    INTEGER NOT NULL REFERENCES hosts (id),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    data       BLOB NOT NULL, -- JSON
    updated_at TEXT NOT NULL,
    PRIMARY KEY (host_id, name)
) STRICT;

-- Who did what, when: every registration change.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY, -- SQLite rowid alias; PostgreSQL: identity
    at     TEXT    NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL
) STRICT;

-- Admin certificates and their rights (for the auth layer).
CREATE TABLE admins (
    fingerprint TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    rights      TEXT NOT NULL, -- JSON array of wire.Right* strings
    cert_pem    TEXT NOT NULL,
    created     TEXT NOT NULL
) STRICT;
