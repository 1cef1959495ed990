-- Location you can trust: the server's own verdict on check-ins and check-outs, when each
-- fact happened, and the reps' location points beside the facts they came from.

-- `orgs.clock_skew_limit_ms` (003) is no longer read: the clock flag is computed from the
-- org settings record (`check_in.max_clock_skew_ms`), the one source of truth phones also
-- receive. The column stays, unused, so that no data migration is needed.

-- The server's verdict (JSON of a CheckInAssessment, or {"unjudged": "<why>"}), for
-- check-ins and check-outs; NULL for other facts and for facts stored before this version.
ALTER TABLE facts ADD COLUMN server_assessment TEXT;
-- When the fact happened, device Unix milliseconds: the event time, or a track batch's
-- latest point (day reports and track retention select by it).
ALTER TABLE facts ADD COLUMN event_ms INTEGER;
UPDATE facts SET event_ms = json_extract(body, '$.body.at.device_ms') WHERE kind <> 'track';
UPDATE facts SET event_ms = (SELECT MAX(json_extract(p.value, '$.time_ms')) FROM json_each(facts.body, '$.body.points') p)
    WHERE kind = 'track';
CREATE INDEX facts_by_rep_event ON facts (org_id, rep_id, kind, event_ms);

-- Location points of reps: every point of a track batch and the fix of every check-in and
-- check-out, written with the fact in its transaction. They serve the speed check of later
-- check-ins and the managers' day reports, and are deleted after the org's track retention.
CREATE TABLE track_points (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    rep_id     TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,   -- the fix time, device Unix milliseconds
    lat        REAL NOT NULL,      -- WGS-84
    lng        REAL NOT NULL,
    accuracy_m REAL NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('track', 'check_in', 'check_out')),
    fact_id    TEXT NOT NULL
);
CREATE INDEX track_points_by_rep_time ON track_points (org_id, rep_id, time_ms);

-- The points of the facts already stored (the next prune drops those past retention).
INSERT INTO track_points (org_id, rep_id, time_ms, lat, lng, accuracy_m, source, fact_id)
    SELECT f.org_id, f.rep_id, json_extract(p.value, '$.time_ms'), json_extract(p.value, '$.point.lat'),
           json_extract(p.value, '$.point.lng'), json_extract(p.value, '$.accuracy_m'), 'track', f.id
    FROM facts f, json_each(f.body, '$.body.points') p
    WHERE f.kind = 'track';
INSERT INTO track_points (org_id, rep_id, time_ms, lat, lng, accuracy_m, source, fact_id)
    SELECT org_id, rep_id, json_extract(body, '$.body.fix.fix_time_ms'), json_extract(body, '$.body.fix.point.lat'),
           json_extract(body, '$.body.fix.point.lng'), json_extract(body, '$.body.fix.accuracy_m'), kind, id
    FROM facts
    WHERE kind IN ('check_in', 'check_out');
