//! [`FieldKit`], the facade the apps call. This file: open, log in, sync and its status;
//! the rep's work is in the sibling modules (tasks, visits, forms).

mod approvals;
mod customer_view;
mod forms;
mod kb;
mod navigation;
mod orders;
mod photos;
mod planning;
mod proposals;
pub(crate) mod settings;
mod sop;
mod stock;
mod syncing;
mod task_flows;
mod tasks;
#[cfg(test)]
mod testkit;
mod tracking;
mod visits;
mod voice;

pub use approvals::{ApprovalRefusal, MyApproval};
pub use customer_view::{Customer360, VisitSummary};
pub use orders::OrderLineInput;
pub use planning::PlanOptions;
pub use sop::StepProblem;
pub use syncing::SyncStatus;
pub use task_flows::{TaskStepRefusal, TaskSteps};
pub use tracking::{MyDay, TrackIntake};
pub use visits::{CheckInInput, CheckedOut, VisitRefusal};

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use fieldkit_domain::clock::{EventTime, Hlc, HlcClock};
use fieldkit_domain::ids::DeviceId;
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::LoginRequest;
use rusqlite::Transaction;

use crate::blobs::BlobFiles;
use crate::error::{Error, Result};
use crate::photo::PhotoPipeline;
use crate::session::{self, Session};
use crate::signer::SharedSigner;
use crate::store::{DatabaseKey, Store, meta, parse_json, to_json};
use crate::sync::scheduler::{SyncObserver, Triggers};
use crate::sync::{HttpClient, SyncProgress};
use crate::time::ServerClock;

/// How to open the engine.
#[derive(Debug, Clone)]
pub struct Config {
    /// The SQLite file (created if missing).
    pub db_path: PathBuf,
    /// The sync server, e.g. `https://sync.example.com`.
    pub server_url: String,
    /// The org's login name on that server.
    pub org: String,
}

/// The engine: one per logged-in installation.
pub struct FieldKit {
    pub(crate) store: Store,
    blob_files: BlobFiles,
    client: HttpClient,
    org: String,
    device_id: DeviceId,
    actor: automerge::ActorId,
    clock: Mutex<HlcClock>,
    /// Held by the data part of a sync: two never run at once.
    sync_lock: tokio::sync::Mutex<()>,
    /// Held by blob uploads, apart from `sync_lock`, so that a long upload never holds back
    /// a data sync.
    blob_lock: Arc<tokio::sync::Mutex<()>>,
    /// The observer of the running schedule, with its ticket: it hears every sync.
    observer: Mutex<Option<(u64, Arc<dyn SyncObserver>)>>,
    /// The last ticket given to an observer.
    observer_tickets: AtomicU64,
    /// How far the running data sync has come.
    progress: Mutex<Option<SyncProgress>>,
    pub(crate) triggers: Triggers,
    server_clock: ServerClock,
    signer: SharedSigner,
    /// The photo pipeline, once the app has given it a font.
    photo_pipeline: RwLock<Option<Arc<PhotoPipeline>>>,
    /// Held from reading the photo chain head to storing the receipt that moves it, so that
    /// two photos never name the same previous receipt.
    photo_chain: Mutex<()>,
    /// When the engine was opened: receipts carry monotonic milliseconds since.
    opened: Instant,
}

impl FieldKit {
    /// Opens the engine on its database, signing photos with a software key kept there.
    /// Works offline: no network call is made.
    pub fn open(config: Config) -> Result<Self> {
        Self::open_with(config, None, None)
    }

    /// Opens the engine signing photos with the app's own key (a hardware key: Android
    /// Keystore, Secure Enclave). Its public key is registered at the next login.
    pub fn open_with_signer(config: Config, signer: SharedSigner) -> Result<Self> {
        Self::open_with(config, Some(signer), None)
    }

    /// Opens the engine on a database encrypted with `key` (SQLCipher), which the app keeps
    /// in the platform keystore and gives at every open.
    ///
    /// A missing file becomes a new encrypted database; an unencrypted one (from a release
    /// without encryption) is encrypted in place first, crash-safe. A key that does not open
    /// the existing file fails with [`Error::WrongDatabaseKey`], and the file is left exactly
    /// as it was (it is not taken for a damaged file). See [`Store::open_with_key`].
    pub fn open_encrypted(config: Config, key: &DatabaseKey) -> Result<Self> {
        Self::open_with(config, None, Some(key))
    }

    /// [`FieldKit::open_encrypted`], signing photos with the app's own key as
    /// [`FieldKit::open_with_signer`] does.
    pub fn open_encrypted_with_signer(
        config: Config,
        key: &DatabaseKey,
        signer: SharedSigner,
    ) -> Result<Self> {
        Self::open_with(config, Some(signer), Some(key))
    }

    fn open_with(config: Config, signer: Option<SharedSigner>, key: Option<&DatabaseKey>) -> Result<Self> {
        let store = Store::open_with_key(&config.db_path, key)?;
        let signer = match signer {
            Some(signer) => signer,
            None => Arc::new(crate::signer::software_key(&store)?),
        };
        let blob_files = BlobFiles::beside(&config.db_path);
        let client = HttpClient::new(&config.server_url)?;
        let (device_id, last_stamp) = store.write(|tx| {
            let device_id = match meta::get(tx, meta::DEVICE_ID)? {
                Some(text) => text
                    .parse::<DeviceId>()
                    .map_err(|e| Error::Corrupt { what: "device id", detail: e.to_string() })?,
                None => {
                    let id = DeviceId::new();
                    meta::set(tx, meta::DEVICE_ID, &id.to_string())?;
                    id
                }
            };
            let stamp: Option<Hlc> = meta::get(tx, meta::HLC)?.map(|s| parse_json("hlc", &s)).transpose()?;
            Ok((device_id, stamp))
        })?;
        let node = node_of(device_id);
        let clock = last_stamp.map_or_else(|| HlcClock::new(node), HlcClock::resume);
        tracing::info!(device = %device_id, "engine opened");
        Ok(Self {
            store,
            blob_files,
            client,
            org: config.org,
            device_id,
            actor: fieldkit_domain::docs::actor(device_id.as_uuid()),
            clock: Mutex::new(clock),
            sync_lock: tokio::sync::Mutex::new(()),
            blob_lock: Arc::new(tokio::sync::Mutex::new(())),
            observer: Mutex::new(None),
            observer_tickets: AtomicU64::new(0),
            progress: Mutex::new(None),
            triggers: Triggers::default(),
            server_clock: ServerClock::default(),
            signer,
            photo_pipeline: RwLock::new(None),
            photo_chain: Mutex::new(()),
            opened: Instant::now(),
        })
    }

