-- 0002: the expiry of the signed index, so that a server answering 304
-- forever cannot keep an expired index alive (freeze attack).
ALTER TABLE repo_state ADD COLUMN index_expires TEXT;
