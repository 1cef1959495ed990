//! Approval flows in SQLite (`approval_flows`, migration 012): every version of every kind,
//! the latest also in the feed for phones.

use fieldkit_domain::approval::{ApprovalFlow, ApprovalKind};
use fieldkit_domain::ids::OrgId;
use fieldkit_domain::protocol::Record;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Transaction, params};

use super::feed;
use crate::storage::StorageResult;

fn flow(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApprovalFlow> {
    let body: String = row.get(0)?;
    serde_json::from_str(&body)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(e)))
}

/// Stores `flow` as the next version of its kind and puts it in every phone's feed.
pub(super) fn put(
    tx: &Transaction<'_>,
    org_id: OrgId,
    flow: &ApprovalFlow,
    now_ms: i64,
) -> StorageResult<ApprovalFlow> {
    let org = org_id.to_string();
    let kind = flow.kind.as_str();
    let latest: u32 = tx
        .prepare_cached(
            "SELECT COALESCE(MAX(version), 0) FROM approval_flows WHERE org_id = ?1 AND kind = ?2",
        )?
        .query_row(params![org, kind], |r| r.get(0))?;
    let stored = ApprovalFlow { version: latest + 1, ..flow.clone() };
    let body = serde_json::to_string(&stored).expect("flows always serialize");
    tx.prepare_cached(
        "INSERT INTO approval_flows (org_id, kind, version, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![org, kind, stored.version, body, now_ms])?;
    feed::put_record(tx, org_id, &Record::ApprovalFlow(stored.clone()), None)?;
    Ok(stored)
}

/// The latest version of every kind that has a flow.
pub(super) fn current(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<Vec<ApprovalFlow>> {
    let mut stmt = tx.prepare_cached(
        "SELECT body FROM approval_flows f WHERE org_id = ?1
           AND version = (SELECT MAX(version) FROM approval_flows g WHERE g.org_id = f.org_id AND g.kind = f.kind)
         ORDER BY kind",
    )?;
    let rows = stmt.query_map([org_id.to_string()], flow)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One version of a kind's flow.
pub(super) fn get(
    tx: &Transaction<'_>,
    org_id: OrgId,
    kind: ApprovalKind,
    version: u32,
) -> StorageResult<Option<ApprovalFlow>> {
    Ok(tx
        .prepare_cached("SELECT body FROM approval_flows WHERE org_id = ?1 AND kind = ?2 AND version = ?3")?
        .query_row(params![org_id.to_string(), kind.as_str(), version], flow)
        .optional()?)
}
