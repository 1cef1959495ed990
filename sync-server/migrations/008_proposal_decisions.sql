-- A manager's answer to a rep's customer proposal (a `customer_proposal` fact): approved,
-- with the customer it created, or rejected with a reason. One decision per proposal: the
-- primary key refuses a second one.
CREATE TABLE proposal_decisions (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    fact_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('approved', 'rejected')),
    customer_id TEXT,                -- approved: the customer created
    decided_by  TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    decided_ms  INTEGER NOT NULL,
    PRIMARY KEY (org_id, fact_id)
);
