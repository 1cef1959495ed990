//! [`FieldKit`], the object the app holds: one per installation, opened on the app's
//! database file. Each method is a thin wrapper over `fieldkit_engine::FieldKit`: it checks
//! the arguments that cross the FFI as strings, calls the engine, and converts the answer.
//! This file: open, login, sync and tasks; the rest of the rep's day in the submodules.

mod approvals;
mod photos;
mod route;
mod sales;
mod sync;
mod task_flows;
mod tracking;
mod visits;
mod voice;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use fieldkit_domain::ids::TaskId;

use crate::error::FieldKitError;
use fieldkit_domain::model::{Task, TaskStatus, User};
use fieldkit_engine::{SyncReport, SyncStatus};

use crate::runtime::{guard, run_async};

/// The FieldKit engine: local database, offline queue and sync with the server.
///
/// Open it once when the app starts and keep it for the app's life; it is safe to use from
/// any thread. Every call works offline except `login` and `syncNow`. Blocking calls read or
/// write the local database (milliseconds); call them off the UI thread all the same.
#[derive(uniffi::Object)]
pub struct FieldKit {
    inner: Arc<fieldkit_engine::FieldKit>,
}

#[uniffi::export]
impl FieldKit {
    /// Opens the engine on the SQLite file at `db_path` (created if missing), syncing with
    /// the server at `server_url` (e.g. `https://sync.example.com`) for the org whose login
    /// name is `org`. No network call is made; a previous login is remembered.
    ///
    /// Fails with `Storage` if the file was written by a newer version of the app (update
    /// the app) or cannot be read, and with `InvalidInput` for a malformed `server_url`.
    #[uniffi::constructor]
    pub fn open(db_path: String, server_url: String, org: String) -> Result<Arc<Self>, FieldKitError> {
        guard(|| {
            let config = fieldkit_engine::Config { db_path: PathBuf::from(db_path), server_url, org };
            let inner = fieldkit_engine::FieldKit::open(config)?;
            Ok(Arc::new(Self { inner: Arc::new(inner) }))
        })
    }

    /// Opens the engine as `open` does, signing photos with the app's own key (Android
    /// Keystore, Secure Enclave) instead of a software key kept in the database. The key is
    /// registered with the server at the next login.
    ///
    /// Fails as `open` does, and with `InvalidInput` (`signer`) when the signer's public key
    /// is not a key of its scheme (or with what `publicKey` threw).
    #[uniffi::constructor]
    pub fn open_with_signer(
        db_path: String,
        server_url: String,
        org: String,
        signer: Arc<dyn crate::signer::PhotoSigner>,
    ) -> Result<Arc<Self>, FieldKitError> {
        guard(|| {
            let signer = crate::signer::ForeignSigner::new(signer)?;
            let config = fieldkit_engine::Config { db_path: PathBuf::from(db_path), server_url, org };
            let inner = fieldkit_engine::FieldKit::open_with_signer(config, Arc::new(signer))?;
            Ok(Arc::new(Self { inner: Arc::new(inner) }))
        })
    }

    /// Opens the engine as `open` does, on a database encrypted (SQLCipher, AES-256) with
    /// `key`: 32 random bytes the app creates once and keeps in the platform keystore
    /// (Android Keystore, iOS Keychain), and gives at every launch. A missing file becomes a
    /// new encrypted database; an unencrypted one (from an app release without encryption)
    /// is encrypted in place first, crash-safe.
    ///
    /// Fails with `WrongDatabaseKey` when the key does not open the existing file: the file
    /// is left exactly as it was (never moved aside as damaged); with `InvalidInput` (`key`)
    /// unless the key is 32 bytes; otherwise as `open` does.
    #[uniffi::constructor]
    pub fn open_encrypted(
        db_path: String,
        server_url: String,
        org: String,
        key: Vec<u8>,
    ) -> Result<Arc<Self>, FieldKitError> {
        guard(|| {
            let key = fieldkit_engine::DatabaseKey::take(key)?;
            let config = fieldkit_engine::Config { db_path: PathBuf::from(db_path), server_url, org };
            let inner = fieldkit_engine::FieldKit::open_encrypted(config, &key)?;
            Ok(Arc::new(Self { inner: Arc::new(inner) }))
        })
    }

    /// `openEncrypted` signing photos with the app's own key, as `openWithSigner` does.
    #[uniffi::constructor]
    pub fn open_encrypted_with_signer(
        db_path: String,
        server_url: String,
        org: String,
        key: Vec<u8>,
        signer: Arc<dyn crate::signer::PhotoSigner>,
    ) -> Result<Arc<Self>, FieldKitError> {
        guard(|| {
            let key = fieldkit_engine::DatabaseKey::take(key)?;
            let signer = crate::signer::ForeignSigner::new(signer)?;
            let config = fieldkit_engine::Config { db_path: PathBuf::from(db_path), server_url, org };
            let inner =
                fieldkit_engine::FieldKit::open_encrypted_with_signer(config, &key, Arc::new(signer))?;
            Ok(Arc::new(Self { inner: Arc::new(inner) }))
        })
    }

