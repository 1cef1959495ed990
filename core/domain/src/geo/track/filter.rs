//! Accuracy and speed filters.

use serde::{Deserialize, Serialize};

use crate::geo::haversine_m;
use crate::model::TrackPoint;

/// Thresholds for [`filter_track`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FilterConfig {
    /// Fixes with a larger accuracy radius are dropped, metres (default 100).
    pub max_accuracy_m: f64,
    /// Fixes implying a faster move from the last kept fix are dropped, m/s (default 55,
    /// about 200 km/h). The distance is discounted by both accuracy radii first.
    pub max_speed_mps: f64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self { max_accuracy_m: 100.0, max_speed_mps: 55.0 }
    }
}

/// Why a fix was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The accuracy was negative or not a number.
    InvalidAccuracy,
    /// The accuracy radius exceeded the threshold.
    PoorAccuracy,
    /// The fix was not later than the last kept one (duplicate or out of order).
    NotAfterPrevious,
    /// Reaching the fix from the last kept one needs an impossible speed.
    ImpossibleSpeed,
}

/// A dropped fix: its position in the input and the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedPoint {
    /// Index in the input slice.
    pub index: usize,
    /// The fix time, Unix milliseconds.
    pub time_ms: i64,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// The outcome of [`filter_track`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FilteredTrack {
    /// The fixes kept, in order.
    pub kept: Vec<TrackPoint>,
    /// The fixes dropped, in input order.
    pub dropped: Vec<DroppedPoint>,
}

/// The speed needed to move from `a` to `b`, after discounting both accuracy radii, m/s.
/// Equal times count as one millisecond apart.
pub(crate) fn discounted_speed_mps(a: &TrackPoint, b: &TrackPoint) -> f64 {
    let d = (haversine_m(a.point, b.point) - a.accuracy_m - b.accuracy_m).max(0.0);
    let dt_s = (b.time_ms - a.time_ms).max(1) as f64 / 1_000.0;
    d / dt_s
}

/// Drops fixes with a bad or poor accuracy, out-of-order fixes, and fixes implying an
/// impossible speed from the last kept fix. Input is taken in the order given (time order).
///
/// An outlier that slipped in as the first kept fix heals itself: the speed it implies to
/// the real track falls below the threshold as time passes.
#[must_use]
pub fn filter_track(points: &[TrackPoint], config: &FilterConfig) -> FilteredTrack {
    let mut out = FilteredTrack { kept: Vec::with_capacity(points.len()), dropped: Vec::new() };
    for (index, p) in points.iter().enumerate() {
        let reason = if !(p.accuracy_m.is_finite() && p.accuracy_m >= 0.0) {
            Some(DropReason::InvalidAccuracy)
        } else if p.accuracy_m > config.max_accuracy_m {
            Some(DropReason::PoorAccuracy)
        } else if let Some(last) = out.kept.last() {
            if p.time_ms <= last.time_ms {
                Some(DropReason::NotAfterPrevious)
            } else if discounted_speed_mps(last, p) > config.max_speed_mps {
                Some(DropReason::ImpossibleSpeed)
            } else {
                None
            }
        } else {
            None
        };
        match reason {
            Some(reason) => out.dropped.push(DroppedPoint { index, time_ms: p.time_ms, reason }),
            None => out.kept.push(*p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WgsPoint;

    fn tp(lat: f64, lng: f64, acc: f64, t_s: i64) -> TrackPoint {
        TrackPoint { point: WgsPoint::new(lat, lng).expect("valid"), accuracy_m: acc, time_ms: t_s * 1_000 }
    }

    #[test]
    fn each_reason_is_reported() {
        let points = [
            tp(31.0, 121.0, 10.0, 0),
            tp(31.0001, 121.0, 150.0, 10),    // poor accuracy
            tp(31.0002, 121.0, f64::NAN, 20), // invalid
            tp(31.0002, 121.0, -1.0, 25),     // invalid
            tp(31.0003, 121.0, 10.0, 30),
            tp(31.0003, 121.0, 10.0, 30), // duplicate time
            tp(31.05, 121.0, 10.0, 40),   // 5.5 km in 10 s
            tp(31.0004, 121.0, 10.0, 50),
        ];
        let out = filter_track(&points, &FilterConfig::default());
        assert_eq!(out.kept.len(), 3);
        let reasons: Vec<_> = out.dropped.iter().map(|d| (d.index, d.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (1, DropReason::PoorAccuracy),
                (2, DropReason::InvalidAccuracy),
                (3, DropReason::InvalidAccuracy),
                (5, DropReason::NotAfterPrevious),
                (6, DropReason::ImpossibleSpeed),
            ]
        );
    }

    #[test]
    fn a_fast_car_is_kept_and_a_jump_is_not() {
        // 30 m/s for 10 s: 300 m.
        let car = [tp(31.0, 121.0, 5.0, 0), tp(31.0027, 121.0, 5.0, 10)];
        assert!(filter_track(&car, &FilterConfig::default()).dropped.is_empty());
        // 3 km in 10 s with 20 m accuracy: dropped.
        let jump = [tp(31.0, 121.0, 20.0, 0), tp(31.027, 121.0, 20.0, 10)];
        assert_eq!(filter_track(&jump, &FilterConfig::default()).kept.len(), 1);
    }
}
