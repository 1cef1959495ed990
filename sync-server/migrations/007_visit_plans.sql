-- Visit plans by grade: every visit the server generated (POST /v1/visit-plans/generate),
-- one row per customer and local date, with the task that carries it to the rep's phone.
-- The rows make generating idempotent (a visit already planned stays, and new ones keep the
-- cadence around it) and tell the coverage report which tasks were planned visits.
CREATE TABLE visit_plans (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    customer_id   TEXT NOT NULL,
    date          TEXT NOT NULL,     -- local date (org's working_hours offset), YYYY-MM-DD
    rep_id        TEXT NOT NULL,     -- the customer's owner when planned (the task's assignee)
    task_id       TEXT NOT NULL,
    interval_days INTEGER NOT NULL,  -- the grade's interval when planned
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (org_id, customer_id, date)
);
CREATE INDEX visit_plans_by_date ON visit_plans (org_id, date);