    /// Re-encrypts the phone database with `new_key` (32 bytes) while the engine stays open;
    /// other calls wait until it is done (it rewrites the whole file: about as long as
    /// copying it). Also encrypts a database opened with `open`. A crash during the change
    /// leaves a file that opens with the old key or with the new one: store the new key in
    /// the keystore before calling, and drop the old one only after this returns (try the
    /// new key first at the next launch, then the old one on `WrongDatabaseKey`).
    ///
    /// Fails with `InvalidInput` (`key`) unless the key is 32 bytes, `Storage` if the disk
    /// fails (the database then still opens with the old key).
    pub fn change_database_key(&self, new_key: Vec<u8>) -> Result<(), FieldKitError> {
        guard(|| {
            let key = fieldkit_engine::DatabaseKey::take(new_key)?;
            Ok(self.inner.change_database_key(Some(&key))?)
        })
    }

    /// This installation's id (a UUID), stable across launches.
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    /// Where the previous database was moved if it was found corrupt when this engine
    /// opened (a fresh one was started in its place); `null` when nothing was moved. The
    /// moved file is never deleted: it may hold work that was not synced, so the app should
    /// tell the user and offer to send it to support.
    pub fn recovered_database(&self) -> Option<String> {
        self.inner.recovered_database().map(|path| path.display().to_string())
    }

    /// Logs in with a username and password and remembers the session, so later launches
    /// work offline. Returns the user.
    ///
    /// Fails with `Unauthorized` for an unknown user or a wrong password, `Offline` when the
    /// server cannot be reached, `InvalidInput` for an empty username or password.
    pub async fn login(&self, username: String, password: String) -> Result<User, FieldKitError> {
        if username.trim().is_empty() {
            return Err(FieldKitError::invalid("username", "the username is empty"));
        }
        if password.is_empty() {
            return Err(FieldKitError::invalid("password", "the password is empty"));
        }
        let engine = Arc::clone(&self.inner);
        run_async(async move { Ok(engine.login(&username, &password).await?) }).await
    }

    /// Forgets the session on this phone. Queued work stays queued and is pushed after the
    /// next login.
    pub fn logout(&self) -> Result<(), FieldKitError> {
        guard(|| Ok(self.inner.logout()?))
    }

    /// The logged-in user, or `null`/`nil` if nobody is logged in. Works offline.
    pub fn current_user(&self) -> Result<Option<User>, FieldKitError> {
        guard(|| Ok(self.inner.current_user()?))
    }

    /// Pushes everything queued and pulls everything new, now. Concurrent calls wait for
    /// each other.
    ///
    /// Fails with `Offline` when the server cannot be reached (the queue keeps its items;
    /// retry later) and `Unauthorized` when nobody is logged in or the session expired.
    pub async fn sync_now(&self) -> Result<SyncReport, FieldKitError> {
        let engine = Arc::clone(&self.inner);
        run_async(async move { Ok(engine.sync_now().await?) }).await
    }

    /// The offline queue's counts and the time of the last successful sync. Works offline.
    pub fn queue_status(&self) -> Result<SyncStatus, FieldKitError> {
        guard(|| Ok(self.inner.sync_status()?))
    }

    /// The tasks assigned to the logged-in rep on this phone, soonest deadline first (as of
    /// the last sync). Works offline.
    pub fn my_tasks(&self) -> Result<Vec<Task>, FieldKitError> {
        guard(|| Ok(self.inner.my_tasks()?))
    }

    /// Moves a task forward (`status`) and/or replaces its notes (`notes`); a `null`/`nil`
    /// argument leaves that part as it is. Works offline: the change is queued and merged
    /// with the manager's edits at the next sync. Returns the task as it now stands.
    ///
    /// Fails with `InvalidInput` for a malformed id, `NotFound` if the task is not on this
    /// phone, `Refused` if the status would move back (e.g. from done to open).
    pub fn update_task(
        &self,
        task_id: String,
        status: Option<TaskStatus>,
        notes: Option<String>,
    ) -> Result<Task, FieldKitError> {
        guard(|| {
            let id: TaskId = task_id
                .parse()
                .map_err(|_| FieldKitError::invalid("task_id", format!("{task_id:?} is not a task id")))?;
            Ok(self.inner.update_task(id, status, notes)?)
        })
    }
}

/// Parses an id the app passed as text; `InvalidInput` naming `field` if it is not one.
pub(crate) fn parse_id<T: FromStr>(field: &str, text: &str) -> Result<T, FieldKitError> {
    text.parse().map_err(|_| FieldKitError::invalid(field, format!("{text:?} is not a valid id")))
}

