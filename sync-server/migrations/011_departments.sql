-- The org tree: departments nest under a parent; a user's team_id names their department.
-- A team_id with no row here (users created before departments existed) is a top-level
-- department of its own. data_scope, when set, overrides the role's default reach
-- ('self', 'department', 'department_and_below', 'all').
CREATE TABLE departments (
    org_id    TEXT NOT NULL REFERENCES orgs(id),
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    parent_id TEXT,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX departments_sibling_names ON departments (org_id, coalesce(parent_id, ''), name);

ALTER TABLE users ADD COLUMN data_scope TEXT
    CHECK (data_scope IN ('self', 'department', 'department_and_below', 'all'));
