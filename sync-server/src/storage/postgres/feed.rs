//! Records, shared documents and the change feed in PostgreSQL.

use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
use fieldkit_domain::protocol::{FeedChange, FeedEntry, PushOutcome, Record, RecordKind, RejectCode};
use uuid::Uuid;

use super::{Tx, next_seq, uuid_col};
use crate::storage::values::{parse_audience, parse_kind, parse_record, to_i64};
use crate::storage::{
    DocDecision, DocResult, DocUpdate, FeedPage, FeedReader, StorageError, StorageResult, StoredDoc,
    StoredRecord,
};

/// A row of `records` to write.
struct Row<'a> {
    kind: RecordKind,
    id: Uuid,
    body: &'a str,
    doc: Option<&'a [u8]>,
    audience: Option<UserId>,
    /// The device that already holds this state (a shared document it pushed).
    held_by: Option<DeviceId>,
}

/// Writes a row at the org's next sequence number; if its audience changed, the previous
/// audience gets a scope exit (a removal in their feed) at the same number.
async fn upsert(tx: &Tx<'_>, org_id: OrgId, row: &Row<'_>) -> StorageResult<u64> {
    let org = org_id.to_string();
    let (kind, id) = (row.kind.as_str(), row.id.to_string());
    let statement =
        tx.prepare_cached("SELECT audience FROM records WHERE org_id = $1 AND kind = $2 AND id = $3").await?;
    let before: Option<Option<String>> =
        tx.query_opt(&statement, &[&org, &kind, &id]).await?.map(|r| r.try_get(0)).transpose()?;
    let seq = next_seq(tx, org_id).await?;
    let audience = row.audience.map(|a| a.to_string());
    let statement = tx
        .prepare_cached(
            "INSERT INTO records (org_id, kind, id, seq, audience, deleted, body, doc, held_by_device)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)
             ON CONFLICT (org_id, kind, id) DO UPDATE SET seq = excluded.seq, audience = excluded.audience,
                 deleted = 0, body = excluded.body, doc = excluded.doc, held_by_device = excluded.held_by_device",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &org,
            &kind,
            &id,
            &to_i64(seq),
            &audience,
            &row.body,
            &row.doc,
            &row.held_by.map(|d| d.to_string()),
        ],
    )
    .await?;
    if let Some(Some(previous)) = before
        && Some(&previous) != audience.as_ref()
    {
        let statement = tx
            .prepare_cached(
                "INSERT INTO scope_exits (org_id, seq, user_id, kind, id, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        tx.execute(&statement, &[&org, &to_i64(seq), &previous, &kind, &id, &crate::now_ms()]).await?;
    }
    Ok(seq)
}

pub(super) async fn put_record(
    tx: &Tx<'_>,
    org_id: OrgId,
    record: &Record,
    audience: Option<UserId>,
) -> StorageResult<u64> {
    let body = serde_json::to_string(record).expect("records always serialize");
    let row = Row { kind: record.kind(), id: record.id(), body: &body, doc: None, audience, held_by: None };
    upsert(tx, org_id, &row).await
}

pub(super) async fn update_docs(
    tx: &Tx<'_>,
    org_id: OrgId,
    updates: Vec<DocUpdate>,
) -> StorageResult<Vec<DocResult>> {
    let org = org_id.to_string();
    let mut results = Vec::with_capacity(updates.len());
    for update in updates {
        let statement = tx
            .prepare_cached("SELECT doc, deleted FROM records WHERE org_id = $1 AND kind = $2 AND id = $3")
            .await?;
        let stored: Option<(Option<Vec<u8>>, bool)> = tx
            .query_opt(&statement, &[&org, &update.kind.as_str(), &update.id.to_string()])
            .await?
            .map(|r| Ok::<_, tokio_postgres::Error>((r.try_get(0)?, r.try_get::<_, i64>(1)? != 0)))
            .transpose()?;
        if let Some((_, true)) = stored {
            // A deleted record never comes back, whatever a phone still holds.
            results.push(DocResult::Refused(PushOutcome::Rejected {
                code: RejectCode::NotAllowed,
                reason: format!("{} {} was deleted", update.kind.as_str(), update.id),
            }));
            continue;
        }
        let result = match (update.merge)(stored.and_then(|(doc, _)| doc).as_deref()) {
            DocDecision::Write { state, body, audience, held_by } => {
                let row = Row {
                    kind: update.kind,
                    id: update.id,
                    body: &body,
                    doc: Some(&state),
                    audience,
                    held_by,
                };
                DocResult::Written(upsert(tx, org_id, &row).await?)
            }
            DocDecision::Unchanged => DocResult::Unchanged,
            DocDecision::Refuse(outcome) => DocResult::Refused(outcome),
        };
        results.push(result);
    }
    Ok(results)
}

