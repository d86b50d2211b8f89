-- 0002: group membership, organizational unit and per-host history.

-- The host's organizational unit (AD DN such as
-- "CN=pc1,OU=room1,OU=prod,DC=example,DC=lan"), as reported by its agent;
-- '' when unknown. Filters match the OU and every OU above it.
ALTER TABLE hosts ADD COLUMN unit TEXT NOT NULL DEFAULT '';
CREATE INDEX hosts_unit ON hosts (unit);

-- The group packages each host package depends on, keyed by host uuid (a
-- host package may be published before its host registers). Rewritten on
-- every host package upload, dropped with it.
CREATE TABLE host_groups (
    uuid  TEXT NOT NULL,
    grp   TEXT NOT NULL, -- lower-case package name
    PRIMARY KEY (grp, uuid)
) STRICT;

CREATE INDEX host_groups_uuid ON host_groups (uuid);

-- What happened to a host: derived status changes, packages installed,
-- upgraded, removed or failed. Bounded per host (the oldest are pruned).
CREATE TABLE host_events (
    id      INTEGER PRIMARY KEY, -- SQLite rowid alias; PostgreSQL: identity
    host_id INTEGER NOT NULL REFERENCES hosts (id),
    at      TEXT    NOT NULL,
    kind    TEXT    NOT NULL, -- status, install, upgrade, remove, error
    target  TEXT    NOT NULL, -- package name, or '' for the host
    detail  TEXT    NOT NULL
) STRICT;

CREATE INDEX host_events_host ON host_events (host_id, id);

-- The audit log by target (host history, admin history).
CREATE INDEX audit_log_target ON audit_log (target, id);
