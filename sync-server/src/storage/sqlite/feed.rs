//! Records, shared documents and the change feed in SQLite.

use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
use fieldkit_domain::protocol::{FeedChange, FeedEntry, PushOutcome, Record, RecordKind, RejectCode};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{next_seq, uuid_col};
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
fn upsert(tx: &Transaction<'_>, org_id: OrgId, row: &Row<'_>) -> StorageResult<u64> {
    let org = org_id.to_string();
    let (kind, id) = (row.kind.as_str(), row.id.to_string());
    let before: Option<Option<String>> = tx
        .prepare_cached("SELECT audience FROM records WHERE org_id = ?1 AND kind = ?2 AND id = ?3")?
        .query_row(params![org, kind, id], |r| r.get(0))
        .optional()?;
    let seq = next_seq(tx, org_id)?;
    let audience = row.audience.map(|a| a.to_string());
    tx.prepare_cached(
        "INSERT INTO records (org_id, kind, id, seq, audience, deleted, body, doc, held_by_device)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)
         ON CONFLICT (org_id, kind, id) DO UPDATE SET seq = excluded.seq, audience = excluded.audience,
             deleted = 0, body = excluded.body, doc = excluded.doc, held_by_device = excluded.held_by_device",
    )?
    .execute(params![
        org,
        kind,
        id,
        to_i64(seq),
        audience,
        row.body,
        row.doc,
        row.held_by.map(|d| d.to_string())
    ])?;
    if let Some(Some(previous)) = before
        && Some(&previous) != audience.as_ref()
    {
        tx.prepare_cached(
            "INSERT INTO scope_exits (org_id, seq, user_id, kind, id, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![org, to_i64(seq), previous, kind, id, crate::now_ms()])?;
    }
    Ok(seq)
}

pub(super) fn put_record(
    tx: &Transaction<'_>,
    org_id: OrgId,
    record: &Record,
    audience: Option<UserId>,
) -> StorageResult<u64> {
    let body = serde_json::to_string(record).expect("records always serialize");
    let row = Row { kind: record.kind(), id: record.id(), body: &body, doc: None, audience, held_by: None };
    upsert(tx, org_id, &row)
}

pub(super) fn update_docs(
    tx: &Transaction<'_>,
    org_id: OrgId,
    updates: Vec<DocUpdate>,
) -> StorageResult<Vec<DocResult>> {
    let org = org_id.to_string();
    let mut results = Vec::with_capacity(updates.len());
    for update in updates {
        let stored: Option<(Option<Vec<u8>>, bool)> = tx
            .prepare_cached("SELECT doc, deleted FROM records WHERE org_id = ?1 AND kind = ?2 AND id = ?3")?
            .query_row(params![org, update.kind.as_str(), update.id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
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
                DocResult::Written(upsert(tx, org_id, &row)?)
            }
            DocDecision::Unchanged => DocResult::Unchanged,
            DocDecision::Refuse(outcome) => DocResult::Refused(outcome),
        };
        results.push(result);
    }
    Ok(results)
}

pub(super) fn delete_record(
    tx: &Transaction<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<u64>> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM records WHERE org_id = ?1 AND kind = ?2 AND id = ?3 AND deleted = 0)",
        params![org_id.to_string(), kind.as_str(), id.to_string()],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    let seq = next_seq(tx, org_id)?;
    tx.execute(
        "UPDATE records SET deleted = 1, doc = NULL, body = '{}', seq = ?4 WHERE org_id = ?1 AND kind = ?2 AND id = ?3",
        params![org_id.to_string(), kind.as_str(), id.to_string(), to_i64(seq)],
    )?;
    Ok(Some(seq))
}

pub(super) fn prune_removals(tx: &Transaction<'_>, org_id: OrgId, before_ms: i64) -> StorageResult<usize> {
    let org = org_id.to_string();
    let floor: Option<i64> = tx.query_row(
        "SELECT MAX(seq) FROM scope_exits WHERE org_id = ?1 AND created_ms < ?2",
        params![org, before_ms],
        |r| r.get(0),
    )?;
    let Some(floor) = floor else { return Ok(0) };
    let pruned =
        tx.execute("DELETE FROM scope_exits WHERE org_id = ?1 AND seq <= ?2", params![org, floor])?;
    tx.execute("UPDATE orgs SET feed_floor = MAX(feed_floor, ?2) WHERE id = ?1", params![org, floor])?;
    Ok(pruned)
}

