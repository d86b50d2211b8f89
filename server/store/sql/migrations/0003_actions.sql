-- 0003: admin-signed actions relayed to hosts, and where each stands on
-- each target host. The server never signs: body is the action exactly as
-- the admin signed and posted it, relayed verbatim.

CREATE TABLE actions (
    id          TEXT    NOT NULL PRIMARY KEY, -- the action's nonce
    kind        TEXT    NOT NULL,
    packages    TEXT    NOT NULL, -- JSON array of package requests
    signer      TEXT    NOT NULL, -- admin common name
    signer_fp   TEXT    NOT NULL, -- hex SHA-256 of the admin certificate
    issued_at   TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    received_at TEXT    NOT NULL,
    body        BLOB    NOT NULL
) STRICT;

CREATE INDEX actions_received ON actions (received_at);

CREATE TABLE action_hosts (
    action_id TEXT    NOT NULL REFERENCES actions (id),
    host      TEXT    NOT NULL, -- host uuid as written in the action
    state     TEXT    NOT NULL, -- wire.Action* states
    progress  INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
    message   TEXT    NOT NULL,
    updated   TEXT,
    expires_at TEXT   NOT NULL, -- copy of the action's, for the pending index
    PRIMARY KEY (action_id, host)
) STRICT;

-- What a host still has to receive, by host: read at every (re)connection.
CREATE INDEX action_hosts_pending ON action_hosts (host, expires_at) WHERE state = 'pending';
