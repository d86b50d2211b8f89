-- 0001: the agent's state (engine.Store). Times are RFC 3339 text in UTC
-- (NULL for the zero time); lists and maps are JSON text. Tables are STRICT so
-- a value of the wrong type is refused rather than silently coerced.

-- One row per repository: conditional-GET validators, the highest signed
-- index version seen (rollback protection) and the verified raw index.
CREATE TABLE repo_state (
    repo          TEXT    NOT NULL PRIMARY KEY,
    url           TEXT    NOT NULL,
    etag          TEXT    NOT NULL,
    last_modified TEXT    NOT NULL,
    index_version INTEGER NOT NULL CHECK (index_version >= 0),
    signed        INTEGER NOT NULL CHECK (signed IN (0, 1)),
    index_raw     BLOB    NOT NULL,
    updated_at    TEXT
) STRICT;

-- One row per installed (or failed, or interrupted) package.
CREATE TABLE installed (
    package        TEXT    NOT NULL PRIMARY KEY,
    version        TEXT    NOT NULL,
    architecture   TEXT    NOT NULL,
    maturity       TEXT    NOT NULL,
    locale         TEXT    NOT NULL,
    section        TEXT    NOT NULL,
    repo           TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status <> ''),
    explicit       INTEGER NOT NULL CHECK (explicit IN (0, 1)),
    install_date   TEXT,
    update_date    TEXT,
    output         TEXT    NOT NULL,
    last_error     TEXT    NOT NULL,
    retries        INTEGER NOT NULL CHECK (retries >= 0),
    control        TEXT    NOT NULL,
    setup_py       BLOB    NOT NULL,
    uninstall_keys TEXT    NOT NULL, -- JSON array of strings
    params         TEXT    NOT NULL, -- JSON object of strings
    persistent_dir TEXT    NOT NULL,
    audit_status   TEXT    NOT NULL,
    audit_output   TEXT    NOT NULL,
    last_audit     TEXT,
    next_audit     TEXT
) STRICT;

CREATE INDEX installed_status ON installed (status);

-- Agent parameters (key/value).
CREATE TABLE params (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The last session_setup() run of each package for each user.
CREATE TABLE session_setup (
    user    TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    status  TEXT NOT NULL,
    output  TEXT NOT NULL,
    date    TEXT,
    PRIMARY KEY (user, package)
) STRICT;

-- Status reports waiting for the server, oldest first.
CREATE TABLE reports (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    body    BLOB NOT NULL,
    created TEXT
) STRICT;
