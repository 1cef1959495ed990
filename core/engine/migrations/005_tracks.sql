-- Track fixes that passed the working-hours gate and the filters, waiting to be batched
-- into a track fact (a batch is cut every 50 points, after 10 minutes, and before a sync).
CREATE TABLE track_pending (
    time_ms    INTEGER PRIMARY KEY,
    lat        REAL NOT NULL,
    lng        REAL NOT NULL,
    accuracy_m REAL NOT NULL
) STRICT;

-- Facts by kind and age: retention deletes old track batches, "today" lists a day's facts.
CREATE INDEX facts_by_kind ON facts (kind, recorded_ms);
