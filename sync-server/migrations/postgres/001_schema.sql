-- FieldKit sync server schema on PostgreSQL: the same tables as the SQLite backend's
-- migrations 001–015, written at once. Later changes are new numbered files here, beside the
-- SQLite migration of the same change.
--
-- Ids are text (UUIDs as the domain prints them), times are Unix milliseconds (BIGINT), JSON
-- bodies are the exact text received (TEXT, cast to jsonb where a query looks inside), flags
-- are 0/1 BIGINT as in SQLite so both backends read the same values.

CREATE TABLE orgs (
    id                  TEXT PRIMARY KEY,
    slug                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    last_seq            BIGINT NOT NULL DEFAULT 0,  -- the change-feed sequence, bumped in commit order
    feed_floor          BIGINT NOT NULL DEFAULT 0,
    clock_skew_limit_ms BIGINT NOT NULL DEFAULT 120000
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    team_id       TEXT,
    password_hash TEXT NOT NULL,
    data_scope    TEXT CHECK (data_scope IN ('self', 'department', 'department_and_below', 'all')),
    UNIQUE (org_id, username)
);

CREATE TABLE tokens (
    token_sha256  TEXT PRIMARY KEY,              -- only the hash of the bearer token is stored
    user_id       TEXT NOT NULL REFERENCES users(id),
    device_id     TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE TABLE facts (
    org_id            TEXT NOT NULL REFERENCES orgs(id),
    id                TEXT NOT NULL,
    kind              TEXT NOT NULL,
    rep_id            TEXT NOT NULL,
    body              TEXT NOT NULL,
    body_sha256       TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    received_ms       BIGINT NOT NULL,
    clock_skew_ms     BIGINT,
    clock_flagged     BIGINT NOT NULL DEFAULT 0,
    server_assessment TEXT,
    event_ms          BIGINT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX facts_by_kind ON facts (org_id, kind, seq);
CREATE INDEX facts_by_rep_event ON facts (org_id, rep_id, kind, event_ms);
CREATE INDEX facts_by_event ON facts (org_id, event_ms, seq);
CREATE INDEX facts_by_seq ON facts (org_id, seq);
CREATE INDEX facts_check_in_by_visit ON facts (org_id, ((body::jsonb #>> '{body,visit_id}')))
    WHERE kind = 'check_in';

CREATE TABLE records (
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    kind           TEXT NOT NULL,
    id             TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    audience       TEXT,
    deleted        BIGINT NOT NULL DEFAULT 0,
    body           TEXT NOT NULL,
    doc            BYTEA,
    held_by_device TEXT,
    PRIMARY KEY (org_id, kind, id)
);
CREATE INDEX records_by_seq ON records (org_id, seq);

CREATE TABLE scope_exits (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    seq        BIGINT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    created_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, seq, user_id)
);
CREATE INDEX scope_exits_by_user ON scope_exits (org_id, user_id, seq);

CREATE TABLE blobs (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    complete   BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, sha256)
);

-- `id` keeps insertion order, as SQLite's rowid does for the same table.
CREATE TABLE track_points (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    rep_id     TEXT NOT NULL,
    time_ms    BIGINT NOT NULL,            -- the fix time, device Unix milliseconds
    lat        DOUBLE PRECISION NOT NULL,  -- WGS-84
    lng        DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('track', 'check_in', 'check_out')),
    fact_id    TEXT NOT NULL
);
CREATE INDEX track_points_by_rep_time ON track_points (org_id, rep_id, time_ms);

CREATE TABLE device_keys (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    device_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id),
    algorithm     TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'ecdsa_p256_sha256')),
    public_key    BYTEA NOT NULL,
    key_id        TEXT NOT NULL,
    registered_ms BIGINT NOT NULL,
    chain_head    TEXT,
    PRIMARY KEY (org_id, device_id)
);

-- `row_order` keeps insertion order, as SQLite's rowid does for the same table.
CREATE TABLE photo_checks (
    row_order         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    org_id            TEXT NOT NULL REFERENCES orgs(id),
    fact_id           TEXT NOT NULL,
    rep_id            TEXT NOT NULL,
    visit_id          TEXT,
    sha256            TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('verified', 'failed', 'unsigned')),
    reasons           TEXT NOT NULL DEFAULT '[]',
    device_id         TEXT,
    key_id            TEXT,
    receipt_hash      TEXT,
    verification_code TEXT,
    dhash             BIGINT,
    reuse_of          TEXT,
    reuse_distance    BIGINT,
    countersignature  BYTEA,
    bytes_verified    BIGINT NOT NULL DEFAULT 0,
    bytes_checked_ms  BIGINT,
    PRIMARY KEY (org_id, fact_id)
);
CREATE INDEX photo_checks_by_sha ON photo_checks (org_id, sha256);
CREATE INDEX photo_checks_by_code ON photo_checks (org_id, verification_code);
CREATE INDEX photo_checks_by_receipt ON photo_checks (org_id, receipt_hash);
CREATE INDEX photo_checks_by_visit ON photo_checks (org_id, visit_id);

CREATE TABLE visit_plans (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    customer_id   TEXT NOT NULL,
    date          TEXT NOT NULL,
    rep_id        TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    interval_days BIGINT NOT NULL,
    created_ms    BIGINT NOT NULL,
    PRIMARY KEY (org_id, customer_id, date)
);
CREATE INDEX visit_plans_by_date ON visit_plans (org_id, date);

CREATE TABLE proposal_decisions (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    fact_id     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('approved', 'rejected')),
    customer_id TEXT,
    decided_by  TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    decided_ms  BIGINT NOT NULL,
    PRIMARY KEY (org_id, fact_id)
);

CREATE TABLE customer_codes (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    code        TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (org_id, code)
);
CREATE INDEX customer_codes_by_customer ON customer_codes (org_id, customer_id);

CREATE TABLE report_snapshots (
    org_id             TEXT NOT NULL REFERENCES orgs(id),
    period             TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    start_date         TEXT NOT NULL,
    end_date           TEXT NOT NULL,
    team_id            TEXT NOT NULL,
    authors            TEXT,
    utc_offset_minutes BIGINT NOT NULL,
    facts_count        BIGINT NOT NULL,
    facts_max_seq      BIGINT NOT NULL,
    body               TEXT NOT NULL,
    generated_ms       BIGINT NOT NULL,
    PRIMARY KEY (org_id, period, start_date, team_id)
);

CREATE TABLE summary_cursors (
    org_id   TEXT PRIMARY KEY REFERENCES orgs(id),
    fact_seq BIGINT NOT NULL,
    run_ms   BIGINT NOT NULL
);

CREATE TABLE departments (
    org_id    TEXT NOT NULL REFERENCES orgs(id),
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    parent_id TEXT,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX departments_sibling_names ON departments (org_id, coalesce(parent_id, ''), name);

CREATE TABLE approval_flows (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    kind       TEXT NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    body       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind, version)
);

CREATE TABLE device_revocations (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    device_id  TEXT NOT NULL,
    revoked_ms BIGINT NOT NULL,
    revoked_by TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (org_id, device_id)
);

CREATE TABLE audit_log (
    org_id   TEXT NOT NULL REFERENCES orgs(id),
    seq      BIGINT NOT NULL,
    at_ms    BIGINT NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users(id),
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    detail   TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
