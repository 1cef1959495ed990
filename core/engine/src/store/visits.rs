//! The visits projection and the form responses projection, written from their documents.

use fieldkit_domain::ids::{UserId, VisitId};
use fieldkit_domain::model::{FormResponse, Visit};
use fieldkit_domain::protocol::RecordKind;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{parse_json, to_json};
use crate::error::Result;

/// Stores a visit as its document now reads.
pub(crate) fn upsert(tx: &Transaction<'_>, visit: &Visit) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO visits (id, customer_id, task_id, check_in_id, check_out_id, started_ms, ended_ms, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET check_out_id = excluded.check_out_id, ended_ms = excluded.ended_ms,
             body = excluded.body",
    )?
    .execute(params![
        visit.id.to_string(),
        visit.customer_id.to_string(),
        visit.task_id.map(|t| t.to_string()),
        visit.check_in_id.to_string(),
        visit.check_out_id.map(|c| c.to_string()),
        visit.started_ms,
        visit.ended_ms,
        to_json(visit)
    ])?;
    Ok(())
}

/// One visit (visits recorded before documents existed have no projection and read `None`).
pub(crate) fn get(conn: &Connection, id: VisitId) -> Result<Option<Visit>> {
    let body: Option<Option<String>> = conn
        .prepare_cached("SELECT body FROM visits WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    body.flatten().map(|b| parse_json("visit", &b)).transpose()
}

/// All visits with a projection, newest first.
pub(crate) fn all(conn: &Connection) -> Result<Vec<Visit>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM visits WHERE body IS NOT NULL ORDER BY started_ms DESC, id")?;
    let bodies = stmt.query_map([], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("visit", &b?)).collect()
}

/// The latest `limit` visits to `customer_id`, newest first, and how many there are.
pub(crate) fn of_customer(conn: &Connection, customer_id: &str, limit: u32) -> Result<(Vec<Visit>, u32)> {
    let count: u32 = conn
        .prepare_cached("SELECT count(*) FROM visits WHERE customer_id = ?1")?
        .query_row([customer_id], |row| row.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM visits WHERE customer_id = ?1 AND body IS NOT NULL ORDER BY started_ms DESC, id LIMIT ?2",
    )?;
    let bodies = stmt.query_map(params![customer_id, limit], |row| row.get::<_, String>(0))?;
    let visits = bodies.map(|b| parse_json("visit", &b?)).collect::<Result<_>>()?;
    Ok((visits, count))
}

/// The visit `rep` has open (checked in, not out), the latest if several are.
pub(crate) fn open_of(conn: &Connection, rep: UserId) -> Result<Option<Visit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM visits WHERE ended_ms IS NULL AND body IS NOT NULL ORDER BY started_ms DESC, id",
    )?;
    let bodies = stmt.query_map([], |row| row.get::<_, String>(0))?;
    for body in bodies {
        let visit: Visit = parse_json("visit", &body?)?;
        if visit.rep_id == rep {
            return Ok(Some(visit));
        }
    }
    Ok(None)
}

/// Whether a shared document's record is closed for good: a visit checked out, a form
/// response submitted. Tasks never close this way (a manager may still edit a done task).
pub(crate) fn is_closed(conn: &Connection, kind: RecordKind, id: Uuid) -> Result<bool> {
    let sql = match kind {
        RecordKind::Visit => "SELECT ended_ms IS NOT NULL FROM visits WHERE id = ?1",
        RecordKind::FormResponse => "SELECT submitted FROM form_responses WHERE id = ?1",
        _ => return Ok(false),
    };
    let closed: Option<bool> =
        conn.prepare_cached(sql)?.query_row([id.to_string()], |r| r.get(0)).optional()?;
    Ok(closed.unwrap_or(false))
}

/// Stores a form response as its document now reads.
pub(crate) fn upsert_response(tx: &Transaction<'_>, response: &FormResponse) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO form_responses (id, template_id, visit_id, submitted, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET submitted = excluded.submitted, body = excluded.body",
    )?
    .execute(params![
        response.id.to_string(),
        response.template_id.to_string(),
        response.visit_id.map(|v| v.to_string()),
        response.submitted,
        to_json(response)
    ])?;
    Ok(())
}

/// All form responses on this phone.
pub(crate) fn responses(conn: &Connection) -> Result<Vec<FormResponse>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM form_responses ORDER BY id")?;
    let bodies = stmt.query_map([], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("form response", &b?)).collect()
}
