//! Sync beyond `syncNow`: the parked items, the network-back hint, and the observed
//! sync schedule.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_engine::ParkedItem;

use super::FieldKit;
use crate::error::FieldKitError;
use crate::observer::{ObserverBridge, SyncObserver, SyncSubscription};
use crate::runtime::{guard, runtime};

#[uniffi::export]
impl FieldKit {
    /// The queued items the server refused for good, with its reasons (they stay on the
    /// phone; show them to the rep or support). Works offline.
    pub fn parked_items(&self) -> Result<Vec<ParkedItem>, FieldKitError> {
        guard(|| Ok(self.inner.parked_items()?))
    }

    /// Tells FieldKit the network is back (from the OS's connectivity callback): a running
    /// sync schedule retries queued work at once.
    pub fn network_available(&self) {
        self.inner.network_available();
    }

    /// Starts syncing on its own, reporting to `observer`: `debounce_ms` after local writes
    /// (2000 is usual), at least every `period_ms` (300000 is usual), on retries and when
    /// the network comes back. Runs until the returned subscription is closed or dropped.
    /// Start one per engine; the running schedule keeps the engine alive until it stops.
    ///
    /// Fails with `InvalidInput` for a negative debounce or a period that is not positive.
    pub fn observe_sync(
        &self,
        observer: Arc<dyn SyncObserver>,
        debounce_ms: i64,
        period_ms: i64,
    ) -> Result<Arc<SyncSubscription>, FieldKitError> {
        guard(|| {
            let debounce = u64::try_from(debounce_ms)
                .map_err(|_| FieldKitError::invalid("debounce_ms", format!("{debounce_ms} is negative")))?;
            let period = u64::try_from(period_ms)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| FieldKitError::invalid("period_ms", format!("{period_ms} is not positive")))?;
            let config = fieldkit_engine::ScheduleConfig {
                debounce: Duration::from_millis(debounce),
                period: Duration::from_millis(period),
            };
            let bridge = ObserverBridge { app: observer, engine: Arc::clone(&self.inner) };
            let _in_runtime = runtime()?.enter();
            let handle = self.inner.start_sync_schedule(config, Some(Arc::new(bridge)));
            Ok(Arc::new(SyncSubscription::new(handle)))
        })
    }
}
