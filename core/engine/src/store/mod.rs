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
pub(crate) mod key;
pub(crate) mod meta;
pub(crate) mod outbox;
pub(crate) mod records;
mod rekey;
mod schema;
pub(crate) mod tasks;
pub(crate) mod tracks;
pub(crate) mod visits;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

pub use key::DatabaseKey;
pub use schema::SCHEMA_VERSION;

/// The engine's database.
pub struct Store {
    // The reader before the writer: fields drop in order, and the last connection to close
    // (the writer, which can) checkpoints the WAL into the file and removes it.
    reader: Mutex<Connection>,
    writer: Mutex<Writer>,
    path: PathBuf,
    recovered_from: Option<PathBuf>,
}

/// The writer connection and the documents open in memory, locked together: a document is
/// only ever edited under the writer lock. The key changes under it too.
struct Writer {
    conn: Connection,
    docs: docs::DocCache,
    key: Option<DatabaseKey>,
}

impl Store {
    /// Opens the unencrypted database at `path`, creating it or migrating it to the current
    /// schema.
    ///
    /// A file that is not a database or is damaged is moved aside (renamed, never deleted:
    /// it may hold unsynced work) and a fresh database takes its place; see
    /// [`Store::recovered_from`]. A database from a newer app version is refused with
    /// [`Error::SchemaTooNew`] and left untouched. An encrypted database opened without its
    /// key cannot be told from a damaged file, and is moved aside the same way: an app that
    /// encrypts opens with [`Store::open_with_key`] every time.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_key(path, None)
    }

    /// Opens the database at `path` as [`Store::open`] does, encrypted with `key` (SQLCipher)
    /// when one is given; every connection is keyed before anything else runs.
    ///
    /// With a key:
    /// - a missing or empty file becomes a new encrypted database;
    /// - an existing file the key does not open fails with [`Error::WrongDatabaseKey`] and
    ///   is left byte for byte as it was: it is never taken for a damaged file and moved
    ///   aside (an encrypted file opened with the wrong key and a damaged one look the same);
    /// - an unencrypted database (an app upgrading from a release without encryption) is
    ///   encrypted in place first, crash-safe: the encrypted copy is written beside it and
    ///   renamed over it once complete, so a crash leaves either the old file or the new one.
    ///
    /// Damage found after the key has opened the file is recovered as without a key.
    pub fn open_with_key(path: &Path, key: Option<&DatabaseKey>) -> Result<Self> {
        match Self::open_keyed(path, key) {
            Err(e) if is_corruption(&e) => {
                let aside = move_aside(path)?;
                tracing::warn!(moved_to = %aside.display(), error = %e, "database is damaged; moved aside and starting fresh");
                let mut store = Self::open_keyed(path, key)?;
                store.recovered_from = Some(aside);
                Ok(store)
            }
            other => other,
        }
    }

    fn open_keyed(path: &Path, key: Option<&DatabaseKey>) -> Result<Self> {
        // A copy left by a rewrite that did not finish: the file it was made from is still
        // complete (the rename is the last step), so the copy is dropped.
        rekey::remove_leftover(path)?;
        if let Some(key) = key
            && key::is_plain_database(path)?
        {
            rekey::rewrite(path, None, Some(key))?;
            tracing::info!("unencrypted database encrypted in place");
        }
        Self::open_existing(path, key)
    }

    fn open_existing(path: &Path, key: Option<&DatabaseKey>) -> Result<Self> {
        if let Some(key) = key {
            probe_key(path, key)?;
        }
        let mut writer = Connection::open(path)?;
        if let Some(key) = key {
            key::apply(&writer, key, path)?;
        }
        writer.busy_timeout(Duration::from_secs(5))?;
        // The migration's transaction too.
        writer.set_transaction_behavior(TransactionBehavior::Immediate);
        // First, so that a database from a newer build is refused before anything writes.
        schema::migrate(&mut writer)?;
        configure_writer(&writer)?;
        let reader = open_reader(path, key)?;
        Ok(Self {
            writer: Mutex::new(Writer { conn: writer, docs: docs::DocCache::new(), key: key.cloned() }),
            reader: Mutex::new(reader),
            path: path.to_owned(),
            recovered_from: None,
        })
    }

    /// Re-encrypts the database under `new_key` (`None`: unencrypted), while it stays open:
    /// reads and writes wait until it is done. Works from a key to another, from no key to a
    /// key and back. The file is rewritten beside itself and renamed over the old one once
    /// complete, so a crash during the change leaves a file that opens with the old key or
    /// with the new one: the app keeps both until this returns.
    pub fn change_key(&self, new_key: Option<&DatabaseKey>) -> Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.key.is_none() && new_key.is_none() {
            return Ok(());
        }
        let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        // The rewrite needs the file to itself: both connections are closed for its length
        // (stand-ins in memory hold their places) and reopened after it.
        drop(std::mem::replace(&mut *reader, Connection::open_in_memory()?));
        drop(std::mem::replace(&mut writer.conn, Connection::open_in_memory()?));
        let rewritten = rekey::rewrite(&self.path, writer.key.as_ref(), new_key);
        let key = if rewritten.is_ok() { new_key.cloned() } else { writer.key.clone() };
        let key = key.as_ref();
        let mut conn = Connection::open(&self.path)?;
        if let Some(key) = key {
            key::apply(&conn, key, &self.path)?;
        }
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        configure_writer(&conn)?;
        *reader = open_reader(&self.path, key)?;
        writer.conn = conn;
        writer.key = key.cloned();
        rewritten
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
        let Writer { conn, docs: cache, .. } = &mut *guard;
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

