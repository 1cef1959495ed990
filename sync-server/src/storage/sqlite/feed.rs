//! Records, shared documents and the change feed in SQLite.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::protocol::{FeedChange, FeedEntry, Record, RecordKind};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{next_seq, uuid_col};
use crate::storage::{
    DocDecision, DocResult, DocUpdate, FeedPage, FeedReader, StorageError, StorageResult, StoredDoc,
    StoredRecord,
};

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn parse_record(body: &str) -> StorageResult<Record> {
    serde_json::from_str(body).map_err(|source| StorageError::Corrupt {
        what: "record",
        source,
    })
}

fn parse_audience(text: Option<String>) -> Option<UserId> {
    text.and_then(|a| Uuid::parse_str(&a).ok()).map(UserId::from)
}

/// A row of `records` to write.
struct Row<'a> {
    kind: RecordKind,
    id: Uuid,
    body: &'a str,
    doc: Option<&'a [u8]>,
    audience: Option<UserId>,
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
        "INSERT INTO records (org_id, kind, id, seq, audience, deleted, body, doc) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)
         ON CONFLICT (org_id, kind, id) DO UPDATE SET seq = excluded.seq, audience = excluded.audience,
             deleted = 0, body = excluded.body, doc = excluded.doc",
    )?
    .execute(params![org, kind, id, to_i64(seq), audience, row.body, row.doc])?;
    if let Some(Some(previous)) = before
        && Some(&previous) != audience.as_ref()
    {
        tx.prepare_cached(
            "INSERT INTO scope_exits (org_id, seq, user_id, kind, id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![org, to_i64(seq), previous, kind, id])?;
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
    upsert(
        tx,
        org_id,
        &Row {
            kind: record.kind(),
            id: record.id(),
            body: &body,
            doc: None,
            audience,
        },
    )
}

pub(super) fn update_docs(
    tx: &Transaction<'_>,
    org_id: OrgId,
    updates: Vec<DocUpdate>,
) -> StorageResult<Vec<DocResult>> {
    let org = org_id.to_string();
    let mut results = Vec::with_capacity(updates.len());
    for update in updates {
        let stored: Option<Vec<u8>> = tx
            .prepare_cached(
                "SELECT doc FROM records WHERE org_id = ?1 AND kind = ?2 AND id = ?3 AND doc IS NOT NULL",
            )?
            .query_row(params![org, update.kind.as_str(), update.id.to_string()], |r| {
                r.get(0)
            })
            .optional()?;
        let result = match (update.merge)(stored.as_deref()) {
            DocDecision::Write {
                state,
                body,
                audience,
            } => {
                let row = Row {
                    kind: update.kind,
                    id: update.id,
                    body: &body,
                    doc: Some(&state),
                    audience,
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

fn parse_kind(kind: &str) -> StorageResult<RecordKind> {
    RecordKind::parse(kind).ok_or_else(|| StorageError::Corrupt {
        what: "record kind",
        source: serde::de::Error::custom(format!("unknown kind {kind:?}")),
    })
}

/// One row of a feed page, before it becomes a [`FeedEntry`].
type FeedRow = (i64, String, Uuid, bool, Option<String>, Option<Vec<u8>>);

pub(super) fn page(
    tx: &Transaction<'_>,
    org_id: OrgId,
    reader: FeedReader,
    cursor: u64,
    limit: u32,
) -> StorageResult<FeedPage> {
    let org = org_id.to_string();
    let last_seq: i64 = tx
        .query_row("SELECT last_seq FROM orgs WHERE id = ?1", [&org], |row| {
            row.get(0)
        })
        .optional()?
        .ok_or_else(|| StorageError::NotFound(format!("org {org_id}")))?;
    let (member, everything) = match reader {
        FeedReader::Member(user) => (Some(user.to_string()), false),
        FeedReader::Everything => (None, true),
    };
    // Upserts and deletions the reader may see, and removals for records that left their scope.
    let mut stmt = tx.prepare_cached(
        "SELECT seq, kind, id, deleted, body, doc FROM records
           WHERE org_id = ?1 AND seq > ?2 AND (?4 OR audience IS NULL OR audience = ?3)
         UNION ALL
         SELECT seq, kind, id, 1, NULL, NULL FROM scope_exits
           WHERE org_id = ?1 AND seq > ?2 AND user_id = ?3
         ORDER BY seq LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![org, to_i64(cursor), member, everything, i64::from(limit) + 1],
        |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                uuid_col(row, 2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        },
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
            (false, None, Some(body)) => FeedChange::Upsert {
                record: parse_record(&body)?,
            },
            _ => FeedChange::Remove { kind, id },
        };
        entries.push(FeedEntry {
            seq: seq.unsigned_abs(),
            change,
        });
    }
    // Within this snapshot every change up to `last_seq` is committed, so a reader that has
    // seen everything visible to it may move its cursor to `last_seq`.
    let cursor = if has_more {
        entries.last().map_or(cursor, |last| last.seq)
    } else {
        last_seq.unsigned_abs().max(cursor)
    };
    Ok(FeedPage {
        entries,
        cursor,
        has_more,
    })
}
