-- Shared documents (tasks, visits, form responses): the automerge state, its heads, and
-- the heads the server is known to have (what a push must still send is the difference).
CREATE TABLE docs (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    state        BLOB NOT NULL,
    heads        TEXT NOT NULL,
    synced_heads TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (kind, id)
) STRICT;

-- Visits are projected from their documents from now on; visits recorded before keep NULL.
ALTER TABLE visits ADD COLUMN body TEXT;

-- Form responses projected from their documents.
CREATE TABLE form_responses (
    id          TEXT PRIMARY KEY,
    template_id TEXT NOT NULL,
    visit_id    TEXT,
    submitted   INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;

-- Retry schedule of the offline queue: an entry is not pushed before this device time.
ALTER TABLE outbox ADD COLUMN next_attempt_ms INTEGER NOT NULL DEFAULT 0;