/// The writer's journal and safety settings, once the schema is current.
fn configure_writer(writer: &Connection) -> Result<()> {
    writer.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before the app is told the write succeeded.
    writer.pragma_update(None, "synchronous", "FULL")?;
    writer.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Tries `key` on an existing file over a read-only connection, before any connection that
/// could write opens it: a read-write connection closing last would checkpoint a WAL left by
/// a crash into the file even when its key was wrong. [`Error::WrongDatabaseKey`] if the
/// key does not open the file; nothing to try on a missing or empty file.
fn probe_key(path: &Path, key: &DatabaseKey) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {}
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let probe = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    key::apply(&probe, key, path)
}

/// The read-only connection, keyed like the writer.
fn open_reader(path: &Path, key: Option<&DatabaseKey>) -> Result<Connection> {
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if let Some(key) = key {
        key::apply(&reader, key, path)?;
    }
    reader.busy_timeout(Duration::from_secs(5))?;
    Ok(reader)
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

    fn key(byte: u8) -> DatabaseKey {
        DatabaseKey::from_bytes(&[byte; DatabaseKey::LEN]).expect("32 bytes")
    }

    fn sha256(path: &Path) -> Vec<u8> {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(path).expect("read")).to_vec()
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    const CANARY: &str = "canary 门店 Shanghai Road 88";

    #[test]
    fn an_encrypted_database_has_no_sqlite_header_and_none_of_the_text_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let store = Store::open_with_key(&path, Some(&key(1))).expect("creates an encrypted database");
        store.write(|tx| meta::set(tx, "probe", CANARY)).expect("write");
        assert_eq!(store.read(|c| meta::get(c, "probe")).expect("read").as_deref(), Some(CANARY));
        // The WAL is read while the store is open, the main file after it closed.
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.extend(std::fs::read(suffixed(&path, "-wal")).expect("read the wal"));
        drop(store);
        bytes.extend(std::fs::read(&path).expect("read"));
        assert!(!bytes.starts_with(key::PLAIN_HEADER), "an encrypted file starts with its salt");
        assert!(!contains(&bytes, b"SQLite format 3"));
        assert!(!contains(&bytes, CANARY.as_bytes()), "the text written is not in the file");
        assert!(!contains(&bytes, b"CREATE TABLE"), "nor is the schema");
    }

    #[test]
    fn a_wrong_key_is_refused_by_name_and_leaves_the_file_byte_for_byte() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let store = Store::open_with_key(&path, Some(&key(1))).expect("open");
        store.write(|tx| meta::set(tx, "probe", CANARY)).expect("write");
        // As if the app was killed: the last write is still in the WAL, not in the file.
        std::mem::forget(store);
        assert!(suffixed(&path, "-wal").exists());
        let (before, files_before) = (sha256(&path), names_in(dir.path()));
        let wal_before = sha256(&suffixed(&path, "-wal"));
        for attempt in 0..2 {
            match Store::open_with_key(&path, Some(&key(2))) {
                Err(Error::WrongDatabaseKey { file }) => assert_eq!(file, "fieldkit.db"),
                Err(other) => panic!("attempt {attempt}: wrong error: {other}"),
                Ok(_) => panic!("attempt {attempt}: a wrong key must not open the database"),
            }
        }
        assert_eq!(sha256(&path), before, "the file is unchanged");
        assert_eq!(sha256(&suffixed(&path, "-wal")), wal_before, "and so is its WAL");
        assert_eq!(names_in(dir.path()), files_before, "nothing moved aside, nothing created");
        let store = Store::open_with_key(&path, Some(&key(1))).expect("the right key still opens it");
        assert!(store.recovered_from().is_none());
        assert_eq!(store.read(|c| meta::get(c, "probe")).expect("read").as_deref(), Some(CANARY));
    }

    #[test]
    fn the_wrong_key_message_shows_the_file_name_and_no_key_bytes() {
        let err = Error::WrongDatabaseKey { file: "fieldkit.db".into() };
        assert_eq!(err.to_string(), "the database key does not open fieldkit.db");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        drop(Store::open_with_key(&path, Some(&key(0xAB))).expect("open"));
        let Err(err) = Store::open_with_key(&path, Some(&key(0xCD))) else { panic!("must fail") };
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("CD") && !shown.contains("cd") && !shown.contains("205"), "{shown}");
    }

    #[test]
    fn after_a_key_change_only_the_new_key_opens_and_the_data_is_intact() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let store = Store::open_with_key(&path, Some(&key(1))).expect("open");
        store.write(|tx| meta::set(tx, "before", "1")).expect("write");
        store.change_key(Some(&key(2))).expect("rekeyed while open");
        store.write(|tx| meta::set(tx, "after", "2")).expect("writes after the change");
        assert_eq!(store.read(|c| meta::get(c, "before")).expect("read").as_deref(), Some("1"));
        drop(store);
        assert!(matches!(Store::open_with_key(&path, Some(&key(1))), Err(Error::WrongDatabaseKey { .. })));
        let store = Store::open_with_key(&path, Some(&key(2))).expect("the new key opens it");
        assert_eq!(store.read(|c| meta::get(c, "before")).expect("read").as_deref(), Some("1"));
        assert_eq!(store.read(|c| meta::get(c, "after")).expect("read").as_deref(), Some("2"));
        assert!(!names_in(dir.path()).iter().any(|n| n.contains("rekey")), "{:?}", names_in(dir.path()));
    }

    #[test]
    fn an_unencrypted_database_opened_with_a_key_is_encrypted_in_place_with_its_data() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let store = Store::open(&path).expect("an unencrypted database, as an older release made");
        store.write(|tx| meta::set(tx, "probe", CANARY)).expect("write");
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO kb_fts (id, title, body, tags) VALUES ('a1', '陈列标准', 'shelf rules', '')",
                    [],
                )?;
                Ok(())
            })
            .expect("index an article");
        drop(store);
        assert!(key::is_plain_database(&path).expect("read"));

        let store = Store::open_with_key(&path, Some(&key(1))).expect("encrypted on open");
        assert!(store.recovered_from().is_none(), "an unencrypted database is not damage");
        assert_eq!(store.read(|c| meta::get(c, "probe")).expect("read").as_deref(), Some(CANARY));
        let hit: String = store
            .read(|c| Ok(c.query_row("SELECT id FROM kb_fts WHERE kb_fts MATCH '陈列标'", [], |r| r.get(0))?))
            .expect("the full-text index survives");
        assert_eq!(hit, "a1");
        let version: i64 =
            store.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?)).expect("read");
        assert_eq!(version, i64::try_from(SCHEMA_VERSION).expect("small"));
        let check: String =
            store.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).expect("check");
        assert_eq!(check, "ok");
        // A write opens the WAL on the writer, which then removes it when the store closes.
        store.write(|tx| meta::set(tx, "after", "1")).expect("writes");
        drop(store);
        let bytes = std::fs::read(&path).expect("read");
        assert!(!bytes.starts_with(key::PLAIN_HEADER));
        assert!(!contains(&bytes, CANARY.as_bytes()));
        assert_eq!(names_in(dir.path()), vec!["fieldkit.db".to_owned()], "no copy or old WAL left");
    }

    #[test]
    fn a_key_can_be_added_to_an_open_unencrypted_database_and_removed_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let store = Store::open(&path).expect("open");
        store.write(|tx| meta::set(tx, "probe", CANARY)).expect("write");
        store.change_key(Some(&key(3))).expect("encrypted while open");
        drop(store);
        assert!(!key::is_plain_database(&path).expect("read"));
        let store = Store::open_with_key(&path, Some(&key(3))).expect("opens with the key");
        store.change_key(None).expect("decrypted");
        drop(store);
        assert!(key::is_plain_database(&path).expect("read"));
        let store = Store::open(&path).expect("opens without a key");
        assert_eq!(store.read(|c| meta::get(c, "probe")).expect("read").as_deref(), Some(CANARY));
    }

    #[test]
    fn a_copy_left_by_an_interrupted_key_change_is_dropped_and_the_old_key_still_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fieldkit.db");
        let store = Store::open_with_key(&path, Some(&key(1))).expect("open");
        store.write(|tx| meta::set(tx, "probe", CANARY)).expect("write");
        drop(store);
        // As if the app died while the copy under the new key was being written.
        std::fs::write(suffixed(&path, ".rekey"), b"half a copy").expect("write");
        std::fs::write(suffixed(&path, ".rekey-journal"), b"its journal").expect("write");
        let store = Store::open_with_key(&path, Some(&key(1))).expect("the old key opens it");
        assert_eq!(store.read(|c| meta::get(c, "probe")).expect("read").as_deref(), Some(CANARY));
        assert!(!names_in(dir.path()).iter().any(|n| n.contains("rekey")), "{:?}", names_in(dir.path()));
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
