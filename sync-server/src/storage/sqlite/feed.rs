//! Records and the change feed in SQLite.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::protocol::{FeedChange, FeedEntry, Record, RecordKind};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{next_seq, uuid_col};
use crate::storage::{FeedPage, FeedReader, StorageError, StorageResult, StoredRecord};

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn parse_record(body: &str) -> StorageResult<Record> {
    serde_json::from_str(body).map_err(|source| StorageError::Corrupt {
        what: "record",
        source,
    })
}

pub(super) fn put_record(
    tx: &Transaction<'_>,
    org_id: OrgId,
    record: &Record,
    audience: Option<UserId>,
) -> StorageResult<u64> {
    let org = org_id.to_string();
    let kind = record.kind().as_str();
    let id = record.id().to_string();
    let body = serde_json::to_string(record).expect("records always serialize");
    let before: Option<Option<String>> = tx
        .query_row(
            "SELECT audience FROM records WHERE org_id = ?1 AND kind = ?2 AND id = ?3",
            params![org, kind, id],
            |row| row.get(0),
        )
        .optional()?;
    let seq = next_seq(tx, org_id)?;
    let audience_text = audience.map(|a| a.to_string());
    tx.execute(
        "INSERT INTO records (org_id, kind, id, seq, audience, deleted, body) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
         ON CONFLICT (org_id, kind, id) DO UPDATE SET seq = excluded.seq, audience = excluded.audience,
             deleted = 0, body = excluded.body",
        params![org, kind, id, to_i64(seq), audience_text, body],
    )?;
    if let Some(Some(previous)) = before
        && Some(&previous) != audience_text.as_ref()
    {
        tx.execute(
            "INSERT INTO scope_exits (org_id, seq, user_id, kind, id) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![org, to_i64(seq), previous, kind, id],
        )?;
    }
    Ok(seq)
}

pub(super) fn record(
    tx: &Transaction<'_>,
    org_id: OrgId,
    kind: RecordKind,
    id: Uuid,
) -> StorageResult<Option<StoredRecord>> {
    let row: Option<(String, Option<String>, i64)> = tx
        .query_row(
            "SELECT body, audience, seq FROM records WHERE org_id = ?1 AND kind = ?2 AND id = ?3 AND deleted = 0",
            params![org_id.to_string(), kind.as_str(), id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    row.map(|(body, audience, seq)| {
        Ok(StoredRecord {
            record: parse_record(&body)?,
            audience: audience.and_then(|a| Uuid::parse_str(&a).ok()).map(UserId::from),
            seq: seq.unsigned_abs(),
        })
    })
    .transpose()
}

fn parse_kind(kind: &str) -> StorageResult<RecordKind> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned())).map_err(|source| {
        StorageError::Corrupt {
            what: "record kind",
            source,
        }
    })
}

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
        "SELECT seq, kind, id, deleted, body FROM records
           WHERE org_id = ?1 AND seq > ?2 AND (?4 OR audience IS NULL OR audience = ?3)
         UNION ALL
         SELECT seq, kind, id, 1, NULL FROM scope_exits
           WHERE org_id = ?1 AND seq > ?2 AND user_id = ?3
         ORDER BY seq LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![org, to_i64(cursor), member, everything, i64::from(limit) + 1],
        |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                uuid_col(row, 2)?,
                row.get::<_, bool>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        },
    )?;
    let mut entries = Vec::new();
    let mut has_more = false;
    for row in rows {
        let (seq, kind, id, deleted, body) = row?;
        if entries.len() == limit as usize {
            has_more = true;
            break;
        }
        let change = match (deleted, body) {
            (false, Some(body)) => FeedChange::Upsert {
                record: parse_record(&body)?,
            },
            _ => FeedChange::Remove {
                kind: parse_kind(&kind)?,
                id,
            },
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
