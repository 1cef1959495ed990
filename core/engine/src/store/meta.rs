//! Key-value settings of this installation: device id, session, feed cursor, clock state.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;

/// The installation's device id (also its HLC node and, later, automerge actor).
pub(crate) const DEVICE_ID: &str = "device_id";
/// The logged-in session (JSON of [`crate::session::Session`]).
pub(crate) const SESSION: &str = "session";
/// The last change-feed sequence number applied.
pub(crate) const FEED_CURSOR: &str = "feed_cursor";
/// The last HLC stamp issued (JSON).
pub(crate) const HLC: &str = "hlc";
/// Server time minus device time, in milliseconds, from the best recent sync (see
/// [`crate::time::prefer_new`]).
pub(crate) const CLOCK_OFFSET_MS: &str = "clock_offset_ms";
/// Round-trip time of the sync that measured the offset in use, in milliseconds: the
/// offset is good to within half of it.
pub(crate) const CLOCK_RTT_MS: &str = "clock_rtt_ms";
/// Device time when the offset in use was measured, Unix milliseconds (an old sample is
/// replaced by the next one, whatever its round trip).
pub(crate) const CLOCK_MEASURED_MS: &str = "clock_measured_ms";
/// Device time of the last successful sync, Unix milliseconds.
pub(crate) const LAST_SYNC_MS: &str = "last_sync_ms";
/// The software photo-signing key's 32 secret bytes, hex (absent when the app supplies a
/// hardware signer).
pub(crate) const DEVICE_KEY: &str = "device_key";
/// SHA-256 of the last photo receipt this device signed, hex: the next receipt's `previous`.
pub(crate) const PHOTO_CHAIN_HEAD: &str = "photo_chain_head";
/// The road matrix the app supplied for today's plan (JSON, with its date).
pub(crate) const TRAVEL_MATRIX: &str = "travel_matrix";
/// Whether the rep is on duty ("1") and may be tracked inside working hours.
pub(crate) const ON_DUTY: &str = "on_duty";
/// The rep's latest fix (JSON of a `LocationFix`), for the impossible-speed check.
pub(crate) const LAST_FIX: &str = "last_fix";
/// Device time the oldest waiting track point arrived, for cutting batches by age.
pub(crate) const TRACK_BATCH_STARTED_MS: &str = "track_batch_started_ms";

/// Reads a value.
pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?)
}

/// Reads an integer value.
pub(crate) fn get_i64(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(get(conn, key)?.and_then(|v| v.parse().ok()))
}

/// Writes a value.
pub(crate) fn set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Removes a value.
pub(crate) fn remove(tx: &Transaction<'_>, key: &str) -> Result<()> {
    tx.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}
