//! The on-device SQLite store: one writer and one reader connection over a WAL database.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions on the writer; reads use the reader, which
//! WAL lets run while a write is in progress. DAO functions live in one module per table
//! group: reads take a `&Connection`, writes take a `&Transaction`, so a caller composes
//! several writes (a fact, its projection and its outbox entry) into one transaction.

pub(crate) mod blobs;
pub(crate) mod docs;
pub(crate) mod facts;
pub mod kb;
pub(crate) mod meta;
pub(crate) mod outbox;
pub(crate) mod records;
mod schema;
pub(crate) mod tasks;
pub(crate) mod tracks;
pub(crate) mod visits;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

pub use schema::SCHEMA_VERSION;

/// The engine's database.
pub struct Store {
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    recovered_from: Option<PathBuf>,
}

/// The writer connection and the documents open in memory, locked together: a document is
/// only ever edited under the writer lock.
struct Writer {
    conn: Connection,
    docs: docs::DocCache,
}

impl Store {
    /// Opens the database at `path`, creating it or migrating it to the current schema.
    ///
    /// A file that is not a database or is damaged is moved aside (renamed, never deleted:
    /// it may hold unsynced work) and a fresh database takes its place; see
    /// [`Store::recovered_from`]. A database from a newer app version is refused with
    /// [`Error::SchemaTooNew`] and left untouched.
    pub fn open(path: &Path) -> Result<Self> {
        match Self::open_existing(path) {
            Err(e) if is_corruption(&e) => {
                let aside = move_aside(path)?;
                tracing::warn!(moved_to = %aside.display(), error = %e, "database is damaged; moved aside and starting fresh");
                let mut store = Self::open_existing(path)?;
                store.recovered_from = Some(aside);
                Ok(store)
            }
            other => other,
        }
    }

    fn open_existing(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        writer.busy_timeout(Duration::from_secs(5))?;
        writer.set_transaction_behavior(TransactionBehavior::Immediate);
        // First, so that a database from a newer build is refused before anything writes.
        schema::migrate(&mut writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk before the app is told the write succeeded.
        writer.pragma_update(None, "synchronous", "FULL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(Duration::from_secs(5))?;
        Ok(Self {
            writer: Mutex::new(Writer { conn: writer, docs: docs::DocCache::new() }),
            reader: Mutex::new(reader),
            recovered_from: None,
        })
    }

    /// A store over a fresh database in a new temp folder (kept while the folder lives), for
    /// unit tests.
    #[cfg(test)]
    pub(crate) fn temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("fieldkit.db")).expect("open");
        (dir, store)
    }

    /// Where a damaged database found at open was moved, if one was.
    #[must_use]
    pub fn recovered_from(&self) -> Option<&Path> {
        self.recovered_from.as_deref()
    }

    /// Runs `f` in one immediate write transaction; commits if it returns `Ok`.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = writer.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Like [`Store::write`], with the shared documents at hand: documents edited by `f`
    /// are saved by it in the transaction and stay open in memory only if it commits.
    pub(crate) fn write_docs<T>(
        &self,
        actor: &automerge::ActorId,
        f: impl FnOnce(&Transaction<'_>, &mut docs::DocSession<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Writer { conn, docs: cache } = &mut *guard;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut session = docs::DocSession::new(cache, actor.clone());
        let out = f(&tx, &mut session)?;
        tx.commit()?;
        session.committed();
        Ok(out)
    }

    /// How many shared documents are open in memory.
    pub fn open_documents(&self) -> usize {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner).docs.len()
    }

    /// Runs `f` on the reader connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }
}

fn is_corruption(e: &Error) -> bool {
    let sqlite = match e {
        Error::Database(e) => e,
        Error::Migration(rusqlite_migration::Error::RusqliteError { err, .. }) => err,
        _ => return false,
    };
    matches!(
        sqlite.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Renames the database (and its WAL and shared-memory files) to `<name>.corrupt-<ms>`.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let stamp = crate::time::now_ms();
    let aside = suffixed(path, &format!(".corrupt-{stamp}"));
    std::fs::rename(path, &aside)?;
    for companion in ["-wal", "-shm"] {
        let from = suffixed(path, companion);
        if from.exists() {
            std::fs::rename(&from, suffixed(&aside, companion))?;
        }
    }
    Ok(aside)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads a JSON body stored by this engine.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(what: &'static str, body: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| Error::Corrupt { what, detail: e.to_string() })
}

/// Encodes a value for storage.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_database_is_moved_aside_and_a_fresh_one_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        std::fs::write(&path, b"this is not sqlite, but it may be someone's unsynced work".repeat(100))
            .expect("write");
        let store = Store::open(&path).expect("opens after moving the damaged file aside");
        let aside = store.recovered_from().expect("reports the move").to_path_buf();
        assert!(aside.exists(), "the damaged file is kept");
        assert!(std::fs::read(&aside).expect("read").starts_with(b"this is not sqlite"));
        let version: i64 =
            store.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?)).expect("read");
        assert_eq!(version, i64::try_from(SCHEMA_VERSION).expect("small"));
    }

    #[test]
    fn a_database_from_a_newer_app_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 999;").expect("set up");
        }
        let before = std::fs::read(&path).expect("read");
        match Store::open(&path) {
            Err(Error::SchemaTooNew { found, supported }) => {
                assert_eq!(found, 999);
                assert_eq!(supported, SCHEMA_VERSION);
            }
            Err(other) => panic!("wrong error: {other}"),
            Ok(_) => panic!("a newer database must be refused"),
        }
        assert_eq!(std::fs::read(&path).expect("read"), before);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
            .collect();
        assert!(leftovers.is_empty(), "a newer database is not treated as damaged");
    }

    #[test]
    fn a_failed_write_transaction_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("fieldkit.db")).expect("open");
        let result: Result<()> = store.write(|tx| {
            meta::set(tx, "probe", "1")?;
            Err(Error::NotLoggedIn)
        });
        assert!(result.is_err());
        assert_eq!(store.read(|c| meta::get(c, "probe")).expect("read"), None);
    }
}
