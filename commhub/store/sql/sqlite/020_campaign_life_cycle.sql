-- Campaign life cycle (commhub/lifecycle.py): pause/resume, the finished time, and the hash
-- of the template and catalog content a campaign was created with (pinned content).
-- A paused campaign keeps status 'active' and sets paused_at: its waiting deliveries have
-- due_at NULL until it resumes.
ALTER TABLE campaigns ADD COLUMN paused_at INTEGER;
ALTER TABLE campaigns ADD COLUMN finished_at INTEGER;
ALTER TABLE campaigns ADD COLUMN content_hash TEXT;
-- Newest first with cursor paging (GET /v1/campaigns).
CREATE INDEX campaigns_created ON campaigns (created_at, id);
