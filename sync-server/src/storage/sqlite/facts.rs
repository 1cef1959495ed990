//! The org's grow-only set of facts in SQLite.

use fieldkit_domain::ids::OrgId;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{next_seq, uuid_col};
use crate::storage::{FactFilter, FactInsert, NewFact, StorageResult, StoredFact};

pub(super) fn insert(
    tx: &Transaction<'_>,
    org_id: OrgId,
    facts: Vec<NewFact>,
    now_ms: i64,
) -> StorageResult<Vec<FactInsert>> {
    let org = org_id.to_string();
    let limit_ms: i64 =
        tx.query_row("SELECT clock_skew_limit_ms FROM orgs WHERE id = ?1", [&org], |row| row.get(0))?;
    let mut existing = tx.prepare_cached("SELECT body_sha256 FROM facts WHERE org_id = ?1 AND id = ?2")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO facts (org_id, id, kind, rep_id, body, body_sha256, seq, received_ms, clock_skew_ms, clock_flagged)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut out = Vec::with_capacity(facts.len());
    for fact in facts {
        let id = fact.id.to_string();
        let stored: Option<String> = existing.query_row(params![org, id], |row| row.get(0)).optional()?;
        let result = match stored {
            Some(hash) if hash == fact.body_sha256 => FactInsert::AlreadyStored,
            Some(_) => FactInsert::ConflictingBody,
            None => {
                let seq = next_seq(tx, org_id)?;
                insert.execute(params![
                    org,
                    id,
                    fact.kind,
                    fact.rep_id.to_string(),
                    fact.body,
                    fact.body_sha256,
                    i64::try_from(seq).expect("sequence fits in i64"),
                    now_ms,
                    fact.clock_skew_ms,
                    fact.clock_skew_ms.is_some_and(|skew| skew.saturating_abs() > limit_ms)
                ])?;
                FactInsert::Stored(seq)
            }
        };
        out.push(result);
    }
    Ok(out)
}

pub(super) fn list(
    tx: &Transaction<'_>,
    org_id: OrgId,
    filter: &FactFilter,
) -> StorageResult<Vec<StoredFact>> {
    let mut stmt = tx.prepare(
        "SELECT id, kind, rep_id, body, seq, received_ms, clock_skew_ms, clock_flagged FROM facts
         WHERE org_id = ?1 AND (?2 IS NULL OR kind = ?2)
           AND (?3 IS NULL OR rep_id IN (SELECT value FROM json_each(?3)))
         ORDER BY seq",
    )?;
    let rows = stmt.query_map(
        params![
            org_id.to_string(),
            filter.kind,
            filter.rep_ids.as_ref().map(|ids| serde_json::to_string(ids).expect("ids always serialize"))
        ],
        |row| {
            let seq: i64 = row.get(4)?;
            Ok(StoredFact {
                id: uuid_col(row, 0)?.into(),
                kind: row.get(1)?,
                rep_id: uuid_col(row, 2)?.into(),
                body: row.get(3)?,
                seq: seq.unsigned_abs(),
                received_ms: row.get(5)?,
                clock_skew_ms: row.get(6)?,
                clock_flagged: row.get(7)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
