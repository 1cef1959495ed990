-- Closed shared documents (a visit checked out, a form response submitted) whose every
-- change the server has acknowledged: their automerge state is dropped from `docs` (the
-- projection stays in its table) and they are remembered here, so an edit is refused as
-- closed rather than "not found", and a later change from the server reopens them.
CREATE TABLE closed_docs (
    kind      TEXT NOT NULL,
    id        TEXT NOT NULL,
    closed_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;
