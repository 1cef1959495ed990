-- Tenants, people and sessions.
CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    last_seq    INTEGER NOT NULL DEFAULT 0   -- the org's change-feed sequence, bumped in commit order
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    team_id       TEXT,
    password_hash TEXT NOT NULL,
    UNIQUE (org_id, username)
);

CREATE TABLE tokens (
    token_sha256  TEXT PRIMARY KEY,          -- only the hash of the bearer token is stored
    user_id       TEXT NOT NULL REFERENCES users(id),
    device_id     TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

-- Immutable facts: a grow-only set per org, keyed by the id the phone made.
CREATE TABLE facts (
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rep_id       TEXT NOT NULL,
    body         TEXT NOT NULL,
    body_sha256  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    received_ms  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX facts_by_kind ON facts (org_id, kind, seq);

-- Records the server sends down the change feed; `seq` moves to the org's newest sequence
-- on every change, so a pull reads each changed record once. `audience` is the one user a
-- record is for (a task's assignee), NULL for reference data every member receives.
CREATE TABLE records (
    org_id    TEXT NOT NULL REFERENCES orgs(id),
    kind      TEXT NOT NULL,
    id        TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    audience  TEXT,
    deleted   INTEGER NOT NULL DEFAULT 0,
    body      TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, id)
);
CREATE INDEX records_by_seq ON records (org_id, seq);

-- A record that left a user's scope (a task reassigned away): the user receives a removal.
CREATE TABLE scope_exits (
    org_id   TEXT NOT NULL REFERENCES orgs(id),
    seq      INTEGER NOT NULL,
    user_id  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    id       TEXT NOT NULL,
    PRIMARY KEY (org_id, seq, user_id)
);
CREATE INDEX scope_exits_by_user ON scope_exits (org_id, user_id, seq);