/// Parses an optional id the app passed as text.
pub(crate) fn parse_opt_id<T: FromStr>(field: &str, text: Option<&str>) -> Result<Option<T>, FieldKitError> {
    text.map(|t| parse_id(field, t)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine over a fresh file in `dir`, its server never reached (also for the
    /// submodules' tests).
    pub(super) fn open_fresh(dir: &tempfile::TempDir) -> Arc<FieldKit> {
        let path = dir.path().join("f.db").to_string_lossy().into_owned();
        FieldKit::open(path, "http://127.0.0.1:9".into(), "acme".into()).expect("opens")
    }

    #[test]
    fn opening_on_a_fresh_file_reports_an_empty_queue_and_no_user() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kit = open_fresh(&dir);
        let status = kit.queue_status().expect("status");
        assert_eq!((status.outbox.pending, status.outbox.parked, status.last_sync_ms), (0, 0, None));
        assert_eq!(kit.device_id().len(), 36);
        assert_eq!(kit.current_user().expect("reads"), None);
        assert!(kit.my_tasks().expect("reads").is_empty());
    }

    #[test]
    fn a_database_from_a_newer_app_is_a_storage_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f.db");
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA user_version = 999;").expect("mark as newer");
        drop(conn);
        let err = FieldKit::open(path.to_string_lossy().into_owned(), "http://x".into(), "acme".into());
        assert!(matches!(err, Err(FieldKitError::Storage { .. })));
    }

    #[test]
    fn the_days_calls_name_a_malformed_id_and_need_a_login() {
        use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
        let dir = tempfile::tempdir().expect("temp dir");
        let kit = open_fresh(&dir);
        let fix = LocationFix {
            point: WgsPoint::new(31.23, 121.47).expect("on the globe"),
            accuracy_m: 10.0,
            fix_time_ms: 0,
            provider: LocationProvider::Gnss,
            is_mock: false,
        };
        let bad = kit.check_in("shop".into(), None, fix, None);
        assert!(matches!(bad, Err(FieldKitError::InvalidInput { ref field, .. }) if field == "customer_id"));
        let bad = kit.take_order(TaskId::new().to_string(), Some("v".into()), Vec::new(), None, None);
        assert!(matches!(bad, Err(FieldKitError::InvalidInput { ref field, .. }) if field == "visit_id"));
        let logged_out = kit.plan_my_day(fix.point, None);
        assert!(matches!(logged_out, Err(FieldKitError::Unauthorized { .. })), "{logged_out:?}");
        assert!(kit.search_kb("陈列".into(), 5).expect("searches").is_empty());
        assert!(kit.parked_items().expect("reads").is_empty());
    }

    #[test]
    fn an_encrypted_database_opens_only_with_its_key_and_a_wrong_key_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f.db");
        let open = |key: Vec<u8>| {
            FieldKit::open_encrypted(
                path.to_string_lossy().into_owned(),
                "http://127.0.0.1:9".into(),
                "acme".into(),
                key,
            )
        };
        let kit = open(vec![1; 32]).expect("opens encrypted");
        let device = kit.device_id();
        drop(kit);
        let before = std::fs::read(&path).expect("read");
        assert!(!before.starts_with(b"SQLite format 3"), "the file is encrypted");
        match open(vec![2; 32]) {
            Err(FieldKitError::WrongDatabaseKey { file }) => assert_eq!(file, "f.db"),
            Err(other) => panic!("wrong error: {other:?}"),
            Ok(_) => panic!("a wrong key must not open the database"),
        }
        assert_eq!(std::fs::read(&path).expect("read"), before, "the file is unchanged");
        assert!(
            matches!(open(vec![1; 16]), Err(FieldKitError::InvalidInput { ref field, .. }) if field == "key")
        );
        let kit = open(vec![1; 32]).expect("the right key opens it");
        assert_eq!(kit.device_id(), device);
        kit.change_database_key(vec![3; 32]).expect("rekeyed");
        drop(kit);
        assert!(matches!(open(vec![1; 32]), Err(FieldKitError::WrongDatabaseKey { .. })));
        assert_eq!(open(vec![3; 32]).expect("the new key opens it").device_id(), device);
    }

    #[test]
    fn a_malformed_task_id_is_invalid_input_and_an_unknown_one_is_not_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kit = open_fresh(&dir);
        let bad = kit.update_task("forty-two".into(), Some(TaskStatus::Done), None);
        assert!(matches!(bad, Err(FieldKitError::InvalidInput { ref field, .. }) if field == "task_id"));
        let unknown = kit.update_task(TaskId::new().to_string(), Some(TaskStatus::Done), None);
        assert!(matches!(unknown, Err(FieldKitError::NotFound { .. })), "{unknown:?}");
    }
}
