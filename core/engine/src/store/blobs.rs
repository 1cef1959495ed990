//! The blob queue: photos and voice notes waiting for upload, with their retry schedule.
//! The bytes live in files (see `crate::blobs`); rows here say what still has to go.

use rusqlite::{Connection, Transaction, params};

use crate::error::Result;

/// A blob waiting to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingBlob {
    pub sha256: String,
    pub size: u64,
}

/// Queues a blob (again queuing one already known changes nothing).
pub(crate) fn enqueue(tx: &Transaction<'_>, sha256: &str, size: u64, now_ms: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO blobs (sha256, size, created_ms) VALUES (?1, ?2, ?3) ON CONFLICT (sha256) DO NOTHING",
        params![sha256, i64::try_from(size).unwrap_or(i64::MAX), now_ms],
    )?;
    Ok(())
}

/// Blobs due for upload at `now_ms`, oldest first.
pub(crate) fn due(conn: &Connection, now_ms: i64) -> Result<Vec<PendingBlob>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256, size FROM blobs WHERE state = 'pending' AND next_attempt_ms <= ?1 ORDER BY created_ms, sha256",
    )?;
    let rows = stmt.query_map([now_ms], |row| {
        Ok(PendingBlob { sha256: row.get(0)?, size: row.get::<_, i64>(1)?.unsigned_abs() })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks a blob uploaded (or found already on the server).
pub(crate) fn done(tx: &Transaction<'_>, sha256: &str) -> Result<()> {
    tx.execute("UPDATE blobs SET state = 'done', last_error = NULL WHERE sha256 = ?1", [sha256])?;
    Ok(())
}

/// Parks a blob the server refuses for good (too large, or its bytes are damaged).
pub(crate) fn park(tx: &Transaction<'_>, sha256: &str, reason: &str) -> Result<()> {
    tx.execute(
        "UPDATE blobs SET state = 'parked', last_error = ?2 WHERE sha256 = ?1",
        params![sha256, reason],
    )?;
    Ok(())
}

/// How many uploads of a blob have failed so far.
pub(crate) fn attempts(conn: &Connection, sha256: &str) -> Result<u32> {
    let n: i64 = conn.query_row("SELECT attempts FROM blobs WHERE sha256 = ?1", [sha256], |r| r.get(0))?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Records a failed attempt: the count of failures in a row (`attempts`), why, and when to
/// try again.
pub(crate) fn failed(
    tx: &Transaction<'_>,
    sha256: &str,
    attempts: u32,
    error: &str,
    retry_at_ms: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE blobs SET attempts = ?2, last_error = ?3, next_attempt_ms = ?4 WHERE sha256 = ?1",
        params![sha256, attempts, error, retry_at_ms],
    )?;
    Ok(())
}

/// A blob still on the queue (waiting or parked), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueRow {
    pub sha256: String,
    pub size: u64,
    /// Whether the server refused it for good.
    pub parked: bool,
    /// Failed attempts in a row.
    pub attempts: u32,
    /// Device time the next attempt is due, Unix milliseconds (0: at the next upload).
    pub next_attempt_ms: i64,
    /// Why the last attempt failed, or why it was parked.
    pub last_error: Option<String>,
}

/// The blobs not yet on the server (waiting, then parked), oldest first within each.
pub(crate) fn queue(conn: &Connection) -> Result<Vec<QueueRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256, size, state = 'parked', attempts, next_attempt_ms, last_error FROM blobs \
         WHERE state IN ('pending', 'parked') ORDER BY state = 'parked', created_ms, sha256",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(QueueRow {
            sha256: row.get(0)?,
            size: row.get::<_, i64>(1)?.unsigned_abs(),
            parked: row.get(2)?,
            attempts: u32::try_from(row.get::<_, i64>(3)?).unwrap_or(u32::MAX),
            next_attempt_ms: row.get(4)?,
            last_error: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Blobs still to upload and blobs refused for good.
pub(crate) fn counts(conn: &Connection) -> Result<(u64, u64)> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE state = 'pending'), COUNT(*) FILTER (WHERE state = 'parked') FROM blobs",
        [],
        |r| Ok((r.get::<_, i64>(0)?.unsigned_abs(), r.get::<_, i64>(1)?.unsigned_abs())),
    )?)
}

/// The upload state of one blob (`pending`, `done`, `parked`), if queued.
pub(crate) fn state(conn: &Connection, sha256: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn.query_row("SELECT state FROM blobs WHERE sha256 = ?1", [sha256], |r| r.get(0)).optional()?)
}

/// Makes every waiting blob due now.
pub(crate) fn retry_now(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("UPDATE blobs SET next_attempt_ms = 0 WHERE state = 'pending' AND next_attempt_ms > 0", [])?;
    Ok(())
}

/// When the next waiting blob is due, if any waits.
pub(crate) fn next_due_ms(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row("SELECT MIN(next_attempt_ms) FROM blobs WHERE state = 'pending'", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn the_queue_shows_waiting_then_parked_blobs_with_their_reasons_and_not_finished_ones() {
        let (_dir, store) = Store::temp();
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        store
            .write(|tx| {
                enqueue(tx, &a, 10, 1)?;
                enqueue(tx, &b, 20, 2)?;
                enqueue(tx, &c, 30, 3)?;
                park(tx, &a, "payload_too_large: blob of 10 bytes is larger than the 5 bytes accepted")?;
                failed(tx, &b, 3, "server unreachable: server answered 503", 9_000)?;
                done(tx, &c)
            })
            .expect("write");
        let queue = store.read(queue).expect("read");
        assert_eq!(queue.len(), 2, "{queue:?}");
        assert_eq!(
            queue[0],
            QueueRow {
                sha256: b.clone(),
                size: 20,
                parked: false,
                attempts: 3,
                next_attempt_ms: 9_000,
                last_error: Some("server unreachable: server answered 503".to_owned()),
            }
        );
        assert_eq!((queue[1].sha256.as_str(), queue[1].parked, queue[1].size), (a.as_str(), true, 10));
        assert!(queue[1].last_error.as_deref().is_some_and(|r| r.starts_with("payload_too_large")));
        assert!(store.read(|conn| due(conn, 8_999)).expect("due").is_empty(), "b waits for its retry");
        assert_eq!(store.read(|conn| due(conn, 9_000)).expect("due").len(), 1);
    }
}
