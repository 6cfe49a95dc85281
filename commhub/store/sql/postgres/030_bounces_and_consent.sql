-- Consent and deliverability: the `bounced` delivery state, addresses reported
-- undeliverable, and soft bounce counts (commhub/bounces.py).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check CHECK (state IN ('queued',
    'rendering', 'sending', 'sent', 'retry_wait', 'failed', 'held', 'skipped', 'cancelled',
    'bounced'));

-- JSON list of the member's addresses reported undeliverable; NULL = none. A claim reads it
-- with the member, so a delivery to a bounced address is skipped without another query.
ALTER TABLE members ADD COLUMN undeliverable jsonb;

-- Soft bounces per member address, in a row (reset when the member's address changes).
CREATE TABLE address_bounces (
    member_id  text NOT NULL REFERENCES members (member_id),
    address    text NOT NULL,
    soft_count integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, address)
);
