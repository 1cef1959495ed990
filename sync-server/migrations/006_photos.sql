-- Photos that prove themselves: the devices' photo-signing keys (registered at login), the
-- server's check of every photo fact's signed receipt, each device's receipt chain and the
-- perceptual hashes used to spot a picture reused at another visit.

-- One key per device of an org (a new key replaces the old one). `chain_head` is the receipt
-- hash (hex) of the last receipt verified under this key: the next receipt must name it as
-- `previous`. A replaced key starts a new chain (its first receipt names no previous one).
CREATE TABLE device_keys (
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    device_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id),  -- only this user's receipts may use the key
    algorithm     TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'ecdsa_p256_sha256')),
    public_key    BLOB NOT NULL,                       -- normalised bytes (see DevicePublicKey)
    key_id        TEXT NOT NULL,                       -- hex, as receipts name it
    registered_ms INTEGER NOT NULL,
    chain_head    TEXT,
    PRIMARY KEY (org_id, device_id)
);

-- The server's check of each photo fact, written with the fact in its transaction.
-- status: 'verified' (receipt matches the record, signed by the device's registered key, new,
-- in chain), 'failed' (reasons say why, as [{"code", "message"}]) or 'unsigned' (no receipt).
-- The bytes are checked when the blob completes (or at once, if it already had):
-- `bytes_checked_ms` says when, `bytes_verified` whether the size matched the receipt.
CREATE TABLE photo_checks (
    org_id            TEXT NOT NULL REFERENCES orgs(id),
    fact_id           TEXT NOT NULL,
    rep_id            TEXT NOT NULL,
    visit_id          TEXT,
    sha256            TEXT NOT NULL,     -- the record's sha256: the blob's name
    size_bytes        INTEGER NOT NULL,  -- the receipt's size (the record's, unsigned)
    status            TEXT NOT NULL CHECK (status IN ('verified', 'failed', 'unsigned')),
    reasons           TEXT NOT NULL DEFAULT '[]',
    device_id         TEXT,              -- signed photos: the receipt's device, key, hash, code
    key_id            TEXT,
    receipt_hash      TEXT,
    verification_code TEXT,
    dhash             INTEGER,           -- the receipt's dHash, the u64's bits as i64
    reuse_of          TEXT,              -- verified photos: the closest earlier photo of
    reuse_distance    INTEGER,           -- another visit within the near-duplicate distance
    countersignature  BLOB,              -- verified photos: the server's Ed25519 signature of
                                         -- receipt hash || received_ms (8 bytes big-endian)
    bytes_verified    INTEGER NOT NULL DEFAULT 0,
    bytes_checked_ms  INTEGER,
    PRIMARY KEY (org_id, fact_id)
);
CREATE INDEX photo_checks_by_sha ON photo_checks (org_id, sha256);
CREATE INDEX photo_checks_by_code ON photo_checks (org_id, verification_code);
CREATE INDEX photo_checks_by_receipt ON photo_checks (org_id, receipt_hash);
CREATE INDEX photo_checks_by_visit ON photo_checks (org_id, visit_id);

-- A visit's check-in (its customer), for photos listed by customer.
CREATE INDEX facts_check_in_by_visit ON facts (org_id, json_extract(body, '$.body.visit_id'))
    WHERE kind = 'check_in';

-- Photo facts stored before this version carried no receipt: unsigned, their bytes checked
-- when their blob already arrived with the recorded size.
INSERT INTO photo_checks (org_id, fact_id, rep_id, visit_id, sha256, size_bytes, status,
                          bytes_verified, bytes_checked_ms)
    SELECT f.org_id, f.id, f.rep_id, json_extract(f.body, '$.body.visit_id'),
           COALESCE(json_extract(f.body, '$.body.sha256'), ''),
           COALESCE(json_extract(f.body, '$.body.size_bytes'), 0), 'unsigned',
           COALESCE(b.complete AND b.size = json_extract(f.body, '$.body.size_bytes'), 0),
           CASE WHEN b.complete AND b.size = json_extract(f.body, '$.body.size_bytes') THEN b.updated_ms END
    FROM facts f
    LEFT JOIN blobs b ON b.org_id = f.org_id AND b.sha256 = json_extract(f.body, '$.body.sha256')
    WHERE f.kind = 'photo';
