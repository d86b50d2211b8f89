-- 0003: the nonces of the remote actions this agent accepted (DESIGN §5), so
-- that a replayed action is refused even after a restart. expires is RFC 3339
-- text in UTC like the other times, always with nine fraction digits so that
-- text order is time order (the cleanup compares it as text).
CREATE TABLE action_nonces (
    nonce   TEXT NOT NULL PRIMARY KEY CHECK (nonce <> ''),
    expires TEXT NOT NULL
) STRICT;

CREATE INDEX action_nonces_expires ON action_nonces (expires);
