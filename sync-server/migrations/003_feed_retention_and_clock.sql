-- Removals (scope exits) are kept for a while, then pruned; a phone whose cursor is older
-- than the org's `feed_floor` starts its feed again from the beginning.
ALTER TABLE orgs ADD COLUMN feed_floor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scope_exits ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;

-- Events whose device clock disagreed with the server-time estimate by more than the org's
-- limit are flagged for managers.
ALTER TABLE orgs ADD COLUMN clock_skew_limit_ms INTEGER NOT NULL DEFAULT 120000;
ALTER TABLE facts ADD COLUMN clock_skew_ms INTEGER;
ALTER TABLE facts ADD COLUMN clock_flagged INTEGER NOT NULL DEFAULT 0;
