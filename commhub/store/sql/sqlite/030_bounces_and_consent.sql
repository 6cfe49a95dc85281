-- Consent and deliverability: the `bounced` delivery state, addresses reported
-- undeliverable, and soft bounce counts (commhub/bounces.py).
--
-- SQLite cannot change a CHECK constraint in place: the deliveries table is rebuilt. Foreign
-- keys stay on (PRAGMA foreign_keys cannot change inside the migration's transaction);
-- deferring them lets the history rows point at the rebuilt table's same ids by COMMIT.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE deliveries_before_030 AS SELECT * FROM deliveries;
DROP TABLE deliveries;
CREATE TABLE deliveries (
    id                INTEGER PRIMARY KEY,
    campaign_id       TEXT NOT NULL REFERENCES campaigns (id),
    member_id         TEXT NOT NULL REFERENCES members (member_id),
    data              TEXT,            -- JSON template data; nulled when the member is erased
    state             TEXT NOT NULL CHECK (state IN ('queued', 'rendering', 'sending', 'sent',
                          'retry_wait', 'failed', 'held', 'skipped', 'cancelled', 'bounced')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    -- When the delivery next needs a worker: send_at (or 0) when queued, retry_at when
    -- waiting, the lease expiry while leased; NULL when final or held for staff. One
    -- partial index on it serves every claim.
    due_at            INTEGER,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    retry_at          INTEGER,
    last_error        TEXT,
    language          TEXT,
    format            TEXT,
    language_fallback INTEGER NOT NULL DEFAULT 0,
    message_id        TEXT,
    updated_at        INTEGER NOT NULL,
    UNIQUE (campaign_id, member_id)
);
INSERT INTO deliveries SELECT * FROM deliveries_before_030;
DROP TABLE deliveries_before_030;
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_member ON deliveries (member_id);
CREATE INDEX deliveries_campaign_counts
    ON deliveries (campaign_id, state, language, format, language_fallback);

-- JSON list of the member's addresses reported undeliverable; NULL = none. A claim reads it
-- with the member, so a delivery to a bounced address is skipped without another query.
ALTER TABLE members ADD COLUMN undeliverable TEXT;

-- Soft bounces per member address, in a row (reset when the member's address changes).
CREATE TABLE address_bounces (
    member_id  TEXT NOT NULL REFERENCES members (member_id),
    address    TEXT NOT NULL,
    soft_count INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, address)
);
