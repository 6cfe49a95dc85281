-- The "maybe sent" mark: an attempt of this delivery may have delivered its message (the
-- server had all of it and gave no answer), so a second such attempt is the last one.
-- Before, the worker read it back from `last_error`, which a lease take-over overwrites.
ALTER TABLE deliveries ADD COLUMN maybe_sent boolean NOT NULL DEFAULT false;
-- Deliveries still open whose last attempt was "maybe sent" keep that knowledge.
UPDATE deliveries SET maybe_sent = true
WHERE last_error LIKE 'maybe sent%' AND state IN ('retry_wait', 'rendering', 'sending');
