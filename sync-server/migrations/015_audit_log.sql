-- The audit log of admin actions: append-only, never updated. `seq` increases per org (the
-- newest entry has the highest); `target` is the id changed and `detail` a short description
-- naming ids and field names only, never personal data.
CREATE TABLE audit_log (
    org_id   TEXT NOT NULL REFERENCES orgs(id),
    seq      INTEGER NOT NULL,
    at_ms    INTEGER NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users(id),
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    detail   TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
