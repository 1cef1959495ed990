//! Syncing, as the facade offers it: a sync now or on the schedule, the data part under
//! one lock (two never run at once) and blob uploads under their own (a long upload never
//! holds back the next data sync), the observer that hears every sync, and where sync
//! stands for the app (the queue, the clock, what is synced, the running sync's progress).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use fieldkit_domain::ids::FactId;
use fieldkit_domain::protocol::RecordKind;

use super::FieldKit;
use crate::blobs::BlobReport;
use crate::error::{Error, Result};
use crate::session;
use crate::store::outbox::{self, OutboxStats, ParkedItem};
use crate::store::{facts, meta};
use crate::sync::scheduler::{self, ScheduleConfig, ScheduleHandle, SyncObserver, SyncState};
use crate::sync::{self, SyncProgress, SyncReport};
use crate::time::{ClockSample, now_ms};

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

impl FieldKit {
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
        let session =
            session::refresh_if_due(&self.store, &self.client, session, self.server_now_ms()?).await?;
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

    /// Server time now: by this process's clock anchor, else device time plus the stored
    /// offset, else device time.
    fn server_now_ms(&self) -> Result<i64> {
        let now = now_ms();
        let offset = self.store.read(|conn| meta::get_i64(conn, meta::CLOCK_OFFSET_MS))?;
        Ok(self.server_clock.estimate(offset.map(|o| now.saturating_add(o))).unwrap_or(now))
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
}

/// Clears the running sync's progress when dropped.
struct ClearProgress<'a>(&'a Mutex<Option<SyncProgress>>);

impl Drop for ClearProgress<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
