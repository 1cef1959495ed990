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

/// Counts a failed attempt and schedules the next.
pub(crate) fn failed(tx: &Transaction<'_>, sha256: &str, error: &str, retry_at_ms: i64) -> Result<()> {
    tx.execute(
        "UPDATE blobs SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3 WHERE sha256 = ?1",
        params![sha256, error, retry_at_ms],
    )?;
    Ok(())
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
