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
mod task_flows;
mod tasks;
mod tracking;
mod visits;

pub use approvals::{ApprovalRefusal, MyApproval};
pub use customer_view::{Customer360, VisitSummary};
pub use orders::OrderLineInput;
pub use planning::PlanOptions;
pub use sop::StepProblem;
pub use task_flows::{TaskStepRefusal, TaskSteps};
pub use tracking::{MyDay, TrackIntake};
pub use visits::{CheckInInput, CheckedOut, VisitRefusal};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use fieldkit_domain::clock::{EventTime, Hlc, HlcClock};
use fieldkit_domain::ids::{DeviceId, FactId};
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::{LoginRequest, RecordKind};
use rusqlite::Transaction;

use crate::blobs::BlobFiles;
use crate::error::{Error, Result};
use crate::photo::PhotoPipeline;
use crate::session::{self, Session};
use crate::signer::SharedSigner;
use crate::store::outbox::{OutboxStats, ParkedItem};
use crate::store::{Store, facts, meta, outbox, parse_json, to_json};
use crate::sync::scheduler::{self, ScheduleConfig, ScheduleHandle, SyncObserver, Triggers};
use crate::sync::{self, HttpClient, SyncReport};
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

/// Where sync stands, for the app's status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    /// The offline queue's counts.
    pub outbox: OutboxStats,
    /// Device time of the last successful sync, Unix milliseconds.
    pub last_sync_ms: Option<i64>,
    /// Server time minus device time at the last sync, in milliseconds.
    pub clock_offset_ms: Option<i64>,
    /// Blobs (photos, voice notes) still to upload.
    pub blobs_pending: u64,
    /// Blobs the server refused for good.
    pub blobs_parked: u64,
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
    sync_lock: tokio::sync::Mutex<()>,
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
        Self::open_with(config, None)
    }

    /// Opens the engine signing photos with the app's own key (a hardware key: Android
    /// Keystore, Secure Enclave). Its public key is registered at the next login.
    pub fn open_with_signer(config: Config, signer: SharedSigner) -> Result<Self> {
        Self::open_with(config, Some(signer))
    }

    fn open_with(config: Config, signer: Option<SharedSigner>) -> Result<Self> {
        let store = Store::open(&config.db_path)?;
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
        let session =
            Session { token: answer.token, expires_at_ms: answer.expires_at_ms, user: answer.user.clone() };
        self.store.write(|tx| session::save(tx, &session))?;
        Ok(answer.user)
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

    /// Pushes everything queued and pulls everything new, now, then uploads queued blobs
    /// (a blob that fails waits for its retry and does not fail the sync). Concurrent calls
    /// wait for each other: two syncs never run at once.
    pub async fn sync_now(&self) -> Result<SyncReport> {
        self.sync(sync::Due::All).await
    }

    /// Starts syncing on its own (after local writes, periodically, on retries and when
    /// the network comes back), reporting to `observer`; it stops when the handle is dropped.
    /// Needs a tokio runtime.
    pub fn start_sync_schedule(
        self: &Arc<Self>,
        config: ScheduleConfig,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> ScheduleHandle {
        scheduler::start(Arc::clone(self), config, observer)
    }

    /// Tells the engine the network is back: queued work is retried at once.
    pub fn network_available(&self) {
        self.triggers.network_back.notify_one();
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

    pub(crate) async fn sync(&self, due: sync::Due) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        self.flush_track(session.user.id)?;
        let mut report =
            sync::run(&self.store, &self.client, &session, self.device_id, due, &self.server_clock).await?;
        if due == sync::Due::All {
            self.store.write(crate::store::blobs::retry_now)?;
        }
        match crate::blobs::upload(&self.store, &self.blob_files, &self.client, &session.token, None).await {
            Ok(blobs) => report.blobs = blobs,
            Err(e) => tracing::warn!(error = %e, "blob uploads stopped; they resume at the next sync"),
        }
        Ok(report)
    }

    /// Where sync stands: what waits, what was refused, when it last succeeded.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.store.read(|conn| {
            let (blobs_pending, blobs_parked) = crate::store::blobs::counts(conn)?;
            Ok(SyncStatus {
                outbox: outbox::stats(conn)?,
                last_sync_ms: meta::get_i64(conn, meta::LAST_SYNC_MS)?,
                clock_offset_ms: meta::get_i64(conn, meta::CLOCK_OFFSET_MS)?,
                blobs_pending,
                blobs_parked,
            })
        })
    }

    /// The items the server refused for good, with its reasons.
    pub fn parked_items(&self) -> Result<Vec<ParkedItem>> {
        self.store.read(outbox::parked)
    }

    /// Whether the server has every local change to a shared document (task, visit, form
    /// response); `None` if this phone has no such document.
    pub fn is_document_synced(&self, kind: RecordKind, id: uuid::Uuid) -> Result<Option<bool>> {
        self.store.read(|conn| {
            if crate::store::docs::state(conn, kind, id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(!outbox::contains(conn, &id.to_string())?))
        })
    }

    /// How many shared documents are open in memory (the rest stay in SQLite until used).
    #[must_use]
    pub fn open_documents(&self) -> usize {
        self.store.open_documents()
    }

    /// Whether the server has acknowledged a fact; `None` if this phone has no such fact.
    pub fn is_synced(&self, id: FactId) -> Result<Option<bool>> {
        self.store.read(|conn| facts::is_synced(conn, id))
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

    #[test]
    fn the_engine_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FieldKit>();
    }
}
