-- Every version of every approval flow an admin defined, one kind of request at a time.
-- Requests name the version they were raised under, so every version stays: a request is
-- always decided by the flow it was raised under.
CREATE TABLE approval_flows (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    kind       TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    body       TEXT NOT NULL,      -- the flow as JSON (fieldkit_domain::approval::ApprovalFlow)
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, kind, version)
);
