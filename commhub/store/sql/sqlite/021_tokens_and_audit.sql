-- Tokens: listed by id (the first 12 hex digits of their hash, never the token), revoked
-- (kept, for the audit log's sake), optionally expiring; last use recorded about once a
-- minute. The audit log: who did what and when, never content or member data.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,       -- a token id (tok_...) or "cli"
    actor_label TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,       -- e.g. campaign.pause, member.erase, token.revoke
    object_id   TEXT,
    outcome     TEXT NOT NULL        -- "ok" or "error <status>: <code>"
);
CREATE INDEX audit_log_at ON audit_log (at);
