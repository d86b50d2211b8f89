-- 0004: the queryable inventory, derived from the hosts' inventory
-- sections (inventory.DeriveFacts) in the transaction that writes them,
-- and cleared with them.

-- Hardware and OS facts, one column per fact, NULL when unknown. Each
-- column belongs to one section: dmi (manufacturer, model, serial,
-- system_uuid), cpu (cpu_model), memory (ram_bytes), disks
-- (disk_total_bytes, disk_free_bytes), host (os_name, kernel).
-- facts_version is the derivation the row's facts come from: a host with
-- an older one gets all its facts derived again at its next status report
-- (hosts registered before this migration included).
ALTER TABLE hosts ADD COLUMN manufacturer TEXT;
ALTER TABLE hosts ADD COLUMN model TEXT;
ALTER TABLE hosts ADD COLUMN serial TEXT;
ALTER TABLE hosts ADD COLUMN system_uuid TEXT; -- lower case, only a valid, non-placeholder UUID
ALTER TABLE hosts ADD COLUMN cpu_model TEXT;
ALTER TABLE hosts ADD COLUMN ram_bytes INTEGER;
ALTER TABLE hosts ADD COLUMN disk_total_bytes INTEGER;
ALTER TABLE hosts ADD COLUMN disk_free_bytes INTEGER;
ALTER TABLE hosts ADD COLUMN os_name TEXT;
ALTER TABLE hosts ADD COLUMN kernel TEXT;
ALTER TABLE hosts ADD COLUMN facts_version INTEGER NOT NULL DEFAULT 0;
-- 1 when another unrevoked host has the same system_uuid (cloned
-- machines): kept up to date whenever a host's system_uuid or revoked
-- flag changes, so that listing and filtering cost nothing.
ALTER TABLE hosts ADD COLUMN duplicate_uuid INTEGER NOT NULL DEFAULT 0 CHECK (duplicate_uuid IN (0, 1));

-- Hosts sharing a system UUID (partial: the index skips hosts without
-- one; it holds revoked, so that the duplicate check needs no table row).
CREATE INDEX hosts_system_uuid ON hosts (system_uuid, revoked) WHERE system_uuid IS NOT NULL;
CREATE INDEX hosts_duplicate_uuid ON hosts (hostname, uuid) WHERE duplicate_uuid = 1;
CREATE INDEX hosts_ram ON hosts (ram_bytes, revoked) WHERE ram_bytes IS NOT NULL;

-- Every distinct software seen on any host: a fleet of 100,000 hosts with
-- 300 each has a few thousand to a few hundred thousand distinct rows, so
-- names and versions are stored once and host_software is two integers per
-- row. Rows no host references any more are deleted with the last
-- reference. name_key is the Go lower case of name; version_key sorts like
-- the version (inventory.SoftwareVersionKey), NULL when it has none.
CREATE TABLE software (
    id          INTEGER PRIMARY KEY, -- SQLite rowid alias; PostgreSQL: identity
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    version     TEXT NOT NULL,
    version_key BLOB,
    publisher   TEXT NOT NULL,
    arch        TEXT NOT NULL,
    source      TEXT NOT NULL,
    UNIQUE (name, version, publisher, arch, source)
) STRICT;

-- Software filters: a name (or a name prefix) and a version range.
CREATE INDEX software_name ON software (name_key, version_key);

-- What each host has. The primary key serves a host's rows; the second
-- index the hosts of a software.
CREATE TABLE host_software (
    host_id     INTEGER NOT NULL REFERENCES hosts (id),
    software_id INTEGER NOT NULL REFERENCES software (id),
    PRIMARY KEY (host_id, software_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX host_software_software ON host_software (software_id, host_id);