    /// This installation's id.
    #[must_use]
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// Where a damaged database found at open was moved, if one was (it may hold unsynced
    /// work worth sending to support).
    #[must_use]
    pub fn recovered_database(&self) -> Option<&Path> {
        self.store.recovered_from()
    }

    /// Re-encrypts the phone database under `new_key` (`None`: unencrypted), while the engine
    /// stays open; other calls wait until it is done (it rewrites the whole file). Works from
    /// a key to another and from an unencrypted database to a key. A crash during the change
    /// leaves a file that opens with the old key or with the new one, so the app stores the
    /// new key in its keystore before calling and drops the old one only after this returns.
    pub fn change_database_key(&self, new_key: Option<&DatabaseKey>) -> Result<()> {
        self.store.change_key(new_key)?;
        tracing::info!(encrypted = new_key.is_some(), "database key changed");
        Ok(())
    }

    /// Logs in with a password and remembers the session, so later opens work offline.
    pub async fn login(&self, username: &str, password: &str) -> Result<User> {
        let request = LoginRequest {
            org: self.org.clone(),
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: self.device_id,
            device_key: Some(self.signer.public_key()),
        };
        let answer = self.client.login(&request).await?;
        let session = Session::from_answer(answer);
        self.store.write(|tx| session::save(tx, &session))?;
        Ok(session.user)
    }

    /// Forgets the session on this phone. Queued work stays queued and is pushed after the
    /// next login.
    pub fn logout(&self) -> Result<()> {
        self.store.write(|tx| meta::remove(tx, meta::SESSION))
    }

    /// The logged-in user, if any.
    pub fn current_user(&self) -> Result<Option<User>> {
        Ok(self.store.read(session::load)?.map(|s| s.user))
    }

    /// A local write: one transaction with the shared documents at hand, after which the
    /// schedule (if running) is told to sync soon.
    pub(crate) fn write_local<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &mut crate::store::docs::DocSession<'_>) -> Result<T>,
    ) -> Result<T> {
        let out = self.store.write_docs(&self.actor, f)?;
        self.triggers.local_write.notify_one();
        Ok(out)
    }

    /// Stamps an event at device time `now` and persists the clock in the same transaction.
    pub(crate) fn event_time(&self, tx: &Transaction<'_>, now: i64) -> Result<EventTime> {
        let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
        let hlc = clock.tick(now.unsigned_abs());
        meta::set(tx, meta::HLC, &to_json(&hlc))?;
        let offset = meta::get_i64(tx, meta::CLOCK_OFFSET_MS)?;
        let server_estimate_ms = self.server_clock.estimate(offset.map(|o| now.saturating_add(o)));
        Ok(EventTime { device_ms: now, hlc, server_estimate_ms })
    }
}

/// The HLC node of an installation: 64 bits of its device id.
fn node_of(device: DeviceId) -> u64 {
    let bytes = device.as_uuid().into_bytes();
    u64::from_be_bytes(bytes[8..16].try_into().expect("a uuid has 16 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &tempfile::TempDir) -> Config {
        Config {
            db_path: dir.path().join("phone.db"),
            server_url: "http://127.0.0.1:9".into(),
            org: "acme".into(),
        }
    }

    #[test]
    fn an_encrypted_engine_reopens_only_with_its_current_key_and_keeps_the_session() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, second) = (
            DatabaseKey::from_bytes(&[1; DatabaseKey::LEN]).expect("key"),
            DatabaseKey::from_bytes(&[2; DatabaseKey::LEN]).expect("key"),
        );
        let kit = FieldKit::open_encrypted(config(&dir), &first).expect("opens encrypted");
        let user = testkit::log_in(&kit, None);
        let device = kit.device_id();
        drop(kit);

        match FieldKit::open_encrypted(config(&dir), &second) {
            Err(Error::WrongDatabaseKey { file }) => assert_eq!(file, "phone.db"),
            Err(other) => panic!("wrong error: {other}"),
            Ok(_) => panic!("a wrong key must not open the engine"),
        }
        let kit = FieldKit::open_encrypted(config(&dir), &first).expect("the right key opens it");
        assert!(kit.recovered_database().is_none());
        assert_eq!(kit.device_id(), device);
        kit.change_database_key(Some(&second)).expect("key changed while open");
        assert_eq!(kit.current_user().expect("reads").map(|u| u.id), Some(user.id));
        drop(kit);

        assert!(matches!(
            FieldKit::open_encrypted(config(&dir), &first),
            Err(Error::WrongDatabaseKey { .. })
        ));
        let kit = FieldKit::open_encrypted(config(&dir), &second).expect("the new key opens it");
        assert_eq!(kit.current_user().expect("reads").map(|u| u.id), Some(user.id));
    }

    #[test]
    fn the_engine_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FieldKit>();
    }
}