pub(super) fn doc(
    tx: &Transaction<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<StoredDoc>> {
    Ok(tx
        .query_row(
            "SELECT doc, audience, seq FROM records
             WHERE org_id = ?1 AND kind = ?2 AND id = ?3 AND deleted = 0 AND doc IS NOT NULL",
            params![org_id.to_string(), kind.as_str(), id.to_string()],
            |row| {
                Ok(StoredDoc {
                    state: row.get(0)?,
                    audience: parse_audience(row.get(1)?),
                    seq: row.get::<_, i64>(2)?.unsigned_abs(),
                })
            },
        )
        .optional()?)
}

pub(super) fn record(
    tx: &Transaction<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<StoredRecord>> {
    let row: Option<(String, Option<String>, i64)> = tx
        .query_row(
            "SELECT body, audience, seq FROM records
             WHERE org_id = ?1 AND kind = ?2 AND id = ?3 AND deleted = 0 AND doc IS NULL",
            params![org_id.to_string(), kind.as_str(), id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    row.map(|(body, audience, seq)| {
        Ok(StoredRecord {
            record: parse_record(&body)?,
            audience: parse_audience(audience),
            seq: seq.unsigned_abs(),
        })
    })
    .transpose()
}

pub(super) fn records(
    tx: &Transaction<'_>,
    org_id: OrgId,
    kind: RecordKind,
) -> StorageResult<Vec<StoredRecord>> {
    let mut stmt = tx.prepare(
        "SELECT body, audience, seq FROM records
         WHERE org_id = ?1 AND kind = ?2 AND deleted = 0 AND doc IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map(params![org_id.to_string(), kind.as_str()], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, i64>(2)?))
    })?;
    rows.map(|row| {
        let (body, audience, seq) = row?;
        Ok(StoredRecord {
            record: parse_record(&body)?,
            audience: parse_audience(audience),
            seq: seq.unsigned_abs(),
        })
    })
    .collect()
}

/// One row of a feed page, before it becomes a [`FeedEntry`].
type FeedRow = (i64, String, Uuid, bool, Option<String>, Option<Vec<u8>>);

pub(super) fn page(
    tx: &Transaction<'_>,
    org_id: OrgId,
    reader: FeedReader,
    device: Option<DeviceId>,
    cursor: u64,
    limit: u32,
) -> StorageResult<FeedPage> {
    let org = org_id.to_string();
    let (last_seq, floor): (i64, i64) = tx
        .query_row("SELECT last_seq, feed_floor FROM orgs WHERE id = ?1", [&org], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .ok_or_else(|| StorageError::NotFound(format!("org {org_id}")))?;
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
    let visible = serde_json::to_string(&visible).expect("a list of strings serialises");
    let device = device.map(|d| d.to_string());
    // What the reader may see: reference data (no audience), records addressed to them or
    // (for a manager) to their team, but not a document state the reading device pushed
    // itself; and removals of records that left all of that.
    let mut stmt = tx.prepare_cached(
        "WITH visible(user_id) AS (SELECT value FROM json_each(?3))
         SELECT seq, kind, id, deleted, body, doc FROM records
           WHERE org_id = ?1 AND seq > ?2
             AND (?4 OR audience IS NULL OR audience IN (SELECT user_id FROM visible))
             AND (held_by_device IS NULL OR ?6 IS NULL OR held_by_device <> ?6)
         UNION ALL
         SELECT se.seq, se.kind, se.id, 1, NULL, NULL FROM scope_exits se
           WHERE se.org_id = ?1 AND se.seq > ?2 AND NOT ?4
             AND se.user_id IN (SELECT user_id FROM visible)
             AND NOT EXISTS (
                 SELECT 1 FROM records r WHERE r.org_id = se.org_id AND r.kind = se.kind AND r.id = se.id
                   AND (r.audience IS NULL OR r.audience IN (SELECT user_id FROM visible)))
         ORDER BY seq LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![org, to_i64(cursor), visible, everything, i64::from(limit) + 1, device],
        |row| Ok((row.get(0)?, row.get(1)?, uuid_col(row, 2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
    )?;
    let mut entries = Vec::new();
    let mut has_more = false;
    for row in rows {
        let (seq, kind, id, deleted, body, doc): FeedRow = row?;
        if entries.len() == limit as usize {
            has_more = true;
            break;
        }
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
