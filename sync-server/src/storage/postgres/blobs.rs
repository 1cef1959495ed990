//! How far each blob has arrived, per org, in PostgreSQL.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::protocol::{BlobStatus, MissingBlob};

use super::{Tx, uuid_col};
use crate::storage::StorageResult;
use crate::storage::values::to_i64;

pub(super) async fn get(tx: &Tx<'_>, org_id: OrgId, sha256: &str) -> StorageResult<Option<BlobStatus>> {
    let statement = tx
        .prepare_cached("SELECT size, received, complete FROM blobs WHERE org_id = $1 AND sha256 = $2")
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&org_id.to_string(), &sha256]).await? else {
        return Ok(None);
    };
    Ok(Some(BlobStatus {
        sha256: sha256.to_owned(),
        size: row.try_get::<_, i64>(0)?.unsigned_abs(),
        received: row.try_get::<_, i64>(1)?.unsigned_abs(),
        complete: row.try_get::<_, i64>(2)? != 0,
    }))
}

pub(super) async fn save(tx: &Tx<'_>, org_id: OrgId, status: &BlobStatus) -> StorageResult<()> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO blobs (org_id, sha256, size, received, complete, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (org_id, sha256) DO UPDATE SET size = excluded.size, received = excluded.received,
                 complete = excluded.complete, updated_ms = excluded.updated_ms",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &org_id.to_string(),
            &status.sha256,
            &to_i64(status.size),
            &to_i64(status.received),
            &i64::from(status.complete),
            &crate::now_ms(),
        ],
    )
    .await?;
    Ok(())
}

/// The blobs that stored facts naming one (photos, voice notes) still wait for, oldest fact
/// first, of `authors` only when given.
pub(super) async fn missing(
    tx: &Tx<'_>,
    org_id: OrgId,
    authors: Option<&[UserId]>,
) -> StorageResult<Vec<MissingBlob>> {
    // Only the criteria given go into the SQL, so that the planner sees a plain org filter
    // when every author is wanted.
    let by_author = if authors.is_some() { "AND f.rep_id = ANY($2)" } else { "" };
    let sql = format!(
        "SELECT f.id, (f.body::jsonb #>> '{{body,sha256}}') AS sha, COALESCE(b.received, 0)
         FROM facts f
         LEFT JOIN blobs b ON b.org_id = f.org_id AND b.sha256 = (f.body::jsonb #>> '{{body,sha256}}')
         WHERE f.org_id = $1 AND f.kind IN ('photo', 'voice_note') AND COALESCE(b.complete, 0) = 0
           {by_author}
         ORDER BY f.seq"
    );
    let statement = tx.prepare_cached(&sql).await?;
    let org = org_id.to_string();
    let rows = match authors {
        Some(ids) => {
            let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
            tx.query(&statement, &[&org, &ids]).await?
        }
        None => tx.query(&statement, &[&org]).await?,
    };
    rows.iter()
        .map(|row| {
            Ok(MissingBlob {
                fact_id: uuid_col(row, 0)?.into(),
                sha256: row.try_get(1)?,
                received: row.try_get::<_, i64>(2)?.unsigned_abs(),
            })
        })
        .collect()
}
