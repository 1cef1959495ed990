//! The offline queue. Every local change appends an entry in the transaction that makes the
//! change, so a change is never stored without being queued, nor queued without being stored.
//! Entries leave the queue only when the server acknowledges them; an entry the server
//! refuses for good is parked with its reason, kept, and skipped by later pushes. An entry
//! whose push failed waits until its retry time (backoff) before it is due again.

use rusqlite::{Connection, Transaction, params};

use crate::error::Result;

/// Entry kind of a fact; the entry's item id is the fact's id. Documents use their record
/// kind (`task`, `visit`, `form_response`) and the document's id.
pub(crate) const KIND_FACT: &str = "fact";

/// An entry ready to push.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// `fact`, or the kind of a document.
    pub item_kind: String,
    /// The id of the queued item.
    pub item_id: String,
}

/// A queued item the server refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ParkedItem {
    /// What kind of item (`fact`, or a document kind such as `task`).
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutboxStats {
    /// Entries waiting to be pushed (not parked).
    pub pending: u64,
    /// Device time when the oldest waiting entry was queued, Unix milliseconds.
    pub oldest_pending_ms: Option<i64>,
    /// Entries the server refused for good.
    pub parked: u64,
}

/// Queues an item. A document already queued stays queued once: its entry stands for
/// every change not yet acknowledged. A new edit to a document whose entry is parked puts
/// the entry back in the queue, due now with its attempts reset (the edit may be what makes
/// the server accept it); a parked fact stays parked, since a fact never changes.
pub(crate) fn append(tx: &Transaction<'_>, kind: &str, item_id: &str, now_ms: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (item_kind, item_id, created_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (item_id) DO UPDATE SET
             parked_code = NULL, parked_reason = NULL, last_error = NULL, attempts = 0, next_attempt_ms = 0
         WHERE outbox.parked_code IS NOT NULL AND outbox.item_kind <> 'fact'",
    )?
    .execute(params![kind, item_id, now_ms])?;
    Ok(())
}

/// The oldest entries due at `now_ms` (not parked, not waiting for a retry), in queue order.
pub(crate) fn due(conn: &Connection, now_ms: i64, max_items: usize) -> Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT item_kind, item_id FROM outbox WHERE parked_code IS NULL AND next_attempt_ms <= ?1
         ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now_ms, i64::try_from(max_items).unwrap_or(i64::MAX)], |row| {
        Ok(Pending { item_kind: row.get(0)?, item_id: row.get(1)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the next waiting entry is due, if any waits.
pub(crate) fn next_due_ms(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT MIN(next_attempt_ms) FROM outbox WHERE parked_code IS NULL", [], |r| r.get(0))?)
}

/// Makes every waiting entry due now (the network came back, or the user asked).
pub(crate) fn retry_now(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET next_attempt_ms = 0 WHERE parked_code IS NULL AND next_attempt_ms > 0",
        [],
    )?;
    Ok(())
}

/// Removes an acknowledged item.
pub(crate) fn remove(tx: &Transaction<'_>, item_id: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM outbox WHERE item_id = ?1")?.execute([item_id])?;
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

/// Counts a failed attempt to push these items and schedules their retry.
pub(crate) fn record_failure(
    tx: &Transaction<'_>,
    item_ids: &[String],
    error: &str,
    retry_at_ms: i64,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3 WHERE item_id = ?1",
    )?;
    for id in item_ids {
        stmt.execute(params![id, error, retry_at_ms])?;
    }
    Ok(())
}

/// The most attempts any waiting entry has had (drives the backoff).
pub(crate) fn max_attempts(conn: &Connection) -> Result<u32> {
    let n: Option<i64> =
        conn.query_row("SELECT MAX(attempts) FROM outbox WHERE parked_code IS NULL", [], |r| r.get(0))?;
    Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
}

/// Whether an item is still queued (waiting or parked).
pub(crate) fn contains(conn: &Connection, item_id: &str) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM outbox WHERE item_id = ?1)", [item_id], |r| r.get(0))?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_new_edit_to_a_parked_document_puts_it_back_in_the_queue_due_now() {
        let (_dir, store) = Store::temp();
        store
            .write(|tx| {
                append(tx, "task", "t1", 1)?;
                record_failure(tx, &["t1".to_owned()], "offline", 9_999)?;
                park(tx, "t1", "not_allowed", "the task is not assigned to you")
            })
            .expect("queue and park");
        assert_eq!(store.read(|c| due(c, 10_000, 10)).expect("due").len(), 0, "parked, not due");

        store.write(|tx| append(tx, "task", "t1", 2)).expect("edit again");
        let pending = store.read(|c| due(c, 0, 10)).expect("due");
        assert_eq!(pending.len(), 1, "due at once, whatever its earlier retry time");
        assert!(store.read(parked).expect("parked").is_empty());
        assert_eq!(store.read(max_attempts).expect("attempts"), 0);
        let stats = store.read(stats).expect("stats");
        assert_eq!((stats.pending, stats.parked, stats.oldest_pending_ms), (1, 0, Some(1)));
    }

    #[test]
    fn a_parked_fact_stays_parked_when_appended_again() {
        let (_dir, store) = Store::temp();
        store
            .write(|tx| {
                append(tx, KIND_FACT, "f1", 1)?;
                park(tx, "f1", "invalid", "bad")?;
                append(tx, KIND_FACT, "f1", 2)
            })
            .expect("queue, park, append again");
        let parked = store.read(parked).expect("parked");
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].code, "invalid");
        assert!(store.read(|c| due(c, i64::MAX, 10)).expect("due").is_empty());
    }

    #[test]
    fn a_new_edit_to_a_waiting_document_keeps_its_retry_time() {
        let (_dir, store) = Store::temp();
        store
            .write(|tx| {
                append(tx, "visit", "v1", 1)?;
                record_failure(tx, &["v1".to_owned()], "offline", 5_000)?;
                append(tx, "visit", "v1", 2)
            })
            .expect("queue, fail, edit again");
        assert!(store.read(|c| due(c, 4_999, 10)).expect("due").is_empty(), "still backing off");
        assert_eq!(store.read(max_attempts).expect("attempts"), 1);
    }
}
