//! How far each blob has arrived, per org, in SQLite.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::protocol::{BlobStatus, MissingBlob};
use rusqlite::{OptionalExtension, Transaction, params};

use super::uuid_col;
use crate::storage::StorageResult;
use crate::storage::values::to_i64;

pub(super) fn get(tx: &Transaction<'_>, org_id: OrgId, sha256: &str) -> StorageResult<Option<BlobStatus>> {
    Ok(tx
        .query_row(
            "SELECT size, received, complete FROM blobs WHERE org_id = ?1 AND sha256 = ?2",
            params![org_id.to_string(), sha256],
            |row| {
                Ok(BlobStatus {
                    sha256: sha256.to_owned(),
                    size: row.get::<_, i64>(0)?.unsigned_abs(),
                    received: row.get::<_, i64>(1)?.unsigned_abs(),
                    complete: row.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn save(tx: &Transaction<'_>, org_id: OrgId, status: &BlobStatus) -> StorageResult<()> {
    tx.execute(
        "INSERT INTO blobs (org_id, sha256, size, received, complete, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (org_id, sha256) DO UPDATE SET size = excluded.size, received = excluded.received,
             complete = excluded.complete, updated_ms = excluded.updated_ms",
        params![
            org_id.to_string(),
            status.sha256,
            to_i64(status.size),
            to_i64(status.received),
            status.complete,
            crate::now_ms()
        ],
    )?;
    Ok(())
}

/// The blobs that stored facts naming one (photos, voice notes) still wait for, oldest fact
/// first, of `authors` only when given.
pub(super) fn missing(
    tx: &Transaction<'_>,
    org_id: OrgId,
    authors: Option<&[UserId]>,
) -> StorageResult<Vec<MissingBlob>> {
    let mut stmt = tx.prepare(
        "SELECT f.id, json_extract(f.body, '$.body.sha256') AS sha, COALESCE(b.received, 0)
         FROM facts f
         LEFT JOIN blobs b ON b.org_id = f.org_id AND b.sha256 = json_extract(f.body, '$.body.sha256')
         WHERE f.org_id = ?1 AND f.kind IN ('photo', 'voice_note') AND COALESCE(b.complete, 0) = 0
           AND (?2 IS NULL OR f.rep_id IN (SELECT value FROM json_each(?2)))
         ORDER BY f.seq",
    )?;
    let authors = authors.map(|ids| serde_json::to_string(ids).expect("ids always serialize"));
    let rows = stmt.query_map(params![org_id.to_string(), authors], |row| {
        Ok(MissingBlob {
            fact_id: uuid_col(row, 0)?.into(),
            sha256: row.get(1)?,
            received: row.get::<_, i64>(2)?.unsigned_abs(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