pub(super) async fn delete_record(
    tx: &Tx<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<u64>> {
    let (org, kind, id) = (org_id.to_string(), kind.as_str(), id.to_string());
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM records WHERE org_id = $1 AND kind = $2 AND id = $3 AND deleted = 0)",
            &[&org, &kind, &id],
        )
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    let seq = next_seq(tx, org_id).await?;
    tx.execute(
        "UPDATE records SET deleted = 1, doc = NULL, body = '{}', seq = $4 WHERE org_id = $1 AND kind = $2 AND id = $3",
        &[&org, &kind, &id, &to_i64(seq)],
    )
    .await?;
    Ok(Some(seq))
}

pub(super) async fn prune_removals(tx: &Tx<'_>, org_id: OrgId, before_ms: i64) -> StorageResult<usize> {
    let org = org_id.to_string();
    let floor: Option<i64> = tx
        .query_one(
            "SELECT MAX(seq) FROM scope_exits WHERE org_id = $1 AND created_ms < $2",
            &[&org, &before_ms],
        )
        .await?
        .try_get(0)?;
    let Some(floor) = floor else { return Ok(0) };
    let pruned =
        tx.execute("DELETE FROM scope_exits WHERE org_id = $1 AND seq <= $2", &[&org, &floor]).await?;
    tx.execute("UPDATE orgs SET feed_floor = GREATEST(feed_floor, $2) WHERE id = $1", &[&org, &floor])
        .await?;
    Ok(usize::try_from(pruned).unwrap_or(usize::MAX))
}

