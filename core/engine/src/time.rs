//! The device clock, read in one place, and the estimate of server time.
//!
//! After each sync the engine anchors server time to the monotonic clock: the estimate is
//! then server time at the anchor plus monotonic time elapsed since, which a user changing
//! the phone's clock cannot move. Before the first sync of this process the estimate falls
//! back to device time plus the offset measured at the last sync (stored), and before any
//! sync there is none.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Device wall-clock time, Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Server time anchored to this process's monotonic clock.
#[derive(Default)]
pub(crate) struct ServerClock {
    anchor: Mutex<Option<(i64, Instant)>>,
}

impl ServerClock {
    /// Records that the server's clock read `server_ms` half a round trip before `at`.
    pub(crate) fn observe(&self, server_ms: i64, rtt_ms: i64, at: Instant) {
        let estimate = server_ms.saturating_add(rtt_ms / 2);
        *self.anchor.lock().unwrap_or_else(PoisonError::into_inner) = Some((estimate, at));
    }

    /// Server time now by the monotonic anchor, or `fallback` (device time plus the stored
    /// offset) when this process has not synced yet.
    pub(crate) fn estimate(&self, fallback: Option<i64>) -> Option<i64> {
        let anchor = *self.anchor.lock().unwrap_or_else(PoisonError::into_inner);
        match anchor {
            Some((server_ms, at)) => {
                let elapsed = i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX);
                Some(server_ms.saturating_add(elapsed))
            }
            None => fallback,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_follows_the_monotonic_clock_from_the_anchor() {
        let clock = ServerClock::default();
        assert_eq!(clock.estimate(Some(5)), Some(5), "before any anchor, the fallback");
        let at = Instant::now();
        clock.observe(1_000_000, 40, at);
        let estimate = clock.estimate(Some(5)).expect("anchored");
        let elapsed = i64::try_from(at.elapsed().as_millis()).expect("small");
        assert!((1_000_020..=1_000_020 + elapsed).contains(&estimate), "{estimate}");
    }
}
