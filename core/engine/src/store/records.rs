//! Reference data pulled from the server (customers, products, templates, articles).

use fieldkit_domain::protocol::{Record, RecordKind};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{parse_json, to_json};
use crate::error::Result;

/// Stores a reference record as the server last sent it.
pub(crate) fn upsert(tx: &Transaction<'_>, record: &Record) -> Result<()> {
    tx.execute(
        "INSERT INTO records (kind, id, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
        params![record.kind().as_str(), record.id().to_string(), to_json(record)],
    )?;
    if let Record::KbArticle(article) = record {
        super::kb::index(tx, article)?;
    }
    Ok(())
}

/// Forgets a reference record.
pub(crate) fn remove(tx: &Transaction<'_>, kind: RecordKind, id: Uuid) -> Result<()> {
    tx.execute("DELETE FROM records WHERE kind = ?1 AND id = ?2", params![kind.as_str(), id.to_string()])?;
    if kind == RecordKind::KbArticle {
        super::kb::unindex(tx, id)?;
    }
    Ok(())
}

/// One reference record.
pub(crate) fn get(conn: &Connection, kind: RecordKind, id: Uuid) -> Result<Option<Record>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM records WHERE kind = ?1 AND id = ?2",
            params![kind.as_str(), id.to_string()],
            |row| row.get(0),
        )
        .optional()?;
    body.map(|b| parse_json("record", &b)).transpose()
}

/// All reference records of a kind.
pub(crate) fn all(conn: &Connection, kind: RecordKind) -> Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM records WHERE kind = ?1 ORDER BY id")?;
    let bodies = stmt.query_map([kind.as_str()], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("record", &b?)).collect()
}
