-- Pinned content (commhub/content/pinned.py): each distinct content file once (by the
-- SHA-256 of its bytes), each distinct set of files once (by its content hash, which
-- campaigns.content_hash names). And campaigns that may ignore quiet hours (sent now).
CREATE TABLE content_blobs (
    hash TEXT PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE content_sets (
    hash       TEXT PRIMARY KEY,
    manifest   TEXT NOT NULL,     -- JSON: {"topic": {"name", "blob"}, "catalogs": {tag: blob}}
    created_at INTEGER NOT NULL
);
ALTER TABLE campaigns ADD COLUMN ignore_quiet_hours INTEGER NOT NULL DEFAULT 0;
