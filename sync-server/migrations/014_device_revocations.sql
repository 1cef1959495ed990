-- Revoked devices (a lost phone): from `revoked_ms` on, the device's tokens may still push
-- facts made at or before that time, nothing made after it, and pull nothing; no login may
-- bind the device again. One row per device: revoking again keeps the first time.
CREATE TABLE device_revocations (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    device_id  TEXT NOT NULL,
    revoked_ms INTEGER NOT NULL,
    revoked_by TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (org_id, device_id)
);
