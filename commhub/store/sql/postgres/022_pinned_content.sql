-- Pinned content (commhub/content/pinned.py): each distinct content file once (by the
-- SHA-256 of its bytes), each distinct set of files once (by its content hash, which
-- campaigns.content_hash names). And campaigns that may ignore quiet hours (sent now).
CREATE TABLE content_blobs (
    hash text PRIMARY KEY,
    body bytea NOT NULL
);
CREATE TABLE content_sets (
    hash       text PRIMARY KEY,
    manifest   jsonb NOT NULL,    -- {"topic": {"name", "blob"}, "catalogs": {tag: blob}}
    created_at timestamptz NOT NULL
);
ALTER TABLE campaigns ADD COLUMN ignore_quiet_hours boolean NOT NULL DEFAULT false;
