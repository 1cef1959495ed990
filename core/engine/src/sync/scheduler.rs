//! When to sync without being asked: shortly after local writes (debounced), periodically,
//! when the app says the network is back, and when the next queued retry falls due. One
//! task per engine runs the schedule; it stops when its handle is dropped. While it runs,
//! its observer hears every sync of the engine, scheduled or asked for (`sync_now`):
//! states, progress after each round trip, and reports.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Due, SyncProgress, SyncReport};
use crate::fieldkit::FieldKit;
use crate::store::outbox;
use crate::time::now_ms;

/// How the scheduler paces syncs.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleConfig {
    /// Wait this long after a local write for more writes before syncing.
    pub debounce: Duration,
    /// Sync at least this often.
    pub period: Duration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self { debounce: Duration::from_secs(2), period: Duration::from_secs(5 * 60) }
    }
}

/// Where sync stands, as the observer hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncState {
    /// A sync is running.
    Syncing,
    /// The last sync succeeded; nothing is due.
    Idle,
    /// The server could not be reached; queued work waits for its retry.
    Offline {
        /// Why (lower-case).
        reason: String,
    },
    /// The server refused the session or the request; the app must act (log in again…).
    Failed {
        /// Why (lower-case).
        reason: String,
    },
}

/// What the app hears about sync. Called on the task that runs the sync (the scheduler's,
/// or the caller of `sync_now`): return quickly.
pub trait SyncObserver: Send + Sync {
    /// The state changed.
    fn on_state(&self, state: SyncState);
    /// A sync finished with this report.
    fn on_report(&self, report: SyncReport);
    /// A round trip of the running sync was applied; `progress` counts the sync so far.
    fn on_progress(&self, progress: SyncProgress) {
        let _ = progress;
    }
}

/// Signals from the app to the scheduler.
#[derive(Default)]
pub(crate) struct Triggers {
    pub(crate) local_write: Notify,
    pub(crate) network_back: Notify,
}

/// The running schedule; dropping it stops the task and its observer hears no more.
pub struct ScheduleHandle {
    task: JoinHandle<()>,
    kit: Weak<FieldKit>,
    /// The engine's ticket for the observer, if one was given.
    observer: Option<u64>,
}

impl Drop for ScheduleHandle {
    fn drop(&mut self) {
        self.task.abort();
        if let (Some(kit), Some(ticket)) = (self.kit.upgrade(), self.observer) {
            kit.forget_observer(ticket);
        }
    }
}

/// Starts the schedule for `kit` on the current tokio runtime; `observer` hears every sync
/// of `kit` until the handle is dropped.
pub fn start(
    kit: Arc<FieldKit>,
    config: ScheduleConfig,
    observer: Option<Arc<dyn SyncObserver>>,
) -> ScheduleHandle {
    let ticket = observer.map(|o| kit.observe(o));
    ScheduleHandle { kit: Arc::downgrade(&kit), observer: ticket, task: tokio::spawn(run(kit, config)) }
}

async fn run(kit: Arc<FieldKit>, config: ScheduleConfig) {
    loop {
        let until_retry = next_retry_in(&kit);
        let due = tokio::select! {
            () = kit.triggers.local_write.notified() => {
                // Let a burst of writes settle, then send them together; the network coming
                // back meanwhile sends them (and everything waiting) at once.
                tokio::select! {
                    () = tokio::time::sleep(config.debounce) => Due::Scheduled,
                    () = kit.triggers.network_back.notified() => Due::All,
                }
            }
            () = kit.triggers.network_back.notified() => Due::All,
            () = tokio::time::sleep(until_retry.unwrap_or(config.period).min(config.period)) => Due::Scheduled,
        };
        // The observer hears the states and the report from the sync itself; blob uploads
        // go on in the background, so that a long one never holds back the next data sync.
        match kit.sync_with(due, Some(&kit)).await {
            Ok(_) => {}
            Err(e) if e.is_retryable() => {}
            Err(e) => {
                tracing::warn!(error = %e, "scheduled sync failed");
                // Do not spin on a refusal: wait for a signal or the period.
                tokio::select! {
                    () = kit.triggers.local_write.notified() => {}
                    () = kit.triggers.network_back.notified() => {}
                    () = tokio::time::sleep(config.period) => {}
                }
            }
        }
    }
}

/// How long until the earliest queued retry (data or blob) is due (zero if one is due now).
fn next_retry_in(kit: &FieldKit) -> Option<Duration> {
    let due_ms = kit
        .store
        .read(|conn| {
            let data = outbox::next_due_ms(conn)?;
            let blobs = crate::store::blobs::next_due_ms(conn)?;
            Ok(data.into_iter().chain(blobs).min())
        })
        .ok()
        .flatten()?;
    Some(Duration::from_millis(u64::try_from(due_ms.saturating_sub(now_ms())).unwrap_or(0)))
}
