//! Time in a world of wrong phone clocks: a hybrid logical clock and the event time stamp.
//!
//! A [`Hlc`] stamp orders events causally across devices even when their wall clocks
//! disagree; an [`EventTime`] carries, with every event, what the device believed the time
//! was, its HLC stamp and its best estimate of server time, so that the server can flag
//! events whose device clock was off.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Remote stamps further ahead of local physical time than this are refused (one day).
pub const DEFAULT_MAX_SKEW_MS: u64 = 24 * 60 * 60 * 1000;

/// A hybrid logical clock stamp: physical milliseconds, a logical counter, and the node
/// that made it as the final tie-breaker, so that any two stamps are totally ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Hlc {
    /// Unix milliseconds: the largest physical time this node has seen.
    pub wall_ms: u64,
    /// Counts events within one `wall_ms`.
    pub counter: u32,
    /// The node (device or server) that made the stamp.
    pub node: u64,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter, self.node).cmp(&(other.wall_ms, other.counter, other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The clock itself: it remembers the last stamp it issued.
#[derive(Debug, Clone)]
pub struct HlcClock {
    last: Hlc,
    max_skew_ms: u64,
}

impl HlcClock {
    /// A clock for `node` that has issued nothing yet.
    #[must_use]
    pub fn new(node: u64) -> Self {
        Self::resume(Hlc { wall_ms: 0, counter: 0, node })
    }

    /// A clock that continues after `last`, e.g. the stamp persisted before an app restart,
    /// so that stamps keep growing even if the wall clock went back while the app was closed.
    #[must_use]
    pub fn resume(last: Hlc) -> Self {
        Self { last, max_skew_ms: DEFAULT_MAX_SKEW_MS }
    }

    /// The last stamp issued or observed.
    #[must_use]
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A stamp for a local event at physical time `now_ms`; always greater than every stamp
    /// issued or observed before.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        self.last = if now_ms > self.last.wall_ms {
            Hlc { wall_ms: now_ms, counter: 0, node: self.last.node }
        } else {
            Hlc { counter: self.last.counter.saturating_add(1), ..self.last }
        };
        self.last
    }

    /// Takes in a stamp received from another node at physical time `now_ms` and returns a
    /// local stamp greater than both. A remote stamp more than a day ahead of `now_ms` is
    /// refused, so that one device with a clock set to 2099 cannot drag every clock along.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Result<Hlc, DomainError> {
        let ahead_ms = remote.wall_ms.saturating_sub(now_ms);
        if ahead_ms > self.max_skew_ms {
            return Err(DomainError::ClockTooFarAhead {
                remote_ms: remote.wall_ms,
                ahead_ms,
                max_ms: self.max_skew_ms,
            });
        }
        let node = self.last.node;
        let wall_ms = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        let counter = match (wall_ms == self.last.wall_ms, wall_ms == remote.wall_ms) {
            (true, true) => self.last.counter.max(remote.counter).saturating_add(1),
            (true, false) => self.last.counter.saturating_add(1),
            (false, true) => remote.counter.saturating_add(1),
            (false, false) => 0,
        };
        self.last = Hlc { wall_ms, counter, node };
        Ok(self.last)
    }
}

/// When an event happened, as the device saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EventTime {
    /// The device's wall clock, Unix milliseconds (may be wrong: the user can set it).
    pub device_ms: i64,
    /// The device's hybrid logical clock stamp.
    pub hlc: Hlc,
    /// The device's estimate of server time at the event (device time plus the offset
    /// measured at the last sync), or `None` before the first sync.
    pub server_estimate_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_grow_even_when_the_wall_clock_goes_backwards() {
        let mut clock = HlcClock::new(7);
        let a = clock.tick(1_000);
        let b = clock.tick(900);
        let c = clock.tick(900);
        let d = clock.tick(2_000);
        assert!(a < b && b < c && c < d);
        assert_eq!(b.wall_ms, 1_000);
        assert_eq!(d, Hlc { wall_ms: 2_000, counter: 0, node: 7 });
    }

    #[test]
    fn observing_a_remote_stamp_moves_past_it() {
        let mut clock = HlcClock::new(1);
        clock.tick(1_000);
        let remote = Hlc { wall_ms: 5_000, counter: 3, node: 2 };
        let after = clock.observe(remote, 2_000).expect("within skew");
        assert!(after > remote);
        assert_eq!(after.wall_ms, 5_000);
        assert_eq!(after.counter, 4);
        assert!(clock.tick(2_500) > after);
    }

    #[test]
    fn a_stamp_from_a_clock_days_ahead_is_refused_and_changes_nothing() {
        let mut clock = HlcClock::new(1);
        let before = clock.tick(1_000);
        let remote = Hlc { wall_ms: 1_000 + 2 * DEFAULT_MAX_SKEW_MS, counter: 0, node: 2 };
        let err = clock.observe(remote, 1_000).expect_err("too far ahead");
        assert!(matches!(err, DomainError::ClockTooFarAhead { .. }));
        assert_eq!(clock.last(), before);
    }

    #[test]
    fn a_resumed_clock_never_issues_a_stamp_it_issued_before() {
        let mut first = HlcClock::new(3);
        let saved = first.tick(10_000);
        let mut resumed = HlcClock::resume(saved);
        assert!(resumed.tick(5_000) > saved);
    }
}
