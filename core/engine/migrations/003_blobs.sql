-- The blob queue: photos and voice notes waiting to be uploaded, apart from the data queue.
-- Bytes live in files beside the database; `state` is 'pending', 'done' or 'parked'.
CREATE TABLE blobs (
    sha256          TEXT PRIMARY KEY,
    size            INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL
) STRICT;
