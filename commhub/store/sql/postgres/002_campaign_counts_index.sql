-- Campaign status counts per state, language and format can be answered from this index
-- (index-only scans where the visibility map allows); it also serves (campaign_id, state).
DROP INDEX IF EXISTS deliveries_campaign_state;
CREATE INDEX deliveries_campaign_counts
    ON deliveries (campaign_id, state, language, format, language_fallback, id);
