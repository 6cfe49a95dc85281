-- commhub schema 1 (SQLite). Times are integer microseconds since the Unix epoch (UTC):
-- exact, compact, and compared as plain integers.

CREATE TABLE members (
    member_id     TEXT PRIMARY KEY,
    -- Personal fields are nullable: erasing a member nulls them and keeps the row, so
    -- deliveries keep pointing at a member id.
    given_name    TEXT,
    family_name   TEXT,
    language      TEXT,
    format        TEXT,
    email         TEXT,
    phone         TEXT,
    relay_address TEXT,
    timezone      TEXT,
    opted_out     TEXT,            -- JSON: true/false or a list of topics
    updated_at    INTEGER NOT NULL,
    erased_at     INTEGER
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,    -- sha256 hex of the token; the token itself is never kept
    role       TEXT NOT NULL CHECK (role IN ('outreach', 'qa', 'admin')),
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE campaigns (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    template        TEXT NOT NULL,
    send_at         INTEGER,
    -- Only "active" or "cancelled" is kept; scheduled/sending/done are derived from
    -- send_at and the deliveries' states when read, so they are never stale.
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at      INTEGER NOT NULL,
    cancelled_at    INTEGER,
    idempotency_key TEXT UNIQUE,
    request_hash    TEXT,
    total           INTEGER NOT NULL,
    created_by      TEXT,
    meta            TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE deliveries (
    id                INTEGER PRIMARY KEY,
    campaign_id       TEXT NOT NULL REFERENCES campaigns (id),
    member_id         TEXT NOT NULL REFERENCES members (member_id),
    data              TEXT,            -- JSON template data; nulled when the member is erased
    state             TEXT NOT NULL CHECK (state IN ('queued', 'rendering', 'sending', 'sent',
                          'retry_wait', 'failed', 'held', 'skipped', 'cancelled')),
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

CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_campaign_state ON deliveries (campaign_id, state);
CREATE INDEX deliveries_member ON deliveries (member_id);

CREATE TABLE delivery_events (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    state       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    reason      TEXT
);

CREATE INDEX delivery_events_delivery ON delivery_events (delivery_id);
