//! Facts recorded on this phone and the visits they open and close.

use fieldkit_domain::ids::FactId;
use fieldkit_domain::model::CheckIn;
use fieldkit_domain::protocol::Fact;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{parse_json, to_json};
use crate::error::Result;

/// Records a fact (not yet synced).
pub(crate) fn insert(tx: &Transaction<'_>, fact: &Fact, visit_id: Option<String>, now_ms: i64) -> Result<()> {
    let customer_id = match fact {
        Fact::CheckIn(f) => Some(f.customer_id),
        Fact::CheckOut(f) => Some(f.customer_id),
        Fact::Order(f) => Some(f.customer_id),
        Fact::StockCount(f) => Some(f.customer_id),
        _ => None,
    };
    tx.prepare_cached(
        "INSERT INTO facts (id, kind, visit_id, body, recorded_ms, customer_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        fact.id().to_string(),
        fact.kind(),
        visit_id,
        to_json(fact),
        now_ms,
        customer_id.map(|c| c.to_string())
    ])?;
    Ok(())
}

/// Marks a fact as acknowledged by the server at `seq` (`None`: it was already there).
pub(crate) fn mark_synced(tx: &Transaction<'_>, id: FactId, seq: Option<u64>) -> Result<()> {
    tx.prepare_cached("UPDATE facts SET synced_seq = COALESCE(?2, synced_seq, 0) WHERE id = ?1")?
        .execute(params![id.to_string(), seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX))])?;
    Ok(())
}

/// Whether the server has acknowledged the fact; `None` if there is no such fact.
pub(crate) fn is_synced(conn: &Connection, id: FactId) -> Result<Option<bool>> {
    Ok(conn
        .query_row("SELECT synced_seq IS NOT NULL FROM facts WHERE id = ?1", [id.to_string()], |row| {
            row.get(0)
        })
        .optional()?)
}

/// Facts by id, in the order asked.
pub(crate) fn bodies(conn: &Connection, ids: &[String]) -> Result<Vec<Fact>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM facts WHERE id = ?1")?;
    ids.iter()
        .map(|id| {
            let body: String = stmt.query_row([id], |row| row.get(0))?;
            parse_json("fact", &body)
        })
        .collect()
}

/// The facts of `kind` recorded in `from_ms..to_ms` (device time), oldest first.
pub(crate) fn recorded_between(conn: &Connection, kind: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Fact>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM facts WHERE kind = ?1 AND recorded_ms >= ?2 AND recorded_ms < ?3
         ORDER BY recorded_ms, id",
    )?;
    let bodies = stmt.query_map(params![kind, from_ms, to_ms], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("fact", &b?)).collect()
}

/// The latest `limit` facts of `kind` about `customer_id`, newest first.
pub(crate) fn of_customer(conn: &Connection, customer_id: &str, kind: &str, limit: u32) -> Result<Vec<Fact>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM facts WHERE customer_id = ?1 AND kind = ?2 ORDER BY recorded_ms DESC, id DESC LIMIT ?3",
    )?;
    let bodies = stmt.query_map(params![customer_id, kind, limit], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("fact", &b?)).collect()
}

/// How many facts recorded in `visit_id` are of `kind`.
pub(crate) fn count_in_visit(conn: &Connection, visit_id: &str, kind: &str) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM facts WHERE visit_id = ?1 AND kind = ?2")?
        .query_row(params![visit_id, kind], |row| row.get(0))?)
}

/// The facts recorded in `visit_id`, oldest first.
pub(crate) fn of_visit(conn: &Connection, visit_id: &str) -> Result<Vec<Fact>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM facts WHERE visit_id = ?1 ORDER BY recorded_ms, id")?;
    let bodies = stmt.query_map([visit_id], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("fact", &b?)).collect()
}

/// The check-in that opened `visit_id`, if it was recorded on this phone.
pub(crate) fn check_in_of(conn: &Connection, visit_id: &str) -> Result<Option<CheckIn>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM facts WHERE visit_id = ?1 AND kind = 'check_in'")?
        .query_row([visit_id], |row| row.get(0))
        .optional()?;
    match body.map(|b| parse_json::<Fact>("fact", &b)).transpose()? {
        Some(Fact::CheckIn(c)) => Ok(Some(c)),
        _ => Ok(None),
    }
}

/// All check-ins recorded on this phone, oldest first.
pub(crate) fn check_ins(conn: &Connection) -> Result<Vec<CheckIn>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM facts WHERE kind = 'check_in' ORDER BY id")?;
    let bodies = stmt.query_map([], |row| row.get::<_, String>(0))?;
    bodies
        .map(|b| match parse_json::<Fact>("fact", &b?)? {
            Fact::CheckIn(c) => Ok(c),
            other => Err(crate::Error::Corrupt {
                what: "check-in",
                detail: format!("found a {} fact", other.kind()),
            }),
        })
        .collect()
}
