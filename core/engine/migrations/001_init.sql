-- Settings and sync state of this installation (device id, session, cursor, clock).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Tasks assigned to this user, as pulled from the change feed.
CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    deadline_ms INTEGER,
    customer_id TEXT,
    body        TEXT NOT NULL
) STRICT;
CREATE INDEX tasks_by_deadline ON tasks (deadline_ms);

-- Reference data from the server (customers, products, templates, articles); read-only here.
CREATE TABLE records (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

-- Visits this user made on this phone.
CREATE TABLE visits (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    task_id      TEXT,
    check_in_id  TEXT NOT NULL,
    check_out_id TEXT,
    started_ms   INTEGER NOT NULL,
    ended_ms     INTEGER
) STRICT;

-- Facts recorded on this phone; `synced_seq` is set once the server acknowledged them.
CREATE TABLE facts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    visit_id    TEXT,
    body        TEXT NOT NULL,
    recorded_ms INTEGER NOT NULL,
    synced_seq  INTEGER
) STRICT;
CREATE INDEX facts_by_visit ON facts (visit_id);

-- The offline queue. Every local change appends here in the transaction that makes it.
-- Rows leave when the server acknowledges them; a row the server refuses for good is
-- parked (kept, with the reason) and skipped by later pushes.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    item_kind     TEXT NOT NULL,
    item_id       TEXT NOT NULL UNIQUE,
    created_ms    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    parked_code   TEXT,
    parked_reason TEXT
) STRICT;
