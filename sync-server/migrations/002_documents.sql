-- Shared documents (tasks, visits, form responses) keep their automerge state beside the
-- JSON projection in `body`; the feed sends the state, reports read the projection.
ALTER TABLE records ADD COLUMN doc BLOB;
