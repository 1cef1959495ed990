-- Blobs (photos, voice notes) per org, content-addressed by SHA-256; the bytes live in the
-- blob store (files), this table tracks how far each upload got.
CREATE TABLE blobs (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    complete   INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, sha256)
);
