//! The app's sync observer (a foreign trait) and the subscription that runs the engine's
//! sync schedule for it. The schedule syncs after local writes (debounced), periodically,
//! on retries and when the app says the network is back; it stops when the subscription is
//! cancelled or dropped (Kotlin's `close()`, or garbage collection; Swift's release).
//!
//! While the schedule runs, the observer hears every sync of the engine, scheduled or asked
//! for (`syncNow`). A callback that throws is logged and ignored: the schedule carries on.

use std::sync::{Arc, Mutex, PoisonError};

use fieldkit_engine::{ScheduleHandle, SyncState};

use crate::error::FieldKitError;
use crate::records::sync::SyncFailure;
use fieldkit_engine::{SyncProgress, SyncReport, SyncStatus};

/// What the app hears about syncs. Called on FieldKit's own threads: return quickly and
/// hop to the UI thread to show anything. Throwing is allowed and ignored.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// A sync started, or one of its round trips was applied: `queue` is what waits now,
    /// and `queue.progress` what the sync did so far (round trips, items pushed and
    /// pulled, bytes; none yet as it starts).
    fn on_progress(&self, queue: SyncStatus) -> Result<(), FieldKitError>;
    /// A sync finished with this report.
    fn on_finished(&self, report: SyncReport) -> Result<(), FieldKitError>;
    /// A sync did not complete (offline: it is retried on its own).
    fn on_failed(&self, failure: SyncFailure) -> Result<(), FieldKitError>;
}

/// The running sync schedule of one observer. Stop it with `cancel()` when the screen that
/// observes goes away; freeing it (Kotlin's `close()` or `use {}`, Swift's release) stops
/// it too.
#[derive(uniffi::Object)]
pub struct SyncSubscription {
    handle: Mutex<Option<ScheduleHandle>>,
}

impl SyncSubscription {
    /// Wraps a running schedule.
    pub(crate) fn new(handle: ScheduleHandle) -> Self {
        Self { handle: Mutex::new(Some(handle)) }
    }
}

#[uniffi::export]
impl SyncSubscription {
    /// Stops the schedule; no callback is made after it returns, except one already
    /// running. Cancelling twice is harmless.
    pub fn cancel(&self) {
        let handle = self.handle.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(handle);
    }

    /// Whether the schedule still runs (false once cancelled).
    pub fn is_active(&self) -> bool {
        self.handle.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }
}

/// Adapts the app's observer to the engine's.
pub(crate) struct ObserverBridge {
    /// The app's observer.
    pub(crate) app: Arc<dyn SyncObserver>,
    /// The engine, to read the queue as a sync goes.
    pub(crate) engine: Arc<fieldkit_engine::FieldKit>,
}

impl ObserverBridge {
    /// Calls the app, keeping whatever it throws (or a panic on the way) on this side.
    fn call(&self, what: &str, call: impl FnOnce(&dyn SyncObserver) -> Result<(), FieldKitError>) {
        let app = self.app.as_ref();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(app))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(callback = what, error = %e, "the sync observer threw; ignored"),
            Err(_) => tracing::warn!(callback = what, "the sync observer panicked; ignored"),
        }
    }
}

impl fieldkit_engine::SyncObserver for ObserverBridge {
    fn on_state(&self, state: SyncState) {
        match state {
            SyncState::Syncing => {
                let queue = match self.engine.sync_status() {
                    Ok(status) => status,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the queue for the observer");
                        return;
                    }
                };
                self.call("on_progress", |o| o.on_progress(queue));
            }
            SyncState::Idle => {}
            SyncState::Offline { reason } => {
                self.call("on_failed", |o| o.on_failed(SyncFailure { offline: true, reason }));
            }
            SyncState::Failed { reason } => {
                self.call("on_failed", |o| o.on_failed(SyncFailure { offline: false, reason }));
            }
        }
    }

    fn on_report(&self, report: SyncReport) {
        self.call("on_finished", |o| o.on_finished(report));
    }

    fn on_progress(&self, progress: SyncProgress) {
        let mut queue = match self.engine.sync_status() {
            Ok(status) => status,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the queue for the observer");
                return;
            }
        };
        queue.progress = Some(progress);
        self.call("on_progress", |o| o.on_progress(queue));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use fieldkit_engine::SyncObserver as _;

    use super::*;

    /// Throws from every callback, or panics, and counts the calls.
    struct Faulty {
        calls: AtomicU32,
        panic: bool,
    }

    impl SyncObserver for Faulty {
        fn on_progress(&self, _: SyncStatus) -> Result<(), FieldKitError> {
            self.fail()
        }
        fn on_finished(&self, _: SyncReport) -> Result<(), FieldKitError> {
            self.fail()
        }
        fn on_failed(&self, _: SyncFailure) -> Result<(), FieldKitError> {
            self.fail()
        }
    }

    impl Faulty {
        fn fail(&self) -> Result<(), FieldKitError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert!(!self.panic, "observer panics");
            Err(FieldKitError::Internal { detail: "observer bug".into() })
        }
    }

    #[test]
    fn an_observer_that_throws_or_panics_is_called_and_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = fieldkit_engine::Config {
            db_path: dir.path().join("f.db"),
            server_url: "http://127.0.0.1:9".into(),
            org: "acme".into(),
        };
        let engine = Arc::new(fieldkit_engine::FieldKit::open(config).expect("opens"));
        for panic in [false, true] {
            let app = Arc::new(Faulty { calls: AtomicU32::new(0), panic });
            let bridge = ObserverBridge { app: app.clone(), engine: Arc::clone(&engine) };
            bridge.on_state(SyncState::Syncing);
            bridge.on_state(SyncState::Offline { reason: "down".into() });
            bridge.on_state(SyncState::Idle);
            bridge.on_progress(SyncProgress::default());
            bridge.on_report(fieldkit_engine::SyncReport::default());
            assert_eq!(
                app.calls.load(Ordering::SeqCst),
                4,
                "progress at the start and after a round trip, failed and finished (panic: {panic})"
            );
        }
    }

    /// Keeps what `on_progress` receives.
    #[derive(Default)]
    struct Keeper {
        queues: Mutex<Vec<SyncStatus>>,
    }

    impl SyncObserver for Keeper {
        fn on_progress(&self, queue: SyncStatus) -> Result<(), FieldKitError> {
            self.queues.lock().expect("lock").push(queue);
            Ok(())
        }
        fn on_finished(&self, _: SyncReport) -> Result<(), FieldKitError> {
            Ok(())
        }
        fn on_failed(&self, _: SyncFailure) -> Result<(), FieldKitError> {
            Ok(())
        }
    }

    #[test]
    fn the_app_hears_each_round_trips_progress_with_the_queue() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = fieldkit_engine::Config {
            db_path: dir.path().join("f.db"),
            server_url: "http://127.0.0.1:9".into(),
            org: "acme".into(),
        };
        let engine = Arc::new(fieldkit_engine::FieldKit::open(config).expect("opens"));
        let app = Arc::new(Keeper::default());
        let bridge = ObserverBridge { app: app.clone(), engine };
        bridge.on_state(SyncState::Syncing);
        let progress =
            SyncProgress { round_trips: 2, pushed: 150, bytes_sent: 9_000, ..SyncProgress::default() };
        bridge.on_progress(progress);
        let queues = app.queues.lock().expect("lock");
        assert_eq!(queues.len(), 2);
        assert_eq!(queues[0].progress, None, "as the sync starts, no round trip yet");
        assert_eq!(queues[1].progress, Some(progress));
    }
}
