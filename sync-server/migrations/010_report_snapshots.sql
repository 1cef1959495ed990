-- Summaries generated automatically (sync-server/src/summaries.rs): one snapshot per org,
-- closed period (a local day, ISO week Monday-Sunday or calendar month in the org's
-- working_hours offset) and scope (the whole org, or one team). Each remembers the facts it
-- was built from (how many, and the highest sequence number, of the org's facts that
-- happened from a day before the period to a day after it), so that a fact arriving late
-- (a phone offline for days) makes the generator build it again.
CREATE TABLE report_snapshots (
    org_id             TEXT NOT NULL REFERENCES orgs(id),
    period             TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    start_date         TEXT NOT NULL,    -- local date, YYYY-MM-DD, first day of the period
    end_date           TEXT NOT NULL,    -- local date, YYYY-MM-DD, last day (included)
    team_id            TEXT NOT NULL,    -- '' for the whole org
    authors            TEXT,             -- JSON array of the users whose facts count; NULL: everyone
    utc_offset_minutes INTEGER NOT NULL,
    facts_count        INTEGER NOT NULL,
    facts_max_seq      INTEGER NOT NULL,
    body               TEXT NOT NULL,    -- JSON of the summary: {reps, totals}
    generated_ms       INTEGER NOT NULL,
    PRIMARY KEY (org_id, period, start_date, team_id)
);

-- How far the generator has looked at each org's facts: the highest fact sequence number
-- seen at its last complete run. Facts stored after it mark their periods for a rebuild.
CREATE TABLE summary_cursors (
    org_id   TEXT PRIMARY KEY REFERENCES orgs(id),
    fact_seq INTEGER NOT NULL,
    run_ms   INTEGER NOT NULL
);

-- The generator's questions: the facts that happened in a window, and those stored since.
CREATE INDEX facts_by_event ON facts (org_id, event_ms, seq);
CREATE INDEX facts_by_seq ON facts (org_id, seq);