pub(super) async fn doc(
    tx: &Tx<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<StoredDoc>> {
    let row = tx
        .query_opt(
            "SELECT doc, audience, seq FROM records
             WHERE org_id = $1 AND kind = $2 AND id = $3 AND deleted = 0 AND doc IS NOT NULL",
            &[&org_id.to_string(), &kind.as_str(), &id.to_string()],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(StoredDoc {
        state: row.try_get(0)?,
        audience: parse_audience(row.try_get(1)?),
        seq: row.try_get::<_, i64>(2)?.unsigned_abs(),
    }))
}

/// A stored record from a row of `body, audience, seq`.
fn stored_record(row: &tokio_postgres::Row) -> StorageResult<StoredRecord> {
    let body: String = row.try_get(0)?;
    Ok(StoredRecord {
        record: parse_record(&body)?,
        audience: parse_audience(row.try_get(1)?),
        seq: row.try_get::<_, i64>(2)?.unsigned_abs(),
    })
}

pub(super) async fn record(
    tx: &Tx<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<StoredRecord>> {
    let row = tx
        .query_opt(
            "SELECT body, audience, seq FROM records
             WHERE org_id = $1 AND kind = $2 AND id = $3 AND deleted = 0 AND doc IS NULL",
            &[&org_id.to_string(), &kind.as_str(), &id.to_string()],
        )
        .await?;
    row.as_ref().map(stored_record).transpose()
}

pub(super) async fn records(
    tx: &Tx<'_>,
    org_id: OrgId,
    kind: RecordKind,
) -> StorageResult<Vec<StoredRecord>> {
    let rows = tx
        .query(
            "SELECT body, audience, seq FROM records
             WHERE org_id = $1 AND kind = $2 AND deleted = 0 AND doc IS NULL ORDER BY id",
            &[&org_id.to_string(), &kind.as_str()],
        )
        .await?;
    rows.iter().map(stored_record).collect()
}

pub(super) async fn page(
    tx: &Tx<'_>,
    org_id: OrgId,
    reader: FeedReader,
    device: Option<DeviceId>,
    cursor: u64,
    limit: u32,
) -> StorageResult<FeedPage> {
    let org = org_id.to_string();
    let statement = tx.prepare_cached("SELECT last_seq, feed_floor FROM orgs WHERE id = $1").await?;
    let row = tx
        .query_opt(&statement, &[&org])
        .await?
        .ok_or_else(|| StorageError::NotFound(format!("org {org_id}")))?;
    let (last_seq, floor): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    // Removals before the floor are gone: a reader behind it starts over. So does a reader
    // ahead of the org's sequence: its cursor comes from before the database was restored
    // from a backup, and the sequence numbers it skipped are being handed out again.
    let reset = cursor > 0 && (to_i64(cursor) < floor || to_i64(cursor) > last_seq);
    let cursor = if reset { 0 } else { cursor };
    let (visible, everything) = match reader {
        FeedReader::Member(user) => (vec![user.to_string()], false),
        FeedReader::Users(users) => (users.iter().map(ToString::to_string).collect(), false),
        FeedReader::Everything => (Vec::new(), true),
    };
    let device = device.map(|d| d.to_string());
    // What the reader may see: reference data (no audience), records addressed to them or
    // (for a manager) to their team, but not a document state the reading device pushed
    // itself; and removals of records that left all of that.
    let statement = tx
        .prepare_cached(
            "SELECT seq, kind, id, deleted, body, doc FROM records
               WHERE org_id = $1 AND seq > $2
                 AND ($4::boolean OR audience IS NULL OR audience = ANY($3::text[]))
                 AND (held_by_device IS NULL OR $6::text IS NULL OR held_by_device <> $6::text)
             UNION ALL
             SELECT se.seq, se.kind, se.id, 1, NULL, NULL FROM scope_exits se
               WHERE se.org_id = $1 AND se.seq > $2 AND NOT $4::boolean
                 AND se.user_id = ANY($3::text[])
                 AND NOT EXISTS (
                     SELECT 1 FROM records r WHERE r.org_id = se.org_id AND r.kind = se.kind AND r.id = se.id
                       AND (r.audience IS NULL OR r.audience = ANY($3::text[])))
             ORDER BY seq LIMIT $5",
        )
        .await?;
    let rows = tx
        .query(&statement, &[&org, &to_i64(cursor), &visible, &everything, &(i64::from(limit) + 1), &device])
        .await?;
    let mut entries = Vec::new();
    let mut has_more = false;
    for row in &rows {
        if entries.len() == limit as usize {
            has_more = true;
            break;
        }
        let seq: i64 = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        let id = uuid_col(row, 2)?;
        let deleted = row.try_get::<_, i64>(3)? != 0;
        let body: Option<String> = row.try_get(4)?;
        let doc: Option<Vec<u8>> = row.try_get(5)?;
        let kind = parse_kind(&kind)?;
        let change = match (deleted, doc, body) {
            (false, Some(state), _) => FeedChange::Doc { kind, id, state },
            (false, None, Some(body)) => FeedChange::Upsert { record: parse_record(&body)? },
            _ => FeedChange::Remove { kind, id },
        };
        entries.push(FeedEntry { seq: seq.unsigned_abs(), change });
    }
    // Within this snapshot every change up to `last_seq` is committed, so a reader that has
    // seen everything visible to it may move its cursor to `last_seq`.
    let cursor = if has_more {
        entries.last().map_or(cursor, |last| last.seq)
    } else {
        last_seq.unsigned_abs().max(cursor)
    };
    Ok(FeedPage { entries, cursor, has_more, reset })
}
