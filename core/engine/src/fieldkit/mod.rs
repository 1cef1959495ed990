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
pub use task_flows::{TaskStepRefusal, TaskSteps};
pub use tracking::{MyDay, TrackIntake};
pub use visits::{CheckInInput, CheckedOut, VisitRefusal};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use fieldkit_domain::clock::{EventTime, Hlc, HlcClock};
use fieldkit_domain::ids::{DeviceId, FactId};
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::{LoginRequest, RecordKind};
use rusqlite::Transaction;

use crate::blobs::{BlobFiles, BlobReport};
use crate::error::{Error, Result};
use crate::photo::PhotoPipeline;
use crate::session::{self, Session};
use crate::signer::SharedSigner;
use crate::store::outbox::{OutboxStats, ParkedItem};
use crate::store::{Store, facts, meta, outbox, parse_json, to_json};
use crate::sync::scheduler::{self, ScheduleConfig, ScheduleHandle, SyncObserver, SyncState, Triggers};
use crate::sync::{self, HttpClient, SyncProgress, SyncReport};
use crate::time::{ClockSample, ServerClock, now_ms};

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
    /// Server time minus device time, in milliseconds, from the sync that bounded it best
    /// lately (the smallest round trip, refreshed hourly and whenever a clock moves).
    pub clock_offset_ms: Option<i64>,
    /// How far the true offset may be from `clock_offset_ms`: half the round trip that
    /// measured it, in milliseconds.
    pub clock_uncertainty_ms: Option<i64>,
    /// Blobs (photos, voice notes) still to upload.
    pub blobs_pending: u64,
    /// Blobs the server refused for good.
    pub blobs_parked: u64,
    /// How far the sync running now has come (`None` when none runs).
    pub progress: Option<SyncProgress>,
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
    /// wait for each other: two data syncs never run at once. Blob uploads do not hold
    /// back the next data sync: if uploads are already running, this call leaves its
    /// blobs to them and says so (`blobs_running`). While a schedule runs, its observer
    /// hears this sync too.
    pub async fn sync_now(&self) -> Result<SyncReport> {
        self.sync(sync::Due::All).await
    }

    /// Starts syncing on its own (after local writes, periodically, on retries and when
    /// the network comes back); it stops when the handle is dropped. Until then `observer`
    /// hears every sync (scheduled, or asked for with [`FieldKit::sync_now`]): states,
    /// progress after each round trip, and reports. Needs a tokio runtime.
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

    /// Makes `observer` hear every sync; returns its ticket for [`Self::forget_observer`].
    pub(crate) fn observe(&self, observer: Arc<dyn SyncObserver>) -> u64 {
        let ticket = self.observer_tickets.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = Some((ticket, observer));
        ticket
    }

    /// Stops the observer of `ticket` hearing syncs (a later observer stays).
    pub(crate) fn forget_observer(&self, ticket: u64) {
        let mut slot = self.observer.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|(t, _)| *t == ticket) {
            *slot = None;
        }
    }

    fn current_observer(&self) -> Option<Arc<dyn SyncObserver>> {
        self.observer.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|(_, o)| Arc::clone(o))
    }

    /// One sync, blob uploads inline.
    pub(crate) async fn sync(&self, due: sync::Due) -> Result<SyncReport> {
        self.sync_with(due, None).await
    }

    /// One sync: the data part under `sync_lock`, then blob uploads under `blob_lock` if
    /// none run yet (inline, or in the background on `background` when given). The
    /// observer, if any, hears it all.
    pub(crate) async fn sync_with(
        &self,
        due: sync::Due,
        background: Option<&Arc<Self>>,
    ) -> Result<SyncReport> {
        let observer = self.current_observer();
        let result = match self.sync_data(due, observer.as_deref()).await {
            Ok(mut report) => self.sync_blobs(due, &mut report, background).await.map(|()| report),
            Err(e) => Err(e),
        };
        if let Some(o) = &observer {
            match &result {
                Ok(report) => {
                    o.on_report(*report);
                    o.on_state(SyncState::Idle);
                }
                Err(e) if e.is_retryable() => o.on_state(SyncState::Offline { reason: e.to_string() }),
                Err(e) => o.on_state(SyncState::Failed { reason: e.to_string() }),
            }
        }
        result
    }

    async fn sync_data(&self, due: sync::Due, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().await;
        if let Some(o) = observer {
            o.on_state(SyncState::Syncing);
        }
        let session = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?;
        self.flush_track(session.user.id)?;
        self.set_progress(Some(SyncProgress::default()));
        // Cleared however the sync ends, also when its future is dropped mid-flight.
        let _clear = ClearProgress(&self.progress);
        let on_progress = |progress: SyncProgress| {
            self.set_progress(Some(progress));
            if let Some(o) = observer {
                o.on_progress(progress);
            }
        };
        sync::run(&self.store, &self.client, &session, self.device_id, due, &self.server_clock, &on_progress)
            .await
    }

    fn set_progress(&self, progress: Option<SyncProgress>) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = progress;
    }

    /// Uploads queued blobs unless uploads already run (then they pick these up).
    async fn sync_blobs(
        &self,
        due: sync::Due,
        report: &mut SyncReport,
        background: Option<&Arc<Self>>,
    ) -> Result<()> {
        if due == sync::Due::All {
            self.store.write(crate::store::blobs::retry_now)?;
        }
        let Ok(guard) = Arc::clone(&self.blob_lock).try_lock_owned() else {
            tracing::debug!("blob uploads already running; they take the new blobs");
            report.blobs_running = true;
            return Ok(());
        };
        match background {
            Some(kit) if self.blobs_due()? => {
                let kit = Arc::clone(kit);
                report.blobs_running = true;
                tokio::spawn(async move {
                    let _one_upload_at_a_time = guard;
                    let blobs = kit.upload_queued_blobs().await;
                    tracing::debug!(?blobs, "background blob uploads done");
                });
            }
            Some(_) => {}
            None => {
                let _one_upload_at_a_time = guard;
                report.blobs = self.upload_queued_blobs().await;
            }
        }
        Ok(())
    }

    /// Whether a queued blob is due now.
    fn blobs_due(&self) -> Result<bool> {
        let next = self.store.read(crate::store::blobs::next_due_ms)?;
        Ok(next.is_some_and(|at| at <= now_ms()))
    }

    /// Uploads due blobs until none is due, also those queued while it runs. The caller
    /// holds `blob_lock`. Failures wait for their retry and end the round.
    async fn upload_queued_blobs(&self) -> BlobReport {
        let mut total = BlobReport::default();
        loop {
            let session = match self.store.read(session::load) {
                Ok(Some(session)) => session,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the session for blob uploads");
                    break;
                }
            };
            match crate::blobs::upload(&self.store, &self.blob_files, &self.client, &session.token, None)
                .await
            {
                Ok(round) => {
                    total.completed += round.completed;
                    total.skipped += round.skipped;
                    total.bytes_sent += round.bytes_sent;
                    total.failed += round.failed;
                    total.parked += round.parked;
                    if round.failed > 0 || round.completed + round.skipped + round.parked == 0 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "blob uploads stopped; they resume at the next sync");
                    break;
                }
            }
            // Blobs queued while this round ran (their syncs found it running) go now.
            if !self.blobs_due().unwrap_or(false) {
                break;
            }
        }
        total
    }

    /// Where sync stands: what waits, what was refused, when it last succeeded.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.store.read(|conn| {
            let (blobs_pending, blobs_parked) = crate::store::blobs::counts(conn)?;
            let rtt = meta::get_i64(conn, meta::CLOCK_RTT_MS)?;
            Ok(SyncStatus {
                outbox: outbox::stats(conn)?,
                last_sync_ms: meta::get_i64(conn, meta::LAST_SYNC_MS)?,
                clock_offset_ms: meta::get_i64(conn, meta::CLOCK_OFFSET_MS)?,
                clock_uncertainty_ms: rtt.map(|rtt_ms| ClockSample { value_ms: 0, rtt_ms }.bound_ms()),
                blobs_pending,
                blobs_parked,
                progress: *self.progress.lock().unwrap_or_else(PoisonError::into_inner),
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
                // A closed document dropped its state once the server had all of it.
                return Ok(crate::store::docs::is_closed(conn, kind, id)?.then_some(true));
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

/// Clears the running sync's progress when dropped.
struct ClearProgress<'a>(&'a Mutex<Option<SyncProgress>>);

impl Drop for ClearProgress<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
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
