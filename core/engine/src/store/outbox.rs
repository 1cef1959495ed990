//! The offline queue. Every local change appends an entry in the transaction that makes the
//! change, so a change is never stored without being queued, nor queued without being stored.
//! Entries leave the queue only when the server acknowledges them; an entry the server
//! refuses for good is parked with its reason, kept, and skipped by later pushes.

use rusqlite::{Connection, Transaction, params};

use crate::error::Result;

/// Entry kind of a fact; the entry's item id is the fact's id.
pub(crate) const KIND_FACT: &str = "fact";

/// An entry ready to push.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// The id of the queued item (for facts: the fact id).
    pub item_id: String,
}

/// A queued item the server refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedItem {
    /// What kind of item (`fact`).
    pub item_kind: String,
    /// The item's id.
    pub item_id: String,
    /// The server's reason code.
    pub code: String,
    /// The server's reason, for people.
    pub reason: String,
}

/// Counts of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Entries waiting to be pushed (not parked).
    pub pending: u64,
    /// Device time when the oldest waiting entry was queued, Unix milliseconds.
    pub oldest_pending_ms: Option<i64>,
    /// Entries the server refused for good.
    pub parked: u64,
}

/// Queues an item.
pub(crate) fn append(tx: &Transaction<'_>, kind: &str, item_id: &str, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO outbox (item_kind, item_id, created_ms) VALUES (?1, ?2, ?3)",
        params![kind, item_id, now_ms],
    )?;
    Ok(())
}

/// The oldest waiting facts, at most `max_items` of them and at most `max_bytes` of bodies
/// (always at least one, so an item larger than the cap still moves).
pub(crate) fn next_batch(conn: &Connection, max_items: usize, max_bytes: usize) -> Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.item_id, length(f.body) FROM outbox o JOIN facts f ON f.id = o.item_id
         WHERE o.item_kind = 'fact' AND o.parked_code IS NULL ORDER BY o.seq LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(max_items).unwrap_or(i64::MAX)], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    let mut batch = Vec::new();
    let mut bytes = 0_usize;
    for row in rows {
        let (item_id, len) = row?;
        bytes = bytes.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        if !batch.is_empty() && bytes > max_bytes {
            break;
        }
        batch.push(Pending { item_id });
    }
    Ok(batch)
}

/// Removes an acknowledged item.
pub(crate) fn remove(tx: &Transaction<'_>, item_id: &str) -> Result<()> {
    tx.execute("DELETE FROM outbox WHERE item_id = ?1", [item_id])?;
    Ok(())
}

/// Parks an item the server refused for good.
pub(crate) fn park(tx: &Transaction<'_>, item_id: &str, code: &str, reason: &str) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET parked_code = ?2, parked_reason = ?3 WHERE item_id = ?1",
        params![item_id, code, reason],
    )?;
    Ok(())
}

/// Counts a failed attempt to push these items.
pub(crate) fn record_failure(tx: &Transaction<'_>, item_ids: &[String], error: &str) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE item_id = ?1")?;
    for id in item_ids {
        stmt.execute(params![id, error])?;
    }
    Ok(())
}

/// Counts of the queue.
pub(crate) fn stats(conn: &Connection) -> Result<OutboxStats> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE parked_code IS NULL),
                MIN(created_ms) FILTER (WHERE parked_code IS NULL),
                COUNT(*) FILTER (WHERE parked_code IS NOT NULL)
         FROM outbox",
        [],
        |row| {
            Ok(OutboxStats {
                pending: row.get::<_, i64>(0)?.unsigned_abs(),
                oldest_pending_ms: row.get(1)?,
                parked: row.get::<_, i64>(2)?.unsigned_abs(),
            })
        },
    )?)
}

/// The parked items, oldest first.
pub(crate) fn parked(conn: &Connection) -> Result<Vec<ParkedItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT item_kind, item_id, parked_code, parked_reason FROM outbox WHERE parked_code IS NOT NULL ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(ParkedItem {
            item_kind: row.get(0)?,
            item_id: row.get(1)?,
            code: row.get(2)?,
            reason: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
