//! Rewriting a whole database file under another key, or from no key to a key and back,
//! crash-safe.
//!
//! SQLCipher's `sqlcipher_export` copies the database into a new file beside it, keyed with
//! the new key (`KEY ''`: unencrypted); the copy is flushed to disk and renamed over the
//! original. Until the rename the original file is untouched; after it, the new file is
//! complete: a crash at any point leaves one or the other, never a mix. `PRAGMA rekey` is
//! not used: it rewrites the pages in place, cannot encrypt an unencrypted database or
//! decrypt one, and SQLCipher 4 reports success even when the rewrite failed and was rolled
//! back.

use std::path::Path;

use rusqlite::Connection;

use super::key::{self, DatabaseKey};
use crate::error::{Error, Result};

/// Rewrites the database at `path`, opened with `from` (none: unencrypted), under `to`
/// (none: unencrypted). Needs the file to itself: no other connection may be open on it.
/// A wrong `from` fails with [`Error::WrongDatabaseKey`] before anything is written.
pub(crate) fn rewrite(path: &Path, from: Option<&DatabaseKey>, to: Option<&DatabaseKey>) -> Result<()> {
    remove_leftover(path)?;
    let rewritten = copy_and_rename(path, from, to);
    if rewritten.is_err() {
        // The original is complete; the half-written copy goes (or at the next open).
        remove_leftover(path).ok();
    }
    rewritten
}

fn copy_and_rename(path: &Path, from: Option<&DatabaseKey>, to: Option<&DatabaseKey>) -> Result<()> {
    let copy = copy_of(path);
    let copy_name = copy.to_str().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the database path is not valid UTF-8")
    })?;
    {
        let source = Connection::open(path)?;
        match from {
            Some(key) => key::apply(&source, key, path)?,
            // Unkeyed, a file that does not open is damaged (its error says so), not locked.
            None => {
                source.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get::<_, i64>(0))?;
            }
        }
        let to_literal = to.map(DatabaseKey::raw_literal);
        let to_text: &str = to_literal.as_ref().map_or("", |literal| literal.as_str());
        // Bound, not spliced: the key never becomes SQL text.
        source.execute("ATTACH DATABASE ?1 AS rekeyed KEY ?2", rusqlite::params![copy_name, to_text])?;
        source.query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(()))?;
        // The export copies tables, indexes and triggers, not the schema version.
        let version: i64 = source.pragma_query_value(None, "user_version", |row| row.get(0))?;
        source.pragma_update(Some("rekeyed"), "user_version", version)?;
        source.execute_batch("DETACH DATABASE rekeyed")?;
        // Everything into the main file, so that the WAL left beside it holds nothing.
        let busy: i64 = source.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy != 0 {
            return Err(Error::Database(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("another connection holds the database; it cannot be rewritten".into()),
            )));
        }
    }
    std::fs::File::open(&copy)?.sync_all()?;
    // The old WAL and shared-memory files describe the old file: they must not be read
    // against the new one. The WAL was checkpointed above, so nothing is lost with them.
    for companion in ["-wal", "-shm"] {
        remove_if_present(&super::suffixed(path, companion))?;
    }
    std::fs::rename(&copy, path)?;
    sync_folder_of(path)?;
    Ok(())
}

/// Where the copy of the database at `path` is written.
fn copy_of(path: &Path) -> std::path::PathBuf {
    super::suffixed(path, ".rekey")
}

/// Removes the copy left by a rewrite that did not finish (the database it was made from is
/// still complete: the rename is the last step), and the copy's journal: a hot journal left
/// beside a new copy would be played into it.
pub(crate) fn remove_leftover(path: &Path) -> Result<()> {
    let copy = copy_of(path);
    remove_if_present(&copy)?;
    for companion in ["-journal", "-wal", "-shm"] {
        remove_if_present(&super::suffixed(&copy, companion))?;
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Makes the rename durable (the folder's entry), where the platform allows opening a
/// folder.
fn sync_folder_of(path: &Path) -> Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(folder) {
        dir.sync_all()?;
    }
    Ok(())
}
