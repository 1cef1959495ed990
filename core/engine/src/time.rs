//! The device clock, read in one place, and the estimate of server time.
//!
//! Every sync measures server time NTP-style: the server read its clock somewhere between
//! sending and receiving, so a sample is good to within half its round trip. A sample is
//! kept only if it is better than the one in use ([`prefer_new`]): a smaller round trip
//! bounds the truth more tightly, an interval that no longer overlaps the one in use means a
//! clock moved, and an old sample is refreshed.
//!
//! After each sync the engine anchors server time to the monotonic clock: the estimate is
//! then server time at the anchor plus monotonic time elapsed since, which a user changing
//! the phone's clock cannot move. Before the first sync of this process the estimate falls
//! back to device time plus the offset measured at the last sync (stored), and before any
//! sync there is none.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A sample older than this is replaced by the next one, whatever their round trips.
pub(crate) const SAMPLE_MAX_AGE_MS: i64 = 60 * 60 * 1000;

/// Device wall-clock time, Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// One measurement of server time: `value_ms` (an offset, or a server time) is within
/// ± [`ClockSample::bound_ms`] of the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockSample {
    /// What was measured, in milliseconds.
    pub(crate) value_ms: i64,
    /// The round trip of the measurement, in milliseconds.
    pub(crate) rtt_ms: i64,
}

impl ClockSample {
    /// How far the truth may be from the value: half the round trip, rounded up.
    pub(crate) fn bound_ms(self) -> i64 {
        self.rtt_ms.max(0).saturating_add(1) / 2
    }

    fn low(self) -> i64 {
        self.value_ms.saturating_sub(self.bound_ms())
    }

    fn high(self) -> i64 {
        self.value_ms.saturating_add(self.bound_ms())
    }
}

/// Whether `new` should replace `stored`, measured `stored_age_ms` earlier. Each bounds the
/// truth within its interval: if the intervals do not overlap, a clock changed between them
/// and only the new one is true; otherwise the one with the smaller round trip (the tighter
/// bound) is kept, and a stored sample older than [`SAMPLE_MAX_AGE_MS`] (clocks drift) is
/// replaced.
pub(crate) fn prefer_new(stored: ClockSample, new: ClockSample, stored_age_ms: i64) -> bool {
    let disjoint = new.high() < stored.low() || stored.high() < new.low();
    disjoint || !(0..=SAMPLE_MAX_AGE_MS).contains(&stored_age_ms) || new.rtt_ms <= stored.rtt_ms
}

/// Server time anchored to this process's monotonic clock.
#[derive(Default)]
pub(crate) struct ServerClock {
    /// Server time at the instant, and the round trip that measured it.
    anchor: Mutex<Option<(ClockSample, Instant)>>,
}

impl ServerClock {
    /// Records that the server's clock read `server_ms` half a round trip of `rtt_ms` before
    /// `at`, if that bounds server time better than the anchor in use (see [`prefer_new`]).
    pub(crate) fn observe(&self, server_ms: i64, rtt_ms: i64, at: Instant) {
        let new = ClockSample { value_ms: server_ms.saturating_add(rtt_ms / 2), rtt_ms };
        let mut anchor = self.anchor.lock().unwrap_or_else(PoisonError::into_inner);
        let replace = match *anchor {
            None => true,
            Some((old, old_at)) => {
                let age = i64::try_from(at.saturating_duration_since(old_at).as_millis()).unwrap_or(i64::MAX);
                // The old anchor carried forward to `at` on the monotonic clock.
                let projected = ClockSample { value_ms: old.value_ms.saturating_add(age), ..old };
                prefer_new(projected, new, age)
            }
        };
        if replace {
            *anchor = Some((new, at));
        }
    }

    /// Server time now by the monotonic anchor, or `fallback` (device time plus the stored
    /// offset) when this process has not synced yet.
    pub(crate) fn estimate(&self, fallback: Option<i64>) -> Option<i64> {
        let anchor = *self.anchor.lock().unwrap_or_else(PoisonError::into_inner);
        match anchor {
            Some((sample, at)) => {
                let elapsed = i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX);
                Some(sample.value_ms.saturating_add(elapsed))
            }
            None => fallback,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn sample(value_ms: i64, rtt_ms: i64) -> ClockSample {
        ClockSample { value_ms, rtt_ms }
    }

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

    #[test]
    fn a_sample_bounds_the_truth_within_half_its_round_trip_rounded_up() {
        assert_eq!(sample(0, 40).bound_ms(), 20);
        assert_eq!(sample(0, 41).bound_ms(), 21);
        assert_eq!(sample(0, -3).bound_ms(), 0, "a negative round trip (clock stepped) is no bound");
    }

    #[test]
    fn a_slower_overlapping_sample_does_not_replace_a_faster_one() {
        let stored = sample(1_000, 20);
        assert!(!prefer_new(stored, sample(1_050, 400), 60_000), "slow and overlapping: kept the fast one");
        assert!(prefer_new(stored, sample(1_005, 10), 60_000), "faster: taken");
        assert!(prefer_new(stored, sample(1_004, 20), 60_000), "as fast and fresher: taken");
    }

    #[test]
    fn a_sample_disjoint_from_the_stored_one_means_the_clock_changed_and_is_taken() {
        let stored = sample(1_000, 20); // [990, 1010]
        assert!(
            prefer_new(stored, sample(1_300, 400), 60_000),
            "[1100, 1500] misses it: taken though slower"
        );
        assert!(prefer_new(stored, sample(-600_000, 30), 60_000), "the device clock moved 10 minutes");
        assert!(!prefer_new(stored, sample(1_200, 400), 60_000), "[1000, 1400] touches it: kept");
    }

    #[test]
    fn a_stored_sample_older_than_an_hour_is_refreshed_even_by_a_slower_one() {
        let stored = sample(1_000, 20);
        assert!(!prefer_new(stored, sample(1_050, 400), SAMPLE_MAX_AGE_MS));
        assert!(prefer_new(stored, sample(1_050, 400), SAMPLE_MAX_AGE_MS + 1));
        assert!(prefer_new(stored, sample(1_050, 400), -1), "measured in the device clock's future");
    }

    #[test]
    fn the_anchor_keeps_the_faster_round_trip_carried_forward_on_the_monotonic_clock() {
        let clock = ServerClock::default();
        let first = Instant::now();
        clock.observe(1_000_000, 10, first);
        // 100 ms later by the monotonic clock, a slow answer whose interval overlaps.
        let later = first + Duration::from_millis(100);
        clock.observe(1_000_000, 300, later);
        let kept = clock.anchor.lock().expect("lock").expect("anchored");
        assert_eq!(kept, (sample(1_000_005, 10), first), "the fast anchor stays");
        // A fast answer replaces it.
        clock.observe(1_000_104, 4, later);
        let kept = clock.anchor.lock().expect("lock").expect("anchored");
        assert_eq!(kept, (sample(1_000_106, 4), later));
        // The server's clock stepped a minute: disjoint, taken although slow.
        clock.observe(1_060_000, 300, later);
        let kept = clock.anchor.lock().expect("lock").expect("anchored");
        assert_eq!(kept.0, sample(1_060_150, 300));
    }
}
