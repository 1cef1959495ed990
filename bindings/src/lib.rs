//! `fieldkit-ffi`: the thin uniffi layer through which Kotlin and Swift apps use the engine.
//!
//! For now it exposes opening the engine and reading the offline queue's status; the whole
//! rep day (login, tasks, check-ins, sync) follows as the bindings issue lands. Everything
//! here is a thin wrapper: the logic lives in `fieldkit-engine`.

// uniffi's generated scaffolding is `extern "C"` glue; this crate is the only place it lives.
#![allow(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

uniffi::setup_scaffolding!();

/// The error Kotlin sees as `FieldKitException` and Swift as `FieldKitError`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FieldKitError {
    /// The local database cannot be used (newer than this app, or unreadable).
    #[error("storage: {message}")]
    Storage {
        /// What went wrong, lower-case.
        message: String,
    },
    /// Anything else the engine refused.
    #[error("engine: {message}")]
    Engine {
        /// What went wrong, lower-case.
        message: String,
    },
}

impl From<fieldkit_engine::Error> for FieldKitError {
    fn from(e: fieldkit_engine::Error) -> Self {
        use fieldkit_engine::Error as E;
        match e {
            E::SchemaTooNew { .. } | E::Database(_) | E::Migration(_) | E::Io(_) | E::Corrupt { .. } => {
                FieldKitError::Storage { message: e.to_string() }
            }
            other => FieldKitError::Engine { message: other.to_string() },
        }
    }
}

/// The offline queue's counts, for the app's status line.
#[derive(Debug, Clone, uniffi::Record)]
pub struct QueueStatus {
    /// Items waiting to be pushed.
    pub pending: u64,
    /// Items the server refused for good.
    pub parked: u64,
    /// Device time of the last successful sync, Unix milliseconds.
    pub last_sync_ms: Option<i64>,
}

/// The engine, as the app holds it.
#[derive(uniffi::Object)]
pub struct FieldKit {
    inner: fieldkit_engine::FieldKit,
}

#[uniffi::export]
impl FieldKit {
    /// Opens the engine on the SQLite file at `db_path`; no network call is made.
    #[uniffi::constructor]
    pub fn open(db_path: String, server_url: String, org: String) -> Result<Arc<Self>, FieldKitError> {
        let config = fieldkit_engine::Config { db_path: PathBuf::from(db_path), server_url, org };
        Ok(Arc::new(Self { inner: fieldkit_engine::FieldKit::open(config)? }))
    }

    /// This installation's id.
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    /// The offline queue's counts.
    pub fn queue_status(&self) -> Result<QueueStatus, FieldKitError> {
        let status = self.inner.sync_status()?;
        Ok(QueueStatus {
            pending: status.outbox.pending,
            parked: status.outbox.parked,
            last_sync_ms: status.last_sync_ms,
        })
    }
}

/// The version of the FieldKit core library.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_on_a_fresh_file_reports_an_empty_queue() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f.db").to_string_lossy().into_owned();
        let kit = FieldKit::open(path, "http://127.0.0.1:9".into(), "acme".into()).expect("opens");
        let status = kit.queue_status().expect("status");
        assert_eq!((status.pending, status.parked, status.last_sync_ms), (0, 0, None));
        assert_eq!(kit.device_id().len(), 36);
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
}
